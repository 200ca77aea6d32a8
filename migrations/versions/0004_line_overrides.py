"""Biller line overrides beside immutable codings (with row-level security on PostgreSQL).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TENANT_EXPR = "NULLIF(current_setting('app.tenant_id', true), '')::uuid"


def upgrade() -> None:
    op.create_table(
        "line_overrides",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("coding_id", sa.Uuid(), nullable=False),
        sa.Column("line_index", sa.Integer(), nullable=False),
        sa.Column("original", JSON, nullable=False),
        sa.Column("replacement", JSON, nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("actor_user_id", sa.Uuid(), nullable=True),
        sa.Column("actor_api_key_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(["coding_id"], ["codings.id"], name=op.f("fk_line_overrides_coding_id_codings")),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_line_overrides_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_line_overrides")),
    )
    with op.batch_alter_table("line_overrides") as batch_op:
        batch_op.create_index(batch_op.f("ix_line_overrides_coding_id"), ["coding_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_line_overrides_tenant_id"), ["tenant_id"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("GRANT SELECT, INSERT ON line_overrides TO cutis_app")
        op.execute("ALTER TABLE line_overrides ENABLE ROW LEVEL SECURITY")
        op.execute("ALTER TABLE line_overrides FORCE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY tenant_isolation ON line_overrides USING (tenant_id = {TENANT_EXPR}) "
            f"WITH CHECK (tenant_id = {TENANT_EXPR})"
        )


def downgrade() -> None:
    op.drop_table("line_overrides")
