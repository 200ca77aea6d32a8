"""EHR imports: every message once by its digest (quarantined ones with where and why), each visit
as its messages describe it, and the clinic's FHIR connections with their keys sealed (RLS on
PostgreSQL).

Revision ID: 0013_ehr
Revises: 0012_ops
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0013_ehr"
down_revision = "0012_ops"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TENANT_EXPR = "NULLIF(current_setting('app.tenant_id', true), '')::uuid"
TABLES = ("ehr_messages", "ehr_visits", "ehr_connections")


def upgrade() -> None:
    op.create_table(
        "ehr_messages",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("format", sa.String(length=8), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("error_where", sa.String(length=200), nullable=True),
        sa.Column("error_why", sa.Text(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("visit_keys", JSON, nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_ehr_messages_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ehr_messages")),
        sa.UniqueConstraint("tenant_id", "digest", name=op.f("uq_ehr_messages_tenant_id")),
    )
    with op.batch_alter_table("ehr_messages") as batch_op:
        batch_op.create_index(batch_op.f("ix_ehr_messages_tenant_id"), ["tenant_id"], unique=False)
        batch_op.create_index("ix_ehr_messages_tenant_status", ["tenant_id", "status"], unique=False)
    op.create_table(
        "ehr_visits",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("visit_key", sa.String(length=128), nullable=False),
        sa.Column("merged", JSON, nullable=False),
        sa.Column("encounter_id", sa.Uuid(), nullable=True),
        sa.Column("encounter_digest", sa.String(length=64), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["encounter_id"], ["encounters.id"], name=op.f("fk_ehr_visits_encounter_id_encounters")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_ehr_visits_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ehr_visits")),
        sa.UniqueConstraint("tenant_id", "visit_key", name=op.f("uq_ehr_visits_tenant_id")),
    )
    with op.batch_alter_table("ehr_visits") as batch_op:
        batch_op.create_index(batch_op.f("ix_ehr_visits_tenant_id"), ["tenant_id"], unique=False)
    op.create_table(
        "ehr_connections",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("base_url", sa.String(length=500), nullable=False),
        sa.Column("token_url", sa.String(length=500), nullable=False),
        sa.Column("client_id", sa.String(length=200), nullable=False),
        sa.Column("key_id", sa.String(length=100), nullable=True),
        sa.Column("scope", sa.String(length=500), nullable=False),
        sa.Column("private_key_sealed", sa.Text(), nullable=False),
        sa.Column("pulled_until", sa.Date(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_ehr_connections_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ehr_connections")),
        sa.UniqueConstraint("tenant_id", "name", name=op.f("uq_ehr_connections_tenant_id")),
    )
    with op.batch_alter_table("ehr_connections") as batch_op:
        batch_op.create_index(batch_op.f("ix_ehr_connections_tenant_id"), ["tenant_id"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            op.execute(f"GRANT SELECT, INSERT, UPDATE ON {table} TO cutis_app")
            op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
            op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
            op.execute(
                f"CREATE POLICY tenant_isolation ON {table} USING (tenant_id = {TENANT_EXPR}) "
                f"WITH CHECK (tenant_id = {TENANT_EXPR})"
            )


def downgrade() -> None:
    op.drop_table("ehr_connections")
    op.drop_table("ehr_visits")
    op.drop_table("ehr_messages")
