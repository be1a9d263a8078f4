"""Hourly budgets per key, in memory and (when FLUXSOCIAL_TEST_REDIS_URL is set) shared through Redis."""

from __future__ import annotations

import os
import time

import pytest

from fluxsocial_mcp import ids
from fluxsocial_mcp.config import Settings
from fluxsocial_mcp.core.caller import ALL_SCOPES, Caller
from fluxsocial_mcp.core.ratelimit import RateLimiter, RateLimitExceeded
from fluxsocial_mcp.errors import RateLimited

REDIS_URL = os.environ.get("FLUXSOCIAL_TEST_REDIS_URL")


def _settings(**overrides: object) -> Settings:
    return Settings(_env_file=None, rate_limit_content=3, rate_limit_media=2, rate_limit_auth_failures=2, **overrides)


def _caller(channel: str = "api") -> Caller:
    return Caller(user_id=ids.new_id("usr"), scopes=frozenset(ALL_SCOPES), api_key_id=ids.new_id("key"), channel=channel)  # type: ignore[arg-type]


async def _exhaust(limiter: RateLimiter, caller: Caller) -> RateLimitExceeded:
    statuses = [await limiter.consume(caller, "content") for _ in range(3)]
    assert [s.remaining for s in statuses] == [2, 1, 0]
    assert all(s.limit == 3 for s in statuses)
    assert all(0 < s.reset - time.time() <= 3600 for s in statuses)
    with pytest.raises(RateLimitExceeded) as caught:
        await limiter.consume(caller, "content")
    return caught.value


async def test_a_budget_refuses_the_call_past_its_limit_with_retry_after() -> None:
    limiter = RateLimiter(_settings())
    caller = _caller()
    error = await _exhaust(limiter, caller)
    assert 0 < error.retry_after <= 3600
    assert error.to_body() == {"error": {"message": error.message, "status": 429, "retryAfter": error.retry_after}}
    assert error.rate_limit.remaining == 0
    # Other buckets and other keys keep their own budgets.
    assert (await limiter.consume(caller, "media")).remaining == 1
    assert (await limiter.consume(_caller(), "content")).remaining == 2


async def test_web_sessions_have_their_own_budgets() -> None:
    limiter = RateLimiter(_settings(web_rate_limit_content=20))
    status = await limiter.consume(_caller("web"), "content")
    assert (status.limit, status.remaining) == (20, 19)


async def test_failed_authentications_are_limited_per_client_address() -> None:
    limiter = RateLimiter(_settings())
    await limiter.check_auth_allowed("198.51.100.1")
    await limiter.record_auth_failure("198.51.100.1")
    await limiter.record_auth_failure("198.51.100.1")
    with pytest.raises(RateLimited) as caught:
        await limiter.check_auth_allowed("198.51.100.1")
    assert 0 < caught.value.retry_after <= 60
    await limiter.check_auth_allowed("198.51.100.2")


@pytest.mark.skipif(not REDIS_URL, reason="FLUXSOCIAL_TEST_REDIS_URL is not set")
async def test_workers_sharing_redis_share_one_budget() -> None:
    first = RateLimiter(_settings(redis_url=REDIS_URL))
    second = RateLimiter(_settings(redis_url=REDIS_URL))
    caller = _caller()
    assert (await first.consume(caller, "content")).remaining == 2
    assert (await second.consume(caller, "content")).remaining == 1
    assert (await first.consume(caller, "content")).remaining == 0
    with pytest.raises(RateLimitExceeded):
        await second.consume(caller, "content")
