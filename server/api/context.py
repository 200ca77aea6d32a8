"""Per-request GraphQL context: who is calling, one lazily opened session, what to relay after commit."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import msgspec
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from strawberry.litestar import BaseContext

from server.errors import Unauthenticated
from tenants import audit
from tenants.keys import Principal
from tenants.scoping import TENANT_KEY

if TYPE_CHECKING:
    from server.jobs import JobQueue, OutboxRef

UNAUTHENTICATED = "authentication required: send `Authorization: Bearer <api key>` or log in"


@dataclass
class Services:
    """What the app factory builds once and every request shares."""

    session_factory: async_sessionmaker[AsyncSession]
    queue: JobQueue
    settings: Any
    mailer: Any = None
    secret_box: Any = None
    rate_limiter: Any = None
    key_cache: Any = None
    fee_cache: Any = None
    cpu: Any = None  # server.cpu.CpuPool: every CPU-heavy call of a request runs there
    metrics: Any = None  # server.metrics.Metrics: this process's /metrics


class CutisContext(BaseContext, kw_only=True):
    services: Any
    principal: Principal | None = None
    user_id: uuid.UUID | None = None
    login_token: str | None = None
    auth_problem: str | None = None
    remote_addr: str | None = None
    _session: Any = None
    _lock: Any = None
    loaders: dict[str, Any] = msgspec.field(default_factory=dict)
    relay_after_commit: list[OutboxRef] = msgspec.field(default_factory=list)
    after_commit: list[Any] = msgspec.field(default_factory=list)
    failed: bool = False
    # (response key, field node, fragments) of each mutation that answered success, in order
    succeeded: list[Any] = msgspec.field(default_factory=list)

    def require_principal(self) -> Principal:
        if self.principal is None:
            raise Unauthenticated(self.auth_problem or UNAUTHENTICATED)
        return self.principal

    @property
    def lock(self) -> asyncio.Lock:
        """Sibling resolvers run concurrently; one AsyncSession must not be used by two at once."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        return self._lock

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[AsyncSession]:
        """The session under the lock (`server.db.SessionTurns`): for services that await the CPU pool
        between their reads and writes, and so must not hold the lock throughout."""
        async with self.lock:
            yield await self.session()

    async def session(self) -> AsyncSession:
        """The operation's one session and transaction, scoped to the principal's tenant (if any)."""
        if self._session is None:
            session = self.services.session_factory()
            if self.principal is not None:
                session.info[TENANT_KEY] = self.principal.tenant_id
            await session.begin()
            self._session = session
        return self._session

    async def audit(
        self,
        action: str,
        category: str,
        *,
        object_type: str | None = None,
        object_ids: Any = (),
        outcome: str = "ok",
        detail: str | None = None,
    ) -> None:
        principal = self.require_principal()
        audit.record(
            await self.session(),
            principal.tenant_id,
            action,
            category,
            principal=principal,
            object_type=object_type,
            object_ids=object_ids,
            remote_addr=self.remote_addr,
            outcome=outcome,
            detail=detail,
        )

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
                self.after_commit.clear()
        finally:
            await session.close()
