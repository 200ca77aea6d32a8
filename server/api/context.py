"""Per-request GraphQL context: the principal, one lazily opened session, and what to relay after commit."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from strawberry.litestar import BaseContext

from server.errors import Unauthenticated
from tenants.keys import Principal
from tenants.scoping import TENANT_KEY

if TYPE_CHECKING:
    from server.jobs import JobQueue, OutboxRef


@dataclass
class Services:
    """What the app factory builds once and every request shares."""

    session_factory: async_sessionmaker[AsyncSession]
    queue: JobQueue
    settings: Any


class CutisContext(BaseContext, kw_only=True):
    services: Any
    principal: Principal | None = None
    _session: Any = None
    _lock: Any = None
    relay_after_commit: list[OutboxRef] = msgspec.field(default_factory=list)
    failed: bool = False

    def require_principal(self) -> Principal:
        if self.principal is None:
            raise Unauthenticated("authentication required: send `Authorization: Bearer <api key>`")
        return self.principal

    @property
    def lock(self) -> asyncio.Lock:
        """Sibling resolvers run concurrently; one AsyncSession must not be used by two at once."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        return self._lock

    async def session(self) -> AsyncSession:
        """The operation's one session and transaction, scoped to the principal's tenant."""
        principal = self.require_principal()
        if self._session is None:
            session = self.services.session_factory()
            session.info[TENANT_KEY] = principal.tenant_id
            await session.begin()
            self._session = session
        return self._session

    async def finish(self, *, commit: bool) -> None:
        session, self._session = self._session, None
        if session is None:
            return
        try:
            if commit:
                await session.commit()
            else:
                await session.rollback()
                self.relay_after_commit.clear()
        finally:
            await session.close()
