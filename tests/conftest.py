"""Shared fixtures: one suite, two databases (SQLite and PostgreSQL), real Redis when asked.

With CUTIS_REQUIRE_SERVICES=1 (CI), a PostgreSQL or Redis that cannot be reached FAILS the
tests that need it instead of skipping them.
"""

from __future__ import annotations

import contextlib
import os
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import pytest

from tenants.passwords import use_cheap_hashing_for_tests

use_cheap_hashing_for_tests()

POSTGRES_ADMIN_URL = os.environ.get("CUTIS_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("CUTIS_TEST_REDIS_URL", "redis://127.0.0.1:6379/9")
REQUIRE_SERVICES = os.environ.get("CUTIS_REQUIRE_SERVICES") == "1"
REPO_ROOT = Path(__file__).resolve().parent.parent


def _reachable(url: str) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 0), timeout=2):
            return True
    except OSError:
        return False


def need_service(name: str, url: str) -> None:
    if _reachable(url):
        return
    message = f"{name} is not reachable at {urlparse(url).hostname}:{urlparse(url).port}"
    if REQUIRE_SERVICES:
        pytest.fail(message + " (CUTIS_REQUIRE_SERVICES=1: this must not be skipped)")
    pytest.skip(message)


@dataclass(frozen=True)
class PostgresDatabase:
    owner_url: str  # the tables' owner: runs migrations
    app_url: str  # `cutis_app`: neither owner nor BYPASSRLS, as the app connects in production


@contextlib.contextmanager
def fresh_postgres_database() -> Iterator[PostgresDatabase]:
    """A new PostgreSQL database migrated to head, dropped afterwards."""
    need_service("PostgreSQL", POSTGRES_ADMIN_URL)
    import psycopg

    from server.migrate import upgrade

    name = f"cutis_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0]
    owner_url = f"{base}/{name}"
    try:
        upgrade(owner_url)
        parsed = urlparse(owner_url)
        app_url = f"postgresql://cutis_app@{parsed.hostname}:{parsed.port or 5432}/{name}"
        yield PostgresDatabase(owner_url=owner_url, app_url=app_url)
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[PostgresDatabase]:
    """A fresh PostgreSQL database for this test session, migrated to head."""
    with fresh_postgres_database() as database:
        yield database


@pytest.fixture
def own_postgres_database() -> Iterator[PostgresDatabase]:
    """A database of the test's own, for processes (workers) that would otherwise pick up what the
    session's other tests left queued there."""
    with fresh_postgres_database() as database:
        yield database


@pytest.fixture(scope="session")
def postgres_url(postgres_database: PostgresDatabase) -> str:
    """The URL the app uses on PostgreSQL: the RLS-bound app role."""
    return postgres_database.app_url


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    from server.migrate import upgrade

    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('db') / 'cutis.sqlite3'}"
    upgrade(url)
    return url


@pytest.fixture(
    params=[pytest.param("sqlite", id="sqlite"), pytest.param("postgres", id="postgres", marks=pytest.mark.postgres)]
)
def database_url(request: pytest.FixtureRequest) -> str:
    """Every database test runs twice: on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        return str(request.getfixturevalue("sqlite_url"))
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def redis_url() -> str:
    need_service("Redis", REDIS_URL)
    return REDIS_URL


@pytest.fixture
def settings_for(tmp_path: Path):  # type: ignore[no-untyped-def]
    from server.settings import Settings
    from tests.factories import TOTP_KEY

    def make(database_url: str, redis_url: str | None = None) -> Settings:
        return Settings(
            database_url=database_url,
            redis_url=redis_url,
            data_dir=tmp_path,
            secret_key="test-secret",
            web_dist=tmp_path / "no-web",
            totp_key=TOTP_KEY,
            cpu_processes=1,  # the CPU pool is real in tests, and small: other suites share the cores
        )

    return make


@pytest.fixture
async def session_factory(database_url: str, settings_for):  # type: ignore[no-untyped-def]
    from server.db import create_engine, create_session_factory

    engine = create_engine(settings_for(database_url))
    yield create_session_factory(engine)
    await engine.dispose()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def app_client(database_url: str, settings_for) -> AsyncIterator:  # type: ignore[no-untyped-def]
    """An HTTP client on the ASGI app, in the test's own event loop (jobs run in that loop too)."""
    import httpx

    from server.app import create_app

    app = create_app(settings_for(database_url))
    services = app.state.services
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://cutis.test") as client:
        client.app_services = services  # type: ignore[attr-defined]
        # another browser (its own cookie jar) on the same app, for tests with two people
        client.another_browser = lambda: httpx.AsyncClient(  # type: ignore[attr-defined]
            transport=transport, base_url="https://cutis.test"
        )
        yield client
    await services.queue.close()
    services.cpu.shutdown()
    await services.session_factory.kw["bind"].dispose()
