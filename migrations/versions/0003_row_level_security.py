"""Row-level security on every tenant table (PostgreSQL), the app role, the append-only audit log.

- `cutis_app` is the role the app connects as: it neither owns the tables nor bypasses RLS.
- Every tenant table: RLS ENABLED and FORCED, one policy `tenant_isolation` comparing
  `tenant_id` with `app.tenant_id`, set per transaction with set_config(..., true).
  After a commit the setting reads '' (not NULL): NULLIF makes "no tenant" mean "no rows".
- The few reads that must cross tenants before a tenant is known (an API key by its prefix,
  a person's memberships at login, stale outbox rows for the sweeper) are SECURITY DEFINER
  functions returning only ids and digests.
- audit_events: a trigger rejects UPDATE and DELETE.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

APP_ROLE = "cutis_app"
TENANT_TABLES = (
    "api_keys",
    "payers",
    "fee_schedule_entries",
    "encounters",
    "codings",
    "outbox",
    "memberships",
    "audit_events",
    "rulebooks",
)
GLOBAL_TABLES = ("tenants", "users", "login_sessions", "password_reset_tokens")
TENANT_EXPR = "NULLIF(current_setting('app.tenant_id', true), '')::uuid"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        f"""
        DO $$ BEGIN
          IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
            CREATE ROLE {APP_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
          END IF;
        END $$;
        """
    )
    op.execute(f"GRANT USAGE ON SCHEMA public TO {APP_ROLE}")
    for table in (*TENANT_TABLES, *GLOBAL_TABLES):
        op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {APP_ROLE}")
    op.execute(f"REVOKE UPDATE, DELETE ON audit_events FROM {APP_ROLE}")
    op.execute(f"GRANT SELECT ON alembic_version TO {APP_ROLE}")
    for table in TENANT_TABLES:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY tenant_isolation ON {table} USING (tenant_id = {TENANT_EXPR}) "
            f"WITH CHECK (tenant_id = {TENANT_EXPR})"
        )
    op.execute(
        """
        CREATE FUNCTION cutis_reject_audit_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          RAISE EXCEPTION 'audit_events is append-only: % refused', TG_OP;
        END $$;
        CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
          FOR EACH ROW EXECUTE FUNCTION cutis_reject_audit_change();
        """
    )
    op.execute(
        """
        CREATE FUNCTION cutis_api_key_by_prefix(key_prefix text)
        RETURNS TABLE (id uuid, tenant_id uuid, secret_sha256 text, scopes text,
                       expires_at timestamptz, revoked_at timestamptz)
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
          SELECT id, tenant_id, secret_sha256, scopes, expires_at, revoked_at
          FROM api_keys WHERE prefix = key_prefix
        $$;
        CREATE FUNCTION cutis_memberships_of(person uuid)
        RETURNS TABLE (tenant_id uuid, role text)
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
          SELECT tenant_id, role FROM memberships WHERE user_id = person
        $$;
        CREATE FUNCTION cutis_stale_outbox(cutoff timestamptz)
        RETURNS TABLE (id uuid, tenant_id uuid)
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
          SELECT id, tenant_id FROM outbox
          WHERE status = 'pending' AND (enqueued_at IS NULL OR enqueued_at < cutoff)
          ORDER BY created_at LIMIT 1000
        $$;
        """
    )
    for function in ("cutis_api_key_by_prefix(text)", "cutis_memberships_of(uuid)", "cutis_stale_outbox(timestamptz)"):
        op.execute(f"REVOKE ALL ON FUNCTION {function} FROM PUBLIC")
        op.execute(f"GRANT EXECUTE ON FUNCTION {function} TO {APP_ROLE}")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP FUNCTION IF EXISTS cutis_stale_outbox(timestamptz)")
    op.execute("DROP FUNCTION IF EXISTS cutis_memberships_of(uuid)")
    op.execute("DROP FUNCTION IF EXISTS cutis_api_key_by_prefix(text)")
    op.execute("DROP TRIGGER IF EXISTS audit_events_append_only ON audit_events")
    op.execute("DROP FUNCTION IF EXISTS cutis_reject_audit_change()")
    for table in TENANT_TABLES:
        op.execute(f"DROP POLICY IF EXISTS tenant_isolation ON {table}")
        op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
    for table in (*TENANT_TABLES, *GLOBAL_TABLES, "alembic_version"):
        op.execute(f"REVOKE ALL ON {table} FROM {APP_ROLE}")
    op.execute(f"REVOKE USAGE ON SCHEMA public FROM {APP_ROLE}")
