"""The cross-tenant lookups work when the tables' owner is a plain role (no superuser, no BYPASSRLS).

The SECURITY DEFINER lookups of 0003 (an API key by its prefix, a person's memberships at
login, stale outbox rows for the sweeper) run as the role that owns them. FORCE ROW LEVEL
SECURITY subjects that owner to `tenant_isolation` too, and before a tenant is known that
policy shows no rows: with a plain owner every API key was unknown and nobody could log in.
Only a superuser or BYPASSRLS owner (as in CI) hid the fault.

Each table a lookup reads gets one more policy, `lookup_owner_reads`: SELECT only, TO the
role the lookup runs as. That role owns the table and could turn RLS off anyway, so it gains
nothing; `cutis_app` and every other role still see only their tenant, and every other table
(and every write) stays under FORCE for the owner too.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

POLICY = "lookup_owner_reads"
# table -> the SECURITY DEFINER function (0003) that reads it
LOOKUP_READS = {
    "api_keys": "cutis_api_key_by_prefix(text)",
    "memberships": "cutis_memberships_of(uuid)",
    "outbox": "cutis_stale_outbox(timestamptz)",
}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, function in LOOKUP_READS.items():
        op.execute(f"DROP POLICY IF EXISTS {POLICY} ON {table}")
        op.execute(
            f"""
            DO $$ BEGIN
              EXECUTE format('CREATE POLICY {POLICY} ON {table} FOR SELECT TO %I USING (true)',
                             (SELECT rolname FROM pg_roles JOIN pg_proc ON proowner = pg_roles.oid
                              WHERE pg_proc.oid = '{function}'::regprocedure));
            END $$
            """
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in LOOKUP_READS:
        op.execute(f"DROP POLICY IF EXISTS {POLICY} ON {table}")
