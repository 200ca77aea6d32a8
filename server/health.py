"""Liveness, readiness and health: what a load balancer and an orchestrator ask a server process.

- `/livez`: the process answers (an orchestrator restarts it when it does not); touches nothing.
- `/healthz`: the database and Redis answer.
- `/readyz`: those, and the database's schema is at this code's migration head (a replica started
  before `cutis db upgrade` ran is kept out of the balancer). Code sets for today are reported as a
  warning only: a release may be legitimately pending, and coding goes on with the newest one held.

Each failure is reported by the exception's type, never the connection string or its message.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.db import global_session

OK = "ok"
NOT_CONFIGURED = "not configured (jobs run in-process)"


def migration_head() -> str:
    """The newest revision of this code's migrations (read from the migration files once per process)."""
    from alembic.script import ScriptDirectory

    from server.migrate import alembic_config

    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert head is not None, "the migrations folder has no head"
    return head


@dataclass
class Report:
    """Named checks, each `ok` or a short reason; warnings do not make the report fail."""

    checks: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return all(value in (OK, NOT_CONFIGURED) for value in self.checks.values())

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"status": "ok" if self.healthy else "degraded", **self.checks}
        if self.warnings:
            body["warnings"] = self.warnings
        return body


async def database_check(factory: async_sessionmaker[AsyncSession]) -> str:
    try:
        async with global_session(factory) as session:
            await session.execute(text("SELECT 1"))
        return OK
    except Exception as error:  # report reachability, never the connection string
        return f"unreachable ({type(error).__name__})"


async def redis_check(redis_url: str | None) -> str:
    if not redis_url:
        return NOT_CONFIGURED
    from redis.asyncio import Redis

    client = Redis.from_url(redis_url, socket_connect_timeout=2)
    try:
        await client.ping()
        return OK
    except Exception as error:
        return f"unreachable ({type(error).__name__})"
    finally:
        await client.aclose()


async def migrations_check(factory: async_sessionmaker[AsyncSession], head: str) -> str:
    try:
        async with global_session(factory) as session:
            current = (await session.execute(text("SELECT version_num FROM alembic_version"))).scalars().all()
    except Exception as error:
        return f"unknown ({type(error).__name__})"
    if list(current) == [head]:
        return OK
    return f"behind: the database is at {', '.join(current) or 'no revision'}, this code needs {head}"


def codeset_warnings(today: dt.date) -> list[str]:
    """Today's ICD-10-CM fiscal year not installed: coding uses an older year until the release is loaded."""
    from rulebooks.dated_codesets import default_codesets, fiscal_year

    release, exact = default_codesets().icd10cm_for(today)
    if exact:
        return []
    return [
        f"ICD-10-CM FY{fiscal_year(today)} is not installed; coding uses FY{release.fiscal_year} "
        "(cutis codesets load icd10cm FILE --effective DATE)"
    ]


async def health(factory: async_sessionmaker[AsyncSession], redis_url: str | None) -> Report:
    return Report({"database": await database_check(factory), "redis": await redis_check(redis_url)})


async def readiness(
    factory: async_sessionmaker[AsyncSession], redis_url: str | None, head: str, today: dt.date
) -> Report:
    report = await health(factory, redis_url)
    report.checks["migrations"] = await migrations_check(factory, head)
    report.warnings = await asyncio.to_thread(codeset_warnings, today)  # the first call reads the built-in sets
    return report
