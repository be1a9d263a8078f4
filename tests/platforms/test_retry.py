"""PARTIALLY_POSTED when some platforms fail, and retrying only the targets that failed."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from fluxsocial_mcp.app import Runtime
from fluxsocial_mcp.platforms.base import Publisher
from fluxsocial_mcp.platforms.credentials import PlatformCredentials

from ..factories import Clock, make_tenant
from .conftest import Fakes
from .fakes.x import problem
from .support import connect_account, make_content


@pytest.fixture
async def setup(runtime: Runtime, clock: Clock, publishers: dict[str, Publisher]) -> tuple:  # type: ignore[type-arg]
    tenant = await make_tenant(runtime.core, platforms=())
    instagram = await connect_account(runtime.core, tenant, "instagram", PlatformCredentials(
        access_token="IGlong-1", expires_at=clock.now + timedelta(days=50), platform_user_id="17841400000000001"))
    x = await connect_account(runtime.core, tenant, "x", PlatformCredentials(
        access_token="xat-1", refresh_token="xrt-1", expires_at=clock.now + timedelta(hours=2),
        platform_user_id="1460000000000000001"))
    suggestion = await make_content(runtime.core, tenant)
    return tenant, instagram, x, suggestion


async def test_a_failed_platform_leaves_the_post_partially_posted_and_retry_publishes_only_it(
    client: httpx.AsyncClient, fakes: Fakes, setup: tuple  # type: ignore[type-arg]
) -> None:
    tenant, instagram, x, suggestion = setup
    fakes.x.fail("create_tweet", problem(503, "Service Unavailable", "Service Unavailable"))

    posted = await client.post(
        f"/api/v1/content/{suggestion}/post",
        json={"targets": [{"accountId": instagram, "platform": "instagram"}, {"accountId": x, "platform": "x"}]},
        headers=tenant.headers,
    )

    results = posted.json()["results"]
    assert [r["status"] for r in results] == ["success", "failed"]
    assert results[1]["error"] == "X is having trouble (HTTP 503): Service Unavailable"
    status = (await client.get(f"/api/v1/content/{suggestion}/status", headers=tenant.headers)).json()
    assert status["status"] == "PARTIALLY_POSTED"

    retried = await client.post(f"/api/v1/content/{suggestion}/retry", headers=tenant.headers)

    assert retried.status_code == 200, retried.text
    tweet_id, = fakes.x.tweets
    assert retried.json() == {"suggestionId": suggestion, "results": [{
        "platform": "x", "accountId": x, "status": "success", "postUrl": f"https://x.com/morningcup/status/{tweet_id}",
    }]}
    assert fakes.instagram.ops().count("media_publish") == 1
    after = (await client.get(f"/api/v1/content/{suggestion}/status", headers=tenant.headers)).json()
    assert after["status"] == "POSTED"
    assert [p["status"] for p in after["platforms"]] == ["success", "success"]


async def test_retry_without_failed_targets_is_refused(
    client: httpx.AsyncClient, setup: tuple  # type: ignore[type-arg]
) -> None:
    tenant, instagram, _, suggestion = setup
    await client.post(
        f"/api/v1/content/{suggestion}/post", json={"targets": [{"accountId": instagram, "platform": "instagram"}]},
        headers=tenant.headers,
    )

    response = await client.post(f"/api/v1/content/{suggestion}/retry", headers=tenant.headers)

    assert response.status_code == 400
    assert response.json()["error"]["message"] == f"Content {suggestion} has no failed targets to retry (it is POSTED)"


async def test_retry_needs_the_post_write_scope_and_the_callers_own_content(
    client: httpx.AsyncClient, runtime: Runtime, setup: tuple  # type: ignore[type-arg]
) -> None:
    _, _, _, suggestion = setup
    reader = await make_tenant(runtime.core, platforms=(), scopes=["content:read"])
    stranger = await make_tenant(runtime.core, platforms=())

    forbidden = await client.post(f"/api/v1/content/{suggestion}/retry", headers=reader.headers)
    missing = await client.post(f"/api/v1/content/{suggestion}/retry", headers=stranger.headers)

    assert forbidden.status_code == 403
    assert forbidden.json()["error"]["message"] == "This API key lacks the required scope: post:write"
    assert missing.status_code == 404
