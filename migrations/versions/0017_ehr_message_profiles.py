"""EHR messages remember the vendor profile they are read with (server/ehr/profiles), so a retry
reads them the same way.

Revision ID: 0017_ehr_profiles
Revises: 0016_interchange_counters
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017_ehr_profiles"
down_revision = "0016_interchange_counters"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ehr_messages") as batch_op:
        batch_op.add_column(sa.Column("profile", sa.String(length=32), nullable=False, server_default="generic"))


def downgrade() -> None:
    with op.batch_alter_table("ehr_messages") as batch_op:
        batch_op.drop_column("profile")
