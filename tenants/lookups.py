"""The reviewed reads that cross tenants before a tenant is known; nothing else may.

On PostgreSQL each is a SECURITY DEFINER function (migration 0003) returning ids and
digests only, so the app role itself never sees another tenant's rows. On SQLite (the
embedded mode, no RLS) the same query runs with the tenant filter lifted for one statement.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from tenants.models import ApiKey, Membership
from tenants.scoping import SYSTEM_KEY


@dataclass(frozen=True)
class KeyRecord:
    id: uuid.UUID
    tenant_id: uuid.UUID
    secret_sha256: str
    scopes: str
    expires_at: dt.datetime | None
    revoked_at: dt.datetime | None


def _is_postgres(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


async def api_key_by_prefix(session: AsyncSession, prefix: str) -> KeyRecord | None:
    if _is_postgres(session):
        row = (await session.execute(text("SELECT * FROM cutis_api_key_by_prefix(:p)"), {"p": prefix})).first()
        return KeyRecord(*row) if row else None
    session.info[SYSTEM_KEY] = True
    try:
        key = (await session.execute(select(ApiKey).where(ApiKey.prefix == prefix))).scalar_one_or_none()
    finally:
        session.info.pop(SYSTEM_KEY, None)
    if key is None:
        return None
    return KeyRecord(key.id, key.tenant_id, key.secret_sha256, key.scopes, key.expires_at, key.revoked_at)


@dataclass(frozen=True)
class Grant:
    """A person's role in one clinic; a pending one (added, not yet logged in since) grants nothing."""

    tenant_id: uuid.UUID
    role: str
    accepted: bool


async def memberships_of(session: AsyncSession, user_id: uuid.UUID) -> list[Grant]:
    """Every clinic this person belongs to, is granted, or was added to and has not yet accepted."""
    if _is_postgres(session):
        rows = (await session.execute(text("SELECT * FROM cutis_memberships_of(:u)"), {"u": user_id})).all()
        return [Grant(uuid.UUID(str(tenant)), role, bool(accepted)) for tenant, role, accepted in rows]
    session.info[SYSTEM_KEY] = True
    try:
        rows = (
            await session.execute(
                select(Membership.tenant_id, Membership.role, Membership.accepted_at).where(
                    Membership.user_id == user_id
                )
            )
        ).all()
    finally:
        session.info.pop(SYSTEM_KEY, None)
    return [Grant(tenant, role, accepted_at is not None) for tenant, role, accepted_at in rows]


async def accepted_memberships_of(session: AsyncSession, user_id: uuid.UUID) -> list[tuple[uuid.UUID, str]]:
    """(tenant id, role) of the memberships that grant something."""
    return [(grant.tenant_id, grant.role) for grant in await memberships_of(session, user_id) if grant.accepted]


async def run_as_system(session: AsyncSession, statement):
    """Execute one ORM statement across tenants (SQLite only: PostgreSQL uses the functions above)."""
    if _is_postgres(session):
        raise RuntimeError("cross-tenant statements are not allowed on PostgreSQL; use a SECURITY DEFINER function")
    session.info[SYSTEM_KEY] = True
    try:
        return await session.execute(statement)
    finally:
        session.info.pop(SYSTEM_KEY, None)
