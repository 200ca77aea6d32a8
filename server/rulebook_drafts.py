"""The clinic's rulebooks as drafts: stored with optimistic concurrency, and the rule editor's
operations on a draft's text (diagnose, format, run its tests, explain it on an encounter).

Why this name: every operation here is on a draft, stored or in the editor (its versions, review
and publishing are `server.rulebook_versions`). The language
itself is the domain package `rulebooks/` (which never imports server/); a `server/rulebooks.py`
would be a second meaning of that name in every module that imports both.

The text operations are pure functions of the text run by `rulebooks.authoring` in the CPU pool,
each dispatched from its one function here; nothing of them is stored.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from rulebooks import authoring
from rulebooks.models import Coding, Encounter
from server import encounters, rulebook_versions
from server.cpu import Cpu
from server.db import SessionTurns, get_by_id
from server.encounters import FeeCache
from server.errors import Conflict, InputInvalid
from server.models import RulebookRecord
from server.rulebook_versions import NO_SUCH_RULEBOOK
from tenants.base import utcnow
from tenants.keys import Principal

MAX_RULEBOOK_CHARS = 1_000_000  # enforced for every rulebook text argument by server.api.validation


async def list_rulebooks(session: AsyncSession, payer: str | None = None) -> list[RulebookRecord]:
    """The clinic's rulebooks (or one payer's), by payer and name."""
    statement = select(RulebookRecord).order_by(RulebookRecord.payer_code, RulebookRecord.name)
    if payer is not None:
        statement = statement.where(RulebookRecord.payer_code == payer)
    return list((await session.execute(statement)).scalars().all())


async def get_rulebook(session: AsyncSession, rulebook_id: uuid.UUID | None) -> RulebookRecord:
    return await get_by_id(session, RulebookRecord, rulebook_id, NO_SUCH_RULEBOOK)


async def create_rulebook(
    session: AsyncSession, principal: Principal, name: str, payer: str | None, layer: str, text: str
) -> RulebookRecord:
    """A new rulebook with its first draft; its name is unique in the clinic."""
    if not name.strip():  # its length, NUL and surrogates: server.api.validation (which also trims it)
        raise InputInvalid.at("name", "a rulebook needs a name of 1 to 200 characters")
    taken = (await session.execute(select(RulebookRecord.id).where(RulebookRecord.name == name))).first()
    if taken:
        raise InputInvalid.at("name", "your clinic already has a rulebook with that name")
    row = RulebookRecord(
        tenant_id=principal.tenant_id,
        name=name.strip(),
        payer_code=payer,
        layer=layer,
        draft_text=text,
        draft_updated_by=principal.user_id,
    )
    session.add(row)
    await session.flush()
    return row


async def save_draft(
    session: AsyncSession, principal: Principal, rulebook_id: uuid.UUID | None, text: str, base_revision: int
) -> RulebookRecord:
    """Save the draft as its next revision, unless someone saved since `base_revision` (then `Conflict`:
    nothing is overwritten)."""
    row = await get_by_id(session, RulebookRecord, rulebook_id, NO_SUCH_RULEBOOK, for_update=True)
    if row.draft_revision != base_revision:
        raise Conflict(
            f"this draft was saved by someone else since revision {base_revision}; "
            "reload it and apply your change again",
            row.draft_revision,
        )
    row.draft_text = text
    row.draft_revision += 1
    row.draft_updated_at = utcnow()
    row.draft_updated_by = principal.user_id
    return row


async def diagnose(cpu: Cpu, text: str) -> list[dict[str, Any]]:
    """Every diagnostic of a rulebook text (errors and warnings), for the editor."""
    return await cpu.run(authoring.check, text)


async def format_text(cpu: Cpu, text: str) -> dict[str, Any]:
    """The canonical formatting of a rulebook text, whether it changed, and its diagnostics."""
    return await cpu.run(authoring.format, text)


async def run_tests(cpu: Cpu, text: str) -> dict[str, Any]:
    """The rulebook's own tests: results, fired rules, coverage, and the text's diagnostics."""
    return await cpu.run(authoring.run_tests, text)


def vocabulary() -> dict[str, Any]:
    """Fields, actions, value sets, units and keywords of the rule language (highlighting, completion)."""
    return authoring.vocabulary()


@dataclass(frozen=True)
class StoredEncounter:
    """An encounter version of the clinic, named by id (`None`: an id that names nothing)."""

    id: uuid.UUID | None


@dataclass(frozen=True)
class Explained:
    """A draft tried on an encounter: the coding (None when the text does not build), the trace of its
    rules, the text's diagnostics; and which stored encounter was read, if one was (the request audits it)."""

    coding: Coding | None
    trace: list[dict[str, Any]]
    diagnostics: list[dict[str, Any]]
    external_id: str
    encounter_read: uuid.UUID | None


async def explain(
    turns: SessionTurns,
    cpu: Cpu,
    fee_cache: FeeCache,
    tenant_id: uuid.UUID,
    text: str,
    inline: Any | None,
    stored: StoredEncounter | None,
) -> Explained:
    """Code an encounter (given inline, or stored) with the draft in its layer of the clinic's stack
    for the encounter (resolved as a coding resolves it), in the CPU pool (holding no turn
    meanwhile), with the clinic's fees; nothing is stored."""
    if (inline is None) == (stored is None):
        raise InputInvalid.at("encounter", "give either `encounter` or `encounterId`")
    encounter = encounters.parse_encounter(inline) if inline is not None else None
    async with turns.turn() as session:
        record = await encounters.get_encounter(session, stored.id) if stored is not None else None
        fees = await fee_cache.get(session, tenant_id)
        if record is not None:
            encounter = Encounter.model_validate(record.payload)
        assert encounter is not None
        around = await rulebook_versions.resolve(session, encounter.date_of_service, encounter.coverage.payer)
    raw = await cpu.run(authoring.explain, text, encounter, fees=fees, around=around)
    coding = raw.get("coding")
    return Explained(
        coding=Coding.model_validate(coding) if coding else None,
        trace=list(raw.get("trace", [])),
        diagnostics=list(raw.get("diagnostics", [])),
        external_id=encounter.external_id,
        encounter_read=record.id if record is not None else None,
    )
