"""Watching a service take its session in turns: which turns it took, and whether it held one while the pool ran."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession


class WatchedTurns:
    """`SessionTurns` over one session, like the GraphQL context's (a lock), counting turns."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.lock = asyncio.Lock()
        self.turns = 0

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[AsyncSession]:
        async with self.lock:
            self.turns += 1
            yield self.session


class WatchingCpu:
    """Runs each operation inline, noting whether the service held its turn when it dispatched."""

    def __init__(self, turns: WatchedTurns | None = None) -> None:
        self.turns = turns
        self.dispatched: list[tuple[str, bool]] = []  # (operation, a turn was held)

    async def run(self, operation: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        self.dispatched.append((operation.__name__, self.turns is not None and self.turns.lock.locked()))
        return operation(*args, **kwargs)
