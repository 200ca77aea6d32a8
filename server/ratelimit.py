"""Per-credential rate limiting: fixed one-minute windows, in Redis when configured, else in memory."""

from __future__ import annotations

import time
from collections import defaultdict
from typing import Any

WINDOW_SECONDS = 60


class MemoryRateLimiter:
    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._counts: dict[tuple[str, int], int] = defaultdict(int)

    async def hit(self, credential: str) -> bool:
        """True while the credential is under its limit for the current window."""
        window = int(time.time() // WINDOW_SECONDS)
        if len(self._counts) > 10_000:
            self._counts = defaultdict(int, {k: v for k, v in self._counts.items() if k[1] == window})
        self._counts[(credential, window)] += 1
        return self._counts[(credential, window)] <= self.per_minute

    async def close(self) -> None:
        return None


class RedisRateLimiter:
    """Shared by every app process behind the load balancer."""

    def __init__(self, redis_url: str, per_minute: int) -> None:
        from redis.asyncio import Redis

        self.per_minute = per_minute
        self._redis: Any = Redis.from_url(redis_url)

    async def hit(self, credential: str) -> bool:
        window = int(time.time() // WINDOW_SECONDS)
        key = f"cutis:rl:{credential}:{window}"
        async with self._redis.pipeline(transaction=True) as pipe:
            count, _ = await pipe.incr(key).expire(key, WINDOW_SECONDS * 2).execute()
        return int(count) <= self.per_minute

    async def close(self) -> None:
        await self._redis.aclose()
