"""Encounters: validate, store a new version, code, store the coding, enqueue through the outbox;
read them back (one, a page, the latest codings).

The coding itself runs in the CPU pool, dispatched from one place (`code_version`), which holds no
session while it waits (`server.db.SessionTurns`).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from rulebooks.clinic_stack import StackSources, build_stack
from rulebooks.coding import code_encounter
from rulebooks.coding_diff import Impact
from rulebooks.engine import FeeSchedules
from rulebooks.models import Coding, Encounter
from rulebooks.replay import analysis_of, code_again, compare
from rulebooks.timings import Phase, phase, recording
from server import draft_shadows, rulebook_versions
from server.cpu import Cpu
from server.db import SessionAlone, SessionTurns, get_by_id
from server.draft_shadows import Shadowing
from server.errors import InputInvalid
from server.models import CodingRecord, EncounterRecord, FeeScheduleEntry, OutboxMessage, Payer, ProviderQueryRecord
from server.paging import paged
from server.tracing import phase_spans, tracer
from server.validation_paths import field_errors
from tenants.base import utcnow

CODE_ENCOUNTER_JOB = "code_encounter"
VERSION_ATTEMPTS = 5
NO_SUCH_ENCOUNTER = "no encounter with that id"


def parse_encounter(payload: Any) -> Encounter:
    """The canonical Encounter, or `InputInvalid` naming each bad field's path and why.

    Messages name fields, never echo values (an input value may be PHI).
    """
    try:
        return Encounter.model_validate(payload)
    except ValidationError as error:
        raise InputInvalid("the encounter is not valid", field_errors(error, root="encounter")) from None


async def require_known_payer(session: AsyncSession, encounter: Encounter) -> None:
    """The encounter's payer must be one of the clinic's payers: an unknown code would code silently
    with the national base alone. Refused with the clinic's payer codes (configuration, never PHI)."""
    known = sorted((await session.execute(select(Payer.code))).scalars())
    if encounter.coverage.payer not in known:
        raise InputInvalid.at(
            "encounter.coverage.payer",
            f"unknown payer {encounter.coverage.payer!r}: the clinic's payers are "
            + (", ".join(known) if known else "none yet (add one with savePayer)"),
        )


async def store_encounter(session: AsyncSession, tenant_id: uuid.UUID, encounter: Encounter) -> EncounterRecord:
    """A new version of the encounter; an earlier version with the same external id stays, linked.

    Two submissions of the same encounter at once both read the same latest version; the one
    that loses the unique (tenant, external id, version) race reads again and takes the next.
    """
    for _ in range(VERSION_ATTEMPTS):
        previous = (
            await session.execute(
                select(EncounterRecord.id, EncounterRecord.version)
                .where(EncounterRecord.external_id == encounter.external_id)
                .order_by(EncounterRecord.version.desc())
                .limit(1)
            )
        ).first()
        record = _next_version(tenant_id, encounter, (previous.id, previous.version) if previous else None)
        try:
            async with session.begin_nested():
                session.add(record)
                await session.flush()  # before its coding: the unit of work knows no relationship between them
            return record
        except IntegrityError:
            continue
    raise InputInvalid("the encounter is being submitted many times at once; try again", [])


def _next_version(
    tenant_id: uuid.UUID, encounter: Encounter, previous: tuple[uuid.UUID, int] | None
) -> EncounterRecord:
    return EncounterRecord(
        id=uuid.uuid4(),
        created_at=utcnow(),
        tenant_id=tenant_id,
        external_id=encounter.external_id,
        version=(previous[1] + 1) if previous else 1,
        previous_id=previous[0] if previous else None,
        payer_code=encounter.coverage.payer,
        date_of_service=encounter.date_of_service,
        status="received",
        payload=encounter.model_dump(mode="json", exclude_none=True),
    )


async def store_versions(
    session: AsyncSession, tenant_id: uuid.UUID, encounters: Sequence[Encounter]
) -> list[EncounterRecord]:
    """New versions of many encounters at once (a chunk of an EHR import): one read of their latest
    versions, one flush. A submission of one of them at the same moment fails the flush on the unique
    (tenant, external id, version): the caller's transaction then rolls back whole, and runs again."""
    latest: dict[str, tuple[uuid.UUID, int]] = {}
    external_ids = {encounter.external_id for encounter in encounters}
    found = await session.execute(
        select(EncounterRecord.external_id, EncounterRecord.id, EncounterRecord.version)
        .where(EncounterRecord.external_id.in_(external_ids))
        .order_by(EncounterRecord.version)
    )
    for external_id, record_id, version in found:
        latest[external_id] = (record_id, version)
    records = []
    for encounter in encounters:
        record = _next_version(tenant_id, encounter, latest.get(encounter.external_id))
        latest[encounter.external_id] = (record.id, record.version)
        records.append(record)
    session.add_all(records)
    await session.flush()
    return records


class FeeCache:
    """Each clinic's fee schedules for a few seconds, per process: a fee is read on every coding.

    `setFee` evicts its clinic at once in this process; other processes see it within `ttl`.
    """

    def __init__(self, ttl: dt.timedelta = dt.timedelta(seconds=30)) -> None:
        self.ttl = ttl
        self._entries: dict[uuid.UUID, tuple[dt.datetime, FeeSchedules]] = {}

    async def get(self, session: AsyncSession, tenant_id: uuid.UUID) -> FeeSchedules:
        entry = self._entries.get(tenant_id)
        if entry is not None and entry[0] > utcnow():
            return entry[1]
        fees = await load_fee_schedules(session)
        self._entries[tenant_id] = (utcnow() + self.ttl, fees)
        return fees

    def evict(self, tenant_id: uuid.UUID) -> None:
        self._entries.pop(tenant_id, None)


async def load_fee_schedules(session: AsyncSession) -> FeeSchedules:
    rows = (await session.execute(select(FeeScheduleEntry))).scalars().all()
    fees = FeeSchedules()
    for row in rows:
        target = fees.cosmetic if row.schedule == "cosmetic" else fees.medical
        target[row.code] = Decimal(row.fee)
    return fees


@dataclass(frozen=True)
class HeldQuestion:
    """What the note analysis asks the provider about one held service (plain data, from a worker)."""

    topic: str
    missing: tuple[str, ...]


@dataclass(frozen=True)
class Coded:
    """What coding a version in the pool gives back (plain, picklable): the Coding, the
    documentation's questions by service id, and what the note analysis decided (kept with the
    version, so a replay of rules never reads the note again)."""

    coding: Coding
    questions: dict[str, HeldQuestion]
    analysis: dict[str, Any]
    shadowed: dict[str, dict[str, Any] | None] = field(default_factory=dict)
    phases: tuple[Phase, ...] = ()  # (name, start ns, end ns) in the pool: child spans of `coding.run`


def code_in_worker(
    encounter: Encounter,
    encounter_id: str,
    coded_at: dt.datetime,
    fees: FeeSchedules,
    sources: StackSources,
    shadows: tuple[Shadowing, ...] = (),
) -> Coded:
    """Analyse the note and code with the clinic's rule stack for the encounter (`sources`, as
    `rulebook_versions.resolve` chose them): the CPU-heavy part, run in a CpuPool worker. Each
    running draft shadow codes it too, from the same note analysis; only what differs comes back."""
    with recording() as phases:
        with phase("stack"):
            stack = build_stack(sources)
        coded = code_encounter(encounter, encounter_id=encounter_id, coded_at=coded_at, fees=fees, stack=stack)
        questions = {
            query.service_id: HeldQuestion(topic=query.topic, missing=tuple(query.missing))
            for query in coded.documentation.queries
        }
        analysis = analysis_of(coded)
        shadowed: dict[str, dict[str, Any] | None] = {}
        for shadow in shadows:
            with phase("shadow"):
                drafted = code_again(
                    encounter,
                    analysis,
                    build_stack(shadow.sources),
                    encounter_id=encounter_id,
                    coded_at=coded_at,
                    fees=fees,
                )
                impact = Impact()
                diff = compare(impact, encounter, encounter_id, coded.coding, drafted)
            shadowed[shadow.shadow_id] = {"impact": impact.to_dict(), "diff": diff.to_dict()} if diff.changed else None
    return Coded(coded.coding, questions, analysis, shadowed, tuple(phases))


@dataclass(frozen=True)
class CodedVersion:
    """A stored encounter version and its coding, as stored."""

    record: EncounterRecord
    coding: Coding
    coding_record: CodingRecord


async def code_now(
    turns: SessionTurns, cpu: Cpu, fee_cache: FeeCache, tenant_id: uuid.UUID, payload: Any
) -> CodedVersion:
    """Validate and store the encounter as a new version, and code it now (`codeEncounter`).

    Refuses with `InputInvalid` before anything is stored or sent to the pool.
    """
    encounter = parse_encounter(payload)
    with tracer.start_as_current_span("coding.resolve"):
        async with turns.turn() as session:
            await require_known_payer(session, encounter)
            record = await store_encounter(session, tenant_id, encounter)
            fees = await fee_cache.get(session, tenant_id)
            sources = await rulebook_versions.resolve(session, encounter.date_of_service, encounter.coverage.payer)
            shadows = await draft_shadows.shadowing(session, encounter, sources)
    return await code_version(turns, record, cpu=cpu, fees=fees, encounter=encounter, sources=sources, shadows=shadows)


async def code_version(
    turns: SessionTurns,
    record: EncounterRecord,
    *,
    cpu: Cpu,
    fees: FeeSchedules,
    encounter: Encounter | None = None,
    coded_at: dt.datetime | None = None,
    sources: StackSources | None = None,
    shadows: tuple[Shadowing, ...] | None = None,
) -> CodedVersion:
    """Code a stored encounter version in the CPU pool (holding no turn meanwhile) with the clinic's
    stack for it (`sources`, else resolved now), then store the coding and open its queries: the
    one place coding is dispatched."""
    encounter = encounter if encounter is not None else Encounter.model_validate(record.payload)
    if sources is None or shadows is None:
        with tracer.start_as_current_span("coding.resolve"):
            async with turns.turn() as session:
                sources = await rulebook_versions.resolve(session, encounter.date_of_service, encounter.coverage.payer)
                shadows = await draft_shadows.shadowing(session, encounter, sources)
    with tracer.start_as_current_span("coding.run", attributes={"cutis.shadows": len(shadows)}):
        coded = await cpu.run(code_in_worker, encounter, str(record.id), coded_at or utcnow(), fees, sources, shadows)
        phase_spans(coded.phases)
    with tracer.start_as_current_span("coding.store"):
        async with turns.turn() as session:
            coding, coding_record = await store_coding(session, record, coded)
    return CodedVersion(record, coding, coding_record)


async def code_stored_encounter(
    session: AsyncSession,
    record: EncounterRecord,
    *,
    cpu: Cpu,
    coded_at: dt.datetime | None = None,
    fees: FeeSchedules | None = None,
    encounter: Encounter | None = None,
) -> tuple[Coding, CodingRecord]:
    """`code_version` for a session nobody shares (the coding job, the command line), with the clinic's fees."""
    fees = fees if fees is not None else await load_fee_schedules(session)
    coded = await code_version(
        SessionAlone(session), record, cpu=cpu, fees=fees, encounter=encounter, coded_at=coded_at
    )
    return coded.coding, coded.coding_record


async def store_coding(session: AsyncSession, record: EncounterRecord, coded: Coded) -> tuple[Coding, CodingRecord]:
    """Store the coding and open its queries; the version keeps what its note analysis decided.

    Open queries of earlier versions of the same encounter are withdrawn: this version supersedes them.
    """
    coding, questions = coded.coding, coded.questions
    if record.analysis is None:
        record.analysis = coded.analysis
    session.add_all(draft_shadows.observations(record.tenant_id, record.id, record.payer_code, coded.shadowed))
    coding_record = CodingRecord(
        id=uuid.uuid4(),
        created_at=utcnow(),
        tenant_id=record.tenant_id,
        encounter_id=record.id,
        status=coding.status,
        payload=coding.model_dump(mode="json"),
    )
    session.add(coding_record)
    record.status = "coded"
    now = utcnow()
    if record.version > 1:  # only a re-submission can supersede open queries
        superseded = await session.execute(
            select(ProviderQueryRecord).where(
                ProviderQueryRecord.external_id == record.external_id,
                ProviderQueryRecord.status == "open",
                ProviderQueryRecord.encounter_id != record.id,
            )
        )
        for query in superseded.scalars().all():
            query.status, query.resolved_at = "withdrawn", now
    # Every held line is a question to the provider: the documentation's own, a rule's, or a
    # coding step's (an E/M level, a biopsy technique); one open query per held service.
    for line in coding.held_lines:
        for service_id in line.service_ids:
            source = questions.get(service_id)
            session.add(
                ProviderQueryRecord(
                    tenant_id=record.tenant_id,
                    encounter_id=record.id,
                    external_id=record.external_id,
                    service_id=service_id,
                    topic=source.topic if source else "coding",
                    text=line.query,
                    missing=list(source.missing) if source else [],
                )
            )
    return coding, coding_record


async def enqueue_coding(session: AsyncSession, record: EncounterRecord) -> OutboxMessage:
    """The outbox row commits with the encounter; the relay enqueues it after commit."""
    record.status = "queued"
    message = OutboxMessage(
        id=uuid.uuid4(), created_at=utcnow(), tenant_id=record.tenant_id, job=CODE_ENCOUNTER_JOB, subject_id=record.id
    )
    session.add(message)
    return message


async def submit(session: AsyncSession, tenant_id: uuid.UUID, payload: Any) -> tuple[EncounterRecord, OutboxMessage]:
    """Validate and store the encounter as a new version, to be coded in the background (`submitEncounter`):
    the version and the outbox row that the relay enqueues after commit."""
    encounter = parse_encounter(payload)
    await require_known_payer(session, encounter)
    record = await store_encounter(session, tenant_id, encounter)
    return record, await enqueue_coding(session, record)


async def get_encounter(session: AsyncSession, encounter_id: uuid.UUID | None) -> EncounterRecord:
    return await get_by_id(session, EncounterRecord, encounter_id, NO_SUCH_ENCOUNTER)


@dataclass(frozen=True)
class EncounterQuery:
    """Which encounter versions: each given criterion narrows the list (none given: every version)."""

    date_from: dt.date | None = None
    date_to: dt.date | None = None
    payer: str | None = None
    status: str | None = None
    external_id: str | None = None
    provider_npi: str | None = None
    coding_status: str | None = None


def latest_coding_status() -> Any:
    """The status of an encounter version's latest coding (NULL before it is coded), as a column of the listing."""
    return (
        select(CodingRecord.status)
        .where(CodingRecord.encounter_id == EncounterRecord.id)
        .order_by(CodingRecord.created_at.desc(), CodingRecord.id.desc())
        .limit(1)
        .scalar_subquery()
    )


async def list_encounters(
    session: AsyncSession, query: EncounterQuery, first: int | None, after: str | None
) -> tuple[list[EncounterRecord], int]:
    """A page of the clinic's encounter versions, newest first (one more row than the page) and the page size."""
    statement = select(EncounterRecord)
    if query.date_from:
        statement = statement.where(EncounterRecord.date_of_service >= query.date_from)
    if query.date_to:
        statement = statement.where(EncounterRecord.date_of_service <= query.date_to)
    if query.payer:
        statement = statement.where(EncounterRecord.payer_code == query.payer)
    if query.status:
        statement = statement.where(EncounterRecord.status == query.status)
    if query.external_id:
        statement = statement.where(EncounterRecord.external_id == query.external_id)
    if query.provider_npi:  # the rendering provider as stored in the canonical Encounter
        statement = statement.where(EncounterRecord.payload["provider"]["npi"].as_string() == query.provider_npi)
    if query.coding_status:
        statement = statement.where(latest_coding_status() == query.coding_status)
    statement, limit = paged(statement, first, after, EncounterRecord.created_at, EncounterRecord.id)
    return list((await session.execute(statement)).scalars().all()), limit


async def latest_codings(session: AsyncSession, encounter_ids: Sequence[uuid.UUID]) -> list[CodingRecord | None]:
    """Each encounter version's latest coding (or None), in the order of `encounter_ids`: one query for a page."""
    statement = (
        select(CodingRecord)
        .where(CodingRecord.encounter_id.in_(encounter_ids))
        .order_by(CodingRecord.created_at, CodingRecord.id)
    )
    latest = {row.encounter_id: row for row in (await session.execute(statement)).scalars().all()}
    return [latest.get(encounter_id) for encounter_id in encounter_ids]
