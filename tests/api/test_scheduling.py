"""The scheduler's exactly-once rules, retries, partial failures, rescheduling and time zones."""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import select, update

from fluxsocial_mcp.app import Runtime
from fluxsocial_mcp.core import publishing
from fluxsocial_mcp.core.publishing import claim_due_targets, publish_due_posts
from fluxsocial_mcp.models import PostTarget, SandboxPost, Suggestion
from fluxsocial_mcp.platforms.base import PublishError, PublishRequest, PublishResult
from fluxsocial_mcp.scheduler import run_background_loops

from ..factories import Clock, Tenant, make_tenant
from .conftest import in_process_client, sandbox_post_count, targets_of

WHEN = datetime(2026, 4, 9, 9, 30, tzinfo=timezone.utc)


@pytest.fixture
async def tenant(runtime: Runtime) -> Tenant:
    return await make_tenant(runtime.core)


async def text_post(client: httpx.AsyncClient, tenant: Tenant) -> str:
    """A TEXT suggestion: publishable to LinkedIn without any media."""
    response = await client.post(
        "/api/v1/content",
        json={"prompt": "Morning latte art", "businessId": tenant.business_id, "contentFormat": "TEXT",
              "suggestionCount": 1},
        headers=tenant.headers,
    )
    assert response.status_code == 200, response.text
    return response.json()["suggestions"][0]["id"]


async def image_post(client: httpx.AsyncClient, tenant: Tenant) -> str:
    response = await client.post(
        "/api/v1/content",
        json={"prompt": "Morning latte art", "businessId": tenant.business_id, "suggestionCount": 1},
        headers=tenant.headers,
    )
    suggestion_id = response.json()["suggestions"][0]["id"]
    assert (await client.post(f"/api/v1/content/{suggestion_id}/image", headers=tenant.headers)).status_code == 200
    return suggestion_id


async def schedule(
    client: httpx.AsyncClient, tenant: Tenant, suggestion_id: str, platforms: list[str], when: str = "2026-04-09T09:30:00Z"
) -> httpx.Response:
    return await client.post(
        f"/api/v1/content/{suggestion_id}/schedule",
        json={"scheduledFor": when,
              "targets": [{"accountId": tenant.accounts[p], "platform": p} for p in platforms]},
        headers=tenant.headers,
    )


async def status_of(client: httpx.AsyncClient, tenant: Tenant, suggestion_id: str) -> dict:
    response = await client.get(f"/api/v1/content/{suggestion_id}/status", headers=tenant.headers)
    assert response.status_code == 200
    return response.json()


async def shorten(runtime: Runtime, suggestion_id: str) -> None:
    """Give the suggestion a body short enough for X."""
    async with runtime.core.db.transaction() as session:
        await session.execute(update(Suggestion).where(Suggestion.id == suggestion_id).values(body="Latte art, live."))


def by_platform(status: dict) -> dict[str, dict]:
    return {p["platform"]: p for p in status["platforms"]}


class FlakyPublisher:
    """Fails the platforms in ``failing``; publishes the others through the sandbox."""

    name = "sandbox"
    confirms_absence = True

    def __init__(self, sandbox, failing: set[str], error: PublishError) -> None:
        self.sandbox = sandbox
        self.failing = failing
        self.error = error
        self.calls: list[str] = []

    async def publish(self, request: PublishRequest) -> PublishResult:
        self.calls.append(request.platform)
        if request.platform in self.failing:
            raise self.error
        return await self.sandbox.publish(request)

    async def find_published(self, request: PublishRequest) -> PublishResult | None:
        return await self.sandbox.find_published(request)


# ----- claiming -------------------------------------------------------------------------


async def test_concurrent_claims_never_take_the_same_target(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, clock: Clock
) -> None:
    suggestion_ids = [await text_post(client, tenant) for _ in range(6)]
    for suggestion_id in suggestion_ids:
        assert (await schedule(client, tenant, suggestion_id, ["linkedin"])).status_code == 200
    clock.now = WHEN + timedelta(seconds=5)

    claims = await asyncio.gather(*(claim_due_targets(runtime.core, f"w{i}", limit=2) for i in range(5)))
    claimed = [target for claim in claims for target in claim]
    assert len(claimed) == len(set(claimed)) == 6
    # How the six spread over the workers depends on timing (PostgreSQL claims side by side).
    assert all(len(claim) <= 2 for claim in claims)

    async with runtime.core.db.transaction() as session:
        rows = list(await session.scalars(select(PostTarget)))
    owner = {target: f"w{i}" for i, claim in enumerate(claims) for target in claim}
    assert {row.id: (row.status, row.claimed_by, row.attempts) for row in rows} == {
        target: ("publishing", owner[target], 1) for target in claimed
    }
    # Nothing is left to claim.
    assert await claim_due_targets(runtime.core, "late") == []
    for suggestion_id in suggestion_ids:
        assert (await status_of(client, tenant, suggestion_id))["status"] == "PUBLISHING"


async def test_targets_are_not_claimed_before_their_time(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, clock: Clock
) -> None:
    suggestion_id = await text_post(client, tenant)
    assert (await schedule(client, tenant, suggestion_id, ["linkedin"])).status_code == 200
    clock.now = WHEN - timedelta(seconds=1)
    assert await claim_due_targets(runtime.core, "w1") == []
    clock.now = WHEN
    assert len(await claim_due_targets(runtime.core, "w1")) == 1


async def test_a_claim_racing_a_reschedule_never_takes_the_row_being_rescheduled(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    suggestion_id = await text_post(client, tenant)
    assert (await schedule(client, tenant, suggestion_id, ["linkedin"])).status_code == 200
    clock.now = WHEN + timedelta(seconds=1)  # due now

    # A scheduler pass runs while the reschedule is between reading the target and writing it.
    claims: list[asyncio.Task[list[str]]] = []
    check_account = publishing.owned_account

    async def racing_owned_account(*args, **kwargs):
        if not claims:
            claims.append(asyncio.create_task(claim_due_targets(runtime.core, "racer")))
            await asyncio.sleep(0.3)
        return await check_account(*args, **kwargs)

    monkeypatch.setattr(publishing, "owned_account", racing_owned_account)
    moved = await schedule(client, tenant, suggestion_id, ["linkedin"], when="2026-04-10T09:30:00Z")
    assert moved.status_code == 200, moved.text
    # The claim waited for (SQLite) or skipped (PostgreSQL) the row being rescheduled.
    assert await claims[0] == []
    monkeypatch.setattr(publishing, "owned_account", check_account)

    row = (await targets_of(runtime.core, suggestion_id))[tenant.accounts["linkedin"]]
    assert (row.status, row.claimed_by, row.scheduled_for) == (
        "scheduled", None, datetime(2026, 4, 10, 9, 30, tzinfo=timezone.utc)
    )
    assert await publish_due_posts(runtime.core, "w1") == 0
    clock.now = datetime(2026, 4, 10, 9, 30, tzinfo=timezone.utc)
    assert await publish_due_posts(runtime.core, "w1") == 1
    assert await sandbox_post_count(runtime.core) == 1


async def test_concurrent_posts_of_one_content_to_one_account_publish_once(
    runtime_with, tenant: Tenant
) -> None:
    tuned = runtime_with()
    linkedin = tenant.accounts["linkedin"]
    async with in_process_client(tuned) as client:
        suggestion_id = await text_post(client, tenant)
        responses = await asyncio.gather(*(
            client.post(
                f"/api/v1/content/{suggestion_id}/post",
                json={"targets": [{"accountId": linkedin, "platform": "linkedin"}]},
                headers=tenant.headers,
            )
            for _ in range(4)
        ))
    assert sorted(r.status_code for r in responses) == [200, 400, 400, 400]
    posted = next(r for r in responses if r.status_code == 200).json()["results"][0]
    assert posted["status"] == "success"
    for refused in (r for r in responses if r.status_code == 400):
        assert refused.json()["error"]["message"] in (
            f"This content is already publishing for linkedin account {linkedin}",
            f"This content was already posted to linkedin account {linkedin}: {posted['postUrl']}",
        )
    assert await sandbox_post_count(tuned.core) == 1


async def test_the_background_loop_publishes_due_posts_within_seconds(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, clock: Clock
) -> None:
    suggestion_id = await text_post(client, tenant)
    assert (await schedule(client, tenant, suggestion_id, ["linkedin"])).status_code == 200
    runtime.core.settings = runtime.core.settings.model_copy(update={"scheduler_interval_seconds": 0.05})
    loop = asyncio.create_task(run_background_loops(runtime.core, "bg"))
    try:
        await asyncio.sleep(0.3)
        assert (await status_of(client, tenant, suggestion_id))["status"] == "SCHEDULED"
        clock.now = WHEN
        for _ in range(100):
            status = await status_of(client, tenant, suggestion_id)
            if status["status"] not in ("SCHEDULED", "PUBLISHING"):
                break
            await asyncio.sleep(0.05)
    finally:
        loop.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await loop
    assert status["status"] == "POSTED"
    assert await sandbox_post_count(runtime.core) == 1


# ----- crash recovery -------------------------------------------------------------------


async def stall_in_publishing(runtime: Runtime, target_id: str, claimed_at: datetime) -> None:
    """What a worker that died mid-publish leaves behind."""
    async with runtime.core.db.transaction() as session:
        await session.execute(
            update(PostTarget).where(PostTarget.id == target_id)
            .values(status="publishing", claimed_by="dead-worker", claimed_at=claimed_at, attempts=1)
        )


async def test_stale_target_already_published_is_reconciled_without_posting_again(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, clock: Clock
) -> None:
    suggestion_id = await text_post(client, tenant)
    assert (await schedule(client, tenant, suggestion_id, ["linkedin"])).status_code == 200
    target = (await targets_of(runtime.core, suggestion_id))[tenant.accounts["linkedin"]]
    clock.now = WHEN + timedelta(seconds=1)
    await stall_in_publishing(runtime, target.id, clock.now)
    # The dead worker's post did reach the platform.
    async with runtime.core.db.transaction() as session:
        request = await publishing._publish_request(session, runtime.core, target)
    published = await runtime.sandbox.publish(request)

    # Within the claim timeout nothing touches it.
    clock.advance(seconds=runtime.core.settings.publish_claim_timeout_seconds - 1)
    assert await publish_due_posts(runtime.core, "w2") == 0
    assert (await status_of(client, tenant, suggestion_id))["status"] == "PUBLISHING"

    clock.advance(seconds=2)
    assert await publish_due_posts(runtime.core, "w2") == 0
    assert await sandbox_post_count(runtime.core) == 1
    status = await status_of(client, tenant, suggestion_id)
    assert status == {
        "id": suggestion_id,
        "status": "POSTED",
        "platforms": [{"platform": "linkedin", "accountId": tenant.accounts["linkedin"], "status": "success",
                       "postUrl": published.post_url}],
    }
    row = (await targets_of(runtime.core, suggestion_id))[tenant.accounts["linkedin"]]
    assert (row.platform_post_id, row.attempts, row.claimed_by) == (published.platform_post_id, 1, "w2")


async def test_stale_target_never_published_is_published_once(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, clock: Clock
) -> None:
    suggestion_id = await text_post(client, tenant)
    assert (await schedule(client, tenant, suggestion_id, ["linkedin"])).status_code == 200
    target = (await targets_of(runtime.core, suggestion_id))[tenant.accounts["linkedin"]]
    clock.now = WHEN + timedelta(seconds=1)
    await stall_in_publishing(runtime, target.id, clock.now)

    clock.advance(seconds=runtime.core.settings.publish_claim_timeout_seconds + 1)
    assert await publish_due_posts(runtime.core, "w2") == 1
    assert await publish_due_posts(runtime.core, "w3") == 0
    async with runtime.core.db.transaction() as session:
        posts = list(await session.scalars(select(SandboxPost)))
    assert [post.target_id for post in posts] == [target.id]
    status = await status_of(client, tenant, suggestion_id)
    assert status["status"] == "POSTED"
    assert status["platforms"][0]["postUrl"] == f"http://127.0.0.1:8000/sandbox/posts/{posts[0].id}"
    row = (await targets_of(runtime.core, suggestion_id))[tenant.accounts["linkedin"]]
    assert (row.status, row.attempts) == ("success", 2)


# ----- posting rules --------------------------------------------------------------------


async def test_posting_again_to_the_same_account_is_400(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant
) -> None:
    suggestion_id = await text_post(client, tenant)
    linkedin = tenant.accounts["linkedin"]
    first = await client.post(
        f"/api/v1/content/{suggestion_id}/post", json={"targets": [{"accountId": linkedin, "platform": "linkedin"}]},
        headers=tenant.headers,
    )
    post_url = first.json()["results"][0]["postUrl"]
    again = await client.post(
        f"/api/v1/content/{suggestion_id}/post", json={"targets": [{"accountId": linkedin, "platform": "linkedin"}]},
        headers=tenant.headers,
    )
    assert again.status_code == 400
    assert again.json() == {"error": {
        "message": f"This content was already posted to linkedin account {linkedin}: {post_url}", "status": 400,
    }}
    rescheduled = await schedule(client, tenant, suggestion_id, ["linkedin"])
    assert rescheduled.status_code == 400
    assert rescheduled.json() == again.json()
    assert await sandbox_post_count(runtime.core) == 1


async def test_same_account_twice_in_one_request_is_400(client: httpx.AsyncClient, tenant: Tenant) -> None:
    suggestion_id = await text_post(client, tenant)
    linkedin = tenant.accounts["linkedin"]
    response = await schedule(client, tenant, suggestion_id, ["linkedin", "linkedin"])
    assert response.status_code == 400
    assert response.json() == {"error": {"message": f"'targets' names account {linkedin} twice", "status": 400}}


async def test_failed_target_can_be_retried(client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant) -> None:
    suggestion_id = await text_post(client, tenant)
    linkedin = tenant.accounts["linkedin"]
    sandbox = runtime.core.publishers["sandbox"]
    flaky = FlakyPublisher(sandbox, {"linkedin"}, PublishError("LinkedIn rejected the token", "auth_expired"))
    runtime.core.publishers = {"sandbox": flaky}

    failed = await client.post(
        f"/api/v1/content/{suggestion_id}/post", json={"targets": [{"accountId": linkedin, "platform": "linkedin"}]},
        headers=tenant.headers,
    )
    assert failed.status_code == 200
    assert failed.json() == {"suggestionId": suggestion_id, "results": [
        {"platform": "linkedin", "accountId": linkedin, "status": "failed", "error": "LinkedIn rejected the token",
         "errorCategory": "auth_expired"},
    ]}
    assert await status_of(client, tenant, suggestion_id) == {
        "id": suggestion_id, "status": "FAILED",
        "platforms": [{"platform": "linkedin", "accountId": linkedin, "status": "failed",
                       "error": "LinkedIn rejected the token", "errorCategory": "auth_expired"}],
    }
    assert await sandbox_post_count(runtime.core) == 0

    runtime.core.publishers = {"sandbox": sandbox}
    retried = await client.post(
        f"/api/v1/content/{suggestion_id}/post", json={"targets": [{"accountId": linkedin, "platform": "linkedin"}]},
        headers=tenant.headers,
    )
    assert retried.status_code == 200
    result = retried.json()["results"][0]
    assert set(result) == {"platform", "accountId", "status", "postUrl"}
    assert result["status"] == "success"
    assert (await status_of(client, tenant, suggestion_id))["status"] == "POSTED"
    assert await sandbox_post_count(runtime.core) == 1
    assert flaky.calls == ["linkedin"]


async def test_one_failed_target_of_two_is_partially_posted(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant
) -> None:
    suggestion_id = await text_post(client, tenant)
    sandbox = runtime.core.publishers["sandbox"]
    runtime.core.publishers = {
        "sandbox": FlakyPublisher(sandbox, {"x"}, PublishError("X is over capacity", "platform_down", retryable=True))
    }
    linkedin, x = tenant.accounts["linkedin"], tenant.accounts["x"]
    await shorten(runtime, suggestion_id)
    response = await client.post(
        f"/api/v1/content/{suggestion_id}/post",
        json={"targets": [{"accountId": linkedin, "platform": "linkedin"}, {"accountId": x, "platform": "x"}]},
        headers=tenant.headers,
    )
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["platform"] for r in results] == ["linkedin", "x"]
    assert results[0]["status"] == "success" and results[0]["postUrl"].startswith("http://127.0.0.1:8000/sandbox/posts/")
    # A request-time post is not retried in the background: it fails now and can be retried by the caller.
    assert results[1] == {"platform": "x", "accountId": x, "status": "failed", "error": "X is over capacity",
                          "errorCategory": "platform_down"}
    status = await status_of(client, tenant, suggestion_id)
    assert status["status"] == "PARTIALLY_POSTED"
    assert by_platform(status) == {"linkedin": results[0], "x": results[1]}


async def test_scheduled_retryable_failure_is_retried_with_backoff(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, clock: Clock
) -> None:
    suggestion_id = await text_post(client, tenant)
    assert (await schedule(client, tenant, suggestion_id, ["linkedin"])).status_code == 200
    sandbox = runtime.core.publishers["sandbox"]
    flaky = FlakyPublisher(sandbox, {"linkedin"}, PublishError("LinkedIn is down", "platform_down", retryable=True))
    runtime.core.publishers = {"sandbox": flaky}

    clock.now = WHEN
    assert await publish_due_posts(runtime.core, "w1") == 1
    status = await status_of(client, tenant, suggestion_id)
    assert status["status"] == "SCHEDULED"
    assert status["platforms"][0]["error"] == "LinkedIn is down (retrying at 2026-04-09T09:30:30.000Z)"

    runtime.core.publishers = {"sandbox": sandbox}
    clock.advance(seconds=29)
    assert await publish_due_posts(runtime.core, "w1") == 0
    clock.advance(seconds=1)
    assert await publish_due_posts(runtime.core, "w1") == 1
    status = await status_of(client, tenant, suggestion_id)
    assert status["status"] == "POSTED"
    assert set(status["platforms"][0]) == {"platform", "accountId", "status", "postUrl"}
    assert await sandbox_post_count(runtime.core) == 1


# ----- scheduling -----------------------------------------------------------------------


async def test_rescheduling_replaces_the_time_and_drops_left_out_targets(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, clock: Clock
) -> None:
    suggestion_id = await text_post(client, tenant)
    # The generated TEXT body is too long for X: the whole request is refused, nothing is applied.
    refused = await schedule(client, tenant, suggestion_id, ["linkedin", "x"])
    assert refused.status_code == 400
    assert refused.json()["error"]["message"].startswith("X: the text is ")
    assert await status_of(client, tenant, suggestion_id) == {"id": suggestion_id, "status": "DRAFT", "platforms": []}
    await shorten(runtime, suggestion_id)

    both = await schedule(client, tenant, suggestion_id, ["linkedin", "x"])
    assert both.status_code == 200
    moved = await schedule(client, tenant, suggestion_id, ["x"], when="2026-04-10T15:00:00-04:00")
    assert moved.status_code == 200
    assert moved.json() == {
        "suggestionId": suggestion_id, "scheduledFor": "2026-04-10T19:00:00.000Z",
        "targets": [{"accountId": tenant.accounts["x"], "platform": "x"}],
    }
    status = await status_of(client, tenant, suggestion_id)
    assert status["status"] == "SCHEDULED"
    assert {p["platform"]: p["status"] for p in status["platforms"]} == {"linkedin": "cancelled", "x": "scheduled"}

    # Nothing goes out at the old time.
    clock.now = WHEN + timedelta(minutes=1)
    assert await publish_due_posts(runtime.core, "w1") == 0
    clock.now = datetime(2026, 4, 10, 19, 0, 1, tzinfo=timezone.utc)
    assert await publish_due_posts(runtime.core, "w1") == 1
    async with runtime.core.db.transaction() as session:
        platforms = list(await session.scalars(select(SandboxPost.platform)))
    assert platforms == ["x"]
    status = await status_of(client, tenant, suggestion_id)
    assert status["status"] == "POSTED"
    assert {p["platform"]: p["status"] for p in status["platforms"]} == {"linkedin": "cancelled", "x": "success"}


async def test_scheduling_with_an_offset_is_stored_and_returned_in_utc(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant
) -> None:
    suggestion_id = await text_post(client, tenant)
    response = await schedule(client, tenant, suggestion_id, ["linkedin"], when="2026-04-09T11:30:00+02:00")
    assert response.status_code == 200
    assert response.json()["scheduledFor"] == "2026-04-09T09:30:00.000Z"
    row = (await targets_of(runtime.core, suggestion_id))[tenant.accounts["linkedin"]]
    assert row.scheduled_for == WHEN
    assert row.scheduled_for.utcoffset() == timedelta(0)


async def test_post_with_scheduled_for_schedules_instead(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, clock: Clock
) -> None:
    suggestion_id = await text_post(client, tenant)
    linkedin = tenant.accounts["linkedin"]
    response = await client.post(
        f"/api/v1/content/{suggestion_id}/post",
        json={"targets": [{"accountId": linkedin, "platform": "linkedin"}], "scheduledFor": "2026-04-09T05:30:00-04:00"},
        headers=tenant.headers,
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"suggestionId": suggestion_id, "results": [
        {"platform": "linkedin", "accountId": linkedin, "status": "scheduled"},
    ]}
    assert (await targets_of(runtime.core, suggestion_id))[linkedin].scheduled_for == WHEN
    assert await sandbox_post_count(runtime.core) == 0
    clock.now = WHEN
    assert await publish_due_posts(runtime.core, "w1") == 1
    assert (await status_of(client, tenant, suggestion_id))["status"] == "POSTED"


async def test_optimal_time_across_the_dst_change_keeps_the_local_hour(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, clock: Clock
) -> None:
    zone = ZoneInfo("America/New_York")
    # Saturday 7 March 2026, noon in New York (EST); clocks go forward on Sunday 8 March.
    clock.now = datetime(2026, 3, 7, 12, 0, tzinfo=zone).astimezone(timezone.utc)
    response = await client.get(
        "/api/v1/schedule/optimal-time", params={"businessId": tenant.business_id}, headers=tenant.headers
    )
    assert response.status_code == 200
    data = response.json()["data"]
    when = datetime.fromisoformat(data["scheduledDateTime"].replace("Z", "+00:00"))
    local = when.astimezone(zone)
    # The reasoning names the recommended local window; the instant must read that hour locally.
    days = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
    window = f"{local.hour:02d}:00-{(local.hour + 1) % 24:02d}:00 America/New_York"
    assert window in data["reasoning"], data["reasoning"]
    assert days[local.weekday()] in data["reasoning"]
    assert (local.minute, local.second) == (0, 0)
    # The recommendation falls after the change, in daylight time (UTC-4).
    assert local.date() > datetime(2026, 3, 8).date()
    assert local.utcoffset() == timedelta(hours=-4)
    assert when - clock.now < timedelta(days=7)

    # The same slot a week earlier, in standard time (UTC-5), reads the same local hour.
    clock.now = datetime(2026, 2, 28, 12, 0, tzinfo=zone).astimezone(timezone.utc)
    earlier = (await client.get(
        "/api/v1/schedule/optimal-time", params={"businessId": tenant.business_id}, headers=tenant.headers
    )).json()["data"]
    before = datetime.fromisoformat(earlier["scheduledDateTime"].replace("Z", "+00:00"))
    assert before.astimezone(zone).utcoffset() == timedelta(hours=-5)
    assert before.astimezone(zone).hour == local.hour
    assert when - before == timedelta(days=7) - timedelta(hours=1)


@pytest.mark.parametrize("process_tz", [None, "UTC", "America/New_York", "Asia/Kolkata"])
async def test_scheduled_times_across_the_dst_change_do_not_depend_on_the_process_timezone(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, clock: Clock, process_tz: str | None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """New York springs forward at 2026-03-08 07:00Z (02:00 EST → 03:00 EDT)."""
    if process_tz is None:
        monkeypatch.delenv("TZ", raising=False)
    else:
        monkeypatch.setenv("TZ", process_tz)
    time.tzset()
    try:
        clock.now = datetime(2026, 3, 8, 6, 0, tzinfo=timezone.utc)
        before, after = await text_post(client, tenant), await text_post(client, tenant)
        # 01:45 EST, before the change, and 03:30 EDT, after it: 105 minutes apart, not 165.
        assert (await schedule(client, tenant, before, ["linkedin"], "2026-03-08T01:45:00-05:00")).status_code == 200
        response = await schedule(client, tenant, after, ["linkedin"], "2026-03-08T03:30:00-04:00")
        assert response.json()["scheduledFor"] == "2026-03-08T07:30:00.000Z"

        clock.now = datetime(2026, 3, 8, 6, 44, 59, tzinfo=timezone.utc)
        assert await publish_due_posts(runtime.core, "w1") == 0
        clock.now = datetime(2026, 3, 8, 6, 45, tzinfo=timezone.utc)
        assert await publish_due_posts(runtime.core, "w1") == 1
        clock.now = datetime(2026, 3, 8, 7, 29, 59, tzinfo=timezone.utc)
        assert await publish_due_posts(runtime.core, "w1") == 0
        assert (await status_of(client, tenant, after))["status"] == "SCHEDULED"
        clock.now = datetime(2026, 3, 8, 7, 30, tzinfo=timezone.utc)
        assert await publish_due_posts(runtime.core, "w1") == 1
        published = {
            suggestion_id: (await targets_of(runtime.core, suggestion_id))[tenant.accounts["linkedin"]].published_at
            for suggestion_id in (before, after)
        }
        assert published == {
            before: datetime(2026, 3, 8, 6, 45, tzinfo=timezone.utc),
            after: datetime(2026, 3, 8, 7, 30, tzinfo=timezone.utc),
        }
    finally:
        monkeypatch.undo()
        time.tzset()


async def test_a_video_outside_the_platform_aspect_range_is_refused_before_publishing(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, tmp_path
) -> None:
    import subprocess

    import imageio_ffmpeg

    from fluxsocial_mcp import ids as id_factory
    from fluxsocial_mcp.models import SuggestionMedia

    clip = tmp_path / "tall.mp4"
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "lavfi", "-i",
                    "color=c=blue:s=360x1280:d=1", "-pix_fmt", "yuv420p", str(clip)], check=True)
    suggestion_id = await text_post(client, tenant)
    data = clip.read_bytes()
    media_id, filename = await runtime.core.media.write(data, "video/mp4")
    async with runtime.core.db.transaction() as session:
        media = runtime.core.media.record(session, media_id=media_id, filename=filename, user_id=tenant.user_id,
                                          data=data, content_type="video/mp4", kind="video", origin="test")
        await session.flush()
        assert (media.width, media.height) == (360, 1280)
        session.add(SuggestionMedia(id=id_factory.new_id("sme"), suggestion_id=suggestion_id, order_index=0,
                                    kind="video", media_id=media_id))
        suggestion = await session.get(Suggestion, suggestion_id)
        suggestion.content_format = "VIDEO"
    response = await client.post(
        f"/api/v1/content/{suggestion_id}/post",
        json={"targets": [{"accountId": tenant.accounts["x"], "platform": "x"}]}, headers=tenant.headers,
    )
    assert response.status_code == 400
    assert response.json() == {"error": {
        "message": "X: a video must be between 1:3 and 3:1 (width:height); this one is 360×1280", "status": 400,
    }}
    assert await sandbox_post_count(runtime.core) == 0
