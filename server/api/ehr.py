"""EHR imports in the API: push FHIR or HL7 v2 messages, list them (the quarantine worklist with
where and why), retry a quarantined one. The work is in server/ehr/imports.py."""

from __future__ import annotations

import datetime as dt
from enum import Enum
from typing import Annotated

import strawberry
from strawberry.types import Info

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
from server.api.ids import from_global_id, to_global_id
from server.ehr import connections, imports
from server.errors import InputInvalid, NotFound
from server.jobs import OutboxRef
from server.models import EhrConnection, EhrMessage
from tenants.roles import Permission


@strawberry.enum(description="How an EHR message is written.")
class EhrFormat(Enum):
    FHIR = "fhir"
    HL7V2 = "hl7v2"


@strawberry.enum(description="Where an EHR message stands.")
class EhrMessageStatus(Enum):
    IMPORTED = "imported"
    WAITING = "waiting"
    QUARANTINED = "quarantined"


@strawberry.type(
    name="EhrMessage", description="A message an EHR sent, kept once; a quarantined one says where and why."
)
class EhrMessageInfo(Node):
    format: EhrFormat
    channel: str
    status: EhrMessageStatus
    error_where: str | None
    error_why: str | None
    visit_keys: list[str]
    attempts: int
    created_at: dt.datetime
    updated_at: dt.datetime

    @classmethod
    def from_row(cls, row: EhrMessage) -> EhrMessageInfo:
        return cls(
            id=strawberry.ID(to_global_id("EhrMessage", row.id)),
            format=EhrFormat(row.format),
            channel=row.channel,
            status=EhrMessageStatus(row.status),
            error_where=row.error_where,
            error_why=row.error_why,
            visit_keys=list(row.visit_keys),
            attempts=row.attempts,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


@strawberry.type(description="What an import did: counts, and each new message with its status.")
class EhrImport:
    read: int
    already: int
    imported: int
    waiting: int
    quarantined: int
    versions: int = strawberry.field(description="New encounter versions, each queued for coding.")
    messages: list[EhrMessageInfo]


ImportEhrResult = Annotated[
    EhrImport | InvalidInput | Forbidden | RolledBack, strawberry.union("ImportEhrMessagesResult")
]


@strawberry.type(
    name="EhrConnection",
    description="A FHIR API of the clinic's that cutis pulls from (SMART backend services); the key never shows.",
)
class EhrConnectionInfo(Node):
    name: str
    base_url: str
    token_url: str
    client_id: str
    key_id: str | None
    scope: str
    pulled_until: dt.date | None
    updated_at: dt.datetime

    @classmethod
    def from_row(cls, row: EhrConnection) -> EhrConnectionInfo:
        return cls(
            id=strawberry.ID(to_global_id("EhrConnection", row.id)),
            name=row.name,
            base_url=row.base_url,
            token_url=row.token_url,
            client_id=row.client_id,
            key_id=row.key_id,
            scope=row.scope,
            pulled_until=row.pulled_until,
            updated_at=row.updated_at,
        )


SaveEhrConnectionResult = Annotated[
    EhrConnectionInfo | InvalidInput | Forbidden | RolledBack, strawberry.union("SaveEhrConnectionResult")
]
RetryEhrResult = Annotated[
    EhrMessageInfo | NotFoundError | Forbidden | RolledBack, strawberry.union("RetryEhrMessageResult")
]


@strawberry.type
class EhrQueries:
    @strawberry.field(description="The clinic's EHR messages, latest first; `status: QUARANTINED` is the worklist.")
    async def ehr_messages(
        self, info: Info, status: EhrMessageStatus | None = None, first: int | None = None, after: str | None = None
    ) -> Connection[EhrMessageInfo]:
        ctx = context(info)
        require(info, Permission.ENCOUNTERS_READ)
        async with ctx.lock:
            rows, limit = await imports.list_messages(
                await ctx.session(), status.value if status else None, first, after
            )
        return connection(rows, limit, EhrMessageInfo.from_row, lambda row: (row.updated_at, row.id))

    @strawberry.field(description="The clinic's FHIR connections, by name (their keys never show).")
    async def ehr_connections(self, info: Info) -> list[EhrConnectionInfo]:
        ctx = context(info)
        require(info, Permission.CLINIC_READ)
        async with ctx.lock:
            rows = await connections.list_connections(await ctx.session())
        return [EhrConnectionInfo.from_row(row) for row in rows]


@strawberry.type
class EhrMutations:
    @strawberry.mutation(
        description="Add or replace (by name) a FHIR connection: the API's base URL, its token URL, the client id "
        "registered with the EHR and the private key that signs token requests (sealed at rest, never shown)."
    )
    async def save_ehr_connection(
        self,
        info: Info,
        name: str,
        base_url: str,
        token_url: str,
        client_id: str,
        scope: str,
        private_key_pem: str,
        key_id: str | None = None,
    ) -> SaveEhrConnectionResult:
        ctx = context(info)
        principal = allowed(info, Permission.CLINIC_ADMIN)
        if isinstance(principal, Forbidden):
            return principal
        fields = connections.ConnectionFields(name, base_url, token_url, client_id, scope, private_key_pem, key_id)
        async with ctx.lock:
            try:
                row = await connections.save_connection(
                    await ctx.session(), ctx.services.secret_box, principal.tenant_id, fields
                )
            except InputInvalid as error:
                return refused(error)
            await ctx.audit("ehr_connection.save", "admin", object_type="EhrConnection", object_ids=[row.id])
        return EhrConnectionInfo.from_row(row)

    @strawberry.mutation(
        description="Push EHR messages: one FHIR R4 Bundle or resource, or HL7 v2 messages (ADT, DFT^P03, "
        "MDM^T02, ORU^R01). Each message is kept once; each visit that changes becomes a new encounter version "
        "queued for coding; a message cutis cannot use is quarantined with where and why."
    )
    async def import_ehr_messages(self, info: Info, format: EhrFormat, body: str) -> ImportEhrResult:
        ctx = context(info)
        principal = allowed(info, Permission.ENCOUNTERS_WRITE)
        if isinstance(principal, Forbidden):
            return principal
        if not body.strip():
            return refused(InputInvalid.at("body", "the body is empty"))
        tally, rows = await imports.import_body(ctx, ctx.services.cpu, principal.tenant_id, format.value, body)
        ctx.relay_after_commit.extend(OutboxRef(message.id, message.tenant_id) for message in tally.queued)
        async with ctx.lock:
            await ctx.audit(
                "ehr.import", "phi_write", object_type="EhrMessage", object_ids=[row.id for row in rows][:100]
            )
        return EhrImport(**tally.to_dict(), messages=[EhrMessageInfo.from_row(row) for row in rows])

    @strawberry.mutation(description="Run a quarantined message again, after fixing what it lacked (a payer mapping).")
    async def retry_ehr_message(self, info: Info, id: strawberry.ID) -> RetryEhrResult:
        ctx = context(info)
        principal = allowed(info, Permission.ENCOUNTERS_WRITE)
        if isinstance(principal, Forbidden):
            return principal
        try:
            row, tally = await imports.retry_message(
                ctx, ctx.services.cpu, principal.tenant_id, from_global_id(str(id), "EhrMessage")
            )
        except NotFound as error:
            return refused(error)
        ctx.relay_after_commit.extend(OutboxRef(message.id, message.tenant_id) for message in tally.queued)
        async with ctx.lock:
            await ctx.audit("ehr.retry", "phi_write", object_type="EhrMessage", object_ids=[row.id])
        return EhrMessageInfo.from_row(row)
