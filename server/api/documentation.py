"""Documentation at chart-open time: check a note, and the provider query worklist and its lifecycle."""

from __future__ import annotations

import datetime as dt
from enum import Enum
from typing import Annotated, Any, cast

import strawberry
from sqlalchemy import select
from strawberry.scalars import JSON
from strawberry.types import Info

from rulebooks.models import Encounter as EncounterModel
from rulebooks.models.encounter import MAX_NOTE_CHARS
from server import encounters
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
    paged,
    require,
)
from server.api.encounters import Encounter
from server.api.ids import from_global_id, to_global_id
from server.api.inputs import EncounterInput, to_payload
from server.errors import InputInvalid
from server.models import EncounterRecord, ProviderQueryRecord
from tenants.base import utcnow
from tenants.roles import Permission

MAX_ADDENDUM = 20_000


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
    findings: list[NoteFinding]
    classifications: list[ServiceClassification]
    queries: list[QueryText]


def documentation_check(result: dict[str, Any]) -> DocumentationCheck:
    """From `DocumentationResult.to_dict()`: one shape for the CLI's JSON and the API."""

    def query(raw: dict[str, Any] | None) -> QueryText | None:
        return (
            QueryText(service_id=raw["service_id"], topic=raw["topic"], text=raw["text"], missing=list(raw["missing"]))
            if raw
            else None
        )

    return DocumentationCheck(
        findings=[
            NoteFinding(
                label=f["label"],
                start=f["start"],
                end=f["end"],
                text=f["text"],
                context=list(f.get("context", [])),
                values=cast(JSON, f.get("values", {})),
            )
            for f in result["findings"]
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
            model = encounters.parse_encounter(to_payload(encounter))
        except InputInvalid as error:
            return InvalidInput.from_error(error)
        return documentation_check(await context(info).services.cpu.run(encounters.analyse_documentation, model))

    @strawberry.field(description="The provider query worklist, newest first.")
    async def provider_queries(
        self, info: Info, filter: ProviderQueryFilter | None = None, first: int | None = None, after: str | None = None
    ) -> Connection[ProviderQuery]:
        ctx = context(info)
        require(info, Permission.ENCOUNTERS_READ)
        statement = select(ProviderQueryRecord)
        if filter is not None:
            if filter.status:
                statement = statement.where(ProviderQueryRecord.status == filter.status.value)
            if filter.external_id:
                statement = statement.where(ProviderQueryRecord.external_id == filter.external_id)
            if filter.topic:
                statement = statement.where(ProviderQueryRecord.topic == filter.topic)
        statement, limit = paged(statement, first, after, ProviderQueryRecord.created_at, ProviderQueryRecord.id)
        async with ctx.lock:
            rows = list((await (await ctx.session()).execute(statement)).scalars().all())
        return connection(rows, limit, ProviderQuery.from_row, lambda row: (row.created_at, row.id))


async def _open_query(info: Info, query_id: strawberry.ID) -> ProviderQueryRecord | NotFoundError | InvalidInput:
    ctx = context(info)
    record_id = from_global_id(str(query_id), "ProviderQuery")
    row = (
        (
            await (await ctx.session()).execute(
                select(ProviderQueryRecord).where(ProviderQueryRecord.id == record_id).with_for_update()
            )
        ).scalar_one_or_none()
        if record_id
        else None
    )
    if row is None:
        return NotFoundError(message="no provider query with that id")
    if row.status != "open":
        return InvalidInput.single("id", f"this query is already {row.status}")
    return row


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
        if not addendum.strip():  # its length, NUL and surrogates: server.api.validation
            return InvalidInput.single("addendum", f"the addendum is 1 to {MAX_ADDENDUM} characters")
        async with ctx.lock:
            row = await _open_query(info, id)
            if not isinstance(row, ProviderQueryRecord):
                return row
            session = await ctx.session()
            previous = await session.get(EncounterRecord, row.encounter_id)
            assert previous is not None
            payload = dict(previous.payload)
            payload["note"] = ((payload.get("note") or "") + f"\n\nAddendum: {addendum.strip()}").strip()
            if len(payload["note"]) > MAX_NOTE_CHARS:
                return InvalidInput.single(
                    "addendum",
                    f"with this addendum the note would have {len(payload['note']):,} characters; "
                    f"a note has at most {MAX_NOTE_CHARS:,} (shorten the addendum)",
                )
            record = await encounters.store_encounter(
                session, principal.tenant_id, EncounterModel.model_validate(payload)
            )
            row.status, row.addendum, row.answered_encounter_id = "answered", addendum.strip(), record.id
            row.resolved_by, row.resolved_at = principal.user_id, utcnow()
            await session.flush()
            fees = await encounters.load_fee_schedules(session)
        coded = await encounters.code_off_loop(ctx.services.cpu, record, fees)  # the lock is free meanwhile
        async with ctx.lock:
            coding, coding_record = await encounters.store_coding(await ctx.session(), record, coded)
            await ctx.audit(
                "provider_query.answer", "phi_write", object_type="ProviderQuery", object_ids=[row.id, record.id]
            )
        encounter = Encounter.from_record(record)
        return AnsweredQuery(
            query=ProviderQuery.from_row(row),
            encounter=encounter,
            coding=types.coding_type(coding, str(encounter.id), coding_record.id),
        )

    @strawberry.mutation(description="Withdraw a query (asked in error, or the service is no longer billed).")
    async def withdraw_provider_query(self, info: Info, id: strawberry.ID, reason: str) -> WithdrawQueryResult:
        ctx = context(info)
        principal = allowed(info, Permission.ENCOUNTERS_WRITE)
        if isinstance(principal, Forbidden):
            return principal
        if len(reason.strip()) < 5:
            return InvalidInput.single("reason", "say why the query is withdrawn")
        async with ctx.lock:
            row = await _open_query(info, id)
            if not isinstance(row, ProviderQueryRecord):
                return row
            row.status, row.resolved_by, row.resolved_at = "withdrawn", principal.user_id, utcnow()
            await ctx.audit(
                "provider_query.withdraw",
                "phi_write",
                object_type="ProviderQuery",
                object_ids=[row.id],
                detail=reason.strip()[:200],
            )
        return ProviderQuery.from_row(row)
