"""A stack of rulebooks (base < payer < clinic), compiled once per content hash, run in the pipeline.

The contract is `Stack.run_phase`, a plain loop: for each service of the encounter, each rule in
effect (`applicable_rules`: the books that apply on the date of service and to the payer, a later
book's rule with the same id or its `disable <id>` winning) runs over the service's facts
(`rule_facts.service_facts`); then what the rules decided is applied to the `CodingContext`
(`stack_actions.ACTION_HANDLERS`), in stack order. Every rule is decided before the phase's first
action on that service is applied, so all of them see the service as the phase found it. Each
change carries a `Reason` naming the rulebook, its version (content hash), the rule, its label,
its span and the values compared.

A run with a trace (coverage, explanations) takes that loop as written. Without one, the devices of
`rulebooks.stack_speed` decide exactly the same with less work; the property test
(tests/rulebooks/test_stack_speed.py) holds them to the loop.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING, Any, NamedTuple

from dsl import ast
from dsl.api import Build, build, render_diagnostics
from dsl.content_hash import content_hash
from dsl.extends import Books, inherit
from dsl.formatter import format_rulebook
from dsl.parser import parse
from dsl.runtime import CompiledRule, Decision, RuleOutcome, Trace
from rulebooks.engine.context import CodingContext, WorkLine, rule_reason
from rulebooks.extended import LIBRARY, library_rulebooks
from rulebooks.models import Encounter, Reason, RulebookRef, RuleRef, Service, SourceSpan
from rulebooks.rule_facts import encounter_facts, lines_of, service_facts
from rulebooks.stack_actions import ACTION_HANDLERS, ActionHandler, act_on_encounter
from rulebooks.vocabulary import dermatology_vocabulary

if TYPE_CHECKING:
    from rulebooks.stack_speed import StackSpeed


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

    def applies_to(self, date_of_service: dt.date, payer: str) -> bool:
        """Whether the book is in effect on the DATE OF SERVICE (never today) and, when its header
        names a payer (`rulebook "X" for payer BCBS`), whether the encounter is that payer's."""
        header = self.header
        if header is None:
            return True
        if header.payer and header.payer.upper() != payer.upper():
            return False
        if header.effective_from and date_of_service < dt.date.fromisoformat(header.effective_from):
            return False
        return not (header.effective_until and date_of_service > dt.date.fromisoformat(header.effective_until))


#: A rule in effect with the book it comes from.
BookRule = tuple[LoadedRulebook, CompiledRule]


def applicable_rules(
    books: Sequence[LoadedRulebook], phase: str, date_of_service: dt.date, payer: str, scope: str | None = None
) -> tuple[BookRule, ...]:
    """The rules of a phase that apply to an encounter, in stack order: those of the books that
    apply on its date of service and to its payer (`LoadedRulebook.applies_to`), where a later
    applying book's rule with the same id, or its `disable <id>`, wins.

    The one place that says which rules apply: the plain loop asks it for every service, the
    caches of `rulebooks.stack_speed` once per phase, date of service and payer.
    """
    applying = [book for book in books if book.applies_to(date_of_service, payer)]
    chosen: list[BookRule] = []
    for position, book in enumerate(applying):
        later = applying[position + 1 :]
        # A rule out of effect on the date (its own `effective ... until ...`) neither runs nor
        # replaces an earlier book's rule of the same id, which stays in force: that is how a
        # payer changes a preference from a date on.
        replaced = {
            rule.id
            for other in later
            for rule in other.built.program.rules  # type: ignore[union-attr]
            if rule.in_effect(date_of_service)
        }
        disabled = {d.rule_id for other in later for d in other.built.rulebook.of_type(ast.Disable)}
        for rule in book.built.program.phase(phase, scope):  # type: ignore[union-attr]
            if rule.id not in replaced and rule.id not in disabled and rule.in_effect(date_of_service):
                chosen.append((book, rule))
    return tuple(chosen)


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


class Action(NamedTuple):
    """An action a rule decided on, ready to apply: its handler, arguments and reason."""

    handler: ActionHandler
    arguments: dict[str, Any]
    reason: Reason


class Decided(NamedTuple):
    """What one rule decided for one service: its outcome (fired or undetermined), the reason of
    its `rule_undetermined` flag (None when it fired) and its actions."""

    outcome: RuleOutcome
    undetermined: Reason | None
    actions: tuple[Action, ...]


def run_rule(book: LoadedRulebook, rule: CompiledRule, facts: dict[str, Any], trace: Trace) -> list[Decided]:
    """Run one rule over a service's facts with its explaining trace: what it decided, if anything."""
    trace.reset()
    decision = Decision()
    rule.run(facts, trace, decision)
    return [decided(book, outcome) for outcome in decision.outcomes]


def decided(book: LoadedRulebook, outcome: RuleOutcome) -> Decided:
    """An outcome with its reasons: the undetermined flag's, and the one (frozen) reason every
    action of the outcome carries (same rule, label and values)."""
    undetermined = None
    if outcome.status == "undetermined":
        undetermined = _reason(book, outcome, "the rule needs facts that are missing: " + ", ".join(outcome.missing))
    if not outcome.actions:
        return Decided(outcome, undetermined, ())
    reason = _reason(book, outcome, outcome.label)
    return Decided(
        outcome,
        undetermined,
        tuple(Action(ACTION_HANDLERS[action.action], action.arguments, reason) for action in outcome.actions),
    )


def _no_lines() -> Sequence[WorkLine]:
    return ()


@dataclass(frozen=True)
class Stack:
    """Compiled rulebooks in stack order. `findings` (service id -> note findings) feed the facts;
    `journal` collects every rule outcome and `trace` condition outcomes, when given (explain, tests)."""

    books: tuple[LoadedRulebook, ...]
    findings: Mapping[str, Sequence[str]] = field(default_factory=dict)
    journal: list[RuleOutcome] | None = None
    trace: Trace | None = None
    #: Each book's published version id, when the stack is a clinic's (`rulebooks.clinic_stack`).
    version_ids: tuple[str | None, ...] = ()

    @property
    def refs(self) -> list[RulebookRef]:
        """The books as a coding names them: name, content hash and, when published, version id."""
        if not self.version_ids:
            return [book.ref for book in self.books]
        return [
            book.ref if version_id is None else book.ref.model_copy(update={"version_id": version_id})
            for book, version_id in zip(self.books, self.version_ids, strict=True)
        ]

    def payer_book(self, date_of_service: dt.date, payer: str) -> LoadedRulebook | None:
        """The payer's own book in this stack (`for payer X`) in effect on the date of service."""
        for book in self.books:
            header = book.header
            if header is not None and header.payer and book.applies_to(date_of_service, payer):
                return book
        return None

    def observed(self, *, findings: Mapping[str, Sequence[str]] | None = None, trace: Trace | None = None) -> Stack:
        """The same books with findings, a fresh journal and an optional trace (for one explained run).

        The new stack shares this one's devices and what they remember: one explained run per
        encounter must not work out again which rules can fire.
        """
        stack = Stack(self.books, findings if findings is not None else self.findings, [], trace, self.version_ids)
        stack.__dict__["_speed"] = self._speed
        return stack

    @cached_property
    def _speed(self) -> StackSpeed:
        """The devices that decide like the plain loop with less work (the contract does not
        depend on them, hence the import here)."""
        from rulebooks.stack_speed import StackSpeed

        return StackSpeed(self.books)

    def run_phase(self, phase: str, ctx: CodingContext) -> list[RuleOutcome]:
        """Run one phase's rules for every service and apply what they decided to the context.

        For each service, every rule in effect is decided (`decide`) before the first of their
        actions is applied, in stack order; the journal gets each outcome, an undetermined rule
        raises `rule_undetermined` (a missing fact never silently reads as false).
        """
        encounter = ctx.encounter
        outcomes: list[RuleOutcome] = []
        for service in encounter.services:
            lines = functools.partial(lines_of, ctx, service)
            for rule_decided in self.decide(phase, encounter, service, lines=lines, coding=ctx.memo):
                outcomes.append(rule_decided.outcome)
                self._apply(ctx, service, rule_decided)
        if self._encounter_rules and encounter.services:
            for rule_decided in self.decide_for_encounter(phase, encounter, ctx.claim_lines()):
                outcomes.append(rule_decided.outcome)
                self._apply_to_encounter(ctx, rule_decided)
        return outcomes

    @cached_property
    def _encounter_rules(self) -> bool:
        """Whether a book of the stack has a rule `for the encounter` (else none is looked for)."""
        return any(rule.scope == "encounter" for book in self.books for rule in book.built.program.rules)  # type: ignore[union-attr]

    def decide_for_encounter(self, phase: str, encounter: Encounter, lines: Sequence[WorkLine]) -> list[Decided]:
        """What the phase's rules `for the encounter` decide, once, after the service rules acted.

        They run as written, over facts built for each encounter, and nothing of what they
        decide is remembered: no memo can be keyed wrongly on what they read."""
        date_of_service, payer = encounter.date_of_service, encounter.coverage.payer
        if self.trace is None:
            rules = self._speed.encounter_rules(phase, date_of_service, payer)
        else:
            rules = applicable_rules(self.books, phase, date_of_service, payer, "encounter")
        if not rules:
            return []
        facts = encounter_facts(encounter, lines)
        trace = self.trace if self.trace is not None else Trace()
        return [one for book, rule in rules for one in run_rule(book, rule, facts, trace)]

    def decide(
        self,
        phase: str,
        encounter: Encounter,
        service: Service,
        *,
        lines: Callable[[], Sequence[WorkLine]] = _no_lines,
        coding: dict[Any, Any] | None = None,
    ) -> Sequence[Decided]:
        """What every rule in effect decides for one service, in stack order, before any is applied.

        `lines` gives the claim lines the service contributes to now (asked only when a rule needs
        the facts); `coding` is where a coding keeps what its phases share (`CodingContext.memo`).
        With a trace, each rule runs over the service's facts as written (`decide_plainly`); without
        one, `rulebooks.stack_speed` gives the same outcomes, reasons and actions.
        """
        findings = self.findings.get(service.id, ()) if self.findings else ()
        if self.trace is None:
            return self._speed.decide(phase, encounter, service, findings, lines, coding)
        return self.decide_plainly(phase, encounter, service, findings, lines(), self.trace)

    def decide_plainly(
        self,
        phase: str,
        encounter: Encounter,
        service: Service,
        findings: Sequence[str],
        lines: Sequence[WorkLine],
        trace: Trace,
    ) -> list[Decided]:
        """The contract: build the service's facts, run each rule in effect over them."""
        facts = service_facts(encounter, service, lines, findings)
        rules = applicable_rules(self.books, phase, encounter.date_of_service, encounter.coverage.payer)
        return [one for book, rule in rules for one in run_rule(book, rule, facts, trace)]

    def _apply(self, ctx: CodingContext, service: Service, rule_decided: Decided) -> None:
        """Record one rule's outcome and apply its actions to the service."""
        outcome = rule_decided.outcome
        if self.journal is not None:
            self.journal.append(outcome)
        if rule_decided.undetermined is not None:
            ctx.flag("rule_undetermined", rule_decided.undetermined, detail=outcome.rule_id, service_ids=[service.id])
        for action in rule_decided.actions:
            action.handler(ctx, service, action.arguments, action.reason)

    def _apply_to_encounter(self, ctx: CodingContext, rule_decided: Decided) -> None:
        """Record one encounter rule's outcome and apply its actions (`stack_actions.act_on_encounter`)."""
        outcome = rule_decided.outcome
        if self.journal is not None:
            self.journal.append(outcome)
        if rule_decided.undetermined is not None:
            ctx.flag(
                "rule_undetermined",
                rule_decided.undetermined,
                detail=outcome.rule_id,
                service_ids=[service.id for service in ctx.encounter.services],
            )
        for action in rule_decided.actions:
            act_on_encounter(ctx, action.handler, action.arguments, action.reason)


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
