"""Payers carry the clearinghouse's payer id beside the EHR's.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("payers") as batch_op:
        batch_op.add_column(sa.Column("clearinghouse_payer_id", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("payers") as batch_op:
        batch_op.drop_column("clearinghouse_payer_id")
