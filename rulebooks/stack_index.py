"""Which rules of a stack can fire for a service, worked out once per stack instead of per encounter.

Why: a clinic stack holds hundreds of rules and nearly every one is about one kind of service
("when service.kind = mohs and ..."), so running each rule over each service spends most of a
coding on rules that are false from their first word. Two things are computed once per stack:

- the rules of a phase for the rulebooks in effect on a date (a later book's rule or `disable`
  wins by id), the same list `Stack.rules` returns;
- a *screen* per rule: the conjuncts of its `when` (or a table's guard) that read only facts of
  the screen key below. A rule whose screen has a False conjunct cannot fire and cannot be
  undetermined (three-valued `and` is False as soon as one operand is), so it is skipped for
  every service with that key. The conjuncts are compiled by the rule language's own compiler,
  so a screen means exactly what the rule means.

For the rules a screen lets through, `precheck` gives the rule's condition compiled without a
trace: a rule whose condition is False (a table whose guard is not True) records nothing, so only
the rules that fire or are undetermined run again with the trace that explains them.

A rule records the same outcome for every service with one screen key and the same values of
the other facts it reads (`RulePlan.reads`): the stack runs it traced once per such key and
reuses what it recorded. So do a phase's rules together for the values of all their reads
(`PhaseRules`): a service the stack has seen before costs one lookup per phase.

A run that keeps a condition-coverage trace runs every rule, so coverage is unchanged.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import operator
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from dsl import ast
from dsl.codegen import compile_precheck
from dsl.compiler import Compiler
from dsl.runtime import CompiledRule
from dsl.typecheck import INTERPOLATION
from rulebooks.rule_facts import DERMATOLOGY

if TYPE_CHECKING:
    from rulebooks.models import Encounter
    from rulebooks.stack import LoadedRulebook

#: Facts that are the same for every service with the same kind, coverage, diagnoses and the
#: few other words below, and take few values across a clinic's encounters: what a screen may read
#: (declared with `screen=True` in `rulebooks.vocabulary.FACTS`).
SCREEN_FIELDS = tuple(declared.path for declared in DERMATOLOGY.screen_facts)
_KIND_AT = SCREEN_FIELDS.index("service.kind")
_PAYER_AT = SCREEN_FIELDS.index("payer")
_SCREEN_READERS = tuple(DERMATOLOGY.reader(tuple(path.split("."))) for path in SCREEN_FIELDS)
ScreenKey = tuple[Any, ...]
T = TypeVar("T")
Chosen = tuple[tuple["LoadedRulebook", CompiledRule], ...]
Conjunct = Callable[[dict[str, Any], None], Any]
Precheck = Callable[[dict[str, Any]], bool]
#: The facts beyond the screen key that a rule reads (condition, action arguments, messages), as
#: dotted paths split in parts: with the screen key they decide everything the rule records.
Reads = tuple[tuple[str, ...], ...]
#: Gives the values of a rule's reads, in a form fit for a key, from a service's values by path.
ReadValues = Callable[[Mapping[tuple[str, ...], Any]], Any]
#: A phase's rule for a service: (book, rule, precheck or None to run it always, reads, their getter).
ScreenedRule = tuple["LoadedRulebook", CompiledRule, "Precheck | None", "Reads | None", "ReadValues | None"]
Screened = tuple[ScreenedRule, ...]
#: A phase's screened rules for a screen key with what keys them together: (serial, the union of
#: their reads, the getter of its values or None when one rule is not keyed, the rules). The serial
#: is never reused, so it can name the list in `StackIndex.recorded` for as long as the stack lives.
PhaseRules = tuple[int, Reads, "ReadValues | None", Screened]
#: Screen keys (each with the books in effect) kept per stack before the cache starts again (a long
#: replay meets many keys).
MAX_SCREENED = 20_000
#: Recorded rule outcomes kept per stack before that cache starts again.
MAX_RECORDED = 200_000


def screen_keys(encounter: Encounter) -> list[ScreenKey]:
    """Each service's screen key: the values of `SCREEN_FIELDS`, lists as tuples."""
    return [
        tuple(_hashable(read(encounter, service, ())) for read in _SCREEN_READERS) for service in encounter.services
    ]


def _hashable(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def _screen_facts(key: ScreenKey) -> dict[str, Any]:
    """The screen fields as `rule_facts.service_facts` shapes them (lists stay lists)."""
    facts: dict[str, Any] = {}
    for path, value in zip(SCREEN_FIELDS, key, strict=True):
        *records, name = path.split(".")
        level = facts
        for record in records:
            level = level.setdefault(record, {})
        level[name] = list(value) if isinstance(value, tuple) else value
    return facts


@dataclass(frozen=True)
class RulePlan:
    """How to decide cheaply that a rule records nothing: its screen, then its precheck.

    `screen`: the conjuncts that read only screen facts (decided once per screen key), less those
    in `kind_screen`, which read only the service's kind (decided once per kind).
    `precheck`: the rest of the condition without a trace; False only when the traced run would
    record nothing (a rule's remaining conjunct is False, a table's guard is not True).
    """

    screen: tuple[Conjunct, ...]
    precheck: Precheck
    reads: Reads | None = None
    kind_screen: tuple[Conjunct, ...] = ()


class StackIndex:
    """Per-stack caches: rules by phase and in-effect books, and by screen key and phase."""

    def __init__(self, books: tuple[LoadedRulebook, ...]) -> None:
        self.books = books
        self._in_effect: dict[tuple[dt.date, str | None], tuple[bool, ...]] = {}
        # rule dates: the dated rules' in-or-out joins the books' mask, so caches keyed by the mask
        # tell dates apart; `_mask_dates` keeps a date of each mask for `_phase_rules`.
        self._dated = tuple(rule for book in books for rule in book.built.program.rules if _dated(rule))  # type: ignore[union-attr]
        self._mask_dates: dict[tuple[bool, ...], dt.date] = {}
        self._rules: dict[tuple[str, tuple[bool, ...]], Chosen] = {}
        self._phases = tuple(dict.fromkeys(rule.phase for book in books for rule in book.built.program.rules))  # type: ignore[union-attr]
        self._screened: dict[tuple[tuple[bool, ...], ScreenKey], tuple[int, dict[str, PhaseRules]]] = {}
        self._serials = itertools.count()
        self._key_numbers: dict[ScreenKey, int] = {}
        self._next_number = itertools.count()
        self._plans: dict[int, RulePlan] = {}
        self._of_kind: dict[
            tuple[str, tuple[bool, ...], str], tuple[tuple[tuple[Conjunct, ...], ScreenedRule], ...]
        ] = {}
        self._entries: dict[int, ScreenedRule] = {}
        #: What a rule recorded, by rule, screen key number and the values of its other reads
        #: (`RulePlan.reads`); and what a phase's rules recorded for a service together, by the
        #: serial of `PhaseRules` and the values of all their reads.
        self.recorded: dict[tuple[Any, ...], Any] = {}

    def rules(self, phase: str, date_of_service: dt.date, payer: str | None) -> Chosen:
        """The rules of a phase in stack order for the books that apply on the date to the payer."""
        return self._chosen(phase, self._mask(date_of_service, payer))

    def _chosen(self, phase: str, mask: tuple[bool, ...]) -> Chosen:
        chosen = self._rules.get((phase, mask))
        if chosen is None:
            books = [book for book, in_effect in zip(self.books, mask, strict=False) if in_effect]
            chosen = self._rules[(phase, mask)] = tuple(_phase_rules(books, phase, self._mask_dates[mask]))
        return chosen

    def screened(self, date_of_service: dt.date, key: ScreenKey) -> tuple[int, dict[str, PhaseRules]]:
        """The screen key's number, and the rules of each phase that can fire for a service with
        this key, in stack order, each with its precheck and reads (phases without such a rule
        are left out). One lookup per service and coding: every phase asks.

        Numbers are never reused, so a number held by a coding in flight, or by a key of
        `recorded`, keeps its meaning; the key's number saves hashing the key on every rule.
        """
        mask = self._mask(date_of_service, key[_PAYER_AT])
        found = self._screened.get((mask, key))
        if found is None:
            number = self._key_numbers.get(key)
            if number is None:
                number = self._key_numbers[key] = next(self._next_number)
            facts = _screen_facts(key)
            chosen = {}
            for phase in self._phases:
                screened = _passing(self._kind_rules(phase, mask, key[_KIND_AT]), facts)
                if screened:
                    chosen[phase] = _phase_rules_of(next(self._serials), screened)
            if len(self._screened) >= MAX_SCREENED:
                self._screened.clear()
                self._key_numbers.clear()
                self.recorded.clear()
            found = self._screened[(mask, key)] = (number, chosen)
        return found

    def _kind_rules(
        self, phase: str, mask: tuple[bool, ...], kind: str
    ) -> tuple[tuple[tuple[Conjunct, ...], ScreenedRule], ...]:
        """The phase's rules whose conjuncts on the kind alone are not False for `kind`, in stack
        order, each with the rest of its screen.

        Why: most rules name the one kind they are about, so a new screen key of a kind tests the
        rest of its screen on the few rules of that kind, not on every rule of the stack.
        """
        found = self._of_kind.get((phase, mask, kind))
        if found is None:
            facts = {"service": {"kind": kind}}
            plans = [(self._plan(book, rule), self._entry(book, rule)) for book, rule in self._chosen(phase, mask)]
            chosen = _passing(tuple((plan.kind_screen, (plan.screen, entry)) for plan, entry in plans), facts)
            found = self._of_kind[(phase, mask, kind)] = chosen
        return found

    def _entry(self, book: LoadedRulebook, rule: CompiledRule) -> ScreenedRule:
        """The rule as a phase lists it for a service: with its precheck, reads and their getter."""
        entry = self._entries.get(id(rule))
        if entry is None:
            plan = self._plan(book, rule)
            entry = self._entries[id(rule)] = (book, rule, plan.precheck, *_keyed_reads(plan.reads))
        return entry

    def remember(self, memo: tuple[Any, ...], outcome: Any) -> None:
        """Keep what a rule (or a phase's rules) recorded, starting again past `MAX_RECORDED`."""
        if len(self.recorded) >= MAX_RECORDED:
            self.recorded.clear()
        self.recorded[memo] = outcome

    def _mask(self, date_of_service: dt.date, payer: str | None) -> tuple[bool, ...]:
        """Which books apply (in effect on the date, and of the payer when the book names one),
        then which dated rules are in effect."""
        mask = self._in_effect.get((date_of_service, payer))
        if mask is None:
            mask = tuple(book.applies_to(date_of_service, payer) for book in self.books)
            mask += tuple(rule.in_effect(date_of_service) for rule in self._dated)  # rule dates
            self._in_effect[(date_of_service, payer)] = mask
            self._mask_dates.setdefault(mask, date_of_service)  # rule dates
        return mask

    def _plan(self, book: LoadedRulebook, rule: CompiledRule) -> RulePlan:
        plan = self._plans.get(id(rule))
        if plan is None:
            plan = self._plans[id(rule)] = _plan_of(book, rule)
        return plan


def _passing(screens: tuple[tuple[tuple[Conjunct, ...], T], ...], facts: dict[str, Any]) -> tuple[T, ...]:
    """The items whose screen has no conjunct that is False for `facts` (three-valued `and` is
    False as soon as one is), in order. A plain loop: a new screen key tests many rules."""
    passing = []
    for screen, item in screens:
        for conjunct in screen:
            if conjunct(facts, None) is False:
                break
        else:
            passing.append(item)
    return tuple(passing)


def _keyed_reads(reads: Reads | None) -> tuple[Reads | None, ReadValues | None]:
    """A rule's reads and the getter of their values, or (None, None) when what it records is not
    decided by values read once per service and coding: it reads more than facts by name, or it
    reads `lines`, which every phase and every action on the service may change."""
    if reads is None or any(path[0] == "lines" for path in reads):
        return None, None
    if not reads:
        return reads, _nothing_read
    return reads, operator.itemgetter(*reads)


def _phase_rules_of(serial: int, screened: Screened) -> PhaseRules:
    """The phase's rules with the union of their reads: the values of the union decide what every
    rule records, so one lookup can give what all of them recorded for a service."""
    if any(read_values is None for *_, read_values in screened):
        return serial, (), None, screened
    union = tuple(dict.fromkeys(path for *_, reads, _ in screened for path in reads or ()))
    return serial, union, operator.itemgetter(*union) if union else _nothing_read, screened


def _nothing_read(values: Mapping[tuple[str, ...], Any]) -> tuple[()]:
    return ()


def _phase_rules(
    books: list[LoadedRulebook], phase: str, date_of_service: dt.date
) -> Iterator[tuple[LoadedRulebook, CompiledRule]]:
    """A phase's rules in stack order; a later book's rule or `disable` with the same id wins.

    rule dates: a rule out of effect on the date neither runs nor replaces an earlier book's rule
    of the same id, which stays in force (so a payer changes a preference from a date on).
    """
    for position, book in enumerate(books):
        later = books[position + 1 :]
        replaced = {
            rule.id
            for other in later
            for rule in other.built.program.rules  # type: ignore[union-attr]
            if rule.in_effect(date_of_service)  # rule dates
        }
        disabled = {d.rule_id for other in later for d in other.built.rulebook.of_type(ast.Disable)}
        for rule in book.built.program.phase(phase):  # type: ignore[union-attr]
            if rule.id not in replaced and rule.id not in disabled and rule.in_effect(date_of_service):  # rule dates
                yield book, rule


def _dated(rule: CompiledRule) -> bool:  # rule dates
    return rule.effective_from is not None or rule.effective_until is not None


def _always(facts: dict[str, Any]) -> bool:
    return True


def _plan_of(book: LoadedRulebook, rule: CompiledRule) -> RulePlan:
    """Split the rule's condition (or table guard) into screen conjuncts and a precheck of the rest."""
    checked = book.built.checked
    node = _rule_node(book, rule)
    if checked is None or node is None:  # pragma: no cover - a stack only holds compiled books
        return RulePlan((), _always)
    compiler = Compiler(checked)
    if isinstance(node, ast.Table):
        if node.guard is None:
            return RulePlan((), _always)
        kind_screen, screen, _ = _split_screen(compiler, node.guard, checked.typer.references)
        return RulePlan(
            screen, compile_precheck(checked, (node.guard,), must_be_true=True), _rule_reads(node, checked), kind_screen
        )
    if node.condition is None:
        return RulePlan((), _always)
    kind_screen, screen, rest_parts = _split_screen(compiler, node.condition, checked.typer.references)
    # Three-valued `and` is False exactly when one conjunct is False; the screen conjuncts are
    # known not to be False for the services that reach the precheck.
    reads = _rule_reads(node, checked)
    if not rest_parts:
        return RulePlan(screen, _always, reads, kind_screen)
    return RulePlan(screen, compile_precheck(checked, rest_parts), reads, kind_screen)


def _split_screen(
    compiler: Compiler, condition: Any, references: dict[int, tuple[Any, ...]]
) -> tuple[tuple[Conjunct, ...], tuple[Conjunct, ...], list[Any]]:
    """The condition's conjuncts: compiled, those that read only the kind and the other screen
    ones; and, as they are, the rest."""
    kind_parts: list[Conjunct] = []
    screen_parts: list[Conjunct] = []
    rest_parts: list[Any] = []
    for part in _conjuncts(condition):
        if _reads_only(part, references, _KIND_FIELDS):
            kind_parts.append(compiler.expr(part))
        elif _reads_only(part, references, SCREEN_FIELDS):
            screen_parts.append(compiler.expr(part))
        else:
            rest_parts.append(part)
    return tuple(kind_parts), tuple(screen_parts), rest_parts


def _rule_reads(node: ast.Rule | ast.Table, checked: Any) -> Reads | None:
    """The non-screen facts a rule or table reads, or None when what it records may depend on more
    than facts by name (a quantifier's variable, a table output that hides a fact).

    Why: a rule is a function of the facts it reads, so what it recorded once (values compared,
    actions, their arguments and messages) holds for every service with the same screen key and
    the same values of these facts; the stack then skips the traced run and the reasons. A table
    is one too: its guard and input columns read facts, its cells and outputs are constants, so
    the row it matches and the outputs its actions use follow from the same values.
    """
    found: dict[str, None] = {}
    references = checked.typer.references
    outputs = frozenset(node.outputs) if isinstance(node, ast.Table) else frozenset()

    def visit(expr: Any) -> bool:
        if isinstance(expr, ast.Quantified):
            return False
        if isinstance(expr, ast.Literal) and expr.kind == "string":
            for match in INTERPOLATION.finditer(expr.text):
                name = match.group(1)
                if name.split(".")[0] in outputs:  # an action's scope puts a table's outputs over the facts
                    if name not in outputs:
                        return False
                    continue
                found.setdefault(name)
            return True
        if isinstance(expr, ast.Path):
            reference = references.get(id(expr))
            if reference is None or reference[0] == "valueset" or (reference[0] == "output" and expr.dotted in outputs):
                return True
            if reference[0] != "field" or reference[1].split(".")[0] in outputs:
                return False
            if reference[1] not in SCREEN_FIELDS:
                found.setdefault(reference[1])
            return True
        return all(visit(child) for child in _children(expr))

    def visit_step(step: ast.Step) -> bool:
        if isinstance(step, ast.Conditional):
            return visit(step.condition) and all(visit_step(inner) for inner in (*step.then, *step.otherwise))
        bound = checked.actions.get(id(step))
        return bound is not None and all(visit(value) for _, value in bound.arguments)

    if isinstance(node, ast.Table):
        cells = [cell.value for row in node.rows for cell in row.inputs if isinstance(cell, ast.CellTest)]
        values = [*node.inputs, *cells, *(value for row in node.rows for value in row.outputs if value is not None)]
        if node.guard is not None:
            values.append(node.guard)
    else:
        values = [] if node.condition is None else [node.condition]
    if not all(visit(value) for value in values) or not all(visit_step(step) for step in node.actions):
        return None
    return tuple(tuple(path.split(".")) for path in found)


def _rule_node(book: LoadedRulebook, rule: CompiledRule) -> ast.Rule | ast.Table | None:
    for item in book.built.rulebook.items:
        if isinstance(item, ast.Rule | ast.Table) and item.id == rule.id and item.span == rule.span:
            return item
    return None


def _conjuncts(condition: Any) -> Iterator[Any]:
    if isinstance(condition, ast.BoolOp) and condition.op == "and":
        for operand in condition.operands:
            yield from _conjuncts(operand)
    else:
        yield condition


_KIND_FIELDS = ("service.kind",)


def _reads_only(expr: Any, references: dict[int, tuple[Any, ...]], fields: tuple[str, ...]) -> bool:
    """Whether every fact the expression reads is one of `fields` (constants and value sets are fine)."""
    if isinstance(expr, ast.Quantified):
        return False  # binds a variable: reads more than the screen facts
    if isinstance(expr, ast.Path):
        reference = references.get(id(expr))
        return reference is None or reference[0] == "valueset" or (reference[0] == "field" and reference[1] in fields)
    return all(_reads_only(child, references, fields) for child in _children(expr))


def _children(node: Any) -> Iterator[Any]:
    if not dataclasses.is_dataclass(node):
        return
    for item in dataclasses.fields(node):
        value = getattr(node, item.name)
        if isinstance(value, tuple):
            yield from (element for element in value if dataclasses.is_dataclass(element))
        elif dataclasses.is_dataclass(value) and not isinstance(value, ast.Span):
            yield value
