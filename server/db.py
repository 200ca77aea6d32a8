"""Engine and session factory; tenant scoping installed on every session."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from sqlalchemy import event, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import Session

from server.errors import NotFound
from server.settings import Settings
from tenants.scoping import TENANT_KEY, install_tenant_scoping

Row = TypeVar("Row")


def async_url(url: str) -> str:
    """Map a plain database URL onto the async drivers cutis uses (aiosqlite, psycopg 3)."""
    parsed = make_url(url)
    if parsed.drivername in ("sqlite", "sqlite+pysqlite"):
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    elif parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg2"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def sync_url(url: str) -> str:
    parsed = make_url(async_url(url))
    if parsed.drivername == "sqlite+aiosqlite":
        parsed = parsed.set(drivername="sqlite")
    return parsed.render_as_string(hide_password=False)


def create_engine(settings: Settings) -> AsyncEngine:
    url = async_url(settings.database_url)
    if settings.is_sqlite:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": 30})
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(engine.sync_engine, "begin", _sqlite_begin_immediate)
        return engine
    return create_async_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True)


def _sqlite_pragmas(dbapi_connection, connection_record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_begin_immediate(connection: Any) -> None:
    """The embedded mode serialises writers at BEGIN: a transaction that read and then writes
    can never find its snapshot stale (SQLite would refuse it at once, not wait)."""
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    install_tenant_scoping(Session)
    return async_sessionmaker(engine, expire_on_commit=False)


@asynccontextmanager
async def tenant_session(
    factory: async_sessionmaker[AsyncSession], tenant_id: uuid.UUID
) -> AsyncIterator[AsyncSession]:
    """A session bound to one tenant, committed on success and rolled back on error."""
    async with factory() as session:
        session.info[TENANT_KEY] = tenant_id
        async with session.begin():
            yield session


@asynccontextmanager
async def global_session(factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """A session with no tenant: global tables only (tenants, people); tenant tables show no rows."""
    async with factory() as session, session.begin():
        yield session


async def get_by_id(
    session: AsyncSession, model: type[Row], object_id: uuid.UUID | None, missing: str, *, for_update: bool = False
) -> Row:
    """The row of the session's clinic with that id, else NotFound(missing); `for_update` locks it
    until the transaction ends (a change that checks the row's state first).

    `None` stands for an id the client sent that names nothing (not one this API gave out): the same
    answer as a row of another clinic.

    A SELECT rather than `session.get`: the tenant filter (and row-level security) applies to the
    statement, so the answer never comes from an identity map that holds another clinic's row.
    """
    if object_id is None:
        raise NotFound(missing)
    statement = select(model).where(model.id == object_id)  # type: ignore[attr-defined]
    if for_update:
        statement = statement.with_for_update()
    row = (await session.execute(statement)).scalar_one_or_none()
    if row is None:
        raise NotFound(missing)
    return row


class SessionTurns(Protocol):
    """Turns at a session that others share: a service that awaits the CPU pool between its reads and
    writes takes the session only for each turn, never while it waits.

    Why: a GraphQL operation's sibling resolvers share one session (`CutisContext.turn` is its lock);
    coding an encounter takes seconds in the pool, and siblings go on meanwhile.
    """

    def turn(self) -> AbstractAsyncContextManager[AsyncSession]: ...


@dataclass(frozen=True)
class SessionAlone:
    """Turns at a session nobody else uses (a job, the command line): every turn is granted at once."""

    session: AsyncSession

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[AsyncSession]:
        yield self.session
