"""The shared tables (people, sessions, reset tokens, clinics) through narrow functions only (PostgreSQL).

As the app role, raw SQL: no statement on the tables themselves is allowed, and the functions that
are allowed answer one key at a time; people are read by id only among the members of the
transaction's clinic. The list of functions the app may call is pinned, so that a wide one added
later (a "list every user") fails here until it is reviewed.
"""

from __future__ import annotations

import psycopg
import pytest

from tests.factories import make_clinic

pytestmark = pytest.mark.postgres

SHARED_TABLES = ("users", "login_sessions", "password_reset_tokens", "tenants")
STATEMENTS = {
    "select": "SELECT * FROM {table} LIMIT 1",
    "update": "UPDATE {table} SET created_at = created_at",
    "delete": "DELETE FROM {table}",
}
ALLOWED_FUNCTIONS = {
    # 0003: before a tenant is known
    "cutis_api_key_by_prefix",
    "cutis_memberships_of",
    "cutis_stale_outbox",
    # 0009: the shared tables (tenants/accounts.py)
    "cutis_account_by_email",
    "cutis_create_account",
    "cutis_save_login_state",
    "cutis_members",
    "cutis_open_session",
    "cutis_session_by_token",
    "cutis_end_session",
    "cutis_end_sessions",
    "cutis_store_reset_token",
    "cutis_reset_password",
    "cutis_clinics",
    "cutis_clinic_by_slug",
    "cutis_create_clinic",
    # 0012: deployment-wide gauges for /metrics (server/metrics.py): numbers, never rows
    "cutis_operations_gauges",
}


@pytest.mark.parametrize("statement", sorted(STATEMENTS))
@pytest.mark.parametrize("table", SHARED_TABLES)
def test_the_app_role_cannot_touch_a_shared_table(postgres_database, table: str, statement: str) -> None:  # type: ignore[no-untyped-def]
    with psycopg.connect(postgres_database.app_url) as connection, pytest.raises(psycopg.errors.InsufficientPrivilege):
        connection.execute(STATEMENTS[statement].format(table=table))


def test_the_functions_the_app_may_call_are_exactly_the_reviewed_ones(postgres_database) -> None:  # type: ignore[no-untyped-def]
    with psycopg.connect(postgres_database.app_url) as connection:
        callable_here = {
            name
            for (name,) in connection.execute(
                """SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                   WHERE n.nspname = 'public' AND p.prosecdef
                     AND has_function_privilege(current_user, p.oid, 'EXECUTE')"""
            )
        }
    assert callable_here == ALLOWED_FUNCTIONS


async def test_people_are_read_only_among_the_clinics_members(postgres_database, settings_for) -> None:  # type: ignore[no-untyped-def]
    from server.db import create_engine, create_session_factory

    engine = create_engine(settings_for(postgres_database.app_url))
    factory = create_session_factory(engine)
    try:
        clinic_a = await make_clinic(factory, "shared-a", roles=("biller",))
        clinic_b = await make_clinic(factory, "shared-b", roles=("biller",))
    finally:
        await engine.dispose()
    with psycopg.connect(postgres_database.app_url) as connection:
        person_a = connection.execute(
            "SELECT id FROM cutis_account_by_email(%s)", (clinic_a.people["biller"][0],)
        ).fetchone()[0]
        assert connection.execute("SELECT count(*) FROM cutis_members(NULL)").fetchone() == (0,)  # no clinic set
        connection.execute("SELECT set_config('app.tenant_id', %s, false)", (str(clinic_b.tenant_id),))
        assert connection.execute("SELECT count(*) FROM cutis_members(%s)", (person_a,)).fetchone() == (0,)
        emails = [email for (email,) in connection.execute("SELECT email FROM cutis_members(NULL)")]
        assert emails == [clinic_b.people["biller"][0]]
