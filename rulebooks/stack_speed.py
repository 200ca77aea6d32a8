"""The devices behind `Stack.decide`: they decide what the plain loop decides, with less work.

The plain loop of `rulebooks.stack` is the contract: for each service, every rule in effect runs
over the service's facts with its explaining trace. A clinic stack holds hundreds of rules, nearly
all about one kind of service, and most services are like one seen before in everything the rules
read. So, when no trace is kept, these devices stand in for the loop, each exact:

- **Rules in effect** (`RulesInEffect`): `applicable_rules` asked once per phase, date of service
  and payer. Dates and payers with the same rules share one object, so what is kept below holds
  across them; a stack whose books and rules have no dates (no book names a payer) does not read
  the date of service (the payer) to find them.
- **Screens** (`KindRules`, `ScreenedRules`): a rule's conjuncts that read only screen facts (those
  declared `screen=True` in `rulebooks.vocabulary.FACTS`: the kind, the coverage, the diagnoses...)
  are decided once per value of those facts, the kind first: the rules of a kind, then those whose
  other screen conjuncts pass for the service's values of the screen facts its kind's rules test.
  Exact because three-valued `and` is False as soon as one conjunct is False: a rule dropped so
  neither fires nor is undetermined, whatever the other facts (nor does a table whose guard is not
  True).
- **Memo** (`StackSpeed.recorded`): a rule is a function of the facts it reads (`RulePlan.reads`:
  its condition, its action arguments, the facts its messages name; for a table its guard and input
  columns, its cells and outputs being constants). So what screened rules decided for a service
  holds for every service with the same screen and the same values of the other facts they read,
  and what one rule decided holds for every service with the same values of all it reads: both are
  kept by those values. A rule that reads more than facts by name (a quantifier's variable, a table
  output hiding a fact), `lines` (which every action may change) or a record is never kept: it runs.
- **Keys** (`_key_of`): the values a screen or the memo is keyed by, read by one Python function
  written from the facts' declarations (the same attribute paths and functions the facts are built
  from); numbers carry their type (1, 1.0 and True are equal keys in Python, not in a reason).
- **Precheck** (`RulePlan.precheck`): when a rule must run, the rest of its condition runs first
  without a trace; a rule whose condition is False (a table whose guard is not True) records
  nothing, so only the rules that fire or are undetermined run again with the trace that explains
  them. The same compiled closures, hence the same three-valued logic.
- **What a coding keeps** (`_Service`, in `CodingContext.memo`): a service's screens and its facts
  but the lines, worked out in its first phase; neither changes between phases (they come from the
  encounter, the service and its findings; the lines are read afresh every time).

tests/rulebooks/test_stack_speed.py holds the devices to the plain loop on random rulebooks.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import operator
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from dsl import ast
from dsl.compiler import Compiler
from dsl.runtime import CompiledRule, Trace
from dsl.typecheck import INTERPOLATION
from rulebooks.engine.context import WorkLine
from rulebooks.models import Encounter, Service
from rulebooks.rule_facts import DERMATOLOGY, line_facts, upper_codes
from rulebooks.stack import BookRule, Decided, LoadedRulebook, applicable_rules, run_rule
from rulebooks.vocabulary import Fact, dermatology_vocabulary

KIND = "service.kind"
#: The facts a screen may read.
SCREEN_FIELDS = tuple(declared.path for declared in DERMATOLOGY.screen_facts)
ScreenKey = tuple[Any, ...]
#: The values of some facts of one service, fit for a key: (encounter, service, findings) -> tuple.
KeyOf = Callable[[Encounter, Service, Sequence[str]], tuple[Any, ...]]
Conjunct = Callable[[dict[str, Any], None], Any]
Precheck = Callable[[dict[str, Any]], bool]
#: Entries kept per cache of a stack before it starts again (a long replay meets many dates).
MAX_KEYS = 20_000
#: What the memo keeps per stack before it starts again.
MAX_RECORDED = 200_000
#: Scalar kinds whose equal values may differ in type (1, 1.0, True): keyed with their type.
_NUMERIC = frozenset({"number", "quantity", "bool"})


@dataclass(frozen=True, slots=True, eq=False)
class RulePlan:
    """One rule as the devices run it.

    `kind_screen`: its conjuncts on the kind alone; `screen`: its other conjuncts on screen facts
    alone, which read `screen_fields`; `precheck`: the rest without a trace (None when nothing is
    left to check); `reads`: every fact it reads, and `key` their values (None when what the rule
    decides is not kept).
    """

    book: LoadedRulebook
    rule: CompiledRule
    kind_screen: tuple[Conjunct, ...]
    screen: tuple[Conjunct, ...]
    screen_fields: tuple[str, ...]
    precheck: Precheck | None
    reads: tuple[str, ...]
    key: KeyOf | None


@dataclass(frozen=True, slots=True, eq=False)
class ScreenedRules:
    """The rules that can fire for a kind and values of its screen facts, in stack order; `key`
    gives the values of the other facts they read (None when one of them is not kept)."""

    rules: tuple[RulePlan, ...]
    key: KeyOf | None


#: The screened rules of a service's kind and screen, by phase (phases without one left out).
Screens = dict[str, ScreenedRules]
_NO_SCREENS: Screens = {}


@dataclass(frozen=True, slots=True, eq=False)
class KindRules:
    """The rules in effect, phase by phase, whose kind conjuncts are not False for one kind;
    `screen_key` gives the values of the screen facts their other screen conjuncts read."""

    kind: Any
    phases: dict[str, tuple[RulePlan, ...]]
    screen_fields: tuple[str, ...]
    screen_key: KeyOf
    screened: dict[ScreenKey, Screens] = field(default_factory=dict)

    def screen(self, key: ScreenKey) -> Screens:
        """Each phase's rules whose screen is not False for the values, kept with them."""
        facts = _screen_facts((KIND, *self.screen_fields), (self.kind, *key))
        fixed = {KIND, *self.screen_fields}
        screens: Screens = {}
        for phase, rules in self.phases.items():
            passing = tuple(plan for plan in rules if all(part(facts, None) is not False for part in plan.screen))
            if passing:
                others = tuple(dict.fromkeys(path for plan in passing for path in plan.reads if path not in fixed))
                kept = all(plan.key is not None for plan in passing)
                screens[phase] = ScreenedRules(passing, _key_of(others) if kept else None)
        if len(self.screened) >= MAX_KEYS:
            self.screened.clear()
        self.screened[key] = screens
        return screens


@dataclass(frozen=True, slots=True, eq=False)
class RulesInEffect:
    """Each phase's rules in effect for some dates and payers, and their screens by kind."""

    phases: dict[str, tuple[RulePlan, ...]]
    kinds: dict[Any, KindRules] = field(default_factory=dict)

    def of_kind(self, kind: Any) -> KindRules:
        """The rules whose kind conjuncts are not False for `kind`, kept with it."""
        facts = _screen_facts((KIND,), (kind,))
        phases = {}
        for phase, rules in self.phases.items():
            of_kind = tuple(plan for plan in rules if all(part(facts, None) is not False for part in plan.kind_screen))
            if of_kind:
                phases[phase] = of_kind
        fields = tuple(
            dict.fromkeys(path for rules in phases.values() for plan in rules for path in plan.screen_fields)
        )
        found = self.kinds[kind] = KindRules(kind, phases, fields, _screen_key_of(fields))
        return found


class _Service:
    """What a coding keeps of one service for its phases: its screens, and its facts but the lines
    (the same in every phase: they come from the encounter, the service and its findings)."""

    __slots__ = ("findings", "screens", "speed", "without_lines")

    def __init__(self, speed: StackSpeed, findings: Sequence[str], screens: Screens | None = None) -> None:
        """`screens` is None for a service decided outside a coding (one phase, nothing to keep)."""
        self.speed, self.findings, self.screens = speed, findings, screens or {}
        self.without_lines: dict[str, Any] | None = None

    def facts(self, encounter: Encounter, service: Service, lines: Sequence[WorkLine]) -> dict[str, Any]:
        """`service_facts` with these lines (rules only read their facts, so all but the lines are shared)."""
        if self.without_lines is None:
            self.without_lines = DERMATOLOGY.service_facts(encounter, service, (), self.findings)
        facts = dict(self.without_lines)
        facts["lines"] = line_facts(lines)
        return facts


class StackSpeed:
    """A stack's devices and what they keep: made once per stack, shared by its observed copies."""

    def __init__(self, books: tuple[LoadedRulebook, ...]) -> None:
        self.books = books
        rules = [rule for book in books for rule in book.built.program.rules]  # type: ignore[union-attr]
        self.phases = tuple(dict.fromkeys(rule.phase for rule in rules))
        headers = [book.header for book in books if book.header is not None]
        #: Whether the rules in effect depend on the date of service (a book or rule has dates)
        #: and on the payer (a book names one): what they do not depend on is not read.
        self.by_date = any(h.effective_from or h.effective_until for h in headers) or any(
            rule.effective_from or rule.effective_until for rule in rules
        )
        self.by_payer = any(header.payer for header in headers)
        self._in_effect: dict[tuple[dt.date, str], RulesInEffect] = {}
        self._kinds: dict[tuple[dt.date | None, str | None, Any], KindRules] = {}
        self._by_rules: dict[tuple[tuple[int, ...], ...], RulesInEffect] = {}
        self._for_encounter: dict[tuple[str, dt.date | None, str | None], tuple[BookRule, ...]] = {}
        self._plans: dict[int, RulePlan] = {}
        self._nodes: dict[int, dict[tuple[str, Any], ast.Rule | ast.Table]] = {}
        #: What screened rules decided together, by (ScreenedRules, values of their other reads), and
        #: what one rule decided, by (RulePlan, values of all it reads).
        self.recorded: dict[tuple[object, tuple[Any, ...]], tuple[Decided, ...]] = {}

    def decide(
        self,
        phase: str,
        encounter: Encounter,
        service: Service,
        findings: Sequence[str],
        lines: Callable[[], Sequence[WorkLine]],
        coding: dict[Any, Any] | None = None,
    ) -> tuple[Decided, ...]:
        """What the plain loop decides for the service: as kept for its screen and the values its
        screened rules read, else decided rule by rule (`_decide_each`). `coding` keeps, for the
        other phases of the service's coding, its screens and its facts."""
        kept: _Service | None = None
        if coding is None:  # `screens`, written out: one call less for the service decided alone
            of_kind = self._kinds.get(
                (
                    encounter.date_of_service if self.by_date else None,
                    encounter.coverage.payer if self.by_payer else None,
                    _read_kind(service),
                )
            )
            if of_kind is None:
                of_kind = self.of_kind(encounter, service)
            if not of_kind.phases:
                return ()
            key = of_kind.screen_key(encounter, service, ())
            screens = of_kind.screened.get(key)
            screened = (of_kind.screen(key) if screens is None else screens).get(phase)
        else:
            kept = coding.get(("rule_stack", service.id))
            if kept is None or kept.speed is not self or kept.findings is not findings:
                kept = coding[("rule_stack", service.id)] = _Service(self, findings, self.screens(encounter, service))
            screened = kept.screens.get(phase)
        if screened is None:
            return ()
        if screened.key is None:
            return self._decide_each(screened.rules, encounter, service, kept or _Service(self, findings), lines)
        memo = (screened, screened.key(encounter, service, findings))
        found = self.recorded.get(memo)
        if found is None:
            found = self._decide_each(screened.rules, encounter, service, kept or _Service(self, findings), lines)
            self._remember(memo, found)
        return found

    def screens(self, encounter: Encounter, service: Service) -> Screens:
        """The rules in effect for the encounter that can fire for the service, by phase: by the
        service's kind, then the values of the screen facts its kind's rules test."""
        of_kind = self._kinds.get(
            (
                encounter.date_of_service if self.by_date else None,
                encounter.coverage.payer if self.by_payer else None,
                _read_kind(service),
            )
        )
        if of_kind is None:
            of_kind = self.of_kind(encounter, service)
        if not of_kind.phases:
            return _NO_SCREENS
        key = of_kind.screen_key(encounter, service, ())
        screens = of_kind.screened.get(key)
        return of_kind.screen(key) if screens is None else screens

    def of_kind(self, encounter: Encounter, service: Service) -> KindRules:
        """The rules in effect for the encounter whose kind conjuncts are not False for the
        service's kind, kept by kind and by the date of service and payer when they matter."""
        date_of_service, payer, kind = encounter.date_of_service, encounter.coverage.payer, _read_kind(service)
        in_effect = self.rules_in_effect(date_of_service, payer)
        found = in_effect.kinds.get(kind) or in_effect.of_kind(kind)
        if len(self._kinds) >= MAX_KEYS:
            self._kinds.clear()
        self._kinds[(date_of_service if self.by_date else None, payer if self.by_payer else None, kind)] = found
        return found

    def rules_in_effect(self, date_of_service: dt.date, payer: str) -> RulesInEffect:
        """`applicable_rules` of each phase with each rule's plan, shared by the dates and payers
        with the same rules."""
        found = self._in_effect.get((date_of_service, payer))
        if found is None:
            phases = {phase: applicable_rules(self.books, phase, date_of_service, payer) for phase in self.phases}
            same = tuple(tuple(id(rule) for _, rule in rules) for rules in phases.values())
            found = self._by_rules.get(same)
            if found is None:
                found = self._by_rules[same] = RulesInEffect(
                    {phase: tuple(self._plan(book, rule) for book, rule in rules) for phase, rules in phases.items()}
                )
            if len(self._in_effect) >= MAX_KEYS:
                self._in_effect.clear()
            self._in_effect[(date_of_service, payer)] = found
        return found

    def encounter_rules(self, phase: str, date_of_service: dt.date, payer: str) -> tuple[BookRule, ...]:
        """`applicable_rules` of the phase's rules `for the encounter`, kept by phase and by the date
        of service and payer when they matter (as `rules_in_effect`)."""
        key = (phase, date_of_service if self.by_date else None, payer if self.by_payer else None)
        found = self._for_encounter.get(key)
        if found is None:
            if len(self._for_encounter) >= MAX_KEYS:
                self._for_encounter.clear()
            found = self._for_encounter[key] = applicable_rules(self.books, phase, date_of_service, payer, "encounter")
        return found

    def _decide_each(
        self,
        rules: tuple[RulePlan, ...],
        encounter: Encounter,
        service: Service,
        kept: _Service,
        lines: Callable[[], Sequence[WorkLine]],
    ) -> tuple[Decided, ...]:
        """Each rule as kept for the values it reads, else run: its precheck, then, when that is not
        False, the rule with its trace. The facts are built once, when a rule first needs them."""
        findings = kept.findings
        facts: dict[str, Any] | None = None
        decided: list[Decided] = []
        for plan in rules:
            memo = None
            if plan.key is not None:
                memo = (plan, plan.key(encounter, service, findings))
                found = self.recorded.get(memo)
                if found is not None:
                    decided.extend(found)
                    continue
            if facts is None:
                facts = kept.facts(encounter, service, lines())
            if plan.precheck is not None and not plan.precheck(facts):
                found = ()  # False for this service: the traced run would record nothing
            else:
                found = tuple(run_rule(plan.book, plan.rule, facts, Trace()))
            if memo is not None:
                self._remember(memo, found)
            decided.extend(found)
        return tuple(decided)

    def _remember(self, memo: tuple[object, tuple[Any, ...]], found: tuple[Decided, ...]) -> None:
        if len(self.recorded) >= MAX_RECORDED:
            self.recorded.clear()
        self.recorded[memo] = found

    def _plan(self, book: LoadedRulebook, rule: CompiledRule) -> RulePlan:
        plan = self._plans.get(id(rule))
        if plan is None:
            plan = self._plans[id(rule)] = _plan_of(book, rule, self._node(book, rule))
        return plan

    def _node(self, book: LoadedRulebook, rule: CompiledRule) -> ast.Rule | ast.Table:
        nodes = self._nodes.get(id(book.built))
        if nodes is None:
            nodes = self._nodes[id(book.built)] = {
                (item.id, item.span): item
                for item in book.built.rulebook.items
                if isinstance(item, ast.Rule | ast.Table)
            }
        return nodes[(rule.id, rule.span)]


def _plan_of(book: LoadedRulebook, rule: CompiledRule, node: ast.Rule | ast.Table) -> RulePlan:
    """Split the rule's condition (a table's guard) into its screens and the rest; find its reads."""
    checked = book.built.checked
    assert checked is not None  # a stack holds compiled books only
    compiler = Compiler(checked)
    references = checked.typer.references
    found = _rule_reads(node, checked)
    reads, key = found or (), _key_of(found)
    condition = node.guard if isinstance(node, ast.Table) else node.condition
    if condition is None:
        return RulePlan(book, rule, (), (), (), None, reads, key)
    kind_screen: list[Conjunct] = []
    screen: list[Conjunct] = []
    screen_fields: dict[str, None] = {}
    rest: list[Conjunct] = []
    for part in _conjuncts(condition):
        read = _fields_read(part, references)
        if read is None or not read <= set(SCREEN_FIELDS):
            rest.append(compiler.expr(part))
        elif read <= {KIND}:
            kind_screen.append(compiler.expr(part))
        else:
            screen.append(compiler.expr(part))
            screen_fields.update(dict.fromkeys(path for path in SCREEN_FIELDS if path in read and path != KIND))
    screens = (tuple(kind_screen), tuple(screen), tuple(screen_fields))
    if isinstance(node, ast.Table):
        # A table records nothing unless its guard is True (its screen conjuncts are not False here).
        guard = compiler.expr(condition)
        return RulePlan(book, rule, *screens, lambda facts: guard(facts, None) is True, reads, key)
    return RulePlan(book, rule, *screens, _precheck(tuple(rest)) if rest else None, reads, key)


def _precheck(conjuncts: tuple[Conjunct, ...]) -> Precheck:
    """False as soon as one conjunct is False without a trace (three-valued `and`)."""

    def precheck(facts: dict[str, Any]) -> bool:
        for conjunct in conjuncts:  # noqa: SIM110 - a loop, not a generator per call
            if conjunct(facts, None) is False:
                return False
        return True

    return precheck


def _rule_reads(node: ast.Rule | ast.Table, checked: Any) -> tuple[str, ...] | None:
    """The facts a rule or table reads, or None when what it decides may depend on more than facts
    by name (a quantifier's variable, a table output that hides a fact)."""
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
    return tuple(found)


def _fields_read(expr: Any, references: dict[int, tuple[Any, ...]]) -> set[str] | None:
    """The facts an expression reads (constants and value sets read none), or None when it binds
    a variable (a quantifier reads more than facts by name)."""
    if isinstance(expr, ast.Quantified):
        return None
    if isinstance(expr, ast.Path):
        reference = references.get(id(expr))
        if reference is None or reference[0] == "valueset":
            return set()
        return {reference[1]} if reference[0] == "field" else None
    read: set[str] = set()
    for child in _children(expr):
        found = _fields_read(child, references)
        if found is None:
            return None
        read |= found
    return read


@functools.lru_cache(maxsize=4096)
def _key_of(reads: tuple[str, ...] | None) -> KeyOf | None:
    """The values of `reads` for one service as a key, or None when one is not fit for a key
    (`lines`, a record, a list of records) or the reads are unknown.

    Lists become tuples; numbers and yes/no carry their type (1, 1.0 and True are equal keys); codes
    the facts upper-case are keyed as written (codes written alike are alike in upper case too).
    Written as one Python function from the facts' declarations (`FACTS`: an attribute path, or a
    function, inside an optional record), because a memo asks for a key for every service; once
    per list of facts. tests/rulebooks/test_stack_caches.py checks it reads what
    `FactSchema.reader` reads.
    """
    if reads is None:
        return None
    names: dict[str, Any] = {}
    values = [_key_code(path, position, names) for position, path in enumerate(reads)]
    if None in values:
        return None
    source = f"def key(encounter, service, findings):\n    return ({''.join(f'{value}, ' for value in values)})\n"
    exec(compile(source, f"<key of {', '.join(reads)}>", "exec"), names)
    key: KeyOf = names["key"]
    return key


def _key_code(path: str, position: int, names: dict[str, Any]) -> str | None:
    """The Python expression of one fact's key value (`_key_of`), its functions put in `names`."""
    declared, type_ = DERMATOLOGY.fact(path), dermatology_vocabulary().field_type(path)
    if declared is None or type_ is None or path == "lines" or type_.kind == "record":
        return None
    element = type_.element if type_.kind == "list" else None
    if element is not None and element.kind == "record":
        return None
    value = _source_code(declared, f"_s{position}", names)
    held = f"_v{position}"
    if element is not None and element.kind in _NUMERIC:
        return f"(None if ({held} := {value}) is None else tuple((type(_e), _e) for _e in {held}))"
    if element is not None:
        return f"(None if ({held} := {value}) is None else tuple({held}))"
    if type_.kind in _NUMERIC:
        return f"(type({held} := {value}), {held})"
    return value


def _source_code(declared: Fact, name: str, names: dict[str, Any]) -> str:
    """The Python expression of a fact's value, from where its declaration says it comes from."""
    source, record = declared.source, declared.record
    if source is None:
        return "None"
    if isinstance(source, str):
        attributes = _RECORD_ATTRIBUTE if record else _ATTRIBUTE_PATH
        if not attributes.fullmatch(source) or not _ATTRIBUTE_PATH.fullmatch(record.source if record else source):
            raise ValueError(f"{declared.path}: not an attribute path: {source!r}")
    else:
        names[name] = source
    if record is None:
        return source if isinstance(source, str) else f"{name}(encounter, service, findings)"
    inner = f"_r.{source}" if isinstance(source, str) else f"{name}(_r, encounter)"
    return f"(None if (_r := {record.source}) is None else {inner})"


_ATTRIBUTE_PATH = re.compile(r"(encounter|service)(\.[a-z_][a-z0-9_]*)+")
_RECORD_ATTRIBUTE = re.compile(r"[a-z_][a-z0-9_]*")


def _screen_key_of(fields: tuple[str, ...]) -> KeyOf:
    key = _key_of(fields)
    if key is None:  # pragma: no cover - a vocabulary error
        raise ValueError(f"a screen fact is a value or a list of values: {fields}")
    return key


def _screen_facts(paths: Sequence[str], key: ScreenKey) -> dict[str, Any]:
    """Screen facts as `rule_facts.service_facts` shapes them, from their values in a key."""
    facts: dict[str, Any] = {}
    for path, value in zip(paths, key, strict=True):
        *records, name = path.split(".")
        level = facts
        for record in records:
            level = level.setdefault(record, {})
        level[name] = _unkeyed(path, value)
    return facts


def _unkeyed(path: str, value: Any) -> Any:
    """A fact's value from its key (`_key_of`): lists as lists, numbers without their type."""
    type_, declared = dermatology_vocabulary().field_type(path), DERMATOLOGY.fact(path)
    assert type_ is not None and declared is not None
    if type_.kind == "list":
        numeric = type_.element is not None and type_.element.kind in _NUMERIC
        value = None if value is None else [item[1] if numeric else item for item in value]
    elif type_.kind in _NUMERIC:
        value = value[1]
    return upper_codes(value) if declared.upper else value


def _kind_reader() -> Callable[[Service], Any]:
    """The service's kind, read in one call: its declared source is an attribute of the service."""
    declared = DERMATOLOGY.fact(KIND)
    source = declared.source if declared else None
    if not (isinstance(source, str) and _ATTRIBUTE_PATH.fullmatch(source) and source.startswith("service.")):
        raise ValueError(f"{KIND} must come from an attribute of the service")  # pragma: no cover
    return operator.attrgetter(source.removeprefix("service."))


_read_kind = _kind_reader()


def _conjuncts(condition: Any) -> Iterator[Any]:
    if isinstance(condition, ast.BoolOp) and condition.op == "and":
        for operand in condition.operands:
            yield from _conjuncts(operand)
    else:
        yield condition


def _children(node: Any) -> Iterator[Any]:
    if not dataclasses.is_dataclass(node):
        return
    for item in dataclasses.fields(node):
        value = getattr(node, item.name)
        if isinstance(value, tuple):
            yield from (element for element in value if dataclasses.is_dataclass(element))
        elif dataclasses.is_dataclass(value) and not isinstance(value, ast.Span):
            yield value
