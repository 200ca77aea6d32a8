"""Jobs and their delivery: the outbox relay, the in-process queue and the arq worker.

Jobs take ids only (never PHI) and are safe to run twice: a finished outbox row is skipped.
The truth is in the database; Redis only delivers (STACK-NOTES: arq is maintenance-only).
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import or_, select, text, update
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server import impact_replay
from server.cpu import Cpu, InlineCpu
from server.db import tenant_session
from server.encounters import CODE_ENCOUNTER_JOB, code_stored_encounter
from server.errors import OperationTooCostly
from server.models import EncounterRecord, OutboxMessage
from server.people import MAIL_INVITATION_JOB, Outgoing, send_invitation
from tenants.base import utcnow
from tenants.lookups import run_as_system

log = logging.getLogger("cutis.jobs")
MAX_ATTEMPTS = 5
STALE_AFTER = dt.timedelta(minutes=5)
"""Without a way to ask the queue whether it still holds a job: re-send a pending row after this long."""
RESEND_AFTER = dt.timedelta(seconds=5)
"""With arq: a pending row sent this long ago whose job Redis no longer holds is sent again."""
JOB_OWNER_KEY_PREFIX = "cutis:job-owner:"
"""+ job id -> the token of the worker process running it (set by the job when it starts)."""
WORKER_ALIVE_KEY_PREFIX = "cutis:worker-alive:"
"""+ worker token: refreshed every second by each live worker, expires a few seconds after it dies."""
DATABASE_UNREACHABLE = (OperationalError, InterfaceError)
"""The database did not answer: the job waits and tries again, without spending one of its attempts."""


class JobQueue(Protocol):
    async def enqueue(self, ref: OutboxRef) -> None: ...

    async def close(self) -> None: ...


@dataclass(frozen=True)
class JobTools:
    """What a job may use besides its session: the mailer (invitations) and the CPU pool (coding)."""

    outgoing: Outgoing | None = None
    cpu: Cpu = field(default_factory=InlineCpu)


async def _code_encounter(session: AsyncSession, subject_id: uuid.UUID, tools: JobTools) -> None:
    record = await session.get(EncounterRecord, subject_id)
    if record is None:
        raise LookupError("encounter of the outbox row is gone")
    await code_stored_encounter(session, record, cpu=tools.cpu)


async def _send_invitation(session: AsyncSession, subject_id: uuid.UUID, tools: JobTools) -> None:
    await send_invitation(session, subject_id, tools.outgoing)


async def _replay_chunk(session: AsyncSession, subject_id: uuid.UUID, tools: JobTools) -> None:
    await impact_replay.run_chunk(session, subject_id, tools.cpu)


JobHandler = Callable[[AsyncSession, uuid.UUID, JobTools], Awaitable[None]]
JOBS: dict[str, JobHandler] = {
    CODE_ENCOUNTER_JOB: _code_encounter,
    MAIL_INVITATION_JOB: _send_invitation,
    impact_replay.IMPACT_REPLAY_CHUNK_JOB: _replay_chunk,
}


async def run_outbox_job(
    factory: async_sessionmaker[AsyncSession],
    outbox_id: uuid.UUID,
    tenant_id: uuid.UUID,
    outgoing: Outgoing | None = None,
    cpu: Cpu | None = None,
) -> str:
    """Run the job an outbox row names, inside its tenant; returns the final status. Idempotent.

    Without `cpu` the coding runs in this process (a command-line run has no event loop to keep free).
    """
    tools = JobTools(outgoing, cpu) if cpu is not None else JobTools(outgoing)
    async with tenant_session(factory, tenant_id) as session:
        message = await session.get(OutboxMessage, outbox_id)
        if message is None or message.tenant_id != tenant_id:
            return "missing"
        if message.status == "done":
            return "done"
        job, subject_id = message.job, message.subject_id
    try:
        async with tenant_session(factory, tenant_id) as session:
            handler = JOBS.get(job)
            if handler is None:
                raise ValueError(f"unknown job {job!r}")
            message = await session.get(OutboxMessage, outbox_id, with_for_update=True)
            assert message is not None
            if message.status == "done":  # a concurrent run finished first
                return "done"
            await handler(session, subject_id, tools)
            message.status = "done"
            message.attempts += 1
            message.finished_at = utcnow()
        log.info("job done", extra={"job": job, "outbox_id": str(outbox_id)})
        return "done"
    except DATABASE_UNREACHABLE:
        raise
    except Exception as error:
        # Only the error's type is kept: its message may quote PHI from the encounter.
        async with tenant_session(factory, tenant_id) as session:
            message = await session.get(OutboxMessage, outbox_id)
            assert message is not None
            message.attempts += 1
            message.error = type(error).__name__
            # an overrun is no accident of timing: the same input would overrun again
            given_up = message.attempts >= MAX_ATTEMPTS or isinstance(error, OperationTooCostly)
            message.status = "failed" if given_up else "pending"
            status = message.status
        log.warning("job failed", extra={"job": job, "outbox_id": str(outbox_id), "error": type(error).__name__})
        if status == "pending":
            raise RetryLater(message.attempts) from error
        return "failed"


class RetryLater(Exception):
    def __init__(self, attempts: int) -> None:
        super().__init__(f"retry after attempt {attempts}")
        self.attempts = attempts


@dataclass(frozen=True)
class OutboxRef:
    """What a job carries: ids only (no PHI in Redis or in job arguments)."""

    outbox_id: uuid.UUID
    tenant_id: uuid.UUID


async def relay(factory: async_sessionmaker[AsyncSession], queue: JobQueue, refs: Sequence[OutboxRef]) -> None:
    """Enqueue committed outbox rows; the outbox id is the job id, so a repeat is harmless."""
    sent: dict[uuid.UUID, list[uuid.UUID]] = {}
    try:
        for ref in refs:
            await queue.enqueue(ref)
            sent.setdefault(ref.tenant_id, []).append(ref.outbox_id)
    finally:  # what was sent is stamped, even when Redis failed part way
        for tenant_id, outbox_ids in sent.items():
            async with tenant_session(factory, tenant_id) as session:
                # the last sending: the sweeper gives a job RESEND_AFTER to show up in Redis
                await session.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.id.in_(outbox_ids), OutboxMessage.status == "pending")
                    .values(enqueued_at=utcnow())
                    .execution_options(synchronize_session=False)
                )


async def stale_outbox(factory: async_sessionmaker[AsyncSession], cutoff: dt.datetime) -> list[OutboxRef]:
    """Pending rows never enqueued or enqueued before `cutoff`, across tenants (ids only)."""
    async with factory() as session, session.begin():
        if session.get_bind().dialect.name == "postgresql":
            rows = (await session.execute(text("SELECT * FROM cutis_stale_outbox(:cutoff)"), {"cutoff": cutoff})).all()
        else:
            statement = select(OutboxMessage.id, OutboxMessage.tenant_id).where(
                OutboxMessage.status == "pending",
                or_(OutboxMessage.enqueued_at.is_(None), OutboxMessage.enqueued_at < cutoff),
            )
            rows = (await run_as_system(session, statement)).all()
    return [OutboxRef(uuid.UUID(str(outbox_id)), uuid.UUID(str(tenant_id))) for outbox_id, tenant_id in rows]


async def sweep_stale(
    factory: async_sessionmaker[AsyncSession],
    queue: JobQueue,
    stale_after: dt.timedelta = STALE_AFTER,
    resend_after: dt.timedelta = RESEND_AFTER,
) -> int:
    """Send again the pending rows whose delivery was lost; returns how many were sent.

    Lost: never enqueued (a crash or a Redis outage between commit and enqueue, arq#300's case), or
    enqueued but no longer held by Redis (Redis restarted; arq gave up on it). A queue that can tell
    (arq) is asked after `resend_after`; any other is trusted for `stale_after`. Sending twice is
    harmless: the job locks its row and skips a done one.
    """
    if isinstance(queue, ArqQueue):
        refs = await queue.undelivered(await stale_outbox(factory, utcnow() - resend_after))
    else:
        refs = await stale_outbox(factory, utcnow() - stale_after)
    await relay(factory, queue, refs)
    return len(refs)


class InProcessQueue:
    """The embedded mode's queue: the same job function, run as an asyncio task in the app."""

    def __init__(
        self, factory: async_sessionmaker[AsyncSession], outgoing: Outgoing | None = None, cpu: Cpu | None = None
    ) -> None:
        self._factory = factory
        self._outgoing = outgoing
        self._cpu = cpu  # the app's pool: the coding must not run on the app's event loop
        self._tasks: set[asyncio.Task[Any]] = set()
        self._running: set[uuid.UUID] = set()

    async def enqueue(self, ref: OutboxRef) -> None:
        if ref.outbox_id in self._running:
            return
        self._running.add(ref.outbox_id)
        task = asyncio.create_task(self._run(ref))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, ref: OutboxRef) -> None:
        try:
            for attempt in range(MAX_ATTEMPTS):
                try:
                    await run_outbox_job(self._factory, ref.outbox_id, ref.tenant_id, self._outgoing, self._cpu)
                    return
                except RetryLater:
                    await asyncio.sleep(0.05 * (attempt + 1))
        finally:
            self._running.discard(ref.outbox_id)

    async def drain(self) -> None:
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        await self.drain()


class QueueUnavailable(Exception):
    """Redis did not answer a moment ago; the outbox row stays pending and the sweeper sends it."""


class ArqQueue:
    """The production queue: arq over Redis, job id = outbox id.

    Fails fast while Redis is down (no connection retries, and no new attempt for a few seconds after a
    failure): a request that committed must not wait on the delivery mechanism.
    """

    def __init__(self, redis_url: str, *, retry_redis_after_seconds: float = 2.0) -> None:
        self._redis_url = redis_url
        self._pool: Any = None
        self._retry_redis_after_seconds = retry_redis_after_seconds
        self._down_until: float | None = None  # monotonic clock; None while Redis answers

    async def _connect(self) -> Any:
        if self._down_until is not None and time.monotonic() < self._down_until:
            raise QueueUnavailable("Redis did not answer a moment ago")
        if self._pool is None:
            from arq import create_pool

            self._pool = await create_pool(redis_settings(self._redis_url))
        return self._pool

    async def enqueue(self, ref: OutboxRef) -> None:
        try:
            pool = await self._connect()
            await pool.enqueue_job(
                CODE_ENCOUNTER_JOB, str(ref.outbox_id), str(ref.tenant_id), _job_id=str(ref.outbox_id)
            )
        except QueueUnavailable:
            raise
        except Exception:
            await self._redis_failed()
            raise
        self._down_until = None

    async def undelivered(self, refs: Sequence[OutboxRef]) -> list[OutboxRef]:
        """The rows whose job Redis no longer holds, made ready to be sent again.

        A job is held while its job key exists (queued, or waiting to retry) or while a live worker
        runs it. A worker killed mid-job leaves arq's in-progress key for job_timeout + 10 s: when
        the job's owner no longer refreshes its alive key, the in-progress key is deleted so that a
        live worker picks the queued job again. A result kept for a row still pending (arq gave up on
        it) is deleted, or arq would refuse the same job id.
        """
        if not refs:
            return []
        from arq.constants import in_progress_key_prefix, job_key_prefix, result_key_prefix, retry_key_prefix

        try:
            pool = await self._connect()
            async with pool.pipeline(transaction=False) as pipe:
                for ref in refs:
                    job_id = str(ref.outbox_id)
                    pipe.exists(job_key_prefix + job_id)
                    pipe.exists(in_progress_key_prefix + job_id)
                    pipe.exists(result_key_prefix + job_id)
                    pipe.get(JOB_OWNER_KEY_PREFIX + job_id)
                answers = await pipe.execute()
            owners = sorted({owner for owner in answers[3::4] if owner is not None})
            alive_answers = await pool.mget([WORKER_ALIVE_KEY_PREFIX + o.decode() for o in owners]) if owners else []
            alive = {owner for owner, answer in zip(owners, alive_answers, strict=True) if answer is not None}
            lost: list[OutboxRef] = []
            forget: list[str] = []
            freed = 0
            for index, ref in enumerate(refs):
                job_id = str(ref.outbox_id)
                queued, running, finished, owner = answers[4 * index : 4 * index + 4]
                if running and owner in alive:
                    continue
                if running:  # its worker died: free the job for a live worker
                    forget.append(in_progress_key_prefix + job_id)
                    freed += 1
                    if queued:
                        continue
                elif queued:
                    continue
                if finished:
                    forget += [result_key_prefix + job_id, retry_key_prefix + job_id]
                lost.append(ref)
            if forget:
                await pool.delete(*forget)
        except QueueUnavailable:
            raise
        except Exception:
            await self._redis_failed()
            raise
        if freed or lost:
            log.info("sweeper: %d jobs lost by Redis, %d freed from dead workers", len(lost), freed)
        return lost

    async def _redis_failed(self) -> None:
        self._down_until = time.monotonic() + self._retry_redis_after_seconds
        await self.close()  # its connections may be to a Redis that restarted: connect afresh next time

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            try:
                await pool.aclose()
            except Exception as error:  # closing a pool to a Redis that is gone
                log.debug("closing the Redis pool failed (%s)", type(error).__name__)


def redis_settings(redis_url: str) -> Any:
    """arq's settings for this URL, failing fast: whoever connects decides when to try again."""
    from arq.connections import RedisSettings

    return dataclasses.replace(RedisSettings.from_dsn(redis_url), conn_retries=0, conn_timeout=2)
