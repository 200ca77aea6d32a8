"""PostgreSQL row-level security, checked with raw SQL as the app role (no ORM filter to help)."""

from __future__ import annotations

import uuid

import psycopg
import pytest

from tests.factories import make_clinic

pytestmark = pytest.mark.postgres


def _tenant_tables() -> tuple[str, ...]:
    """Every table of a TenantScoped model: a new tenant table cannot slip past these tests."""
    import server.models  # noqa: F401 - registers every table
    from tenants.base import Base, TenantScoped

    return tuple(
        sorted(
            mapper.class_.__tablename__ for mapper in Base.registry.mappers if issubclass(mapper.class_, TenantScoped)
        )
    )


TENANT_TABLES = _tenant_tables()


@pytest.fixture
async def two_tenants(postgres_database, settings_for):  # type: ignore[no-untyped-def]
    from server.db import create_engine, create_session_factory

    engine = create_engine(settings_for(postgres_database.app_url))
    factory = create_session_factory(engine)
    clinic = await make_clinic(factory, "rls-a")
    a = clinic.tenant_id
    clinic = await make_clinic(factory, "rls-b")
    b = clinic.tenant_id
    await engine.dispose()
    return a, b


def test_app_role_neither_owns_nor_bypasses(postgres_database) -> None:  # type: ignore[no-untyped-def]
    with psycopg.connect(postgres_database.app_url) as connection:
        super_, bypass = connection.execute(
            "SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user"
        ).fetchone()
        assert (super_, bypass) == (False, False)
        owners = connection.execute("SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'").fetchall()
        assert ("cutis_app",) not in owners
        forced = dict(
            connection.execute(
                "SELECT relname, relforcerowsecurity AND relrowsecurity FROM pg_class WHERE relname = ANY(%s)",
                (list(TENANT_TABLES),),
            ).fetchall()
        )
        assert forced == dict.fromkeys(TENANT_TABLES, True)


def test_no_tenant_set_means_no_rows(postgres_database, two_tenants) -> None:  # type: ignore[no-untyped-def]
    attempts = 0
    with psycopg.connect(postgres_database.app_url) as connection:
        for table in TENANT_TABLES:
            count = connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # type: ignore[index]
            attempts += 1
            assert count == 0, table
    assert attempts == len(TENANT_TABLES)


def test_a_tenant_sees_only_its_rows_and_cannot_write_anothers(postgres_database, two_tenants) -> None:  # type: ignore[no-untyped-def]
    tenant_a, tenant_b = two_tenants
    with psycopg.connect(postgres_database.app_url) as connection:
        with connection.transaction():
            connection.execute("SELECT set_config('app.tenant_id', %s, true)", (str(tenant_a),))
            tenants_seen = {row[0] for row in connection.execute("SELECT DISTINCT tenant_id FROM payers")}
            assert tenants_seen == {tenant_a}
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"), connection.transaction():
            connection.execute("SELECT set_config('app.tenant_id', %s, true)", (str(tenant_a),))
            connection.execute(
                "INSERT INTO payers (id, tenant_id, code, name, plan_type) VALUES (%s, %s, 'X', 'x', 'commercial')",
                (uuid.uuid4(), tenant_b),
            )
        with connection.transaction():
            connection.execute("SELECT set_config('app.tenant_id', %s, true)", (str(tenant_a),))
            updated = connection.execute("UPDATE payers SET name = 'taken' WHERE tenant_id = %s", (tenant_b,))
            assert updated.rowcount == 0
        # a session-level setting would leak across pooled connections; after commit it is gone
        with connection.transaction():
            assert connection.execute("SELECT count(*) FROM payers").fetchone()[0] == 0  # type: ignore[index]


def test_audit_log_is_append_only(postgres_database, two_tenants) -> None:  # type: ignore[no-untyped-def]
    tenant_a, _ = two_tenants
    with psycopg.connect(postgres_database.owner_url) as connection:
        connection.execute(
            "INSERT INTO audit_events (id, tenant_id, occurred_at, action, category, object_ids, outcome) "
            "VALUES (%s, %s, now(), 'test', 'auth', '[]', 'ok')",
            (uuid.uuid4(), tenant_a),
        )
        connection.commit()
        with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
            connection.execute("UPDATE audit_events SET action = 'changed'")
        connection.rollback()
        with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
            connection.execute("DELETE FROM audit_events")
        connection.rollback()
