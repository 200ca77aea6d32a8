"""Interchange control numbers as a per-sender sequence: the last ISA13 each clinic sent to each
clearinghouse, taken by an atomic increment (RLS on PostgreSQL).

Revision ID: 0016_interchange_counters
Revises: 0015_claim_overrides
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016_interchange_counters"
down_revision = "0015_claim_overrides"
branch_labels = None
depends_on = None

TENANT_EXPR = "NULLIF(current_setting('app.tenant_id', true), '')::uuid"


def upgrade() -> None:
    op.create_table(
        "interchange_counters",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("clearinghouse", sa.String(length=64), nullable=False),
        sa.Column("last_number", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_interchange_counters_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_interchange_counters")),
        sa.UniqueConstraint("tenant_id", "clearinghouse", name=op.f("uq_interchange_counters_tenant_id")),
    )
    with op.batch_alter_table("interchange_counters") as batch_op:
        batch_op.create_index(batch_op.f("ix_interchange_counters_tenant_id"), ["tenant_id"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("GRANT SELECT, INSERT, UPDATE ON interchange_counters TO cutis_app")
        op.execute("ALTER TABLE interchange_counters ENABLE ROW LEVEL SECURITY")
        op.execute("ALTER TABLE interchange_counters FORCE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY tenant_isolation ON interchange_counters USING (tenant_id = {TENANT_EXPR}) "
            f"WITH CHECK (tenant_id = {TENANT_EXPR})"
        )


def downgrade() -> None:
    op.drop_table("interchange_counters")
