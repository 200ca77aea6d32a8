"""Invitations that reveal nothing, sessions that remember their second factor, sealed TOTP secrets.

- memberships.invited_name / accepted_at: a person added to a clinic is pending until they log
  in; until then the clinic sees only the name it typed, never the account's own.
- login_sessions.second_factor_at: when the session was opened with a TOTP code; roles that need
  a second factor act only through such a session.
- users.totp_secret holds the secret sealed with a key from settings (longer than the plain
  base32 secret); users.totp_enrolled_at is set when the person confirmed it with a first code
  (a secret without it is an enrollment in progress, which the person started themselves).
- cutis_memberships_of also says whether each membership is accepted (PostgreSQL).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("memberships") as batch:
        batch.add_column(sa.Column("invited_name", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True))
    _as_owner_without_rls("memberships", "UPDATE memberships SET accepted_at = created_at")
    with op.batch_alter_table("login_sessions") as batch:
        batch.add_column(sa.Column("second_factor_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("users") as batch:
        batch.alter_column("totp_secret", type_=sa.String(length=255), existing_nullable=True)
        batch.add_column(sa.Column("totp_enrolled_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE users SET totp_enrolled_at = created_at WHERE totp_secret IS NOT NULL")
    if op.get_bind().dialect.name == "postgresql":
        _memberships_function(with_acceptance=True)


def _memberships_function(*, with_acceptance: bool) -> None:
    accepted = ", accepted boolean" if with_acceptance else ""
    accepted_value = ", accepted_at IS NOT NULL" if with_acceptance else ""
    op.execute("DROP FUNCTION IF EXISTS cutis_memberships_of(uuid)")
    op.execute(
        f"""
        CREATE FUNCTION cutis_memberships_of(person uuid)
        RETURNS TABLE (tenant_id uuid, role text{accepted})
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
          SELECT tenant_id, role{accepted_value} FROM memberships WHERE user_id = person
        $$
        """
    )
    op.execute("REVOKE ALL ON FUNCTION cutis_memberships_of(uuid) FROM PUBLIC")
    op.execute("GRANT EXECUTE ON FUNCTION cutis_memberships_of(uuid) TO cutis_app")


def _as_owner_without_rls(table: str, statement: str) -> None:
    """Run a data step over every tenant's rows: FORCE RLS would show a plain owner none of them.

    The migration is one transaction and ALTER TABLE holds an exclusive lock until it ends, so
    no other session ever sees the table unforced.
    """
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
    op.execute(statement)
    if postgres:
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _memberships_function(with_acceptance=False)
    with op.batch_alter_table("users") as batch:
        batch.drop_column("totp_enrolled_at")
        batch.alter_column("totp_secret", type_=sa.String(length=64), existing_nullable=True)
    with op.batch_alter_table("login_sessions") as batch:
        batch.drop_column("second_factor_at")
    with op.batch_alter_table("memberships") as batch:
        batch.drop_column("accepted_at")
        batch.drop_column("invited_name")
