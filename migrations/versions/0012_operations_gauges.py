"""Operations gauges for /metrics: counts across every clinic, through one SECURITY DEFINER function.

`/metrics` reports jobs queued and failed, the age of the oldest pending outbox row, provider queries open
and codings stored in the last minute, for the whole deployment. Row-level security shows `cutis_app` one
clinic's rows at a time, so the app reads these through `cutis_operations_gauges()`, which runs as the
tables' owner and returns five numbers, never a row. The owner reads `provider_queries` and `codings` under
FORCE through a SELECT-only policy, as 0008 gave it `outbox`.

Revision ID: 0012_ops
Revises: 0011_review_delegation
Create Date: 2026-12-08
"""

from __future__ import annotations

from alembic import op

revision = "0012_ops"
down_revision = "0011_review_delegation"
branch_labels = None
depends_on = None

APP_ROLE = "cutis_app"
FUNCTION = "cutis_operations_gauges()"
POLICY = "lookup_owner_reads"  # 0008's name for the owner's SELECT-only policy
OWNER_READS = ("provider_queries", "codings")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        f"""
        CREATE OR REPLACE FUNCTION {FUNCTION}
        RETURNS TABLE (outbox_pending bigint, outbox_failed bigint, oldest_pending_seconds double precision,
                       provider_queries_open bigint, codings_last_minute bigint)
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
          SELECT (SELECT count(*) FROM outbox WHERE status = 'pending'),
                 (SELECT count(*) FROM outbox WHERE status = 'failed'),
                 COALESCE((SELECT extract(epoch FROM now() - min(created_at)) FROM outbox WHERE status = 'pending'),
                          0)::double precision,
                 (SELECT count(*) FROM provider_queries WHERE status = 'open'),
                 (SELECT count(*) FROM codings WHERE created_at > now() - interval '60 seconds')
        $$
        """
    )
    op.execute(f"REVOKE ALL ON FUNCTION {FUNCTION} FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION {FUNCTION} TO {APP_ROLE}")
    for table in OWNER_READS:
        op.execute(f"DROP POLICY IF EXISTS {POLICY} ON {table}")
        op.execute(
            f"""
            DO $$ BEGIN
              EXECUTE format('CREATE POLICY {POLICY} ON {table} FOR SELECT TO %I USING (true)',
                             (SELECT rolname FROM pg_roles JOIN pg_proc ON proowner = pg_roles.oid
                              WHERE pg_proc.oid = '{FUNCTION}'::regprocedure));
            END $$
            """
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in OWNER_READS:
        op.execute(f"DROP POLICY IF EXISTS {POLICY} ON {table}")
    op.execute(f"DROP FUNCTION IF EXISTS {FUNCTION}")
