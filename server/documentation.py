"""Documentation: check a note at chart-open time, and the provider query worklist and its lifecycle
(answered with an addendum, which re-codes the encounter as a new version; or withdrawn).

Queries are opened by the coding (server/encounters.py `store_coding`); this module reads and closes them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from rulebooks.models import Encounter
from rulebooks.models.encounter import MAX_NOTE_CHARS
from server import encounters
from server.cpu import Cpu
from server.db import SessionTurns, get_by_id
from server.errors import InputInvalid
from server.models import EncounterRecord, ProviderQueryRecord
from server.paging import paged
from tenants.base import utcnow
from tenants.keys import Principal

MAX_ADDENDUM = 20_000
MIN_REASON_CHARS = 5
NO_SUCH_QUERY = "no provider query with that id"


def analyse_documentation(encounter: Encounter) -> dict[str, Any]:
    """The note's findings, classifications and queries as plain data, in a CpuPool worker."""
    from rulebooks.notes import check_documentation as check

    return check(encounter).to_dict()


async def check_documentation(cpu: Cpu, payload: Any) -> dict[str, Any]:
    """What the note documents for each service, and what to ask the provider (`checkDocumentation`): in the
    CPU pool; nothing is stored. Refuses with `InputInvalid` before anything is sent to the pool."""
    return await cpu.run(analyse_documentation, encounters.parse_encounter(payload))


@dataclass(frozen=True)
class QueryFilter:
    """Which provider queries: each given criterion narrows the list (none given: every query)."""

    status: str | None = None
    external_id: str | None = None
    topic: str | None = None


async def provider_queries(
    session: AsyncSession, query: QueryFilter, first: int | None, after: str | None
) -> tuple[list[ProviderQueryRecord], int]:
    """A page of the clinic's provider queries, newest first (one more row than the page) and the page size."""
    statement = select(ProviderQueryRecord)
    if query.status:
        statement = statement.where(ProviderQueryRecord.status == query.status)
    if query.external_id:
        statement = statement.where(ProviderQueryRecord.external_id == query.external_id)
    if query.topic:
        statement = statement.where(ProviderQueryRecord.topic == query.topic)
    statement, limit = paged(statement, first, after, ProviderQueryRecord.created_at, ProviderQueryRecord.id)
    return list((await session.execute(statement)).scalars().all()), limit


async def get_provider_query(session: AsyncSession, query_id: uuid.UUID | None) -> ProviderQueryRecord:
    return await get_by_id(session, ProviderQueryRecord, query_id, NO_SUCH_QUERY)


async def _open_query(session: AsyncSession, query_id: uuid.UUID | None) -> ProviderQueryRecord:
    """The query, locked until the transaction ends, if it is still open (one answer or withdrawal wins)."""
    row = await get_by_id(session, ProviderQueryRecord, query_id, NO_SUCH_QUERY, for_update=True)
    if row.status != "open":
        raise InputInvalid.at("id", f"this query is already {row.status}")
    return row


@dataclass(frozen=True)
class AnsweredQuery:
    """The answered query and the encounter version its addendum made, with that version's coding."""

    query: ProviderQueryRecord
    coded: encounters.CodedVersion


async def answer_query(
    turns: SessionTurns, cpu: Cpu, principal: Principal, query_id: uuid.UUID | None, addendum: str
) -> AnsweredQuery:
    """Append the provider's addendum to the note, store that as a new version of the encounter and code it
    (in the CPU pool, holding no turn meanwhile); the query is answered by that version."""
    if not addendum.strip():  # its length, NUL and surrogates: server.api.validation
        raise InputInvalid.at("addendum", f"the addendum is 1 to {MAX_ADDENDUM} characters")
    async with turns.turn() as session:
        row = await _open_query(session, query_id)
        previous = await get_by_id(session, EncounterRecord, row.encounter_id, encounters.NO_SUCH_ENCOUNTER)
        payload = dict(previous.payload)
        payload["note"] = ((payload.get("note") or "") + f"\n\nAddendum: {addendum.strip()}").strip()
        if len(payload["note"]) > MAX_NOTE_CHARS:
            raise InputInvalid.at(
                "addendum",
                f"with this addendum the note would have {len(payload['note']):,} characters; "
                f"a note has at most {MAX_NOTE_CHARS:,} (shorten the addendum)",
            )
        record = await encounters.store_encounter(session, principal.tenant_id, Encounter.model_validate(payload))
        row.status, row.addendum, row.answered_encounter_id = "answered", addendum.strip(), record.id
        row.resolved_by, row.resolved_at = principal.user_id, utcnow()
        await session.flush()
        fees = await encounters.load_fee_schedules(session)
    coded = await encounters.code_version(turns, record, cpu=cpu, fees=fees)
    return AnsweredQuery(row, coded)


async def withdraw_query(
    session: AsyncSession, principal: Principal, query_id: uuid.UUID | None, reason: str
) -> ProviderQueryRecord:
    """Close an open query without an answer (asked in error, or the service is no longer billed)."""
    if len(reason.strip()) < MIN_REASON_CHARS:
        raise InputInvalid.at("reason", "say why the query is withdrawn")
    row = await _open_query(session, query_id)
    row.status, row.resolved_by, row.resolved_at = "withdrawn", principal.user_id, utcnow()
    return row
