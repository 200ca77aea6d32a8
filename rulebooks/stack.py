"""A stack of rulebooks (base < payer < clinic), compiled once per content hash, run in the pipeline.

A later rulebook overrides an earlier rule by defining the same id, or switches it off with
`disable <id> "why"`. Each phase's rules run once per service over `rule_facts.service_facts`;
their actions change the `CodingContext`, each change carrying a `Reason` that names the
rulebook, its version (content hash), the rule, its label, its span and the values compared.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

from dsl import ast
from dsl.api import Build, build, render_diagnostics
from dsl.content_hash import content_hash
from dsl.extends import Books, inherit
from dsl.formatter import format_rulebook
from dsl.parser import parse
from dsl.runtime import CompiledRule, Decision, RuleOutcome, Trace
from rulebooks.engine.context import CodingContext, WorkLine, rule_reason
from rulebooks.extended import library_rulebooks
from rulebooks.models import Encounter, Reason, RulebookRef, RuleRef, Service, SourceSpan
from rulebooks.rule_facts import FactPath, fact_reader, line_facts, lines_of, service_facts
from rulebooks.stack_actions import ACTION_HANDLERS, ActionHandler
from rulebooks.stack_index import PhaseRules, Reads, ReadValues, Screened, StackIndex, screen_keys
from rulebooks.vocabulary import dermatology_vocabulary

LIBRARY = Path(__file__).parent / "library"


class RulebookError(Exception):
    """A rulebook in a stack does not compile; the message lists every diagnostic."""


@dataclass(frozen=True)
class LoadedRulebook:
    name: str
    version: str
    built: Build
    header: ast.Header | None

    @cached_property
    def ref(self) -> RulebookRef:
        """Built once: every coding with the stack names its books."""
        return RulebookRef(name=self.name, version=self.version)

    def applies_to(self, date_of_service: dt.date, payer: str | None) -> bool:
        """In effect on the date of service and, for a book that names a payer (`rulebook "X" for
        payer BCBS`), the encounter's payer's (None: any payer)."""
        header = self.header
        if header is not None and header.payer and payer is not None and header.payer.upper() != payer.upper():
            return False
        return self.in_effect(date_of_service)

    def in_effect(self, date_of_service: dt.date) -> bool:
        """Effective dates compare with the DATE OF SERVICE, never with today."""
        header = self.header
        if header is None:
            return True
        if header.effective_from and date_of_service < dt.date.fromisoformat(header.effective_from):
            return False
        return not (header.effective_until and date_of_service > dt.date.fromisoformat(header.effective_until))


def load_rulebook(text: str, extended: Books | None = None) -> LoadedRulebook:
    """Compile a rulebook once per content hash, from its canonical text.

    Rule spans in reasons refer to the canonical (formatted) text, as a published version stores
    it (CONTRACTS.md, Positions); two texts that format alike are one version, compiled once.
    `extended` gives the books its `extends` lines name (default: the shipped library), whose
    value sets it may use; it is compiled again when what it inherits changes.
    """
    parsed = parse(text)
    if not parsed.ok:
        raise RulebookError("the rulebook has errors:\n" + render_diagnostics(text, parsed.diagnostics))
    header = parsed.rulebook.header  # extends: the library is read only for a book that extends one
    books = None if header is None or not header.extends else library_rulebooks() if extended is None else extended
    inherited = _Inherited(inherit(parsed.rulebook, books).key, books)
    return _compiled(content_hash(parsed.rulebook), format_rulebook(parsed.rulebook), inherited)


@dataclass(frozen=True)
class _Inherited:  # extends
    """The books a rulebook extends, for `_compiled`: cached by what of them decides the build."""

    key: tuple[Any, ...]
    books: Books | None = field(compare=False, hash=False)


@lru_cache(maxsize=256)
def _compiled(version: str, canonical_text: str, inherited: _Inherited) -> LoadedRulebook:
    built = build(canonical_text, dermatology_vocabulary(), inherited.books)
    if built.program is None:
        errors = [d for d in built.diagnostics if d.severity == "error"]
        raise RulebookError("the rulebook has errors:\n" + render_diagnostics(canonical_text, errors))
    header = built.rulebook.header
    return LoadedRulebook(header.name if header else "unnamed", version, built, header)


def library_texts() -> dict[str, str]:
    """The shipped library, by rulebook name."""
    texts: dict[str, str] = {}
    for path in sorted(LIBRARY.glob("*.rules")):
        text = path.read_text(encoding="utf-8")
        loaded = load_rulebook(text)
        texts[loaded.name] = text
    return texts


@dataclass(frozen=True)
class Stack:
    """Compiled rulebooks in stack order. `findings` (service id -> note findings) feed the facts;
    `journal` collects every rule outcome and `trace` condition outcomes, when given (explain, tests)."""

    books: tuple[LoadedRulebook, ...]
    findings: Mapping[str, Sequence[str]] = field(default_factory=dict)
    journal: list[RuleOutcome] | None = None
    trace: Trace | None = None

    @property
    def refs(self) -> list[RulebookRef]:
        return [book.ref for book in self.books]

    def payer_book(self, date_of_service: dt.date, payer: str) -> LoadedRulebook | None:
        """The payer's own book in this stack (`for payer X`) in effect on the date of service."""
        for book in self.books:
            header = book.header
            if header and header.payer and header.payer.upper() == payer.upper() and book.in_effect(date_of_service):
                return book
        return None

    def observed(self, *, findings: Mapping[str, Sequence[str]] | None = None, trace: Trace | None = None) -> Stack:
        """The same books with findings, a fresh journal and an optional trace (for one explained run).

        The new stack shares this one's rule index: one explained run per encounter must not
        work out again which rules can fire.
        """
        stack = Stack(self.books, findings if findings is not None else self.findings, [], trace)
        stack.__dict__["_index"] = self._index
        return stack

    @cached_property
    def _index(self) -> StackIndex:
        """Rules by phase and date, and by the screen key of a service: computed once per stack."""
        return StackIndex(self.books)

    def rules(
        self, phase: str, date_of_service: dt.date, payer: str | None = None
    ) -> list[tuple[LoadedRulebook, CompiledRule]]:
        """The rules of a phase in stack order; a later book's rule or `disable` wins by id."""
        return list(self._index.rules(phase, date_of_service, payer))

    def run_phase(self, phase: str, ctx: CodingContext) -> list[RuleOutcome]:
        """Run one phase's rules for every service and apply their actions to the context.

        Each service sees only the rules its screen key lets through (`rulebooks.stack_index`):
        the others are false for it whatever the other facts. A run with a coverage trace runs
        every rule in full, so the trace sees every condition as before.
        """
        outcomes: list[RuleOutcome] = []
        if self.trace is not None:
            encounter = ctx.encounter
            every_rule = tuple(
                (book, rule, None, None, None)
                for book, rule in self._index.rules(phase, encounter.date_of_service, encounter.coverage.payer)
            )
            if every_rule:
                for service in encounter.services:
                    self._run_rules(ctx, service, (-1, (), None, every_rule), None, self.trace, outcomes)
            return outcomes
        coding = ctx.memo.get(_PER_CODING)
        if coding is None or coding.stack is not self:
            coding = ctx.memo[_PER_CODING] = _StackCoding(self, ctx.encounter)
        for service, facts, rules in coding.phases.get(phase, ()):
            self._run_rules(ctx, service, rules, facts, coding.trace, outcomes)
        return outcomes

    def _run_rules(
        self,
        ctx: CodingContext,
        service: Service,
        phase_rules: PhaseRules,
        keyed: _KeyedFacts | None,
        trace: Trace,
        outcomes: list[RuleOutcome],
    ) -> None:
        """Decide a phase's rules for one service, then apply what they recorded in rule order.

        What the rules record (outcomes, reasons) is kept by screen key and values of the other
        facts they read (`keyed`, None for a coverage run): for all of them together, and for each
        rule. Every rule is decided before the first action is applied, so all of them see the
        service's facts before any action of the phase on it, as if every rule had run.
        """
        serial, reads, read_values, rules = phase_rules
        values = _key_values(keyed, reads, read_values)
        if values is None:
            decided = self._decide(ctx, service, rules, keyed, trace)
        else:
            memo = (serial, values)
            known: tuple[_Recorded, ...] | None = self._index.recorded.get(memo)
            if known is None:
                known = self._decide(ctx, service, rules, keyed, trace)
                self._index.remember(memo, known)
            decided = known
        journal = self.journal
        for outcome, undetermined, actions in decided:
            outcomes.append(outcome)
            if journal is not None:
                journal.append(outcome)
            if undetermined is not None:
                ctx.flag("rule_undetermined", undetermined, detail=outcome.rule_id, service_ids=[service.id])
            for handler, arguments, reason in actions:
                handler(ctx, service, arguments, reason)

    def _decide(
        self, ctx: CodingContext, service: Service, rules: Screened, keyed: _KeyedFacts | None, trace: Trace
    ) -> tuple[_Recorded, ...]:
        """What each rule records for the service, in rule order: as it recorded it before for the
        same screen key and values of its reads, else from a run with its explaining trace when its
        untraced precheck is not False."""
        recorded = self._index.recorded
        facts: dict[str, Any] | None = None
        decided: list[_Recorded] = []
        for book, rule, precheck, reads, read_values in rules:
            memo: tuple[Any, ...] | None = None
            values = _key_values(keyed, reads or (), read_values)
            if values is not None:
                assert keyed is not None
                memo = (id(rule), keyed.number, values)
                found = recorded.get(memo)
                if found is not None:
                    decided.extend(found)
                    continue
            if facts is None:
                lines = lines_of(ctx, service)
                facts = (
                    service_facts(ctx.encounter, service, lines, self.findings.get(service.id, ()))
                    if keyed is None
                    else keyed.facts(lines)
                )
            if precheck is not None and not precheck(facts):
                found = ()  # False for this service: the traced run would record nothing
            else:
                trace.reset()
                decision = Decision()
                rule.run(facts, trace, decision)
                found = tuple(_recorded(book, outcome) for outcome in decision.outcomes)
            if memo is not None:
                self._index.remember(memo, found)
            decided.extend(found)
        return tuple(decided)


def _key_values(keyed: _KeyedFacts | None, reads: Reads, read_values: ReadValues | None) -> Any:
    """The values of `reads` for a memo key, or None when they do not make one: a coverage run
    (no `keyed`), a rule not keyed by its reads, or a value read that is a record or a list of
    records (known only once read, hence the check after reading)."""
    if keyed is None or read_values is None:
        return None
    values = read_values(keyed)
    if keyed.unkeyable and not keyed.unkeyable.isdisjoint(reads):
        return None
    return values


_PER_CODING = ("rule_stack", "coding")


class _KeyedFacts(dict[FactPath, Any]):
    """One service's screen key number and the values, fit for a key, of the other facts rules
    read, each read when a rule first asks for it. They are the same in every phase of a coding:
    they come from the encounter, the service and its findings, never from the lines.
    `unkeyable` holds the paths whose value is not a plain value (a record or a list of records):
    a rule reading one runs as usual."""

    __slots__ = ("encounter", "findings", "number", "service", "unkeyable", "without_lines")

    def __init__(self, encounter: Encounter, service: Service, findings: Sequence[str], number: int) -> None:
        self.encounter, self.service, self.findings, self.number = encounter, service, findings, number
        self.unkeyable: frozenset[FactPath] = frozenset()
        self.without_lines: dict[str, Any] | None = None

    def facts(self, lines: Sequence[WorkLine]) -> dict[str, Any]:
        """`service_facts` of the service with these lines: all but the lines are built once per
        coding and shared by the phases (rules only read their facts)."""
        without_lines = self.without_lines
        if without_lines is None:
            without_lines = self.without_lines = service_facts(self.encounter, self.service, (), self.findings)
        facts = dict(without_lines)
        facts["lines"] = line_facts(lines)
        return facts

    def __missing__(self, path: FactPath) -> Any:
        value = fact_reader(path)(self.encounter, self.service, self.findings)
        if isinstance(value, list):
            keyed: Any = (list, *((type(item), item) for item in value))
            if not all(type(item) in _JSON_SCALARS for item in value):
                self.unkeyable |= {path}
        else:
            keyed = (type(value), value)
            if type(value) not in _JSON_SCALARS and not isinstance(value, dt.date):
                self.unkeyable |= {path}
        self[path] = keyed
        return keyed


class _StackCoding:
    """What a stack works out once per coding: for each phase, the services some rule of the
    phase may fire for (in encounter order), with those rules and the service's keyed facts.

    Why: most services have no rule in most phases, and the screen key comes from the encounter
    alone; a phase then costs nothing for a service it has no rule for.
    """

    __slots__ = ("phases", "stack", "trace")

    def __init__(self, stack: Stack, encounter: Encounter) -> None:
        index = stack._index
        self.stack = stack
        self.trace = Trace()
        self.phases: dict[str, list[tuple[Service, _KeyedFacts, PhaseRules]]] = {}
        for service, key in zip(encounter.services, screen_keys(encounter), strict=True):
            number, by_phase = index.screened(encounter.date_of_service, key)
            if by_phase:
                keyed = _KeyedFacts(encounter, service, stack.findings.get(service.id, ()), number)
                for phase, rules in by_phase.items():
                    self.phases.setdefault(phase, []).append((service, keyed, rules))


#: What a rule recorded for a service: the outcome, the undetermined flag's reason, and the actions
#: as (handler, arguments, reason) to apply again.
_Recorded = tuple[RuleOutcome, "Reason | None", tuple[tuple["ActionHandler", dict[str, Any], Reason], ...]]


def _recorded(book: LoadedRulebook, outcome: RuleOutcome) -> _Recorded:
    """An outcome with its reasons: the undetermined flag's (None when the rule fired) and the one
    (frozen) reason every action of the outcome carries (same rule, label and values)."""
    undetermined = None
    if outcome.status == "undetermined":
        undetermined = _reason(book, outcome, "the rule needs facts that are missing: " + ", ".join(outcome.missing))
    if not outcome.actions:
        return outcome, undetermined, ()
    reason = _reason(book, outcome, outcome.label)
    return (
        outcome,
        undetermined,
        tuple((ACTION_HANDLERS[action.action], action.arguments, reason) for action in outcome.actions),
    )


def _reason(book: LoadedRulebook, outcome: RuleOutcome, message: str) -> Reason:
    values = {k: v if type(v) in _JSON_SCALARS else _jsonable(v) for k, v in outcome.values.items()}
    return rule_reason(
        _rule_ref(book.name, book.version, outcome.rule_id, outcome.label, outcome.span), message, values
    )


_JSON_SCALARS = frozenset({str, int, float, bool, type(None)})


@functools.lru_cache(maxsize=8192)
def _rule_ref(rulebook: str, version: str, rule_id: str, label: str, span: Any) -> RuleRef:
    """A rule's reference is the same on every encounter: build the (frozen) model once."""
    return RuleRef(
        rulebook=rulebook,
        version=version,
        rule_id=rule_id,
        label=label,
        span=SourceSpan(line=span.line, column=span.column, start=span.start, end=span.end),
    )


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def stack_of(texts: Sequence[str]) -> Stack:
    """A stack from rulebook texts in order: base first, clinic last."""
    return Stack(tuple(load_rulebook(text) for text in texts))


def library_stack(name: str, extra: Sequence[str] = ()) -> Stack:
    """The library rulebook `name` with everything it extends (base first), plus `extra` texts on top."""
    texts = library_texts()
    chain: list[str] = []

    def add(book_name: str) -> None:
        if book_name not in texts:
            raise RulebookError(f"no rulebook named {book_name!r} in the library")
        header = load_rulebook(texts[book_name]).header
        for parent in header.extends if header else ():
            add(parent)
        if texts[book_name] not in chain:
            chain.append(texts[book_name])

    add(name)
    return stack_of([*chain, *extra])
