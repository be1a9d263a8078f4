"""Optimal time learns from the engagement the platforms report, beside our own posting history."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import httpx
import pytest
from sqlalchemy import func, select

from fluxsocial_mcp.app import Runtime
from fluxsocial_mcp.core import content_dna
from fluxsocial_mcp.models import EngagementSample, PastPost
from fluxsocial_mcp.platforms.base import Publisher
from fluxsocial_mcp.platforms.credentials import PlatformCredentials

from ..factories import Clock, Tenant, make_tenant
from .conftest import Fakes
from .fakes.x import problem
from .support import connect_account


def tweets_on(fakes: Fakes, when: datetime, likes: int, count: int) -> None:
    for week in range(count):
        stamp = (when - timedelta(weeks=week)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        fakes.x.tweets[f"19{week}{likes}"] = {
            "text": f"Post {week} {likes}", "created_at": stamp,
            "public_metrics": {"retweet_count": 0, "reply_count": 0, "like_count": likes, "quote_count": 0},
        }


@pytest.fixture
async def tenant(runtime: Runtime, clock: Clock, publishers: dict[str, Publisher]) -> Tenant:
    tenant = await make_tenant(runtime.core, platforms=())
    tenant.accounts["x"] = await connect_account(runtime.core, tenant, "x", PlatformCredentials(
        access_token="xat-1", refresh_token="xrt-1", expires_at=clock.now + timedelta(hours=2),
        platform_user_id="1460000000000000001"), followers=1000)
    return tenant


async def optimal(client: httpx.AsyncClient, tenant: Tenant) -> dict:  # type: ignore[type-arg]
    response = await client.get(
        f"/api/v1/schedule/optimal-time?businessId={tenant.business_id}", headers=tenant.headers
    )
    assert response.status_code == 200, response.text
    return response.json()["data"]


async def test_the_recommendation_follows_the_engagement_x_reports(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, fakes: Fakes
) -> None:
    # Saturdays 15:00 in New York draw ten times the interactions of the usual weekday mornings.
    # (Four weeks back stay after the switch to daylight saving time on 8 March.)
    tweets_on(fakes, datetime(2026, 4, 4, 19, 0, tzinfo=timezone.utc), likes=300, count=4)
    tweets_on(fakes, datetime(2026, 3, 31, 13, 0, tzinfo=timezone.utc), likes=30, count=4)

    data = await optimal(client, tenant)

    assert data["scheduledDateTime"] == "2026-04-11T19:00:00.000Z"
    assert data["reasoning"].startswith("Highest engagement for your audience on Saturday afternoons")
    assert "from 8 past posts" in data["reasoning"]
    timeline = fakes.x.called("timeline")[0]
    assert timeline.query["tweet.fields"] == "created_at,text,public_metrics"
    async with runtime.core.db.transaction() as session:
        rates = sorted(set(await session.scalars(select(EngagementSample.engagement_rate))))
    assert rates == [0.03, 0.3]


async def test_insights_are_read_at_most_every_few_hours_and_never_duplicated(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, fakes: Fakes, clock: Clock
) -> None:
    tweets_on(fakes, datetime(2026, 4, 4, 19, 0, tzinfo=timezone.utc), likes=300, count=3)

    await optimal(client, tenant)
    await optimal(client, tenant)
    clock.advance(hours=7)
    await optimal(client, tenant)

    assert fakes.x.ops().count("timeline") == 2
    async with runtime.core.db.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(EngagementSample)) == 3


async def test_a_platform_that_fails_does_not_break_the_recommendation(
    client: httpx.AsyncClient, tenant: Tenant, fakes: Fakes
) -> None:
    fakes.x.fail("timeline", problem(503, "Service Unavailable", "Service Unavailable"))

    data = await optimal(client, tenant)

    assert data["reasoning"].startswith("No engagement history yet")


async def test_content_dna_reads_past_posts_through_the_same_adapters(
    runtime: Runtime, tenant: Tenant, fakes: Fakes
) -> None:
    tweets_on(fakes, datetime(2026, 4, 4, 19, 0, tzinfo=timezone.utc), likes=300, count=2)

    result = await content_dna.import_from_accounts(runtime.core.db, runtime.core.publishers, tenant.business_id)

    assert result.imported == 2
    async with runtime.core.db.transaction() as session:
        posts = list(await session.scalars(select(PastPost).where(PastPost.business_id == tenant.business_id)))
    assert {p.text for p in posts} == {"Post 0 300", "Post 1 300"}
    assert {p.likes for p in posts} == {300}
