"""The arq worker (`cutis worker`): runs outbox jobs delivered through Redis, and sweeps stale rows."""

from __future__ import annotations

import uuid
from typing import Any

from arq import Retry, cron

from server.codesets import load_installed
from server.cpu import CpuPool
from server.db import create_engine, create_session_factory
from server.jobs import ArqQueue, RetryLater, redis_settings, run_outbox_job, sweep_stale
from server.logs import quiet_parameter_loggers
from server.mail import MailboxMailer
from server.people import Outgoing
from server.settings import Settings


async def code_encounter(ctx: dict[str, Any], outbox_id: str, tenant_id: str) -> str:
    """arq entry point: ids only (no PHI in job arguments)."""
    try:
        return await run_outbox_job(
            ctx["session_factory"], uuid.UUID(outbox_id), uuid.UUID(tenant_id), ctx.get("outgoing"), ctx["cpu"]
        )
    except RetryLater as retry:
        raise Retry(defer=min(2**retry.attempts, 60)) from retry


async def sweep(ctx: dict[str, Any]) -> int:
    return await sweep_stale(ctx["session_factory"], ctx["queue"])


def worker_settings(settings: Settings, *, burst: bool = False) -> dict[str, Any]:
    """Keyword arguments for `arq.Worker`, bound to these settings (no module-level config)."""
    if not settings.redis_url:
        raise SystemExit("cutis worker needs CUTIS_REDIS_URL (the embedded mode runs jobs in-process)")

    async def startup(ctx: dict[str, Any]) -> None:
        quiet_parameter_loggers()
        load_installed(settings.data_dir)
        ctx["engine"] = create_engine(settings)
        ctx["session_factory"] = create_session_factory(ctx["engine"])
        ctx["queue"] = ArqQueue(settings.redis_url or "")
        ctx["outgoing"] = Outgoing(MailboxMailer(settings.data_dir / "mailbox"), settings.public_url)
        # arq runs several jobs at once on one event loop: coding there would serialize them
        ctx["cpu"] = CpuPool(
            settings.data_dir, processes=settings.cpu_processes, budget_seconds=settings.cpu_budget_seconds
        )

    async def shutdown(ctx: dict[str, Any]) -> None:
        ctx["cpu"].shutdown()
        await ctx["queue"].close()
        await ctx["engine"].dispose()

    return {
        "functions": [code_encounter],
        "cron_jobs": [cron(sweep, second={0, 30}, run_at_startup=True)],
        "on_startup": startup,
        "on_shutdown": shutdown,
        "redis_settings": redis_settings(settings.redis_url),
        "burst": burst,
        "max_tries": 6,
        "job_timeout": 120,
        "keep_result": 3600,
    }
