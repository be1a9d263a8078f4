"""GET /schedule/optimal-time: the platform prior without history, the audience's own pattern with it."""

from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import func, select

from fluxsocial_mcp.app import Runtime
from fluxsocial_mcp.demo import Demo, ensure_demo
from fluxsocial_mcp.models import EngagementSample, SocialAccount

from ..factories import Clock, make_tenant

NEW_YORK = ZoneInfo("America/New_York")


def local(text: str, zone: ZoneInfo = NEW_YORK) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(zone)


async def optimal(client: httpx.AsyncClient, headers: dict[str, str], **params: str) -> httpx.Response:
    return await client.get("/api/v1/schedule/optimal-time", params=params, headers=headers)


@pytest.fixture
async def demo(runtime: Runtime) -> Demo:
    return await ensure_demo(runtime.core)


async def demo_accounts(runtime: Runtime, demo: Demo) -> dict[str, str]:
    async with runtime.core.db.transaction() as session:
        rows = await session.scalars(select(SocialAccount).where(SocialAccount.business_id == demo.business_id))
        return {row.platform: row.id for row in rows}


async def sample_count(runtime: Runtime, account_ids: list[str]) -> int:
    async with runtime.core.db.transaction() as session:
        return int(await session.scalar(
            select(func.count()).select_from(EngagementSample).where(EngagementSample.account_id.in_(account_ids))
        ))


async def test_without_history_the_platform_prior_answers_with_low_confidence(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    tenant = await make_tenant(runtime.core)
    response = await optimal(client, tenant.headers, businessId=tenant.business_id)
    assert response.status_code == 200
    assert response.json() == {
        "success": True,
        "data": {
            # Tuesday 7 April 2026, 12:00 in New York (EDT).
            "scheduledDateTime": "2026-04-07T16:00:00.000Z",
            "confidence": 0.3,
            "reasoning": "No engagement history yet: Tuesday afternoons (12:00-13:00 America/New_York) is when "
                         "instagram, linkedin, tiktok, x audiences typically engage most",
        },
    }
    assert response.headers["x-ratelimit-limit"] == "60"


async def test_without_history_instagram_alone_prefers_late_morning(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    tenant = await make_tenant(runtime.core, platforms=("instagram",))
    data = (await optimal(client, tenant.headers, businessId=tenant.business_id)).json()["data"]
    assert data == {
        "scheduledDateTime": "2026-04-07T15:00:00.000Z",
        "confidence": 0.3,
        "reasoning": "No engagement history yet: Tuesday mornings (11:00-12:00 America/New_York) is when "
                     "instagram audiences typically engage most",
    }


async def test_a_slot_less_than_15_minutes_away_moves_to_next_week(
    client: httpx.AsyncClient, runtime: Runtime, clock: Clock
) -> None:
    tenant = await make_tenant(runtime.core, platforms=("instagram",))
    clock.now = datetime(2026, 4, 7, 14, 44, tzinfo=timezone.utc)  # 10:44 local: 16 minutes ahead
    data = (await optimal(client, tenant.headers, businessId=tenant.business_id)).json()["data"]
    assert data["scheduledDateTime"] == "2026-04-07T15:00:00.000Z"
    clock.now = datetime(2026, 4, 7, 14, 50, tzinfo=timezone.utc)  # 10:50 local: only 10 minutes ahead
    data = (await optimal(client, tenant.headers, businessId=tenant.business_id)).json()["data"]
    assert data["scheduledDateTime"] == "2026-04-14T15:00:00.000Z"


async def test_the_business_timezone_decides_the_local_hour(client: httpx.AsyncClient, runtime: Runtime) -> None:
    tenant = await make_tenant(runtime.core, platforms=("instagram",), timezone="Asia/Kolkata")
    data = (await optimal(client, tenant.headers, businessId=tenant.business_id)).json()["data"]
    when = local(data["scheduledDateTime"], ZoneInfo("Asia/Kolkata"))
    assert (when.strftime("%A"), when.hour, when.minute) == ("Tuesday", 11, 0)
    assert data["scheduledDateTime"] == "2026-04-07T05:30:00.000Z"
    assert "(11:00-12:00 Asia/Kolkata)" in data["reasoning"]


async def test_demo_history_recommends_wednesday_9am_new_york(
    client: httpx.AsyncClient, runtime: Runtime, demo: Demo, clock: Clock
) -> None:
    headers = {"Authorization": f"Bearer {demo.api_key}"}
    response = await optimal(client, headers, businessId=demo.business_id)
    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True
    data = body["data"]
    when = local(data["scheduledDateTime"])
    assert (when.strftime("%A"), when.hour, when.minute) == ("Wednesday", 9, 0)
    # The next Wednesday after Monday 6 April 2026: 8 April, 09:00 EDT = 13:00 UTC.
    assert data["scheduledDateTime"] == "2026-04-08T13:00:00.000Z"
    assert 0.8 < data["confidence"] <= 0.95
    accounts = await demo_accounts(runtime, demo)
    samples = await sample_count(runtime, list(accounts.values()))
    assert samples > 100
    assert data["reasoning"].startswith(
        "Highest engagement for your audience on Wednesday mornings (09:00-10:00 America/New_York), "
        f"from {samples} past posts across 3 account(s)"
    )


async def test_account_ids_narrow_the_analysis(client: httpx.AsyncClient, runtime: Runtime, demo: Demo) -> None:
    headers = {"Authorization": f"Bearer {demo.api_key}"}
    accounts = await demo_accounts(runtime, demo)
    everything = (await optimal(client, headers, businessId=demo.business_id)).json()["data"]

    # The TikTok audience of the demo engages in the evening.
    tiktok = (await optimal(client, headers, businessId=demo.business_id, accountIds=accounts["tiktok"])).json()["data"]
    when = local(tiktok["scheduledDateTime"])
    assert when.hour >= 19
    tiktok_samples = await sample_count(runtime, [accounts["tiktok"]])
    assert f"from {tiktok_samples} past posts across 1 account(s)" in tiktok["reasoning"]
    # Less history, less confidence.
    assert 0.3 < tiktok["confidence"] < everything["confidence"]

    # A list, with spaces and a repeat, counts each account once.
    pair = f" {accounts['instagram']}, {accounts['linkedin']},{accounts['instagram']} "
    narrowed = (await optimal(client, headers, businessId=demo.business_id, accountIds=pair)).json()["data"]
    pair_samples = await sample_count(runtime, [accounts["instagram"], accounts["linkedin"]])
    assert f"from {pair_samples} past posts across 2 account(s)" in narrowed["reasoning"]

    # All three named is the same as none named.
    all_three = ",".join(accounts.values())
    assert (await optimal(client, headers, businessId=demo.business_id, accountIds=all_three)).json()["data"] == everything


async def test_unknown_or_foreign_accounts_and_businesses_are_404(
    client: httpx.AsyncClient, runtime: Runtime, demo: Demo
) -> None:
    headers = {"Authorization": f"Bearer {demo.api_key}"}
    other = await make_tenant(runtime.core)
    accounts = await demo_accounts(runtime, demo)

    unknown = await optimal(client, headers, businessId=demo.business_id, accountIds=f"{accounts['tiktok']},acc_nope")
    assert unknown.status_code == 404
    assert unknown.json() == {
        "error": {"message": f"Account acc_nope not found in business {demo.business_id}", "status": 404}
    }

    foreign = await optimal(client, headers, businessId=demo.business_id, accountIds=other.accounts["instagram"])
    assert foreign.status_code == 404
    assert foreign.json() == {"error": {
        "message": f"Account {other.accounts['instagram']} not found in business {demo.business_id}", "status": 404,
    }}

    business = await optimal(client, headers, businessId=other.business_id)
    assert business.status_code == 404
    assert business.json() == {"error": {"message": f"Business {other.business_id} not found", "status": 404}}

    missing = await optimal(client, headers)
    assert missing.status_code == 400
    assert missing.json() == {"error": {"message": "Invalid request: 'businessId' is required", "status": 400}}


async def test_optimal_time_needs_accounts_read(client: httpx.AsyncClient, runtime: Runtime) -> None:
    tenant = await make_tenant(runtime.core, scopes=["content:read", "content:write"])
    response = await optimal(client, tenant.headers, businessId=tenant.business_id)
    assert response.status_code == 403
    assert response.json() == {"error": {"message": "This API key lacks the required scope: accounts:read", "status": 403}}
