"""Who is calling: an API key (Bearer) or a person's session cookie (with a CSRF header).

The tenant always comes from here: a key's clinic, or the person's clinic named by the
`X-Cutis-Tenant` header and checked against their memberships (onboarding staff must name
one per request). Never from a GraphQL argument.
"""

from __future__ import annotations

import datetime as dt
import hmac
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import update

from server.db import tenant_session
from tenants.auth import NoTenantChosen, NotGranted, session_user, user_principal
from tenants.base import utcnow
from tenants.keys import Principal, authenticate_api_key, digest
from tenants.models import ApiKey

SESSION_COOKIE = "cutis_session"
CSRF_HEADER = "x-csrf-token"
TENANT_HEADER = "x-cutis-tenant"
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


@dataclass(frozen=True)
class Identity:
    principal: Principal | None = None
    user_id: uuid.UUID | None = None
    login_token: str | None = None
    problem: str | None = None


async def identify(services: Any, headers: Any, cookies: dict[str, str]) -> Identity:
    authorization = headers.get("authorization", "")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() == "bearer" and token:
        return await _identify_key(services, token.strip())
    login_token = cookies.get(SESSION_COOKIE)
    if login_token:
        return await _identify_person(services, login_token, headers)
    return Identity()


class KeyCache:
    """Recently verified API keys, for a few seconds, so that a busy integration does not pay a
    database round trip per request. Revoking through this process evicts at once; another
    process notices within `ttl`. Keyed by the token's digest, never the token."""

    def __init__(self, ttl: dt.timedelta = dt.timedelta(seconds=10), size: int = 4096) -> None:
        self.ttl = ttl
        self.size = size
        self._entries: dict[str, tuple[dt.datetime, Principal]] = {}
        self._touched: dict[uuid.UUID, dt.datetime] = {}

    def get(self, token: str) -> Principal | None:
        entry = self._entries.get(digest(token))
        if entry is None or entry[0] <= utcnow():
            return None
        return entry[1]

    def put(self, token: str, principal: Principal) -> None:
        if len(self._entries) >= self.size:
            self._entries.clear()
        self._entries[digest(token)] = (utcnow() + self.ttl, principal)

    def evict_key(self, key_id: uuid.UUID) -> None:
        self._entries = {k: v for k, v in self._entries.items() if v[1].api_key_id != key_id}

    def needs_touch(self, key_id: uuid.UUID) -> bool:
        last = self._touched.get(key_id)
        now = utcnow()
        if last is not None and now - last < LAST_USED_RESOLUTION:
            return False
        self._touched[key_id] = now
        return True


async def _identify_key(services: Any, token: str) -> Identity:
    cache: KeyCache = services.key_cache
    principal = cache.get(token)
    if principal is None:
        async with services.session_factory() as session:
            principal = await authenticate_api_key(session, token)
            await session.commit()
        if principal is None:
            return Identity(problem="authentication required: the API key is unknown, revoked or expired")
        cache.put(token, principal)
    if principal.api_key_id is not None and cache.needs_touch(principal.api_key_id):
        await _touch_key(services, principal)
    return Identity(principal=principal)


async def _touch_key(services: Any, principal: Principal) -> None:
    """Record last use, at most once a minute per key per process (not a write on every request)."""
    now = utcnow()
    async with tenant_session(services.session_factory, principal.tenant_id) as session:
        await session.execute(
            update(ApiKey)
            .where(ApiKey.id == principal.api_key_id)
            .where((ApiKey.last_used_at.is_(None)) | (ApiKey.last_used_at < now - LAST_USED_RESOLUTION))
            .values(last_used_at=now)
        )


async def _identify_person(services: Any, login_token: str, headers: Any) -> Identity:
    async with services.session_factory() as session:
        found = await session_user(session, login_token)
        if found is None:
            return Identity(problem="your session has ended: log in again")
        user, login_session = found
        presented_csrf = headers.get(CSRF_HEADER, "")
        if not presented_csrf or not hmac.compare_digest(presented_csrf, login_session.csrf_token):
            return Identity(user_id=None, problem="the X-CSRF-Token header is missing or wrong")
        requested = _tenant_header(headers)
        if requested is False or requested is True:
            return Identity(user_id=user.id, login_token=login_token, problem="X-Cutis-Tenant is not a clinic id")
        try:
            principal = await user_principal(session, user, login_session, requested or None)
        except NoTenantChosen as error:
            return Identity(user_id=user.id, login_token=login_token, problem=str(error))
        except NotGranted as error:
            return Identity(user_id=user.id, login_token=login_token, problem=str(error))
        return Identity(principal=principal, user_id=user.id, login_token=login_token)


def _tenant_header(headers: Any) -> uuid.UUID | bool | None:
    raw = headers.get(TENANT_HEADER)
    if not raw:
        return None
    try:
        return uuid.UUID(raw)
    except ValueError:
        from server.api.ids import from_global_id

        return from_global_id(raw, "Tenant") or False
