"""API keys: `cutis_<prefix>_<secret>`; the prefix is visible, the secret is stored hashed.

A key's secret is 32 random bytes, so a single SHA-256 is the right hash (a slow password
hash buys nothing against a brute force of 256 bits and costs every request).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from tenants.base import aware, utcnow
from tenants.lookups import api_key_by_prefix
from tenants.models import ApiKey
from tenants.roles import Permission, key_permissions

KEY_PREFIX = "cutis"


@dataclass(frozen=True)
class Principal:
    """Who is calling: the tenant always comes from here, never from a request argument."""

    tenant_id: uuid.UUID
    api_key_id: uuid.UUID | None = None
    user_id: uuid.UUID | None = None
    role: str | None = None
    permissions: frozenset[Permission] = frozenset()
    # a role that needs a second factor, through a session opened without one: it grants nothing
    second_factor_missing: bool = False

    def can(self, permission: Permission) -> bool:
        return permission in self.permissions


@dataclass(frozen=True)
class IssuedKey:
    key: ApiKey
    plaintext: str


def digest(secret: str) -> str:
    """SHA-256 hex of a high-entropy secret (API keys, session and reset tokens)."""
    return hashlib.sha256(secret.encode()).hexdigest()


async def issue_api_key(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    name: str,
    expires_at: dt.datetime | None = None,
    scopes: str = "*",
) -> IssuedKey:
    prefix = secrets.token_hex(4)
    secret = secrets.token_urlsafe(32)
    key = ApiKey(
        tenant_id=tenant_id,
        name=name,
        prefix=prefix,
        secret_sha256=digest(secret),
        expires_at=expires_at,
        scopes=scopes,
    )
    session.add(key)
    await session.flush()
    return IssuedKey(key=key, plaintext=f"{KEY_PREFIX}_{prefix}_{secret}")


async def authenticate_api_key(session: AsyncSession, presented: str) -> Principal | None:
    """The principal for a presented key, or None (unknown, wrong, revoked or expired: same answer)."""
    parts = presented.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX:
        return None
    _, prefix, secret = parts
    key = await api_key_by_prefix(session, prefix)
    if key is None or not hmac.compare_digest(key.secret_sha256, digest(secret)):
        return None
    now = utcnow()
    if key.revoked_at is not None or (key.expires_at is not None and aware(key.expires_at) <= now):
        return None
    return Principal(
        tenant_id=key.tenant_id, api_key_id=key.id, permissions=key_permissions(frozenset(key.scopes.split()))
    )
