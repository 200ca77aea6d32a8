"""The working state of one coding run: proposed lines and flags, mutable until frozen.

Passes read the encounter and append or change `WorkLine`s; only `freeze` turns the
state into the immutable `Coding`. Every change records a `Reason`.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal, TypeVar

from pydantic import BaseModel

from rulebooks.dated_codesets import CodeSets, default_codesets
from rulebooks.models import Encounter, Flag, Reason, RuleRef, Service

Route = Literal["claim", "self_pay", "held"]
PassFunction = Callable[["CodingContext"], None]
# medical | cosmetic | borderline per CONTRACTS; expected_denial = medically ordered but expected
# to be denied as not reasonable and necessary (Medicare: GA with an ABN, GZ without).
Classification = Literal["medical", "cosmetic", "borderline", "expected_denial"]
ModelT = TypeVar("ModelT", bound=BaseModel)


_new_instance = object.__new__
# BaseModel's slots, set through their descriptors: cheaper than `object.__setattr__` by name.
_set_dict = BaseModel.__dict__["__dict__"].__set__
_set_fields_set = BaseModel.__dict__["__pydantic_fields_set__"].__set__
_set_extra = BaseModel.__dict__["__pydantic_extra__"].__set__
_set_private = BaseModel.__dict__["__pydantic_private__"].__set__
_FLAG_FIELDS = frozenset(Flag.model_fields)
_STEP_REASON_FIELDS = frozenset(("step", "message", "values"))
_RULE_REASON_FIELDS = frozenset(("rule", "message", "values"))


def prevalidated(model: type[ModelT], fields: dict[str, Any], given: frozenset[str]) -> ModelT:
    """The instance that validating the `given` fields gives, built without running the validator.

    Why: a coding makes many reasons and flags, and validation was most of their cost, though it
    checks nothing their builders' signatures do not: strings are typed, `values` is `Any` (kept as
    it is) and a nested model is already validated and frozen, which pydantic takes as it is.
    `fields` holds every field in declaration order, defaults included, as validation fills them;
    `given` are the ones the caller set (pydantic's fields set, which `exclude_unset` reads).
    tests/rulebooks/engine/test_flags.py proves the results equal to validated ones.
    """
    instance = _new_instance(model)
    _set_dict(instance, fields)
    _set_fields_set(instance, set(given))
    _set_extra(instance, None)
    _set_private(instance, None)
    return instance


def step_reason(step: str, message: str, **values: Any) -> Reason:
    """A reason produced by a built-in coding step (not a rule); `values` is a fresh dict per call."""
    return prevalidated(Reason, {"step": step, "rule": None, "message": message, "values": values}, _STEP_REASON_FIELDS)


def rule_reason(rule: RuleRef, message: str, values: dict[str, Any]) -> Reason:
    """A reason produced by a rule of a stack, from a dict of values the caller made for it."""
    return prevalidated(Reason, {"step": None, "rule": rule, "message": message, "values": values}, _RULE_REASON_FIELDS)


@functools.lru_cache(maxsize=4096, typed=True)
def shared_step_reason(step: str, message: str, **values: str | int | None) -> Reason:
    """`step_reason` for a reason that recurs across encounters, frozen once and then shared.

    Why: most codings repeat the same few reasons ("first premalignant lesion", lesion_count=1),
    and a cache hit costs a fraction of building one. Only str, int and None values are taken:
    `typed=True` keeps True apart from 1, while floats are left out because 0.0 == -0.0.
    """
    return step_reason(step, message, **values)


def new_flag(code: str, reason: Reason, detail: str | None, service_ids: list[str] | None) -> Flag:
    """A flag with one reason; the service ids are copied, as validation copies a list."""
    return prevalidated(
        Flag,
        {"code": code, "detail": detail, "service_ids": list(service_ids or ()), "reasons": [reason]},
        _FLAG_FIELDS,
    )


def for_kinds(*kinds: str) -> Callable[[PassFunction], PassFunction]:
    """Run the decorated pass only when the encounter has a service of one of `kinds`.

    Why: most encounters have 1 to 6 services, so most families have nothing to code; skipping
    them is what keeps a full explained coding within the throughput budget.
    """
    wanted = frozenset(kinds)

    def decorate(run_pass: PassFunction) -> PassFunction:
        @functools.wraps(run_pass)
        def guarded(ctx: CodingContext) -> None:
            if ctx.has_kind(wanted):
                run_pass(ctx)

        guarded.kinds = wanted  # type: ignore[attr-defined]
        return guarded

    return decorate


@dataclass(eq=False)
class WorkLine:
    """A proposed line; compared by identity (two equal 11401 lines are still two lines)."""

    code: str
    units: int
    service_ids: list[str]
    reasons: list[Reason]
    modifiers: list[str] = field(default_factory=list)
    diagnoses: list[str] = field(default_factory=list)
    route: Route = "claim"
    query: str | None = None

    def add_modifier(self, modifier: str, reason: Reason, decided_by: tuple[Reason, ...] = ()) -> None:
        """Append a modifier with the pass's reason and, when a rule chose it, the rule's."""
        if modifier not in self.modifiers:
            self.modifiers.append(modifier)
            self.reasons.append(reason)
            self.reasons.extend(decided_by)


@dataclass
class FeeSchedules:
    """The tenant's fees by code: medical (claim lines) and cosmetic (self-pay lines)."""

    medical: dict[str, Decimal] = field(default_factory=dict)
    cosmetic: dict[str, Decimal] = field(default_factory=dict)


@dataclass(frozen=True)
class Decided:
    """A payer decision a rule made, with the rule's reason (what the pass that acts on it cites)."""

    value: str
    reason: Reason


@dataclass(frozen=True)
class CosmeticCriteria:
    """The payer's cosmetic criteria for a removal the patient asked for: cosmetic when every
    diagnosis is in `diagnoses` (none indicates treatment), else the provider is asked."""

    diagnoses: Any  # a compiled code set of the rule language (`dsl.values.CodeSet`)
    reason: Reason


@dataclass
class PayerPolicy:
    """What the payer's and the clinic's rulebooks decided for this encounter, for the passes to
    act on (derm-coding.md 10.1, 7.2, 9.3, 10.3).

    Why here and not in the passes: CPT and NCCI define the codes and the edits; which modifier a
    payer wants for a distinct procedure, whether it pays G2211 or a separately identifiable E/M,
    and whether its liability modifiers apply are the payer's (or the clinic's) decisions. Rules
    in the classify phase set them (`rulebooks/library/national-base.rules`), before any pass
    reads them; a later book disables or replaces a rule by id. Without a rule, the neutral
    choice: the universal 59, no G2211, an E/M beside a procedure included in it, no liability
    modifiers.
    """

    distinct: Decided | None = None  # 59 or an X{EPSU} modifier for a separate lesion or site
    repeat_mohs: Decided | None = None  # the modifier of a second tumor's first-stage code (else `distinct`)
    visit_complexity: Decided | None = None  # the add-on code billed for longitudinal care (G2211)
    separate_visit: Decided | None = None  # the modifier of a separately identifiable E/M (25)
    liability: Reason | None = None  # Medicare liability modifiers GY / GX / GA / GZ
    cosmetic_requests: CosmeticCriteria | None = None  # when a removal the patient asked for is cosmetic

    @property
    def distinct_modifier(self) -> str:
        return "59" if self.distinct is None else self.distinct.value

    @property
    def distinct_decided_by(self) -> tuple[Reason, ...]:
        """The rule that chose the distinct-procedure modifier (none for the neutral 59)."""
        return () if self.distinct is None else (self.distinct.reason,)


@dataclass(frozen=True)
class ClassificationNote:
    """Why the documentation classifier judged a service as it did (evidence spans in `values`),
    and, for a borderline service, the exact question for the provider."""

    reason: Reason
    query: str | None = None


@dataclass
class CodingContext:
    encounter: Encounter
    fees: FeeSchedules
    lines: list[WorkLine] = field(default_factory=list)
    flags: list[Flag] = field(default_factory=list)
    today: dt.date | None = None
    classifications: dict[str, Classification] = field(default_factory=dict)
    classification_notes: dict[str, ClassificationNote] = field(default_factory=dict)
    policy: PayerPolicy = field(default_factory=PayerPolicy)
    codesets: CodeSets = field(default_factory=default_codesets)
    # Services no family pass codes here: bundled into another service, or set aside to be coded
    # on their own route (cosmetic -> self-pay, borderline -> held). Filled before selection.
    excluded_service_ids: dict[str, Reason] = field(default_factory=dict)
    # The rule whose criteria classified a set-aside service from its facts (cited on its lines).
    classified_by: dict[str, Reason] = field(default_factory=dict)
    # When set, only these services are coded (a sub-coding of set-aside services).
    only_service_ids: frozenset[str] | None = None
    # Same-lesion biopsies kept because they drove the decision: biopsy id -> definitive service id.
    diagnostic_biopsies: dict[str, str] = field(default_factory=dict)
    # Per-run memo for facts derived from a service more than once (e.g. its destruction class).
    memo: dict[tuple[str, str], Any] = field(default_factory=dict)
    _by_kind: dict[str, list[Service]] | None = field(default=None, repr=False)
    _by_lesion: dict[str, list[Service]] | None = field(default=None, repr=False)
    _by_id: dict[str, Service] | None = field(default=None, repr=False)
    _kinds_present: frozenset[str] | None = field(default=None, repr=False)
    _order: dict[str, int] | None = field(default=None, repr=False)

    @property
    def distinct_modifier(self) -> str:
        return self.policy.distinct_modifier

    def lesion_of(self, service_id: str) -> str:
        """The lesion a service treats: its lesion_id, else the service itself."""
        service = self.service(service_id)
        return service.lesion_id or service.id

    def has_kind(self, kinds: frozenset[str]) -> bool:
        """Whether any service this coding codes is of one of `kinds` (a cheap test before a pass)."""
        if self._kinds_present is None:
            self._kinds_present = frozenset(
                service.kind
                for service in self.encounter.services
                if self.only_service_ids is None or service.id in self.only_service_ids
            )
        return not self._kinds_present.isdisjoint(kinds)

    def services_of_kind(self, *kinds: str) -> list[Service]:
        """The services of these kinds that this coding codes (not bundled, not set aside)."""
        by_kind = self._by_kind
        if by_kind is None:
            by_kind = self._by_kind = {}
            for service in self.encounter.services:
                by_kind.setdefault(service.kind, []).append(service)
        excluded, only = self.excluded_service_ids, self.only_service_ids
        if len(kinds) == 1 and not excluded and only is None:
            return list(by_kind.get(kinds[0], ()))  # one kind, nothing set aside: the common call
        found: list[Service] = []
        for kind in kinds:
            for service in by_kind.get(kind, ()):
                if service.id not in excluded and (only is None or service.id in only):
                    found.append(service)
        if len(kinds) > 1 and len(found) > 1:
            order = self._order
            if order is None:
                order = self._order = {service.id: index for index, service in enumerate(self.encounter.services)}
            found.sort(key=lambda service: order[service.id])
        return found

    def services_on_lesion(self, lesion_id: str) -> list[Service]:
        """The services on one lesion that this coding codes, in encounter order (bundling asks per lesion)."""
        by_lesion = self._by_lesion
        if by_lesion is None:
            by_lesion = self._by_lesion = {}
            for service in self.encounter.services:
                if service.lesion_id is not None:
                    by_lesion.setdefault(service.lesion_id, []).append(service)
        excluded, only = self.excluded_service_ids, self.only_service_ids
        return [
            service
            for service in by_lesion.get(lesion_id, ())
            if service.id not in excluded and (only is None or service.id in only)
        ]

    def service(self, service_id: str) -> Service:
        if self._by_id is None:
            self._by_id = {service.id: service for service in self.encounter.services}
        return self._by_id[service_id]

    def exclude(self, service: Service, reason: Reason, *, detail: str, flag: bool = True) -> None:
        """Take a service out of selection (e.g. a biopsy bundled into the excision of its lesion)."""
        self.excluded_service_ids[service.id] = reason
        if flag:
            self.flag("edit_applied", reason, detail=detail, service_ids=[service.id])

    def lesions_of(self, line: WorkLine) -> set[str]:
        return {self.lesion_of(service_id) for service_id in line.service_ids}

    def remove_line(self, line: WorkLine, reason: Reason, *, detail: str) -> None:
        """Drop a proposed line with a reason, visible as an `edit_applied` flag."""
        self.lines.remove(line)
        self.flag("edit_applied", reason, detail=detail, service_ids=line.service_ids)

    def flag(
        self, code: str, reason: Reason, *, detail: str | None = None, service_ids: list[str] | None = None
    ) -> None:
        self.flags.append(new_flag(code, reason, detail, service_ids))

    def hold(self, code: str, service: Service, query: str, reason: Reason) -> None:
        """Keep a service off the claim until the provider answers `query`."""
        self.lines.append(
            WorkLine(code=code, units=1, service_ids=[service.id], reasons=[reason], route="held", query=query)
        )
        self.flag("provider_query", reason, detail=query, service_ids=[service.id])

    def claim_lines(self) -> list[WorkLine]:
        return [line for line in self.lines if line.route == "claim"]
