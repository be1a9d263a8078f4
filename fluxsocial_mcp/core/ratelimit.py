"""Fixed hourly budgets per API key (and per web user), in memory or in Redis.

Built on the ``limits`` library; with ``FLUXSOCIAL_REDIS_URL`` set, every
worker shares one count.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from limits import RateLimitItem, RateLimitItemPerHour, RateLimitItemPerMinute
from limits.aio.storage import MemoryStorage, Storage
from limits.aio.strategies import FixedWindowRateLimiter
from limits.storage import storage_from_string

from ..config import Settings
from ..errors import RateLimited
from .caller import Caller, Channel

Bucket = Literal["content", "media", "general"]


@dataclass(frozen=True)
class RateLimitStatus:
    limit: int
    remaining: int
    reset: int  # unix seconds

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset),
        }


class RateLimitExceeded(RateLimited):
    def __init__(self, retry_after: int, status: RateLimitStatus, message: str | None = None) -> None:
        super().__init__(retry_after, message)
        self.rate_limit = status


def _storage(redis_url: str | None) -> Storage:
    if not redis_url:
        return MemoryStorage()
    scheme, sep, rest = redis_url.partition("://")
    storage = storage_from_string(f"async+{scheme}{sep}{rest}", implementation="redispy")
    assert isinstance(storage, Storage)
    return storage


class RateLimiter:
    def __init__(self, settings: Settings, storage: Storage | None = None) -> None:
        self.storage = storage or _storage(settings.redis_url)
        self.strategy = FixedWindowRateLimiter(self.storage)
        self.budgets: dict[tuple[Channel, Bucket], RateLimitItem] = {
            ("api", "content"): RateLimitItemPerHour(settings.rate_limit_content, namespace="api-content"),
            ("api", "media"): RateLimitItemPerHour(settings.rate_limit_media, namespace="api-media"),
            ("api", "general"): RateLimitItemPerHour(settings.rate_limit_general, namespace="api-general"),
            ("web", "content"): RateLimitItemPerHour(settings.web_rate_limit_content, namespace="web-content"),
            ("web", "media"): RateLimitItemPerHour(settings.web_rate_limit_media, namespace="web-media"),
            ("web", "general"): RateLimitItemPerHour(settings.web_rate_limit_general, namespace="web-general"),
        }
        self.auth_failures = RateLimitItemPerMinute(settings.rate_limit_auth_failures, namespace="auth-failures")

    async def consume(self, caller: Caller, bucket: Bucket) -> RateLimitStatus:
        """Count one request against the caller's budget, or raise ``RateLimitExceeded``."""
        item = self.budgets[(caller.channel, bucket)]
        identity = caller.rate_limit_identity
        allowed = await self.strategy.hit(item, identity)
        stats = await self.strategy.get_window_stats(item, identity)
        status = RateLimitStatus(limit=item.amount, remaining=stats.remaining, reset=int(stats.reset_time))
        if not allowed:
            raise RateLimitExceeded(_seconds_until(stats.reset_time), status)
        return status

    async def peek(self, caller: Caller, bucket: Bucket) -> RateLimitStatus:
        """The caller's budget in ``bucket`` without counting a request."""
        item = self.budgets[(caller.channel, bucket)]
        stats = await self.strategy.get_window_stats(item, caller.rate_limit_identity)
        return RateLimitStatus(limit=item.amount, remaining=stats.remaining, reset=int(stats.reset_time))

    async def check_auth_allowed(self, client: str) -> None:
        """Refuse a client that has failed authentication too often (keys can't be brute-forced)."""
        if not await self.strategy.test(self.auth_failures, client):
            stats = await self.strategy.get_window_stats(self.auth_failures, client)
            raise RateLimited(
                _seconds_until(stats.reset_time), "Too many failed authentication attempts; try again later"
            )

    async def record_auth_failure(self, client: str) -> None:
        await self.strategy.hit(self.auth_failures, client)


def _seconds_until(reset_time: float) -> int:
    import time

    return max(1, int(reset_time - time.time() + 0.999))
