"""Production roles: migrations run by a plain owner (no superuser, no BYPASSRLS), the app as `cutis_app`.

The roles are created exactly as README.md ("Database roles") tells a DBA to: `cutis_app` first,
then an owner without CREATEROLE that owns the database. Roles are cluster-wide, so the owner's
name is unique to this test and dropped afterwards; `cutis_app` is shared by every test database
and is created only when missing, never dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlparse

import pytest

from tests.conftest import POSTGRES_ADMIN_URL, need_service
from tests.factories import Clinic, make_clinic

pytestmark = pytest.mark.postgres

CREATE_APP_ROLE = """
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'cutis_app') THEN
    CREATE ROLE cutis_app LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
  END IF;
END $$
"""


@dataclass(frozen=True)
class PlainOwnerDatabase:
    owner: str
    owner_url: str
    app_url: str


@contextlib.contextmanager
def _plain_owner_database(revision: str = "head") -> Iterator[PlainOwnerDatabase]:
    """A database owned and migrated by a NOSUPERUSER NOBYPASSRLS NOCREATEROLE role, dropped after."""
    need_service("PostgreSQL", POSTGRES_ADMIN_URL)
    import psycopg

    from server.migrate import upgrade

    suffix = f"{os.getpid()}_{uuid.uuid4().hex[:6]}"
    owner, name = f"cutis_owner_{suffix}", f"cutis_plain_owner_{suffix}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        with contextlib.suppress(psycopg.errors.UniqueViolation):  # another session created it just now
            admin.execute(CREATE_APP_ROLE)
        admin.execute(f"CREATE ROLE {owner} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE")
        admin.execute(f'CREATE DATABASE "{name}" OWNER {owner}')
    parsed = urlparse(POSTGRES_ADMIN_URL)
    server = f"{parsed.hostname}:{parsed.port or 5432}"
    database = PlainOwnerDatabase(
        owner=owner,
        owner_url=f"postgresql://{owner}@{server}/{name}",
        app_url=f"postgresql://cutis_app@{server}/{name}",
    )
    try:
        upgrade(database.owner_url, revision)
        yield database
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.execute(f"DROP ROLE IF EXISTS {owner}")


@pytest.fixture(scope="module")
def plain_owner_database() -> Iterator[PlainOwnerDatabase]:
    with _plain_owner_database() as database:
        yield database


async def _make_clinic_as_app(app_url: str) -> Clinic:
    from server.db import create_engine, create_session_factory
    from server.settings import Settings

    engine = create_engine(Settings(database_url=app_url, secret_key="test-secret"))
    try:
        return await make_clinic(create_session_factory(engine), "plain-owner", roles=("biller",))
    finally:
        await engine.dispose()


@pytest.fixture(scope="module")
def seeded(plain_owner_database: PlainOwnerDatabase) -> tuple[Clinic, uuid.UUID, uuid.UUID]:
    """One clinic (API key, a person) and one pending outbox row, written by the app role."""
    import psycopg

    clinic = asyncio.run(_make_clinic_as_app(plain_owner_database.app_url))
    outbox_id = uuid.uuid4()
    with psycopg.connect(plain_owner_database.app_url) as connection, connection.transaction():
        connection.execute("SELECT set_config('app.tenant_id', %s, true)", (str(clinic.tenant_id),))
        connection.execute(
            "INSERT INTO outbox (id, tenant_id, job, subject_id, status, attempts, created_at) "
            "VALUES (%s, %s, 'code_encounter', %s, 'pending', 0, now() - interval '1 hour')",
            (outbox_id, clinic.tenant_id, uuid.uuid4()),
        )
        user_id = connection.execute("SELECT user_id FROM memberships").fetchone()[0]  # type: ignore[index]
    return clinic, user_id, outbox_id


def test_the_owner_is_plain_and_the_app_is_not_the_owner(plain_owner_database: PlainOwnerDatabase) -> None:
    import psycopg

    with psycopg.connect(plain_owner_database.app_url) as connection:
        roles = {
            name: flags
            for name, *flags in connection.execute(
                "SELECT rolname, rolsuper, rolbypassrls, rolcreaterole FROM pg_roles WHERE rolname = ANY(%s)",
                ([plain_owner_database.owner, "cutis_app"],),
            )
        }
        assert roles[plain_owner_database.owner] == [False, False, False]
        assert roles["cutis_app"][:2] == [False, False]
        owners = {row[0] for row in connection.execute("SELECT tableowner FROM pg_tables WHERE schemaname = 'public'")}
        assert owners == {plain_owner_database.owner}
        # a policy TO the owner must not reach the app through role membership
        (member,) = connection.execute("SELECT pg_has_role('cutis_app', %s, 'USAGE')", (plain_owner_database.owner,))
        assert member == (False,)


async def test_lookups_before_a_tenant_is_known_find_their_rows(plain_owner_database, seeded) -> None:  # type: ignore[no-untyped-def]
    from server.db import create_engine, create_session_factory
    from server.jobs import stale_outbox
    from server.settings import Settings
    from tenants.lookups import api_key_by_prefix, memberships_of

    clinic, user_id, outbox_id = seeded
    engine = create_engine(Settings(database_url=plain_owner_database.app_url, secret_key="test-secret"))
    factory = create_session_factory(engine)
    try:
        async with factory() as session, session.begin():
            key = await api_key_by_prefix(session, clinic.key.split("_")[1])
            memberships = await memberships_of(session, user_id)
        stale = await stale_outbox(factory, dt.datetime.now(dt.UTC))
    finally:
        await engine.dispose()
    assert key is not None and key.tenant_id == clinic.tenant_id
    assert [(g.tenant_id, g.role, g.accepted) for g in memberships] == [(clinic.tenant_id, "biller", True)]
    assert [(ref.outbox_id, ref.tenant_id) for ref in stale] == [(outbox_id, clinic.tenant_id)]


def test_the_app_role_still_sees_nothing_without_a_tenant(plain_owner_database, seeded) -> None:  # type: ignore[no-untyped-def]
    import psycopg

    with psycopg.connect(plain_owner_database.app_url) as connection:
        for table in ("api_keys", "memberships", "outbox"):
            assert connection.execute(f"SELECT count(*) FROM {table}").fetchone() == (0,), table


async def test_an_api_key_authenticates_over_http(plain_owner_database, seeded, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import httpx

    from server.app import create_app
    from server.settings import Settings

    clinic, _, _ = seeded
    settings = Settings(
        database_url=plain_owner_database.app_url,
        data_dir=tmp_path,
        secret_key="test-secret",
        web_dist=tmp_path / "no-web",
    )
    app = create_app(settings)
    services = app.state.services
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://cutis.test") as client:
            response = await client.post(
                "/graphql",
                json={"query": "query { clinic { name } }"},
                headers={"Authorization": f"Bearer {clinic.key}"},
            )
    finally:
        await services.queue.close()
        await services.session_factory.kw["bind"].dispose()
    assert response.status_code == 200
    assert response.json() == {"data": {"clinic": {"name": "plain-owner"}}}


def test_the_owner_may_only_read_what_the_lookups_read(plain_owner_database: PlainOwnerDatabase) -> None:
    """The owner's own policy is SELECT-only, on the three lookup tables and the two that only the operations
    gauges count (0012_ops: numbers, never rows); nothing else loosens."""
    import psycopg

    with psycopg.connect(plain_owner_database.owner_url) as connection:
        policies = connection.execute(
            "SELECT tablename, cmd, roles::text[] FROM pg_policies "
            "WHERE schemaname = 'public' AND policyname <> 'tenant_isolation' ORDER BY tablename"
        ).fetchall()
    owner = [plain_owner_database.owner]
    assert policies == [
        ("api_keys", "SELECT", owner),
        ("codings", "SELECT", owner),
        ("memberships", "SELECT", owner),
        ("outbox", "SELECT", owner),
        ("provider_queries", "SELECT", owner),
    ]


def test_down_to_0007_and_up_again_as_the_plain_owner(plain_owner_database: PlainOwnerDatabase) -> None:
    from server.migrate import downgrade, upgrade

    downgrade(plain_owner_database.owner_url, "0007")
    upgrade(plain_owner_database.owner_url)
    upgrade(plain_owner_database.owner_url)  # already at head: nothing to do, nothing fails


def test_0007_accepts_existing_memberships_under_a_plain_owner() -> None:
    """Data steps of a migration must not be hidden by FORCE RLS from the owner that runs them."""
    import psycopg

    from server.migrate import upgrade

    with _plain_owner_database("0006") as database:
        tenant_id, user_id = uuid.uuid4(), uuid.uuid4()
        with psycopg.connect(database.app_url) as connection, connection.transaction():
            connection.execute(
                "INSERT INTO tenants (id, slug, name, settings, created_at) VALUES (%s, %s, 'c', '{}', now())",
                (tenant_id, f"c-{tenant_id.hex[:8]}"),
            )
            connection.execute(
                "INSERT INTO users (id, email, name, password_hash, failed_logins, is_vendor_staff, created_at) "
                "VALUES (%s, %s, 'p', 'x', 0, false, now())",
                (user_id, f"{user_id.hex}@c.test"),
            )
            connection.execute("SELECT set_config('app.tenant_id', %s, true)", (str(tenant_id),))
            connection.execute(
                "INSERT INTO memberships (id, tenant_id, user_id, role, created_at) "
                "VALUES (%s, %s, %s, 'biller', now())",
                (uuid.uuid4(), tenant_id, user_id),
            )
        upgrade(database.owner_url)
        with psycopg.connect(database.app_url) as connection, connection.transaction():
            connection.execute("SELECT set_config('app.tenant_id', %s, true)", (str(tenant_id),))
            accepted = connection.execute("SELECT accepted_at IS NOT NULL FROM memberships").fetchall()
        assert accepted == [(True,)]
