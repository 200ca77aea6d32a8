"""Rulebook versions (submitted, reviewed, published) with review comments; rulebooks remember the
template they were adopted from; impact replays in chunks; encounter versions keep what their note
analysis decided (RLS on PostgreSQL).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TENANT_EXPR = "NULLIF(current_setting('app.tenant_id', true), '')::uuid"
TABLES = (
    "rulebook_versions",
    "rulebook_comments",
    "impact_replays",
    "impact_replay_chunks",
    "draft_shadows",
    "shadow_observations",
)


def upgrade() -> None:
    with op.batch_alter_table("rulebooks") as batch_op:
        batch_op.add_column(sa.Column("template_name", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("template_version", sa.String(length=80), nullable=True))
    op.create_table(
        "rulebook_versions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("rulebook_id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("layer", sa.String(length=16), nullable=False),
        sa.Column("payer_code", sa.String(length=32), nullable=True),
        sa.Column("content_hash", sa.String(length=80), nullable=False),
        sa.Column("canonical_text", sa.Text(), nullable=False),
        sa.Column("extends", JSON, nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=True),
        sa.Column("effective_until", sa.Date(), nullable=True),
        sa.Column("draft_revision", sa.Integer(), nullable=False),
        sa.Column("rolled_back_from", sa.Uuid(), nullable=True),
        sa.Column("submitted_by", sa.Uuid(), nullable=True),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reviewed_by", sa.Uuid(), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("published_by", sa.Uuid(), nullable=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["rulebook_id"], ["rulebooks.id"], name=op.f("fk_rulebook_versions_rulebook_id_rulebooks")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_rulebook_versions_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rulebook_versions")),
        sa.UniqueConstraint("rulebook_id", "number", name=op.f("uq_rulebook_versions_rulebook_id")),
    )
    with op.batch_alter_table("rulebook_versions") as batch_op:
        batch_op.create_index(batch_op.f("ix_rulebook_versions_rulebook_id"), ["rulebook_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_rulebook_versions_tenant_id"), ["tenant_id"], unique=False)
        batch_op.create_index("ix_rulebook_versions_tenant_status", ["tenant_id", "status"], unique=False)
    op.create_table(
        "rulebook_comments",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("version_id", sa.Uuid(), nullable=False),
        sa.Column("line", sa.Integer(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("decision", sa.String(length=24), nullable=True),
        sa.Column("author_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["version_id"], ["rulebook_versions.id"], name=op.f("fk_rulebook_comments_version_id_rulebook_versions")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_rulebook_comments_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rulebook_comments")),
    )
    with op.batch_alter_table("rulebook_comments") as batch_op:
        batch_op.create_index(batch_op.f("ix_rulebook_comments_version_id"), ["version_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_rulebook_comments_tenant_id"), ["tenant_id"], unique=False)
    with op.batch_alter_table("encounters") as batch_op:
        batch_op.add_column(sa.Column("analysis", JSON, nullable=True))
    op.create_table(
        "impact_replays",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("rulebook_id", sa.Uuid(), nullable=False),
        sa.Column("draft_revision", sa.Integer(), nullable=False),
        sa.Column("draft_text", sa.Text(), nullable=False),
        sa.Column("layer", sa.String(length=16), nullable=False),
        sa.Column("payer_code", sa.String(length=32), nullable=True),
        sa.Column("requested", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("started_by", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["rulebook_id"], ["rulebooks.id"], name=op.f("fk_impact_replays_rulebook_id_rulebooks")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_impact_replays_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_impact_replays")),
    )
    with op.batch_alter_table("impact_replays") as batch_op:
        batch_op.create_index(batch_op.f("ix_impact_replays_rulebook_id"), ["rulebook_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_impact_replays_tenant_id"), ["tenant_id"], unique=False)
    op.create_table(
        "impact_replay_chunks",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("replay_id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("encounter_ids", JSON, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("summary", JSON, nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["replay_id"], ["impact_replays.id"], name=op.f("fk_impact_replay_chunks_replay_id_impact_replays")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_impact_replay_chunks_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_impact_replay_chunks")),
        sa.UniqueConstraint("replay_id", "number", name=op.f("uq_impact_replay_chunks_replay_id")),
    )
    with op.batch_alter_table("impact_replay_chunks") as batch_op:
        batch_op.create_index(batch_op.f("ix_impact_replay_chunks_replay_id"), ["replay_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_impact_replay_chunks_tenant_id"), ["tenant_id"], unique=False)
    op.create_table(
        "draft_shadows",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("rulebook_id", sa.Uuid(), nullable=False),
        sa.Column("draft_revision", sa.Integer(), nullable=False),
        sa.Column("draft_text", sa.Text(), nullable=False),
        sa.Column("layer", sa.String(length=16), nullable=False),
        sa.Column("payer_code", sa.String(length=32), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_by", sa.Uuid(), nullable=True),
        sa.Column("stopped_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(["rulebook_id"], ["rulebooks.id"], name=op.f("fk_draft_shadows_rulebook_id_rulebooks")),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_draft_shadows_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_draft_shadows")),
    )
    with op.batch_alter_table("draft_shadows") as batch_op:
        batch_op.create_index(batch_op.f("ix_draft_shadows_rulebook_id"), ["rulebook_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_draft_shadows_tenant_id"), ["tenant_id"], unique=False)
    op.create_table(
        "shadow_observations",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("shadow_id", sa.Uuid(), nullable=False),
        sa.Column("encounter_id", sa.Uuid(), nullable=False),
        sa.Column("payer_code", sa.String(length=32), nullable=False),
        sa.Column("changed", sa.Boolean(), nullable=False),
        sa.Column("diff", JSON, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["shadow_id"], ["draft_shadows.id"], name=op.f("fk_shadow_observations_shadow_id_draft_shadows")
        ),
        sa.ForeignKeyConstraint(
            ["encounter_id"], ["encounters.id"], name=op.f("fk_shadow_observations_encounter_id_encounters")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_shadow_observations_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shadow_observations")),
    )
    with op.batch_alter_table("shadow_observations") as batch_op:
        batch_op.create_index(batch_op.f("ix_shadow_observations_shadow_id"), ["shadow_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_shadow_observations_tenant_id"), ["tenant_id"], unique=False)
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
    op.drop_table("shadow_observations")
    op.drop_table("draft_shadows")
    op.drop_table("impact_replay_chunks")
    op.drop_table("impact_replays")
    with op.batch_alter_table("encounters") as batch_op:
        batch_op.drop_column("analysis")
    op.drop_table("rulebook_comments")
    op.drop_table("rulebook_versions")
    with op.batch_alter_table("rulebooks") as batch_op:
        batch_op.drop_column("template_version")
        batch_op.drop_column("template_name")
