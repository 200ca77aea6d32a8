"""Per-credential rate limiting over a moving one-minute window, with the `limits` package.

A moving window has no boundary at which a burst of twice the limit gets through (the fixed
windows this replaced let 2 x limit pass across the turn of a minute). In Redis when configured,
so that every app process behind the load balancer shares one budget; in memory otherwise.

The limiter guards the API and must not take it down: while Redis does not answer, each process
counts in its own memory (warning once per outage, by error type only, never the URL) and asks
Redis again every few seconds.
"""

from __future__ import annotations

import logging
import math
import time

from limits import RateLimitItemPerMinute
from limits.aio.storage import MemoryStorage, RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter

log = logging.getLogger(__name__)

REDIS_TIMEOUT_SECONDS = 0.5
"""A Redis slower than this counts as down: a request waits for the limiter at most about this long."""


class MemoryRateLimiter:
    """One process's moving windows: the embedded mode's limiter, and the fallback while Redis is down."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._limit = RateLimitItemPerMinute(per_minute)
        self._storage = MemoryStorage()
        self._window = MovingWindowRateLimiter(self._storage)

    async def hit(self, credential: str) -> bool:
        """True while the credential is under its limit for the last minute; counts the request."""
        return await self._window.hit(self._limit, credential)

    async def seconds_until_reset(self, credential: str) -> int:
        """Whole seconds until the credential's oldest counted request leaves the window (Retry-After)."""
        stats = await self._window.get_window_stats(self._limit, credential)
        return _whole_seconds_until(stats.reset_time)

    async def close(self) -> None:
        if self._storage.timer is not None:  # the storage's background sweep of expired entries
            self._storage.timer.cancel()


class RedisRateLimiter:
    """Shared by every app process behind the load balancer; local to this process while Redis is down."""

    def __init__(self, redis_url: str, per_minute: int, *, retry_redis_after_seconds: float = 5.0) -> None:
        from redis.asyncio import ConnectionPool

        self.per_minute = per_minute
        self._limit = RateLimitItemPerMinute(per_minute)
        self._pool = ConnectionPool.from_url(
            redis_url, socket_connect_timeout=REDIS_TIMEOUT_SECONDS, socket_timeout=REDIS_TIMEOUT_SECONDS
        )
        # `connection_pool` is documented by RedisStorage, though its options are typed as scalars.
        self._redis_storage = RedisStorage(
            f"async+{redis_url}",
            implementation="redispy",
            key_prefix="cutis:rl",
            connection_pool=self._pool,  # type: ignore[arg-type]
        )
        self._shared = MovingWindowRateLimiter(self._redis_storage)
        self._local = MemoryRateLimiter(per_minute)
        self._retry_redis_after_seconds = retry_redis_after_seconds
        self._redis_down_until: float | None = None  # monotonic clock; None while Redis answers

    async def hit(self, credential: str) -> bool:
        if self._should_ask_redis():
            try:
                allowed = await self._shared.hit(self._limit, credential)
            except Exception as error:  # any failure of the shared store: count locally, never fail the request
                self._redis_failed(error)
            else:
                self._redis_answered()
                return allowed
        return await self._local.hit(credential)

    async def seconds_until_reset(self, credential: str) -> int:
        if self._should_ask_redis():
            try:
                stats = await self._shared.get_window_stats(self._limit, credential)
            except Exception as error:
                self._redis_failed(error)
            else:
                return _whole_seconds_until(stats.reset_time)
        return await self._local.seconds_until_reset(credential)

    async def close(self) -> None:
        await self._local.close()
        await self._pool.aclose()

    def _should_ask_redis(self) -> bool:
        return self._redis_down_until is None or time.monotonic() >= self._redis_down_until

    def _redis_failed(self, error: Exception) -> None:
        if self._redis_down_until is None:
            log.warning(
                "rate limiter: Redis did not answer (%s); counting in this process only until it does",
                type(error).__name__,
            )
        self._redis_down_until = time.monotonic() + self._retry_redis_after_seconds

    def _redis_answered(self) -> None:
        if self._redis_down_until is not None:
            log.info("rate limiter: Redis answers again; budgets are shared across processes again")
            self._redis_down_until = None


def _whole_seconds_until(reset_time: float) -> int:
    """At least 1: a client told to retry after 0 seconds retries at once and is refused again."""
    return max(1, math.ceil(reset_time - time.time()))
