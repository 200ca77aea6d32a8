"""Impact replay: a rulebook's draft against the clinic's last stored encounters, in chunks the
workers run side by side, with progress and cancel.

Start: the draft is checked (a draft with errors is refused), the last N encounter versions of
the clinic (of the book's payer, for a payer book) are split into chunks, and one outbox job per
chunk is relayed after commit (ids only in the job). A chunk codes each encounter from its stored
note analysis under the stack it is coded with today and under the same stack with the draft in
its layer, and stores the summed differences (`rulebooks.replay`). The replay's answer merges its
chunks' summaries; it is done when every chunk is. Cancel marks the replay: chunks not yet run
skip their work.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Text, cast, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from rulebooks.clinic_stack import BookSource, StackSources
from rulebooks.coding_diff import Impact
from rulebooks.engine.context import FeeSchedules
from rulebooks.replay import Replayed, replay_batch
from server import rulebook_versions
from server.cpu import Cpu
from server.db import SessionTurns, get_by_id
from server.encounters import load_fee_schedules
from server.errors import Conflict, InputInvalid
from server.models import EncounterRecord, ImpactReplay, ImpactReplayChunk, OutboxMessage
from tenants.base import utcnow
from tenants.keys import Principal

IMPACT_REPLAY_CHUNK_JOB = "impact_replay_chunk"
NO_SUCH_REPLAY = "no impact replay with that id"
MAX_ENCOUNTERS = 200_000
CHUNK = 2_000
#: Replays of one clinic running at once (each holds the workers for up to minutes).
MAX_RUNNING = 3
#: Encounters sent to the CPU pool at once (each batch is one pickled call).
BATCH = 500


@dataclass(frozen=True)
class Progress:
    """A replay as its reader sees it: how far, and what it found so far."""

    replay: ImpactReplay
    done: int
    chunks: int
    chunks_finished: int
    impact: Impact


async def start(
    turns: SessionTurns, cpu: Cpu, principal: Principal, rulebook_id: uuid.UUID | None, encounters: int
) -> tuple[ImpactReplay, list[OutboxMessage]]:
    """A replay of the rulebook's current draft over the last `encounters` stored encounter versions."""
    if not 1 <= encounters <= MAX_ENCOUNTERS:
        raise InputInvalid.at("encounters", f"replay 1 to {MAX_ENCOUNTERS:,} encounters")
    checked = await rulebook_versions.check_draft(turns, cpu, rulebook_id, "a draft with errors cannot be replayed")
    prepared, layer = checked.prepared, checked.layer
    if await _running(turns) >= MAX_RUNNING:
        raise Conflict(f"{MAX_RUNNING} replays of your clinic are running: wait for one, or cancel one", 0)
    async with turns.turn() as session:
        statement = (
            select(EncounterRecord.id)
            .where(EncounterRecord.analysis.is_not(None))
            .order_by(EncounterRecord.created_at.desc(), EncounterRecord.id.desc())
            .limit(encounters)
        )
        if layer == "payer" and prepared.payer:
            statement = statement.where(EncounterRecord.payer_code == prepared.payer)
        ids = [str(found) for found in (await session.execute(statement)).scalars()]
        replay = ImpactReplay(
            tenant_id=principal.tenant_id,
            rulebook_id=checked.rulebook_id,
            draft_revision=checked.revision,
            draft_text=prepared.canonical_text,
            layer=layer,
            payer_code=prepared.payer,
            requested=encounters,
            total=len(ids),
            status="running" if ids else "done",
            started_by=principal.user_id,
            finished_at=None if ids else utcnow(),
        )
        session.add(replay)
        await session.flush()
        messages = []
        for number, first in enumerate(range(0, len(ids), CHUNK)):
            chunk = ImpactReplayChunk(
                tenant_id=principal.tenant_id,
                replay_id=replay.id,
                number=number,
                encounter_ids=ids[first : first + CHUNK],
            )
            session.add(chunk)
            await session.flush()
            message = OutboxMessage(
                id=uuid.uuid4(),
                created_at=utcnow(),
                tenant_id=principal.tenant_id,
                job=IMPACT_REPLAY_CHUNK_JOB,
                subject_id=chunk.id,
            )
            session.add(message)
            messages.append(message)
        return replay, messages


async def _running(turns: SessionTurns) -> int:
    async with turns.turn() as session:
        found = await session.execute(
            select(func.count()).select_from(ImpactReplay).where(ImpactReplay.status == "running")
        )
        return int(found.scalar_one())


async def progress(session: AsyncSession, replay_id: uuid.UUID | None) -> Progress:
    replay = await get_by_id(session, ImpactReplay, replay_id, NO_SUCH_REPLAY)
    chunks = list(
        (await session.execute(select(ImpactReplayChunk).where(ImpactReplayChunk.replay_id == replay.id))).scalars()
    )
    impact = Impact()
    for chunk in sorted(chunks, key=lambda one: one.number):
        if chunk.summary is not None:
            impact.merge(Impact.from_dict(chunk.summary))
    finished = sum(1 for chunk in chunks if chunk.status != "pending")
    return Progress(replay, sum(chunk.done for chunk in chunks), len(chunks), finished, impact)


async def cancel(session: AsyncSession, replay_id: uuid.UUID | None) -> ImpactReplay:
    replay = await get_by_id(session, ImpactReplay, replay_id, NO_SUCH_REPLAY, for_update=True)
    if replay.status != "running":
        raise Conflict(f"the replay is {replay.status}: only a running replay is cancelled", 0)
    replay.status, replay.finished_at = "cancelled", utcnow()
    return replay


async def run_chunk(session: AsyncSession, chunk_id: uuid.UUID, cpu: Cpu) -> None:
    """A worker's share: its encounters replayed in batches in the CPU pool, the summary stored."""
    chunk = await session.get(ImpactReplayChunk, chunk_id)
    if chunk is None:
        raise LookupError("the chunk of the outbox row is gone")
    replay = await session.get(ImpactReplay, chunk.replay_id)
    assert replay is not None
    if chunk.status != "pending":
        return
    if replay.status != "running":
        chunk.status, chunk.finished_at = "cancelled", utcnow()
        return
    ids = [uuid.UUID(value) for value in chunk.encounter_ids]
    draft = BookSource(layer=replay.layer, name="draft", content_hash=f"replay:{replay.id}", text=replay.draft_text)
    items, stacks = await replayed(session, ids, None, draft, replay.payer_code)
    fees = await load_fee_schedules(session)
    impact = await replay_in_pool(cpu, items, stacks, replay.created_at, fees)
    chunk.summary, chunk.done = impact.to_dict(), len(items)
    chunk.status, chunk.finished_at = "done", utcnow()
    await session.flush()
    left = (
        await session.execute(
            select(ImpactReplayChunk.id).where(
                ImpactReplayChunk.replay_id == replay.id, ImpactReplayChunk.status == "pending"
            )
        )
    ).first()
    if left is None:
        await session.execute(
            update(ImpactReplay)
            .where(ImpactReplay.id == replay.id, ImpactReplay.status == "running")
            .values(status="done", finished_at=utcnow())
        )


async def replay_in_pool(
    cpu: Cpu,
    items: Sequence[Replayed],
    stacks: dict[tuple[str, ...], StackSources],
    coded_at: dt.datetime,
    fees: FeeSchedules,
) -> Impact:
    """The items replayed in the CPU pool, `BATCH` at a time, their differences summed."""
    impact = Impact()
    for first in range(0, len(items), BATCH):
        batch = items[first : first + BATCH]
        keys = {key for item in batch for key in (item.baseline_key, item.candidate_key)}
        found = await cpu.run(replay_batch, batch, {key: stacks[key] for key in keys}, coded_at, fees)
        impact.merge(Impact.from_dict(found))
    return impact


async def replayed(
    session: AsyncSession,
    ids: Sequence[uuid.UUID],
    before: BookSource | None,
    after: BookSource,
    book_payer: str | None,
) -> tuple[list[Replayed], dict[tuple[str, ...], StackSources]]:
    """The encounter versions to replay, each with the stack it is coded with today (with `before`
    in its layer, when given) and the same with `after` in that layer; and those stacks by key.
    A payer book is a layer of its payer's encounters only."""
    rows = (
        await session.execute(
            select(
                EncounterRecord.id,
                cast(EncounterRecord.payload, Text),  # parsed in the pool's process, not here
                cast(EncounterRecord.analysis, Text),
                EncounterRecord.payer_code,
                EncounterRecord.date_of_service,
            ).where(EncounterRecord.id.in_(list(ids)), EncounterRecord.analysis.is_not(None))
        )
    ).all()
    resolved = await rulebook_versions.resolve_many(session, [(row.date_of_service, row.payer_code) for row in rows])
    stacks: dict[tuple[str, ...], StackSources] = {}
    items = []
    for encounter_id, payload, analysis, payer, date_of_service in rows:
        today = resolved[(date_of_service, payer)]
        applies = after.layer != "payer" or (book_payer or "").upper() == payer.upper()
        baseline = today.with_book(before) if before is not None and applies else today
        candidate = baseline.with_book(after) if applies else baseline
        stacks[baseline.key], stacks[candidate.key] = baseline, candidate
        items.append(Replayed(str(encounter_id), payload, analysis, baseline.key, candidate.key))
    return items, stacks
