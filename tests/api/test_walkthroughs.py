"""The public docs' two end-to-end walkthroughs, over real HTTP against a running server."""

from __future__ import annotations

import html
import re
from datetime import datetime, timezone
from io import BytesIO

import httpx
from PIL import Image

from fluxsocial_mcp.core.publishing import publish_due_posts
from fluxsocial_mcp.platforms.rules import compose_caption

from ..conftest import LiveServer
from ..factories import Clock, Tenant, make_tenant
from .conftest import balance_of, ledger_rows, ledger_total, sandbox_post_count

ID = r"[A-Za-z0-9_-]{22}"


def parse_utc(text: str) -> datetime:
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", text), text
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


async def generate_with_image(http: httpx.AsyncClient, tenant: Tenant, prompt: str = "Morning latte art") -> str:
    created = await http.post(
        "/api/v1/content",
        json={"prompt": prompt, "businessId": tenant.business_id, "contentFormat": "IMAGE", "suggestionCount": 1},
    )
    assert created.status_code == 200, created.text
    suggestion_id = created.json()["suggestions"][0]["id"]
    image = await http.post(f"/api/v1/content/{suggestion_id}/image")
    assert image.status_code == 200, image.text
    return suggestion_id


async def test_generate_image_and_post_to_instagram(live_server: LiveServer) -> None:
    core = live_server.runtime.core
    tenant = await make_tenant(core)
    async with httpx.AsyncClient(base_url=live_server.url, headers=tenant.headers) as http:
        # Step 1: the business id.
        businesses = await http.get("/api/v1/businesses")
        assert businesses.status_code == 200
        assert businesses.json() == {
            "businesses": [{"id": tenant.business_id, "name": "The Morning Cup", "type": "cafe", "industry": "food"}]
        }

        # Step 2: generate content.
        created = await http.post(
            "/api/v1/content",
            json={"prompt": "Morning latte art", "businessId": tenant.business_id, "contentFormat": "IMAGE"},
        )
        assert created.status_code == 200, created.text
        generated = created.json()
        assert set(generated) == {"sessionId", "suggestions", "creditsUsed", "balanceAfter"}
        assert re.fullmatch(f"ses_{ID}", generated["sessionId"])
        assert generated["creditsUsed"] == 20
        assert generated["balanceAfter"] == 4980
        suggestions = generated["suggestions"]
        assert len(suggestions) == 4  # the documented default suggestionCount
        assert len({s["id"] for s in suggestions}) == 4
        for suggestion in suggestions:
            assert set(suggestion) == {"id", "title", "body", "contentFormat", "tags"}
            assert re.fullmatch(f"sug_{ID}", suggestion["id"])
            assert isinstance(suggestion["title"], str) and suggestion["title"].strip()
            assert isinstance(suggestion["body"], str) and suggestion["body"].strip()
            assert suggestion["contentFormat"] == "IMAGE"
            assert suggestion["tags"] and all(isinstance(t, str) and t and not t.startswith("#") for t in suggestion["tags"])
        chosen = suggestions[0]
        suggestion_id = chosen["id"]

        # Step 3: generate an image, served by the server as a 1080x1080 JPEG.
        image = await http.post(f"/api/v1/content/{suggestion_id}/image")
        assert image.status_code == 200, image.text
        assert set(image.json()) == {"imageUrl", "creditsUsed"}
        assert image.json()["creditsUsed"] == 50
        image_url = image.json()["imageUrl"]
        assert re.fullmatch(re.escape(live_server.url) + f"/media/med_{ID}\\.jpg", image_url)
        served = await http.get(image_url)
        assert served.status_code == 200
        assert served.headers["content-type"] == "image/jpeg"
        with Image.open(BytesIO(served.content)) as picture:
            assert (picture.format, picture.size) == ("JPEG", (1080, 1080))

        # Step 4: post to Instagram.
        instagram = tenant.accounts["instagram"]
        posted = await http.post(
            f"/api/v1/content/{suggestion_id}/post", json={"targets": [{"accountId": instagram, "platform": "instagram"}]}
        )
        assert posted.status_code == 200, posted.text
        result = posted.json()
        assert result["suggestionId"] == suggestion_id
        assert len(result["results"]) == 1
        post_url = result["results"][0]["postUrl"]
        assert result["results"] == [
            {"platform": "instagram", "accountId": instagram, "status": "success", "postUrl": post_url}
        ]
        assert re.fullmatch(re.escape(live_server.url) + f"/sandbox/posts/sbx_{ID}", post_url)

        page = await http.get(post_url)
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        text = html.unescape(page.text)
        assert compose_caption(chosen["body"], chosen["tags"]) in text
        assert f'src="{image_url}"' in page.text
        assert "@morningcup_instagram" in text
        assert page.headers["x-frame-options"] == "DENY"
        assert "script-src" not in page.headers["content-security-policy"]  # default-src 'none': no scripts

        content = await http.get(f"/api/v1/content/{suggestion_id}")
        assert content.status_code == 200
        assert content.json() == {**chosen, "images": [{"imageUrl": image_url, "orderIndex": 0}]}

        status = await http.get(f"/api/v1/content/{suggestion_id}/status")
        assert status.json() == {
            "id": suggestion_id,
            "status": "POSTED",
            "platforms": [{"platform": "instagram", "accountId": instagram, "status": "success", "postUrl": post_url}],
        }

        balance = await http.get("/api/v1/credits/balance")
        assert balance.json() == {"balance": 4930}
    assert await ledger_total(core, tenant.user_id) == 4930 == await balance_of(core, tenant.user_id)
    assert await ledger_rows(core, tenant.user_id) == [
        (5000, "signup_grant", None),
        (-20, "text_generation", generated["sessionId"]),
        (-50, "image_generation", suggestion_id),
    ]


async def test_schedule_at_the_optimal_time_publishes_exactly_once(live_server: LiveServer, clock: Clock) -> None:
    core = live_server.runtime.core
    tenant = await make_tenant(core)
    instagram = tenant.accounts["instagram"]
    async with httpx.AsyncClient(base_url=live_server.url, headers=tenant.headers) as http:
        suggestion_id = await generate_with_image(http, tenant)

        # Step 1: the optimal posting time.
        optimal = await http.get("/api/v1/schedule/optimal-time", params={"businessId": tenant.business_id})
        assert optimal.status_code == 200, optimal.text
        body = optimal.json()
        assert body["success"] is True
        assert set(body["data"]) == {"scheduledDateTime", "confidence", "reasoning"}
        when_text = body["data"]["scheduledDateTime"]
        when = parse_utc(when_text)
        assert when > clock.now
        assert 0.0 <= body["data"]["confidence"] <= 1.0
        assert body["data"]["reasoning"]

        # Step 2: schedule the post at that time.
        targets = [{"accountId": instagram, "platform": "instagram"}]
        scheduled = await http.post(
            f"/api/v1/content/{suggestion_id}/schedule", json={"scheduledFor": when_text, "targets": targets}
        )
        assert scheduled.status_code == 200, scheduled.text
        assert scheduled.json() == {"suggestionId": suggestion_id, "scheduledFor": when_text, "targets": targets}

        status = await http.get(f"/api/v1/content/{suggestion_id}/status")
        assert status.json() == {
            "id": suggestion_id,
            "status": "SCHEDULED",
            "platforms": [{"platform": "instagram", "accountId": instagram, "status": "scheduled"}],
        }

        # Before its time, a scheduler pass leaves it alone.
        assert await publish_due_posts(core, "w1") == 0
        assert await sandbox_post_count(core) == 0

        clock.now = when.replace(second=1)
        assert await publish_due_posts(core, "w1") == 1

        status = await http.get(f"/api/v1/content/{suggestion_id}/status")
        platforms = status.json()["platforms"]
        assert status.json()["status"] == "POSTED"
        assert len(platforms) == 1
        post_url = platforms[0]["postUrl"]
        assert platforms == [{"platform": "instagram", "accountId": instagram, "status": "success", "postUrl": post_url}]
        page = await http.get(post_url)
        assert page.status_code == 200
        assert await sandbox_post_count(core) == 1

        # A second pass publishes nothing more.
        clock.advance(minutes=10)
        assert await publish_due_posts(core, "w1") == 0
        assert await sandbox_post_count(core) == 1
        assert (await http.get(f"/api/v1/content/{suggestion_id}/status")).json()["platforms"][0]["postUrl"] == post_url


async def test_cancelled_schedule_is_never_published(live_server: LiveServer, clock: Clock) -> None:
    core = live_server.runtime.core
    tenant = await make_tenant(core)
    instagram = tenant.accounts["instagram"]
    async with httpx.AsyncClient(base_url=live_server.url, headers=tenant.headers) as http:
        suggestion_id = await generate_with_image(http, tenant)
        when = datetime(2026, 4, 9, 9, 30, tzinfo=timezone.utc)
        scheduled = await http.post(
            f"/api/v1/content/{suggestion_id}/schedule",
            json={"scheduledFor": "2026-04-09T09:30:00.000Z", "targets": [{"accountId": instagram, "platform": "instagram"}]},
        )
        assert scheduled.status_code == 200, scheduled.text

        cancelled = await http.delete(f"/api/v1/content/{suggestion_id}/post")
        assert cancelled.status_code == 200
        assert cancelled.json() == {"suggestionId": suggestion_id, "cancelled": True}

        status = await http.get(f"/api/v1/content/{suggestion_id}/status")
        assert status.json() == {
            "id": suggestion_id,
            "status": "CANCELLED",
            "platforms": [{"platform": "instagram", "accountId": instagram, "status": "cancelled"}],
        }

        clock.now = when.replace(minute=31)
        assert await publish_due_posts(core, "w1") == 0
        assert await sandbox_post_count(core) == 0
        assert (await http.get(f"/api/v1/content/{suggestion_id}/status")).json()["status"] == "CANCELLED"

        again = await http.delete(f"/api/v1/content/{suggestion_id}/post")
        assert again.status_code == 400
        assert again.json() == {
            "error": {"message": "Only scheduled posts can be cancelled; this content is CANCELLED", "status": 400}
        }
