"""GraphQL output types: the Coding exactly as the contract describes it, plus typed errors."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import TYPE_CHECKING, Annotated, cast

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from rulebooks.models import coding as model
from server.api.ids import to_global_id

if TYPE_CHECKING:
    from server.api.overrides import LineOverride


@strawberry.type
class SourceSpan:
    line: int
    column: int
    start: int
    end: int


@strawberry.type
class RuleRef:
    rulebook: str
    version: str
    rule_id: str
    label: str
    span: SourceSpan | None


@strawberry.type
class Reason:
    step: str | None
    rule: RuleRef | None
    message: str
    values: JSON


@strawberry.type
class ClaimLine:
    code: str
    units: int
    modifiers: list[str]
    diagnoses: list[str]
    charge: str | None
    service_ids: list[str]
    reasons: list[Reason]


@strawberry.type
class HeldLine:
    code: str
    units: int
    service_ids: list[str]
    query: str
    reasons: list[Reason]


@strawberry.type
class Flag:
    code: str
    detail: str | None
    service_ids: list[str]
    reasons: list[Reason]


@strawberry.type
class RulebookRef:
    name: str
    version: str = strawberry.field(description="The content hash of the book's canonical text.")
    version_id: strawberry.ID | None = strawberry.field(
        description="The published RulebookVersion that coded (null: a shipped template, the clinic published none)."
    )


@strawberry.type(description="What else decided a coding besides its rulebooks.")
class Releases:
    engine: str
    vocabulary: str
    code_sets: JSON = strawberry.field(description="Code set -> the release in effect on the date of service.")


@strawberry.type
class Coding:
    id: strawberry.ID | None = strawberry.field(description="Null for a preview (explainRulebook): not stored.")
    encounter_id: strawberry.ID
    coded_at: dt.datetime
    rulebooks: list[RulebookRef] = strawberry.field(description="The rulebook versions it was coded with, base first.")
    releases: Releases | None
    status: str
    claim_lines: list[ClaimLine]
    self_pay_lines: list[ClaimLine]
    held_lines: list[HeldLine]
    flags: list[Flag]
    document: JSON = strawberry.field(description="The same Coding as JSON, exactly as `cutis code --format json`.")
    record_id: strawberry.Private[uuid.UUID | None]

    @strawberry.field(description="Biller overrides of claim lines, each with the engine's original line.")
    async def overrides(self, info: Info) -> list[Annotated[LineOverride, strawberry.lazy("server.api.overrides")]]:
        if self.record_id is None:
            return []
        from server.api.overrides import overrides_loader

        return await overrides_loader(info).load(self.record_id)


def _reason(reason: model.Reason) -> Reason:
    rule = None
    if reason.rule is not None:
        span = reason.rule.span
        rule = RuleRef(
            rulebook=reason.rule.rulebook,
            version=reason.rule.version,
            rule_id=reason.rule.rule_id,
            label=reason.rule.label,
            span=SourceSpan(line=span.line, column=span.column, start=span.start, end=span.end) if span else None,
        )
    return Reason(step=reason.step, rule=rule, message=reason.message, values=cast(JSON, reason.values))


def _line(line: model.ClaimLine) -> ClaimLine:
    return ClaimLine(
        code=line.code,
        units=line.units,
        modifiers=line.modifiers,
        diagnoses=line.diagnoses,
        charge=line.charge,
        service_ids=line.service_ids,
        reasons=[_reason(r) for r in line.reasons],
    )


def coding_type(coding: model.Coding, encounter_global_id: str, coding_id: uuid.UUID | None = None) -> Coding:
    return Coding(
        id=strawberry.ID(to_global_id("Coding", coding_id)) if coding_id else None,
        record_id=coding_id,
        encounter_id=strawberry.ID(encounter_global_id),
        coded_at=coding.coded_at,
        rulebooks=[
            RulebookRef(
                name=r.name,
                version=r.version,
                version_id=strawberry.ID(to_global_id("RulebookVersion", uuid.UUID(r.version_id)))
                if r.version_id
                else None,
            )
            for r in coding.rulebooks
        ],
        releases=Releases(
            engine=coding.releases.engine,
            vocabulary=coding.releases.vocabulary,
            code_sets=cast(JSON, coding.releases.code_sets),
        )
        if coding.releases
        else None,
        status=coding.status,
        claim_lines=[_line(line) for line in coding.claim_lines],
        self_pay_lines=[_line(line) for line in coding.self_pay_lines],
        held_lines=[
            HeldLine(
                code=h.code,
                units=h.units,
                service_ids=h.service_ids,
                query=h.query,
                reasons=[_reason(r) for r in h.reasons],
            )
            for h in coding.held_lines
        ],
        flags=[
            Flag(code=f.code, detail=f.detail, service_ids=f.service_ids, reasons=[_reason(r) for r in f.reasons])
            for f in coding.flags
        ],
        document=coding.model_dump(mode="json"),  # type: ignore[arg-type]
    )
