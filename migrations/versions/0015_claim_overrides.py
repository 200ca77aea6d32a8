"""Claims record the biller's line overrides they were built with (beside the coding they amend).

Revision ID: 0015_claim_overrides
Revises: 0014_billing_setups
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0015_claim_overrides"
down_revision = "0014_billing_setups"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("claims") as batch_op:
        batch_op.add_column(sa.Column("override_ids", JSON, nullable=False, server_default="[]"))


def downgrade() -> None:
    with op.batch_alter_table("claims") as batch_op:
        batch_op.drop_column("override_ids")
