"""A clinic's review delegation: with a single qualified approver, its owner may let onboarding
staff take the reviewer's part; each change is a row, the latest is the setting (RLS on PostgreSQL).

Revision ID: 0011_review_delegation
Revises: 0010
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_review_delegation"
down_revision = "0010"
branch_labels = None
depends_on = None

TENANT_EXPR = "NULLIF(current_setting('app.tenant_id', true), '')::uuid"


def upgrade() -> None:
    op.create_table(
        "review_delegations",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("onboarding_may_review", sa.Boolean(), nullable=False),
        sa.Column("changed_by", sa.Uuid(), nullable=True),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_review_delegations_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_delegations")),
    )
    with op.batch_alter_table("review_delegations") as batch_op:
        batch_op.create_index(batch_op.f("ix_review_delegations_tenant_id"), ["tenant_id"], unique=False)
        batch_op.create_index("ix_review_delegations_tenant_time", ["tenant_id", "changed_at"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("GRANT SELECT, INSERT, UPDATE ON review_delegations TO cutis_app")
        op.execute("ALTER TABLE review_delegations ENABLE ROW LEVEL SECURITY")
        op.execute("ALTER TABLE review_delegations FORCE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY tenant_isolation ON review_delegations USING (tenant_id = {TENANT_EXPR}) "
            f"WITH CHECK (tenant_id = {TENANT_EXPR})"
        )


def downgrade() -> None:
    op.drop_table("review_delegations")
