"""A stack of rulebooks (base < payer < clinic), compiled once per content hash, run in the pipeline.

A later rulebook overrides an earlier rule by defining the same id, or switches it off with
`disable <id> "why"`. Each phase's rules run once per service over `rule_facts.service_facts`;
their actions change the `CodingContext`, each change carrying a `Reason` that names the
rulebook, its version (content hash), the rule, its label, its span and the values compared.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

from dsl import ast
from dsl.api import Build, build, render_diagnostics
from dsl.content_hash import content_hash
from dsl.formatter import format_rulebook
from dsl.parser import parse
from dsl.runtime import CompiledRule, Decision, FiredAction, RuleOutcome, Trace
from rulebooks.engine.context import CodingContext, WorkLine
from rulebooks.engine.families.destruction import premalignant_destruction_lines
from rulebooks.models import Reason, RulebookRef, RuleRef, Service, SourceSpan
from rulebooks.rule_facts import lines_of, service_facts
from rulebooks.stack_index import MAX_RECORDED, StackIndex, screen_key
from rulebooks.vocabulary import dermatology_vocabulary

LIBRARY = Path(__file__).parent / "library"

# Recoding after a lesion cap: the family function that turns a lesion count into lines,
# keyed by the codes it produces. The rule language says "cap lesions of service at 10";
# which codes that means is the code family's business, not the language's.
LesionRecoder = Callable[[int], list[tuple[str, int]]]
LESION_RECODERS: dict[frozenset[str], LesionRecoder] = {
    frozenset({"17000", "17003", "17004"}): premalignant_destruction_lines,
}


class RulebookError(Exception):
    """A rulebook in a stack does not compile; the message lists every diagnostic."""


@dataclass(frozen=True)
class LoadedRulebook:
    name: str
    version: str
    built: Build
    header: ast.Header | None

    @property
    def ref(self) -> RulebookRef:
        return RulebookRef(name=self.name, version=self.version)

    def in_effect(self, date_of_service: dt.date) -> bool:
        """Effective dates compare with the DATE OF SERVICE, never with today."""
        header = self.header
        if header is None:
            return True
        if header.effective_from and date_of_service < dt.date.fromisoformat(header.effective_from):
            return False
        return not (header.effective_until and date_of_service > dt.date.fromisoformat(header.effective_until))


def load_rulebook(text: str) -> LoadedRulebook:
    """Compile a rulebook once per content hash, from its canonical text.

    Rule spans in reasons refer to the canonical (formatted) text, as a published version stores
    it (CONTRACTS.md, Positions); two texts that format alike are one version, compiled once.
    """
    parsed = parse(text)
    if not parsed.ok:
        raise RulebookError("the rulebook has errors:\n" + render_diagnostics(text, parsed.diagnostics))
    return _compiled(content_hash(parsed.rulebook), format_rulebook(parsed.rulebook))


@lru_cache(maxsize=256)
def _compiled(version: str, canonical_text: str) -> LoadedRulebook:
    built = build(canonical_text, dermatology_vocabulary())
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

    def rules(self, phase: str, date_of_service: dt.date) -> list[tuple[LoadedRulebook, CompiledRule]]:
        """The rules of a phase in stack order; a later book's rule or `disable` wins by id."""
        return list(self._index.rules(phase, date_of_service))

    def run_phase(self, phase: str, ctx: CodingContext) -> list[RuleOutcome]:
        """Run one phase's rules for every service and apply their actions to the context.

        Each service sees only the rules its screen key lets through (`rulebooks.stack_index`):
        the others are false for it whatever the other facts; of those, a rule runs with its
        explaining trace only when its untraced condition is not False, and only once per screen
        key and values of the other facts it reads: what it recorded then (outcome, reasons) is
        applied again as it is. The facts are the service's before any action of the phase on
        it, as if every rule had run. A run with a coverage trace runs every rule in full, so the
        trace sees every condition as before.
        """
        encounter = ctx.encounter
        index = self._index
        all_rules = index.rules(phase, encounter.date_of_service)
        outcomes: list[RuleOutcome] = []
        if not all_rules:
            return outcomes
        covered = self.trace is not None  # a coverage trace must see every condition
        shared_trace = self.trace if self.trace is not None else Trace()
        everything = tuple((book, rule, None, None) for book, rule in all_rules) if covered else ()
        recorded = index.recorded
        per_coding = ctx.memo
        for service in encounter.services:
            numbered = per_coding.get(("rule_screen_key", service.id))
            if numbered is None or numbered[0] is not index:  # the same in every phase: once per coding
                key = screen_key(encounter, service)
                numbered = per_coding[("rule_screen_key", service.id)] = (index, key, index.key_number(key))
            _, key, number = numbered
            rules = everything if covered else index.rules_for(phase, encounter.date_of_service, key, number)
            if not rules:
                continue
            facts: dict[str, Any] | None = None
            for book, rule, precheck, reads in rules:
                memo: tuple[Any, ...] | None = None
                found = None
                if reads == ():  # decided by the screen key alone (its precheck is always True)
                    memo = (id(rule), number)
                    found = recorded.get(memo)
                if found is None:
                    if facts is None:
                        facts = service_facts(encounter, service, lines_of(ctx, service),
                                              self.findings.get(service.id, ()))
                    if precheck is not None and not precheck(facts):
                        continue  # false for this service: the traced run below would record nothing
                    if reads:
                        memo = _memo_key(rule, number, reads, facts)
                        found = recorded.get(memo) if memo is not None else None
                if found is None:
                    assert facts is not None
                    shared_trace.reset()
                    decision = Decision()
                    rule.run(facts, shared_trace, decision)
                    found = tuple(_recorded(book, outcome) for outcome in decision.outcomes)
                    if memo is not None:
                        if len(recorded) >= MAX_RECORDED:
                            recorded.clear()
                        recorded[memo] = found
                for outcome, undetermined, reason in found:
                    outcomes.append(outcome)
                    if self.journal is not None:
                        self.journal.append(outcome)
                    if undetermined is not None:
                        ctx.flag("rule_undetermined", undetermined, detail=outcome.rule_id, service_ids=[service.id])
                    if reason is not None:
                        if facts is None:  # the facts are the service's before any of its actions
                            facts = service_facts(encounter, service, lines_of(ctx, service),
                                                  self.findings.get(service.id, ()))
                        for action in outcome.actions:
                            ACTION_HANDLERS[action.action](ctx, service, action.arguments, reason)
        return outcomes


def _memo_key(rule: CompiledRule, number: int, reads: tuple[tuple[str, ...], ...],
              facts: dict[str, Any]) -> tuple[Any, ...] | None:
    """The rule, the screen key's number and the (typed) values of the rule's other reads; None when
    one is not a plain value (a record or a list of records), so the rule runs as usual."""
    parts: list[Any] = [id(rule), number]
    for path in reads:
        value: Any = facts
        for part in path:
            value = value.get(part) if isinstance(value, dict) else None
            if value is None:
                break
        if isinstance(value, list):
            if not all(type(item) in _JSON_SCALARS for item in value):
                return None
            value = (list, *((type(item), item) for item in value))
        elif type(value) not in _JSON_SCALARS and not isinstance(value, dt.date):
            return None
        parts.append((type(value), value))
    return tuple(parts)


def _recorded(book: LoadedRulebook, outcome: RuleOutcome) -> tuple[RuleOutcome, Reason | None, Reason | None]:
    """An outcome with its reasons: the undetermined flag's and the one (frozen) reason every action
    of the outcome carries (same rule, label and values); None where there is nothing to explain."""
    undetermined = None
    if outcome.status == "undetermined":
        undetermined = _reason(book, outcome, "the rule needs facts that are missing: " + ", ".join(outcome.missing))
    return outcome, undetermined, _reason(book, outcome, outcome.label) if outcome.actions else None


def _reason(book: LoadedRulebook, outcome: RuleOutcome, message: str) -> Reason:
    """Validated from a prepared dict by the model's own validator (as `step_reason` does)."""
    values = {k: v if type(v) in _JSON_SCALARS else _jsonable(v) for k, v in outcome.values.items()}
    return _validate_reason({"rule": _rule_ref(book.name, book.version, outcome.rule_id, outcome.label, outcome.span),
                             "message": message, "values": values})


_validate_reason = Reason.__pydantic_validator__.validate_python


_JSON_SCALARS = frozenset({str, int, float, bool, type(None)})


@functools.lru_cache(maxsize=8192)
def _rule_ref(rulebook: str, version: str, rule_id: str, label: str, span: Any) -> RuleRef:
    """A rule's reference is the same on every encounter: build the (frozen) model once."""
    return RuleRef(rulebook=rulebook, version=version, rule_id=rule_id, label=label,
                   span=SourceSpan(line=span.line, column=span.column, start=span.start, end=span.end))


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


# ---- actions -------------------------------------------------------------------------------


def apply_action(ctx: CodingContext, service: Service, action: FiredAction, reason: Reason) -> None:
    arguments = action.arguments
    handler = ACTION_HANDLERS[action.action]
    handler(ctx, service, arguments, reason)


def _classify(ctx: CodingContext, service: Service, arguments: dict[str, Any], reason: Reason) -> None:
    ctx.classifications[service.id] = arguments["class"]
    ctx.flag("rule_classification", reason, detail=arguments["class"], service_ids=[service.id])


def _query(ctx: CodingContext, service: Service, arguments: dict[str, Any], reason: Reason) -> None:
    message = arguments["message"]
    for line in lines_of(ctx, service):
        line.route = "held"
        line.query = message
        line.reasons.append(reason)
    ctx.flag("provider_query", reason, detail=message, service_ids=[service.id])


def _cap_lesions(ctx: CodingContext, service: Service, arguments: dict[str, Any], reason: Reason) -> None:
    """Recode the service's lesion-counted lines from the capped count, through the code family."""
    cap = int(arguments["count"])
    for codes, recode in LESION_RECODERS.items():
        family_lines = [line for line in lines_of(ctx, service) if line.code in codes]
        if not family_lines:
            continue
        service_ids = list(dict.fromkeys(sid for line in family_lines for sid in line.service_ids))
        lesions = sum(ctx.service(sid).count or 1 for sid in service_ids)
        if lesions <= cap:
            continue
        # The family's own reasons described the uncapped count (e.g. "15 or more: 17004 alone");
        # the new lines say what they are coded from instead.
        recoded = Reason(step="cap_lesions", message=f"{lesions} lesions documented; coded from {cap} under the "
                         "payer's cap", values={"documented_lesions": lesions, "capped_at": cap,
                                                "replaced": [line.code for line in family_lines]})
        for line in family_lines:
            ctx.lines.remove(line)
        for code, units in recode(cap):
            ctx.lines.append(WorkLine(code=code, units=units, service_ids=service_ids, reasons=[recoded, reason]))


def _require_prior_auth(ctx: CodingContext, service: Service, arguments: dict[str, Any], reason: Reason) -> None:
    codes = arguments["codes"]
    matching = [line.code for line in lines_of(ctx, service) if line.code in codes]
    if matching:
        ctx.flag("prior_auth_required", reason, detail=", ".join(sorted(set(matching))), service_ids=[service.id])


def _flag(ctx: CodingContext, service: Service, arguments: dict[str, Any], reason: Reason) -> None:
    detail = reason.rule.rule_id if reason.rule else None
    ctx.flag(arguments["code"], reason, detail=detail, service_ids=[service.id])


def _add_modifier(ctx: CodingContext, service: Service, arguments: dict[str, Any], reason: Reason) -> None:
    for line in lines_of(ctx, service):
        if line.code in arguments["codes"]:
            line.add_modifier(arguments["modifier"], reason)


def _remove_modifier(ctx: CodingContext, service: Service, arguments: dict[str, Any], reason: Reason) -> None:
    for line in lines_of(ctx, service):
        if line.code in arguments["codes"] and arguments["modifier"] in line.modifiers:
            line.modifiers.remove(arguments["modifier"])
            line.reasons.append(reason)


def _bundle(ctx: CodingContext, service: Service, arguments: dict[str, Any], reason: Reason) -> None:
    code, into = arguments["code"], arguments["into"]
    if not any(line.code == into for line in ctx.claim_lines()):
        return
    for line in [line for line in lines_of(ctx, service) if line.code == code]:
        ctx.remove_line(line, reason, detail=f"{code} bundled into {into}")


def _route(ctx: CodingContext, service: Service, arguments: dict[str, Any], reason: Reason) -> None:
    destination = arguments["destination"]
    for line in [line for line in ctx.lines if service.id in line.service_ids and line.route != "held"]:
        if line.route != destination:
            line.route = destination
            line.reasons.append(reason)


ACTION_HANDLERS: dict[str, Callable[[CodingContext, Service, dict[str, Any], Reason], None]] = {
    "classify": _classify, "query_provider": _query, "cap_lesions": _cap_lesions,
    "require_prior_auth": _require_prior_auth, "flag": _flag, "add_modifier": _add_modifier,
    "remove_modifier": _remove_modifier, "bundle": _bundle, "route": _route,
}


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
