"""PostgreSQL row-level security, checked with raw SQL as the app role (no ORM filter to help).

The tables come from the models (every `TenantScoped` class), and so do the rows: a new tenant
table is tested the day it is mapped, with no test to write.
"""

from __future__ import annotations

import datetime as dt
import itertools
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

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


# --- Every tenant table, generated from the models --------------------------------------------
#
# One row of clinic A per tenant table, written as the superuser with minimal valid values
# generated from the table's columns. Then, as the app role in raw SQL (no ORM filter to mask the
# database), clinic B and "no clinic" try to read, steal, delete and forge it.


_NUMBERS = itertools.count(1)


def _sample_value(column: Any) -> Any:
    """A minimal valid value for a NOT NULL column, by its SQL type; unique by construction."""
    from psycopg.types.json import Jsonb
    from sqlalchemy import JSON, Boolean, Date, DateTime, Enum, Integer, LargeBinary, Numeric, String, Uuid

    kind = column.type
    if isinstance(kind, Boolean):
        return False
    if isinstance(kind, Integer):
        return next(_NUMBERS)  # unique too: a version number is unique per rulebook
    if isinstance(kind, Numeric):
        return Decimal("1.00")
    if isinstance(kind, DateTime):
        return dt.datetime.now(dt.UTC)
    if isinstance(kind, Date):
        return dt.date.today()
    if isinstance(kind, Uuid):
        return uuid.uuid4()
    if isinstance(kind, JSON):
        return Jsonb({})
    if isinstance(kind, Enum):
        return kind.enums[0]
    if isinstance(kind, String):
        return uuid.uuid4().hex[: kind.length or 32]
    if isinstance(kind, LargeBinary):
        return b"x"
    raise AssertionError(f"no sample value for {column.table.name}.{column.name} of type {kind!r}")


def _insert_sample(
    connection: psycopg.Connection, table: Any, tenant_id: uuid.UUID, parents: dict[str, Any], **given: Any
) -> dict[str, Any]:
    """Insert one row of `table` for `tenant_id`; foreign keys point at `parents` (table -> row)."""
    values: dict[str, Any] = {}
    for column in table.columns:
        if column.name == "tenant_id":
            values[column.name] = tenant_id
        elif column.foreign_keys:
            (foreign_key,) = column.foreign_keys
            parent = parents.get(foreign_key.column.table.name)
            if parent is not None:
                values[column.name] = parent[foreign_key.column.name]
            elif not column.nullable:
                raise AssertionError(f"{table.name}.{column.name}: no parent row in {foreign_key.column.table.name}")
        elif column.primary_key or not column.nullable:
            values[column.name] = _sample_value(column)
    values.update(given)
    names = ", ".join(values)
    placeholders = ", ".join(["%s"] * len(values))
    connection.execute(f"INSERT INTO {table.name} ({names}) VALUES ({placeholders})", tuple(values.values()))
    return values


@dataclass(frozen=True)
class TenantRows:
    tenant_a: uuid.UUID
    tenant_b: uuid.UUID
    rows_of_a: dict[str, dict[str, Any]]  # table -> the values of A's row
    parents_of_a: dict[str, dict[str, Any]]  # rows a new row of A can refer to


@pytest.fixture(scope="module")
def rows_of_clinic_a(postgres_database) -> TenantRows:  # type: ignore[no-untyped-def]
    """A row of clinic A in every table (parents first: `sorted_tables`), as the superuser."""
    from tenants.base import Base

    tenant_a, tenant_b = uuid.uuid4(), uuid.uuid4()
    rows: dict[str, dict[str, Any]] = {}
    with psycopg.connect(postgres_database.owner_url) as connection, connection.transaction():
        tenants = Base.metadata.tables["tenants"]
        _insert_sample(connection, tenants, tenant_b, {}, id=tenant_b)
        rows["tenants"] = _insert_sample(connection, tenants, tenant_a, {}, id=tenant_a)
        for table in Base.metadata.sorted_tables:
            if table.name not in rows:
                rows[table.name] = _insert_sample(connection, table, tenant_a, rows)
    return TenantRows(tenant_a, tenant_b, {t: r for t, r in rows.items() if t in TENANT_TABLES}, rows)


CONTEXTS = {
    "clinic B": lambda rows: str(rows.tenant_b),
    "an empty tenant setting": lambda rows: "",
    "no tenant setting at all": lambda rows: None,
}
REFUSED = (psycopg.errors.InsufficientPrivilege, psycopg.errors.RaiseException)  # RLS, GRANT, or audit trigger


def _attempt(app_url: str, tenant: str | None, act: Any, keep: bool = True) -> int | None:
    """`act(connection)` in one transaction of a fresh app-role connection with `tenant` set.

    Returns its row count, or None when the database refused it. A fresh connection per attempt:
    once set in a session, even a transaction-local setting reads '' afterwards, never unset.
    """
    with psycopg.connect(app_url) as connection:
        try:
            with connection.transaction(force_rollback=not keep):
                if tenant is not None:
                    connection.execute("SELECT set_config('app.tenant_id', %s, true)", (tenant,))
                return int(act(connection))
        except REFUSED:
            return None


def _assert_row_of_a_intact(owner_url: str, rows: TenantRows, table: str) -> None:
    from tenants.base import Base

    key = [column.name for column in Base.metadata.tables[table].primary_key.columns]
    where = " AND ".join(f"{name} = %s" for name in key)
    with psycopg.connect(owner_url) as connection:
        found = connection.execute(
            f"SELECT tenant_id FROM {table} WHERE {where}", tuple(rows.rows_of_a[table][name] for name in key)
        ).fetchall()
    assert found == [(rows.tenant_a,)], f"{table}: clinic A's row was changed or removed"


def _parents_for_a_new_row(owner_url: str, rows: TenantRows, table: str) -> dict[str, Any]:
    """Clinic A's rows to refer to, with fresh global parents (a new person for a new membership)."""
    from tenants.base import Base

    parents = dict(rows.parents_of_a)
    with psycopg.connect(owner_url) as connection, connection.transaction():
        for foreign_key in Base.metadata.tables[table].foreign_keys:
            parent = foreign_key.column.table
            if parent.name not in TENANT_TABLES and parent.name != "tenants":
                parents[parent.name] = _insert_sample(connection, parent, rows.tenant_a, rows.parents_of_a)
    return parents


ATTEMPTS = [
    pytest.param(table, context, id=f"{table} under {context}") for table in TENANT_TABLES for context in CONTEXTS
]


def test_tenant_tables_are_exactly_the_tables_with_a_tenant_id() -> None:
    """A table with a tenant_id that forgot the mixin would escape these tests (and the ORM filter)."""
    from tenants.base import Base

    assert {table.name for table in Base.metadata.sorted_tables if "tenant_id" in table.c} == set(TENANT_TABLES)


@pytest.mark.parametrize("table", TENANT_TABLES)
def test_clinic_a_sees_its_own_row(postgres_database, rows_of_clinic_a, table: str) -> None:  # type: ignore[no-untyped-def]
    """The control: the row is there and readable, so the refusals below are not vacuous."""
    seen = _attempt(
        postgres_database.app_url,
        str(rows_of_clinic_a.tenant_a),
        lambda c: c.execute(
            f"SELECT count(*) FROM {table} WHERE tenant_id = %s", (rows_of_clinic_a.tenant_a,)
        ).fetchone()[0],
    )
    assert seen == 1, table


@pytest.mark.parametrize("table", TENANT_TABLES)
def test_clinic_a_may_insert_its_own_row(postgres_database, rows_of_clinic_a, table: str) -> None:  # type: ignore[no-untyped-def]
    """The control for the forged inserts below: the same generated row is accepted for its own clinic."""
    from tenants.base import Base

    rows = rows_of_clinic_a
    parents = _parents_for_a_new_row(postgres_database.owner_url, rows, table)
    inserted = _attempt(
        postgres_database.app_url,
        str(rows.tenant_a),
        lambda c: bool(_insert_sample(c, Base.metadata.tables[table], rows.tenant_a, parents)),
        keep=False,
    )
    assert inserted == 1, table


@pytest.mark.parametrize(("table", "context"), ATTEMPTS)
def test_select_sees_nothing(postgres_database, rows_of_clinic_a, table: str, context: str) -> None:  # type: ignore[no-untyped-def]
    seen = _attempt(
        postgres_database.app_url,
        CONTEXTS[context](rows_of_clinic_a),
        lambda c: c.execute(f"SELECT count(*) FROM {table}").fetchone()[0],
    )
    assert seen in (0, None), f"{table}: {seen} row(s) of clinic A visible under {context}"


@pytest.mark.parametrize(("table", "context"), ATTEMPTS)
def test_update_changes_nothing(postgres_database, rows_of_clinic_a, table: str, context: str) -> None:  # type: ignore[no-untyped-def]
    rows = rows_of_clinic_a
    updated = _attempt(
        postgres_database.app_url,
        CONTEXTS[context](rows),
        lambda c: (
            c.execute(
                f"UPDATE {table} SET tenant_id = %s WHERE tenant_id = %s", (rows.tenant_b, rows.tenant_a)
            ).rowcount
        ),
    )
    assert updated in (0, None), f"{table}: {updated} row(s) of clinic A updated under {context}"
    _assert_row_of_a_intact(postgres_database.owner_url, rows, table)


@pytest.mark.parametrize(("table", "context"), ATTEMPTS)
def test_delete_removes_nothing(postgres_database, rows_of_clinic_a, table: str, context: str) -> None:  # type: ignore[no-untyped-def]
    rows = rows_of_clinic_a
    deleted = _attempt(
        postgres_database.app_url,
        CONTEXTS[context](rows),
        lambda c: c.execute(f"DELETE FROM {table} WHERE tenant_id = %s", (rows.tenant_a,)).rowcount,
    )
    assert deleted in (0, None), f"{table}: {deleted} row(s) of clinic A deleted under {context}"
    _assert_row_of_a_intact(postgres_database.owner_url, rows, table)


@pytest.mark.parametrize(("table", "context"), ATTEMPTS)
def test_insert_for_clinic_a_is_refused(postgres_database, rows_of_clinic_a, table: str, context: str) -> None:  # type: ignore[no-untyped-def]
    from tenants.base import Base

    rows = rows_of_clinic_a
    parents = _parents_for_a_new_row(postgres_database.owner_url, rows, table)
    inserted = _attempt(
        postgres_database.app_url,
        CONTEXTS[context](rows),
        lambda c: bool(_insert_sample(c, Base.metadata.tables[table], rows.tenant_a, parents)),
    )
    assert inserted is None, f"{table}: a row for clinic A was written under {context}"
