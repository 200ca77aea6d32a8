"""Encounters and codings on GraphQL: code now, submit for background coding, get, list."""

from __future__ import annotations

import datetime as dt
import uuid
from enum import Enum
from typing import Annotated

import strawberry
from strawberry.dataloader import DataLoader
from strawberry.types import Info

from rulebooks.models import Coding as CodingModel
from rulebooks.models.encounter import valid_npi
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
    refused,
    require,
)
from server.api.context import CutisContext
from server.api.ids import from_global_id, to_global_id
from server.api.inputs import EncounterInput, to_payload
from server.errors import FieldError, InputInvalid, NotFound
from server.jobs import OutboxRef
from server.models import CodingRecord, EncounterRecord
from tenants.roles import Permission


def coding_loader(ctx: CutisContext) -> DataLoader[uuid.UUID, CodingRecord | None]:
    """Latest coding per encounter, one query per batch (listing 100 encounters costs one)."""
    if "coding" not in ctx.loaders:

        async def load(ids: list[uuid.UUID]) -> list[CodingRecord | None]:
            async with ctx.lock:
                return await encounters.latest_codings(await ctx.session(), ids)

        ctx.loaders["coding"] = DataLoader(load_fn=load)
    return ctx.loaders["coding"]


@strawberry.type
class Encounter(Node):
    external_id: str
    version: int
    previous_version_id: strawberry.ID | None
    status: str
    date_of_service: dt.date
    payer: str
    provider_npi: str = strawberry.field(description="The rendering provider's NPI.")
    created_at: dt.datetime
    note: str = strawberry.field(
        description="The clinical note of this version as stored (with any provider addendum); a coding's "
        "documentation reasons give evidence spans into it, [start, end) in code points."
    )
    record_id: strawberry.Private[uuid.UUID]

    @strawberry.field(description="The latest coding of this encounter version.")
    async def coding(self, info: Info) -> types.Coding | None:
        record = await coding_loader(context(info)).load(self.record_id)
        if record is None:
            return None
        return types.coding_type(CodingModel.model_validate(record.payload), str(self.id), record.id)

    @classmethod
    def from_record(cls, record: EncounterRecord) -> Encounter:
        return cls(
            id=strawberry.ID(to_global_id("Encounter", record.id)),
            external_id=record.external_id,
            version=record.version,
            previous_version_id=strawberry.ID(to_global_id("Encounter", record.previous_id))
            if record.previous_id
            else None,
            status=record.status,
            date_of_service=record.date_of_service,
            payer=record.payer_code,
            provider_npi=str(record.payload.get("provider", {}).get("npi", "")),
            created_at=record.created_at,
            note=str(record.payload.get("note") or ""),
            record_id=record.id,
        )


@strawberry.type
class CodedEncounter:
    encounter: Encounter
    coding: types.Coding


@strawberry.type
class SubmittedEncounter:
    encounter: Encounter


@strawberry.enum
class EncounterStatus(Enum):
    received = "received"
    queued = "queued"
    coded = "coded"


@strawberry.enum(description="What an encounter's latest coding decided.")
class CodingStatus(Enum):
    ready = "ready"
    held = "held"
    needs_prior_auth = "needs_prior_auth"
    needs_review = "needs_review"


@strawberry.input
class EncounterFilter:
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    payer: str | None = None
    status: EncounterStatus | None = strawberry.field(
        default=None, description="Where the version is in processing (received, queued, coded)."
    )
    external_id: str | None = None
    provider_npi: str | None = strawberry.field(
        default=None, description="The rendering provider's NPI (10 digits) as the encounter names it."
    )
    coding_status: CodingStatus | None = strawberry.field(
        default=None, description="The status of the version's latest coding; a version not coded yet never matches."
    )


def encounter_query(filter: EncounterFilter | None) -> encounters.EncounterQuery:
    """The service's criteria from the filter; an NPI that cannot be one is refused, naming the field."""
    if filter is None:
        return encounters.EncounterQuery()
    if filter.provider_npi:
        try:
            valid_npi(filter.provider_npi)
        except ValueError as error:
            path = "filter.providerNpi"
            raise InputInvalid(f"{path}: {error}", [FieldError(path, str(error))]) from None
    return encounters.EncounterQuery(
        date_from=filter.date_from,
        date_to=filter.date_to,
        payer=filter.payer,
        status=filter.status.value if filter.status else None,
        external_id=filter.external_id,
        provider_npi=filter.provider_npi,
        coding_status=filter.coding_status.value if filter.coding_status else None,
    )


CodeEncounterResult = Annotated[
    CodedEncounter | InvalidInput | Forbidden | RolledBack, strawberry.union("CodeEncounterResult")
]
SubmitEncounterResult = Annotated[
    SubmittedEncounter | InvalidInput | Forbidden | RolledBack, strawberry.union("SubmitEncounterResult")
]
EncounterResult = Annotated[Encounter | NotFoundError, strawberry.union("EncounterResult")]


@strawberry.type
class EncounterQueries:
    @strawberry.field(description="An encounter version of your clinic, with its latest coding.")
    async def encounter(self, info: Info, id: strawberry.ID) -> EncounterResult:
        ctx = context(info)
        require(info, Permission.ENCOUNTERS_READ)
        async with ctx.lock:
            try:
                record = await encounters.get_encounter(await ctx.session(), from_global_id(str(id), "Encounter"))
            except NotFound as error:
                return refused(error)
            await ctx.audit("encounter.read", "phi_read", object_type="Encounter", object_ids=[record.id])
        return Encounter.from_record(record)

    @strawberry.field(description="Your clinic's encounters, newest first (at most 100 a page).")
    async def encounters(
        self, info: Info, filter: EncounterFilter | None = None, first: int | None = None, after: str | None = None
    ) -> Connection[Encounter]:
        ctx = context(info)
        require(info, Permission.ENCOUNTERS_READ)
        query = encounter_query(filter)
        async with ctx.lock:
            rows, limit = await encounters.list_encounters(await ctx.session(), query, first, after)
            await ctx.audit(
                "encounter.list", "phi_read", object_type="Encounter", object_ids=[row.id for row in rows[:limit]]
            )
        return connection(rows, limit, Encounter.from_record, lambda row: (row.created_at, row.id))


@strawberry.type
class EncounterMutations:
    @strawberry.mutation(description="Validate, store and code an encounter now; returns the explained coding.")
    async def code_encounter(self, info: Info, input: EncounterInput) -> CodeEncounterResult:
        ctx = context(info)
        principal = allowed(info, Permission.ENCOUNTERS_WRITE)
        if isinstance(principal, Forbidden):
            return principal
        try:  # takes the session in turns: never held while the coding runs in the CPU pool
            coded = await encounters.code_now(
                ctx, ctx.services.cpu, ctx.services.fee_cache, principal.tenant_id, to_payload(input)
            )
        except InputInvalid as error:
            return refused(error)
        async with ctx.lock:
            await ctx.audit("encounter.code", "phi_write", object_type="Encounter", object_ids=[coded.record.id])
        encounter = Encounter.from_record(coded.record)
        return CodedEncounter(
            encounter=encounter, coding=types.coding_type(coded.coding, str(encounter.id), coded.coding_record.id)
        )

    @strawberry.mutation(description="Validate and store an encounter, and code it in the background.")
    async def submit_encounter(self, info: Info, input: EncounterInput) -> SubmitEncounterResult:
        ctx = context(info)
        principal = allowed(info, Permission.ENCOUNTERS_WRITE)
        if isinstance(principal, Forbidden):
            return principal
        async with ctx.lock:
            try:
                record, message = await encounters.submit(await ctx.session(), principal.tenant_id, to_payload(input))
            except InputInvalid as error:
                return refused(error)
            ctx.relay_after_commit.append(OutboxRef(message.id, record.tenant_id))
            await ctx.audit("encounter.submit", "phi_write", object_type="Encounter", object_ids=[record.id])
        return SubmittedEncounter(encounter=Encounter.from_record(record))
