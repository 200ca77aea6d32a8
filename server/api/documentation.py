"""Documentation at chart-open time: check a note, and the provider query worklist and its lifecycle."""

from __future__ import annotations

import datetime as dt
from enum import Enum
from typing import Annotated, Any, cast

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from server import documentation
from server.api import types
from server.api.common import (
    Connection,
    Forbidden,
    InvalidInput,
    Node,
    NotFoundError,
    RolledBack,
    allowed,
    connection,
    context,
    refused,
    require,
)
from server.api.encounters import Encounter
from server.api.ids import from_global_id, to_global_id
from server.api.inputs import EncounterInput, to_payload
from server.errors import InputInvalid, NotFound
from server.models import ProviderQueryRecord
from tenants.roles import Permission

# A person reads findings; thousands (an adversarial 100,000-character note gives about 4,000) would
# cost the event loop about 0.2 s to turn into the answer, stalling every other request meanwhile.
MAX_FINDINGS = 500


@strawberry.type(description="Something the note says, with where: [start, end) in code points.")
class NoteFinding:
    label: str
    start: int
    end: int
    text: str
    context: list[str]
    values: JSON


@strawberry.type
class Evidence:
    label: str
    start: int
    end: int
    text: str


@strawberry.type
class ClassificationReason:
    code: str
    message: str
    evidence: list[Evidence]


@strawberry.type
class QueryText:
    service_id: str
    topic: str
    text: str
    missing: list[str]


@strawberry.type
class ServiceClassification:
    service_id: str
    category: str
    criteria: str
    reasons: list[ClassificationReason]
    query: QueryText | None


@strawberry.type
class DocumentationCheck:
    findings: list[NoteFinding] = strawberry.field(
        description=f"The note's findings in order of position, at most {MAX_FINDINGS:,} (see findingsOmitted)."
    )
    classifications: list[ServiceClassification]
    queries: list[QueryText]
    findings_omitted: int = strawberry.field(
        default=0,
        description="How many findings past the first ones were left out of this answer (classifications and "
        "queries still weigh them all); `cutis check-documentation` prints every one.",
    )


def documentation_check(result: dict[str, Any]) -> DocumentationCheck:
    """From `DocumentationResult.to_dict()`: one shape for the CLI's JSON and the API."""

    def query(raw: dict[str, Any] | None) -> QueryText | None:
        return (
            QueryText(service_id=raw["service_id"], topic=raw["topic"], text=raw["text"], missing=list(raw["missing"]))
            if raw
            else None
        )

    return DocumentationCheck(
        findings_omitted=max(0, len(result["findings"]) - MAX_FINDINGS),
        findings=[
            NoteFinding(
                label=f["label"],
                start=f["start"],
                end=f["end"],
                text=f["text"],
                context=list(f.get("context", [])),
                values=cast(JSON, f.get("values", {})),
            )
            for f in result["findings"][:MAX_FINDINGS]
        ],
        classifications=[
            ServiceClassification(
                service_id=c["service_id"],
                category=c["category"],
                criteria=c.get("criteria", ""),
                reasons=[
                    ClassificationReason(
                        code=r["code"],
                        message=r["message"],
                        evidence=[
                            Evidence(label=e["label"], start=e["start"], end=e["end"], text=e["text"])
                            for e in r["evidence"]
                        ],
                    )
                    for r in c["reasons"]
                ],
                query=query(c.get("query")),
            )
            for c in result["classifications"].values()
        ],
        queries=[q for q in (query(raw) for raw in result["queries"]) if q is not None],
    )


@strawberry.enum
class QueryStatus(Enum):
    open = "open"
    answered = "answered"
    withdrawn = "withdrawn"


@strawberry.type
class ProviderQuery(Node):
    encounter_id: strawberry.ID
    external_id: str
    service_id: str
    topic: str
    text: str
    missing: list[str]
    status: QueryStatus
    addendum: str | None
    answered_encounter_id: strawberry.ID | None
    created_at: dt.datetime
    resolved_at: dt.datetime | None

    @classmethod
    def from_row(cls, row: ProviderQueryRecord) -> ProviderQuery:
        return cls(
            id=strawberry.ID(to_global_id("ProviderQuery", row.id)),
            encounter_id=strawberry.ID(to_global_id("Encounter", row.encounter_id)),
            external_id=row.external_id,
            service_id=row.service_id,
            topic=row.topic,
            text=row.text,
            missing=list(row.missing),
            status=QueryStatus(row.status),
            addendum=row.addendum,
            answered_encounter_id=strawberry.ID(to_global_id("Encounter", row.answered_encounter_id))
            if row.answered_encounter_id
            else None,
            created_at=row.created_at,
            resolved_at=row.resolved_at,
        )


@strawberry.input
class ProviderQueryFilter:
    status: QueryStatus | None = None
    external_id: str | None = None
    topic: str | None = None


@strawberry.type
class AnsweredQuery:
    query: ProviderQuery
    encounter: Encounter
    coding: types.Coding


CheckDocumentationResult = Annotated[DocumentationCheck | InvalidInput, strawberry.union("CheckDocumentationResult")]
AnswerQueryResult = Annotated[
    AnsweredQuery | InvalidInput | NotFoundError | Forbidden | RolledBack, strawberry.union("AnswerQueryResult")
]
WithdrawQueryResult = Annotated[
    ProviderQuery | InvalidInput | NotFoundError | Forbidden | RolledBack, strawberry.union("WithdrawQueryResult")
]


@strawberry.type
class DocumentationQueries:
    @strawberry.field(
        description="Findings, classifications and provider queries for an encounter, at chart-open "
        "time. Nothing is stored."
    )
    async def check_documentation(self, info: Info, encounter: EncounterInput) -> CheckDocumentationResult:
        require(info, Permission.ENCOUNTERS_READ)
        try:
            result = await documentation.check_documentation(context(info).services.cpu, to_payload(encounter))
        except InputInvalid as error:
            return refused(error)
        return documentation_check(result)

    @strawberry.field(description="The provider query worklist, newest first.")
    async def provider_queries(
        self, info: Info, filter: ProviderQueryFilter | None = None, first: int | None = None, after: str | None = None
    ) -> Connection[ProviderQuery]:
        ctx = context(info)
        require(info, Permission.ENCOUNTERS_READ)
        query = documentation.QueryFilter()
        if filter is not None:
            query = documentation.QueryFilter(
                status=filter.status.value if filter.status else None,
                external_id=filter.external_id,
                topic=filter.topic,
            )
        async with ctx.lock:
            rows, limit = await documentation.provider_queries(await ctx.session(), query, first, after)
        return connection(rows, limit, ProviderQuery.from_row, lambda row: (row.created_at, row.id))


@strawberry.type
class DocumentationMutations:
    @strawberry.mutation(
        description="Answer a query with the provider's addendum: the note gains the addendum, "
        "the encounter is re-analysed and re-coded as a new version."
    )
    async def answer_provider_query(self, info: Info, id: strawberry.ID, addendum: str) -> AnswerQueryResult:
        ctx = context(info)
        principal = allowed(info, Permission.ENCOUNTERS_WRITE)
        if isinstance(principal, Forbidden):
            return principal
        try:  # takes the session in turns: never held while the coding runs in the CPU pool
            answered = await documentation.answer_query(
                ctx, ctx.services.cpu, principal, from_global_id(str(id), "ProviderQuery"), addendum
            )
        except (InputInvalid, NotFound) as error:
            return refused(error)
        record = answered.coded.record
        async with ctx.lock:
            await ctx.audit(
                "provider_query.answer",
                "phi_write",
                object_type="ProviderQuery",
                object_ids=[answered.query.id, record.id],
            )
        encounter = Encounter.from_record(record)
        return AnsweredQuery(
            query=ProviderQuery.from_row(answered.query),
            encounter=encounter,
            coding=types.coding_type(answered.coded.coding, str(encounter.id), answered.coded.coding_record.id),
        )

    @strawberry.mutation(description="Withdraw a query (asked in error, or the service is no longer billed).")
    async def withdraw_provider_query(self, info: Info, id: strawberry.ID, reason: str) -> WithdrawQueryResult:
        ctx = context(info)
        principal = allowed(info, Permission.ENCOUNTERS_WRITE)
        if isinstance(principal, Forbidden):
            return principal
        async with ctx.lock:
            try:
                row = await documentation.withdraw_query(
                    await ctx.session(), principal, from_global_id(str(id), "ProviderQuery"), reason
                )
            except (InputInvalid, NotFound) as error:
                return refused(error)
            await ctx.audit(
                "provider_query.withdraw",
                "phi_write",
                object_type="ProviderQuery",
                object_ids=[row.id],
                detail=reason.strip()[:200],
            )
        return ProviderQuery.from_row(row)
