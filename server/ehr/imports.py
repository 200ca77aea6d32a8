"""Importing EHR messages: each message once, each visit merged, each changed visit a new
encounter version queued for coding; a message cutis cannot use goes to quarantine with where and
why and never holds up the rest.

Idempotent twice over: a message already seen (same content digest) is skipped, and a visit whose
Encounter comes out the same as its last one makes no new version. Resumable: a chunk commits as a
whole, so an import cut short and run again skips what it already stored. Parsing and assembling
run in the CPU pool (`parse_all`, `assemble`); the event loop only reads and writes rows.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from rulebooks.models import Encounter
from server.cpu import Cpu
from server.db import SessionAlone, SessionTurns, get_by_id, tenant_session
from server.ehr.fhir import parse_fhir
from server.ehr.hl7v2 import parse_hl7, split_messages
from server.ehr.parts import MessageRejected, PayerMap, VisitPart, build_encounter, merge, ready
from server.ehr.profile import GENERIC, ProfileError, load
from server.encounters import enqueue_coding, store_versions
from server.jobs import JobQueue, OutboxRef, relay
from server.models import EhrMessage, EhrVisit, OutboxMessage, Payer
from server.paging import paged
from tenants.base import utcnow

CHUNK = 250
MAX_MESSAGE_CHARS = 5_000_000
MAX_PUSH_CHARS = 2_000_000  # one pushed body (importEhrMessages): a big bundle, or a batch of HL7 messages
FOLDER_SUFFIXES = (".json", ".hl7")
NO_SUCH_MESSAGE = "no EHR message with that id"


@dataclass(frozen=True)
class Incoming:
    """A message as received: its format, text and the vendor profile it is read with."""

    format: str
    body: str
    profile: str = GENERIC

    @property
    def digest(self) -> str:
        # the same text read through another vendor's profile is another message (a generic one keeps its digest)
        head = self.format if self.profile == GENERIC else f"{self.format}\n{self.profile}"
        return hashlib.sha256(f"{head}\n{self.body}".encode()).hexdigest()


def messages_in(path: Path, profile: str = GENERIC) -> Iterator[Incoming]:
    """The messages of a file (`.json`: one FHIR Bundle or resource; otherwise HL7 v2, one or many
    messages) or of every `.json` and `.hl7` file under a folder, in name order, read with `profile`."""
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in FOLDER_SUFFIXES)
    else:
        files = [path]
    for file in files:
        text = file.read_text(encoding="utf-8", errors="replace")
        if file.suffix.lower() == ".json":
            yield Incoming("fhir", text, profile)
        else:
            yield from (Incoming("hl7v2", message, profile) for message in split_messages(text))


@dataclass
class Parsed:
    """A message's visit parts, or where and why it cannot be used."""

    parts: list[VisitPart] = field(default_factory=list)
    error: tuple[str, str] | None = None


def parse_all(messages: list[tuple[str, ...]], hl7_reader: str = "plain") -> list[Parsed]:
    """Parse each (format, text) or (format, text, profile name): CPU work, run in the pool. HL7 v2
    through `hl7_reader` (hl7v2.parse_hl7); each message through its vendor profile (generic if none)."""
    parsed = []
    for format_, body, *named in messages:
        try:
            if len(body) > MAX_MESSAGE_CHARS:
                raise MessageRejected("message", f"longer than {MAX_MESSAGE_CHARS:,} characters")
            profile = load(named[0] if named else GENERIC)
            if format_ == "fhir":
                parts = parse_fhir(body, profile)
            else:
                parts = [parse_hl7(body, reader=hl7_reader, profile=profile)]
            if not parts:
                raise MessageRejected("message", "carries no visit (no Encounter, PV1 or resource that points at one)")
            parsed.append(Parsed(parts))
        except MessageRejected as error:
            parsed.append(Parsed(error=(error.where, error.why)))
        except ProfileError as error:  # a profile removed since the message was stored
            parsed.append(Parsed(error=("profile", str(error))))
    return parsed


@dataclass
class Outcome:
    """What one message did: its status, error, visits, and the Encounters (with their digests) it changed."""

    status: str
    visit_keys: list[str]
    error: tuple[str, str] | None = None
    encounters: dict[str, tuple[Encounter, str]] = field(default_factory=dict)


def assemble(
    visits: dict[str, dict[str, Any]], parsed: list[Parsed], payers: PayerMap
) -> tuple[list[Outcome], dict[str, dict[str, Any]]]:
    """Merge each message's parts over its visits in order and build their Encounters: CPU work, run
    in the pool. `visits` maps a visit key to {"merged", "digest"}; the visits as they end up come back.
    A rejected message changes no visit."""
    visits = {key: dict(value) for key, value in visits.items()}
    outcomes = []
    for message in parsed:
        if message.error is not None:
            outcomes.append(Outcome("quarantined", [], message.error))
            continue
        changed: dict[str, dict[str, Any]] = {}
        outcome = Outcome("waiting", [part.visit_key for part in message.parts])
        try:
            for part in message.parts:
                before = changed.get(part.visit_key) or visits.get(part.visit_key) or {}
                merged = merge(before.get("merged"), part)
                digest = before.get("digest")
                if part.complete and not ready(merged):
                    raise MessageRejected("Bundle", "the visit has no Procedure (no services)")
                if ready(merged):
                    encounter = build_encounter(part.visit_key, merged, payers)
                    as_json = encounter.model_dump(mode="json", exclude_none=True)
                    digest = hashlib.sha256(json.dumps(as_json, sort_keys=True).encode()).hexdigest()
                    outcome.status = "imported"
                    if digest != before.get("digest"):
                        outcome.encounters[part.visit_key] = (encounter, digest)
                changed[part.visit_key] = {"merged": merged, "digest": digest}
        except MessageRejected as error:
            outcomes.append(Outcome("quarantined", outcome.visit_keys, (error.where, error.why)))
            continue
        visits.update(changed)
        outcomes.append(outcome)
    return outcomes, visits


@dataclass
class Tally:
    """What an import did, message by message."""

    read: int = 0
    already: int = 0
    imported: int = 0
    waiting: int = 0
    quarantined: int = 0
    versions: int = 0

    queued: list[OutboxMessage] = field(default_factory=list, repr=False)  # the codings to relay after commit

    def add(self, other: Tally) -> None:
        for name in ("read", "already", "imported", "waiting", "quarantined", "versions"):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def to_dict(self) -> dict[str, int]:
        return {name: value for name, value in self.__dict__.items() if name != "queued"}


async def payer_map(session: AsyncSession) -> PayerMap:
    rows = (await session.execute(select(Payer).where(Payer.ehr_payer_id.is_not(None)))).scalars().all()
    return {row.ehr_payer_id: (row.code, row.plan_type) for row in rows if row.ehr_payer_id}


async def import_messages(
    turns: SessionTurns, cpu: Cpu, tenant_id: uuid.UUID, channel: str, messages: list[Incoming]
) -> tuple[Tally, list[EhrMessage]]:
    """Import the messages in the operation's transaction; each new one gets a row (imported, waiting
    for the rest of its visit, or quarantined). Messages already seen are skipped. The session is
    taken in turns, never while the pool parses."""
    tally = Tally(read=len(messages))
    unique = list({message.digest: message for message in messages}.items())
    async with turns.turn() as session:
        digests = [digest for digest, _ in unique]
        seen = set((await session.execute(select(EhrMessage.digest).where(EhrMessage.digest.in_(digests)))).scalars())
    fresh = [(digest, message) for digest, message in unique if digest not in seen]
    tally.already = len(messages) - len(fresh)
    rows = [
        EhrMessage(
            id=uuid.uuid4(),
            tenant_id=tenant_id,
            digest=digest,
            format=message.format,
            channel=channel,
            profile=message.profile,
            body=message.body,
            attempts=1,
            created_at=utcnow(),
        )
        for digest, message in fresh
    ]
    await _run(turns, cpu, tenant_id, rows, tally)
    async with turns.turn() as session:
        session.add_all(rows)
    return tally, rows


async def retry_message(
    turns: SessionTurns, cpu: Cpu, tenant_id: uuid.UUID, message_id: uuid.UUID | None
) -> tuple[EhrMessage, Tally]:
    """Run a quarantined message again (after the clinic mapped its payer, say); an imported one is left as it is."""
    async with turns.turn() as session:
        row = await get_by_id(session, EhrMessage, message_id, NO_SUCH_MESSAGE, for_update=True)
    tally = Tally(read=1)
    if row.status == "quarantined":
        row.attempts += 1
        await _run(turns, cpu, tenant_id, [row], tally)
    return row, tally


async def _run(turns: SessionTurns, cpu: Cpu, tenant_id: uuid.UUID, rows: list[EhrMessage], tally: Tally) -> None:
    # a live message (MLLP) takes hl7apy's thorough reading; a bulk import the plain reader (hl7v2.parse_hl7)
    reader = "hl7apy" if rows and all(row.channel == "mllp" for row in rows) else "plain"
    parsed = await cpu.run(parse_all, [(row.format, row.body, row.profile) for row in rows], reader)
    keys = {part.visit_key for message in parsed for part in message.parts}
    async with turns.turn() as session:
        found = await session.execute(select(EhrVisit).where(EhrVisit.visit_key.in_(keys)))
        stored = {visit.visit_key: visit for visit in found.scalars()}
        payers = await payer_map(session)
    before = {key: {"merged": visit.merged, "digest": visit.encounter_digest} for key, visit in stored.items()}
    outcomes, after = await cpu.run(assemble, before, parsed, payers)
    async with turns.turn() as session:
        await _store(session, tenant_id, rows, outcomes, stored, before, after, tally)


async def _store(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    rows: list[EhrMessage],
    outcomes: list[Outcome],
    stored: dict[str, EhrVisit],
    before: dict[str, dict[str, Any]],
    after: dict[str, dict[str, Any]],
    tally: Tally,
) -> None:
    """Write what `assemble` decided: message statuses, encounter versions queued for coding, visits."""
    now = utcnow()
    for row, outcome in zip(rows, outcomes, strict=True):
        row.status, row.visit_keys, row.updated_at = outcome.status, outcome.visit_keys, now
        row.error_where, row.error_why = outcome.error if outcome.error else (None, None)
        setattr(tally, outcome.status, getattr(tally, outcome.status) + 1)
    made = [(key, encounter, digest) for outcome in outcomes for key, (encounter, digest) in outcome.encounters.items()]
    records = await store_versions(session, tenant_id, [encounter for _, encounter, _ in made])
    for (key, _, digest), record in zip(made, records, strict=True):
        tally.queued.append(await enqueue_coding(session, record))
        tally.versions += 1
        visit = _visit_row(session, tenant_id, stored, key)
        visit.encounter_id, visit.encounter_digest = record.id, digest
    for key, state in after.items():
        if state.get("merged") is None or before.get(key) == state:
            continue
        visit = _visit_row(session, tenant_id, stored, key)
        visit.merged, visit.encounter_digest, visit.updated_at = state["merged"], state["digest"], now


def _visit_row(session: AsyncSession, tenant_id: uuid.UUID, stored: dict[str, EhrVisit], key: str) -> EhrVisit:
    """The visit's stored row, or a new one added to the session (and remembered in `stored`)."""
    if key not in stored:
        stored[key] = EhrVisit(tenant_id=tenant_id, visit_key=key, merged={})
        session.add(stored[key])
    return stored[key]


async def import_stream(
    factory: async_sessionmaker[AsyncSession],
    cpu: Cpu,
    tenant_id: uuid.UUID,
    channel: str,
    messages: Iterable[Incoming],
    progress: Callable[[Tally], Awaitable[None] | None] | None = None,
    queue: JobQueue | None = None,
) -> Tally:
    """Import in chunks of `CHUNK` messages, one transaction each, reporting after each chunk; with a
    `queue`, each chunk's codings are relayed once it commits (without one, the workers' sweeper sends them)."""
    total = Tally()
    chunk: list[Incoming] = []

    async def flush() -> None:
        async with tenant_session(factory, tenant_id) as session:
            done, _ = await import_messages(SessionAlone(session), cpu, tenant_id, channel, chunk)
        if queue is not None:
            await relay(factory, queue, [OutboxRef(message.id, tenant_id) for message in done.queued])
        total.add(done)
        chunk.clear()
        if progress is not None:
            shown = progress(done)
            if shown is not None:
                await shown

    for message in messages:
        chunk.append(message)
        if len(chunk) >= CHUNK:
            await flush()
    if chunk:
        await flush()
    return total


async def import_body(
    turns: SessionTurns, cpu: Cpu, tenant_id: uuid.UUID, format_: str, body: str
) -> tuple[Tally, list[EhrMessage]]:
    """A pushed body: one FHIR Bundle or resource, or HL7 v2 messages (split in the pool)."""
    if format_ == "fhir":
        return await import_messages(turns, cpu, tenant_id, "push", [Incoming("fhir", body)])
    texts = await cpu.run(split_messages, body)
    return await import_messages(turns, cpu, tenant_id, "push", [Incoming("hl7v2", text) for text in texts])


async def get_message(session: AsyncSession, message_id: uuid.UUID | None) -> EhrMessage:
    return await get_by_id(session, EhrMessage, message_id, NO_SUCH_MESSAGE)


async def list_messages(
    session: AsyncSession, status: str | None, first: int | None, after: str | None
) -> tuple[list[EhrMessage], int]:
    """A page of the clinic's EHR messages, newest first (one more row than the page), and the page size."""
    statement = select(EhrMessage)
    if status is not None:
        statement = statement.where(EhrMessage.status == status)
    statement, limit = paged(statement, first, after, EhrMessage.updated_at, EhrMessage.id)
    return list((await session.execute(statement)).scalars().all()), limit
