"""The arq worker (`cutis worker`): runs outbox jobs delivered through Redis, and sweeps the outbox.

Redis only delivers. When it goes away the worker does not exit: it waits, with backoff, and starts
arq's Worker again; the sweeper then sends again what Redis lost. When PostgreSQL goes away a job
waits and retries without spending one of its row's attempts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from arq import Retry
from arq.worker import Worker
from redis.exceptions import RedisError

from server.codesets import load_installed
from server.cpu import CpuPool
from server.db import create_engine, create_session_factory
from server.jobs import (
    DATABASE_UNREACHABLE,
    JOB_OWNER_KEY_PREFIX,
    WORKER_ALIVE_KEY_PREFIX,
    ArqQueue,
    RetryLater,
    redis_settings,
    run_outbox_job,
    sweep_stale,
)
from server.logs import logging_context, quiet_parameter_loggers
from server.mail import MailboxMailer
from server.metrics import WorkerMetrics, serve_metrics
from server.people import Outgoing
from server.settings import Settings
from server.tracing import configure_tracing, trace_engine, tracer

log = logging.getLogger("cutis.worker")
JOB_TIMEOUT_SECONDS = 120
SWEEP_EVERY_SECONDS = 3.0
HEARTBEAT_EVERY_SECONDS = 1.0
ALIVE_FOR_SECONDS = 4.0
"""A worker that has not refreshed its alive key for this long is dead: its jobs are freed."""
REDIS_UNREACHABLE = (RedisError, OSError, asyncio.TimeoutError)
DATABASE_RETRY_SECONDS = 2


async def code_encounter(ctx: dict[str, Any], outbox_id: str, tenant_id: str) -> str:
    """arq entry point: ids only (no PHI in job arguments)."""
    await ctx["redis"].psetex(
        JOB_OWNER_KEY_PREFIX + ctx["job_id"], (JOB_TIMEOUT_SECONDS + 10) * 1000, ctx["worker_token"]
    )
    started, outcome = time.perf_counter(), "error"
    with (
        logging_context(request=f"job:{ctx['job_id']}", tenant=tenant_id),
        tracer.start_as_current_span("job code_encounter", attributes={"cutis.job_id": ctx["job_id"]}),
    ):
        try:
            outcome = await run_outbox_job(
                ctx["session_factory"], uuid.UUID(outbox_id), uuid.UUID(tenant_id), ctx.get("outgoing"), ctx["cpu"]
            )
            return outcome
        except RetryLater as retry:
            outcome = "retry"
            raise Retry(defer=min(2**retry.attempts, 60)) from retry
        except DATABASE_UNREACHABLE as error:
            outcome = "retry"
            log.warning("job waits for the database (%s)", type(error).__name__)
            raise Retry(defer=DATABASE_RETRY_SECONDS) from error
        finally:
            if "metrics" in ctx:
                ctx["metrics"].observe("code_encounter", outcome, time.perf_counter() - started)


async def sweep(ctx: dict[str, Any]) -> int:
    return await sweep_stale(ctx["session_factory"], ctx["queue"])


async def _every(seconds: float, action: Callable[[], Awaitable[Any]], what: str) -> None:
    """Run `action` every `seconds` until cancelled; a failure is logged by type and the loop goes on."""
    while True:
        try:
            await action()
        except asyncio.CancelledError:
            raise
        except Exception as error:
            log.warning("%s failed (%s)", what, type(error).__name__)
        await asyncio.sleep(seconds)


def worker_settings(settings: Settings, *, burst: bool = False, metrics: WorkerMetrics | None = None) -> dict[str, Any]:
    """Keyword arguments for `arq.Worker`, bound to these settings (no module-level config); its jobs are
    counted in `metrics` when given."""
    if not settings.redis_url:
        raise SystemExit("cutis worker needs CUTIS_REDIS_URL (the embedded mode runs jobs in-process)")

    async def startup(ctx: dict[str, Any]) -> None:
        if metrics is not None:
            ctx["metrics"] = metrics
        quiet_parameter_loggers()
        load_installed(settings.data_dir)
        ctx["engine"] = create_engine(settings)
        if settings.otlp_endpoint and configure_tracing(settings.otlp_endpoint, "cutis-worker"):
            trace_engine(ctx["engine"])
        ctx["session_factory"] = create_session_factory(ctx["engine"])
        ctx["queue"] = ArqQueue(settings.redis_url or "")
        ctx["outgoing"] = Outgoing(MailboxMailer(settings.data_dir / "mailbox"), settings.public_url)
        # arq runs several jobs at once on one event loop: coding there would serialize them
        ctx["cpu"] = CpuPool(
            settings.data_dir, processes=settings.cpu_processes, budget_seconds=settings.cpu_budget_seconds
        )
        # The pool's processes build the notes pipeline and the shipped rule stacks before the first job
        # (coding runs there, not in this process), so a restarted worker is ready when it says so.
        await ctx["cpu"].start()
        ctx["worker_token"] = uuid.uuid4().hex
        redis = ctx["redis"]
        alive_key = WORKER_ALIVE_KEY_PREFIX + ctx["worker_token"]

        async def heartbeat() -> None:
            await redis.psetex(alive_key, int(ALIVE_FOR_SECONDS * 1000), b"1")

        async def sweep_once() -> None:
            # Every worker runs this loop; one sweep at a time across them is enough.
            if await redis.set("cutis:sweeping", b"1", nx=True, px=int(SWEEP_EVERY_SECONDS * 900)):
                await sweep(ctx)

        await heartbeat()
        ctx["background"] = [asyncio.create_task(_every(HEARTBEAT_EVERY_SECONDS, heartbeat, "worker heartbeat"))]
        if not burst:
            ctx["background"].append(asyncio.create_task(_every(SWEEP_EVERY_SECONDS, sweep_once, "outbox sweep")))
        log.info("worker ready")

    async def shutdown(ctx: dict[str, Any]) -> None:
        for task in ctx.pop("background", []):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if "cpu" in ctx:
            ctx.pop("cpu").shutdown()
        if "queue" in ctx:
            await ctx.pop("queue").close()
        if "engine" in ctx:
            await ctx.pop("engine").dispose()

    return {
        "functions": [code_encounter],
        "on_startup": startup,
        "on_shutdown": shutdown,
        "redis_settings": redis_settings(settings.redis_url),
        "burst": burst,
        "max_tries": 6,
        "job_timeout": JOB_TIMEOUT_SECONDS,
        "keep_result": 3600,
    }


async def run_worker(
    settings: Settings, *, burst: bool = False, first_delay_seconds: float = 0.5, max_delay_seconds: float = 2.0
) -> None:
    """`cutis worker`: arq's Worker, started again whenever Redis goes away; never exits for an outage.

    Waits between starts with exponential backoff (reset once a worker got going), logging the error's
    type only: Redis's errors name its host and port.
    """
    delay = first_delay_seconds
    metrics = WorkerMetrics()
    # one page for the process's life: it keeps its counts across arq restarts after a Redis outage
    stop_metrics = (
        serve_metrics(metrics.registry, settings, settings.worker_metrics_port)
        if settings.worker_metrics_port
        else None
    )
    try:
        while True:
            worker = Worker(**worker_settings(settings, burst=burst, metrics=metrics), handle_signals=False)
            try:
                await worker.async_run()
                return  # a burst worker found the queue empty
            except REDIS_UNREACHABLE as error:
                if "worker_token" in worker.ctx:  # it had started: this is a new outage
                    delay = first_delay_seconds
                log.warning("worker: Redis did not answer (%s); starting again in %.1f s", type(error).__name__, delay)
            finally:
                await _close(worker)
            await asyncio.sleep(delay)
            delay = min(delay * 2, max_delay_seconds)
    finally:
        if stop_metrics is not None:
            stop_metrics()


async def _close(worker: Worker) -> None:
    """arq's `close` talks to Redis, which may be gone: cancel the jobs, shut down, drop the pool."""
    tasks = list(worker.tasks.values())
    for task in tasks:
        task.cancel()  # a job cut short rolls back; its row stays pending and is sent again
    await asyncio.gather(*tasks, return_exceptions=True)
    if worker.on_shutdown is not None:
        with contextlib.suppress(Exception):
            await worker.on_shutdown(worker.ctx)
    pool = worker._pool  # arq has no public way to drop its pool without a Redis round trip
    worker._pool = None
    if pool is not None:
        with contextlib.suppress(Exception):
            await pool.close(close_connection_pool=True)
