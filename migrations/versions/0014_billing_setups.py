"""The clinic's billing setup for claims: billing and rendering providers, clearinghouses and their
payer ids, each revision a whole validated document kept beside the earlier ones; the 837P claims
built from codings, numbered per encounter with their frequency codes (RLS on PostgreSQL).

Revision ID: 0014_billing_setups
Revises: 0013_ehr
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0014_billing_setups"
down_revision = "0013_ehr"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TENANT_EXPR = "NULLIF(current_setting('app.tenant_id', true), '')::uuid"


def upgrade() -> None:
    op.create_table(
        "billing_setups",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("document", JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_billing_setups_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_setups")),
        sa.UniqueConstraint("tenant_id", "revision", name=op.f("uq_billing_setups_tenant_id")),
    )
    with op.batch_alter_table("billing_setups") as batch_op:
        batch_op.create_index(batch_op.f("ix_billing_setups_tenant_id"), ["tenant_id"], unique=False)
    op.create_table(
        "claims",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("encounter_id", sa.Uuid(), nullable=False),
        sa.Column("coding_id", sa.Uuid(), nullable=False),
        sa.Column("external_id", sa.String(length=128), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("frequency", sa.String(length=1), nullable=False),
        sa.Column("patient_control_number", sa.String(length=20), nullable=False),
        sa.Column("payer_claim_control_number", sa.String(length=50), nullable=True),
        sa.Column("total", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("setup_revision", sa.Integer(), nullable=False),
        sa.Column("x12", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(["coding_id"], ["codings.id"], name=op.f("fk_claims_coding_id_codings")),
        sa.ForeignKeyConstraint(["encounter_id"], ["encounters.id"], name=op.f("fk_claims_encounter_id_encounters")),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_claims_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_claims")),
        sa.UniqueConstraint("tenant_id", "external_id", "version", name=op.f("uq_claims_tenant_id")),
    )
    with op.batch_alter_table("claims") as batch_op:
        batch_op.create_index(batch_op.f("ix_claims_encounter_id"), ["encounter_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_claims_tenant_id"), ["tenant_id"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        for table in ("billing_setups", "claims"):
            op.execute(f"GRANT SELECT, INSERT ON {table} TO cutis_app")
            op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
            op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
            op.execute(
                f"CREATE POLICY tenant_isolation ON {table} USING (tenant_id = {TENANT_EXPR}) "
                f"WITH CHECK (tenant_id = {TENANT_EXPR})"
            )


def downgrade() -> None:
    op.drop_table("claims")
    op.drop_table("billing_setups")
