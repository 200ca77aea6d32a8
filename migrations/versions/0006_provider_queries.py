"""Provider documentation queries with their lifecycle (RLS on PostgreSQL).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TENANT_EXPR = "NULLIF(current_setting('app.tenant_id', true), '')::uuid"


def upgrade() -> None:
    op.create_table(
        "provider_queries",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("encounter_id", sa.Uuid(), nullable=False),
        sa.Column("external_id", sa.String(length=128), nullable=False),
        sa.Column("service_id", sa.String(length=64), nullable=False),
        sa.Column("topic", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("missing", JSON, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("addendum", sa.Text(), nullable=True),
        sa.Column("answered_encounter_id", sa.Uuid(), nullable=True),
        sa.Column("resolved_by", sa.Uuid(), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["encounter_id"], ["encounters.id"], name=op.f("fk_provider_queries_encounter_id_encounters")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_provider_queries_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_provider_queries")),
    )
    with op.batch_alter_table("provider_queries") as batch_op:
        batch_op.create_index(batch_op.f("ix_provider_queries_encounter_id"), ["encounter_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_provider_queries_tenant_id"), ["tenant_id"], unique=False)
        batch_op.create_index("ix_provider_queries_tenant_status", ["tenant_id", "status", "created_at"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("GRANT SELECT, INSERT, UPDATE ON provider_queries TO cutis_app")
        op.execute("ALTER TABLE provider_queries ENABLE ROW LEVEL SECURITY")
        op.execute("ALTER TABLE provider_queries FORCE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY tenant_isolation ON provider_queries USING (tenant_id = {TENANT_EXPR}) "
            f"WITH CHECK (tenant_id = {TENANT_EXPR})"
        )


def downgrade() -> None:
    op.drop_table("provider_queries")
