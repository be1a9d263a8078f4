"""Every documented error status, with its exact JSON body and headers."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from http.server import BaseHTTPRequestHandler
from io import BytesIO
from typing import Any

import httpx
import pytest
from PIL import Image
from sqlalchemy import select, update

from fluxsocial_mcp import ids
from fluxsocial_mcp.app import Runtime
from fluxsocial_mcp.core import keys
from fluxsocial_mcp.errors import ServiceUnavailable
from fluxsocial_mcp.models import Business, GenerationSession, SocialAccount, Suggestion
from fluxsocial_mcp.core.video import advance_video_operations
from fluxsocial_mcp.providers.base import (
    GeneratedImage,
    GeneratedText,
    ImageRequest,
    TextRequest,
    VideoProgress,
    VideoRequest,
)

from ..conftest import LiveServer
from ..factories import Clock, Tenant, make_tenant
from ..media.support import TLSServer, jpeg_bytes, mp4_bytes, png_bytes, serve_bytes
from .conftest import balance_of, in_process_client, ledger_rows, ledger_total


def error(message: str, status: int, **extras: Any) -> dict[str, Any]:
    return {"error": {"message": message, "status": status, **extras}}


async def generate(client: httpx.AsyncClient, tenant: Tenant, content_format: str = "IMAGE", count: int = 1) -> str:
    response = await client.post(
        "/api/v1/content",
        json={"prompt": "Morning latte art", "businessId": tenant.business_id, "contentFormat": content_format,
              "suggestionCount": count},
        headers=tenant.headers,
    )
    assert response.status_code == 200, response.text
    return response.json()["suggestions"][0]["id"]


# ----- 400 ------------------------------------------------------------------------------


@pytest.fixture
async def tenant(runtime: Runtime) -> Tenant:
    return await make_tenant(runtime.core)


async def test_malformed_json_is_400(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await client.post(
        "/api/v1/content", content=b'{"prompt": "latte", ', headers={**tenant.headers, "Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json() == error(
        "Malformed JSON body: Expecting property name enclosed in double quotes: line 1 column 21 (char 20)", 400
    )


@pytest.mark.parametrize("body", [b"[]", b'["prompt"]', b"null", b'"prompt"', b"42"])
async def test_a_json_body_that_is_not_an_object_is_400(client: httpx.AsyncClient, tenant: Tenant, body: bytes) -> None:
    response = await client.post(
        "/api/v1/content", content=body, headers={**tenant.headers, "Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json() == error("The request body must be a JSON object", 400)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"suggestionCount": "4"}, "Invalid request: 'suggestionCount' input should be a valid integer"),
        ({"suggestionCount": 7}, "Invalid request: 'suggestionCount' input should be less than or equal to 6"),
        ({"suggestionCount": 0}, "Invalid request: 'suggestionCount' input should be greater than or equal to 1"),
        ({"suggestionCount": True}, "Invalid request: 'suggestionCount' input should be a valid integer"),
        ({"prompt": None}, "Invalid request: 'prompt' input should be a valid string"),
        ({"prompt": ""}, "Invalid request: 'prompt' string should have at least 1 character"),
        ({"prompt": "   "}, "Invalid request: 'prompt' must not be blank"),
        (
            {"contentFormat": "GIF"},
            "Invalid request: 'contentFormat' input should be 'IMAGE', 'VIDEO', 'CAROUSEL', 'REEL', 'STORY' or 'TEXT'",
        ),
        ({"useContentDNA": "yes"}, "Invalid request: 'useContentDNA' input should be a valid boolean"),
        ({"language": "english"}, "Invalid request: 'language' must be a two-letter ISO 639-1 language code such as en, es or he"),
        ({"language": "xx"}, "Invalid request: 'language' must be a two-letter ISO 639-1 language code such as en, es or he"),
        ({"language": "ja"}, "'language' ja is not one the offline-composer text generator writes (de, en, es, fr, he, it, pt); configure an AI provider for other languages"),
        ({"prompt": "latte\u0000art"}, "Invalid request: 'prompt' must not contain NUL (U+0000) characters"),
        ({"prompt": "x" * 4001}, "Invalid request: 'prompt' string should have at most 4000 characters"),
    ],
)
async def test_invalid_generate_content_fields_are_400_naming_the_field(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, change: dict[str, Any], message: str
) -> None:
    body = {"prompt": "Morning latte art", "businessId": tenant.business_id, **change}
    response = await client.post("/api/v1/content", json=body, headers=tenant.headers)
    assert response.status_code == 400
    assert response.json() == error(message, 400)
    assert await balance_of(runtime.core, tenant.user_id) == 5000


async def test_missing_required_fields_are_listed(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await client.post("/api/v1/content", json={"contentFormat": "IMAGE"}, headers=tenant.headers)
    assert response.status_code == 400
    assert response.json() == error("Invalid request: 'prompt' is required; 'businessId' is required", 400)

    preview = await client.get("/api/v1/credits/cost-preview", headers=tenant.headers)
    assert preview.status_code == 400
    assert preview.json() == error("Invalid request: 'type' is required", 400)


async def test_unknown_json_fields_are_ignored(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await client.post(
        "/api/v1/content",
        json={"prompt": "Morning latte art", "businessId": tenant.business_id, "suggestionCount": 2,
              "temperature": 0.9, "model": "gpt-x", "nested": {"a": [1]}},
        headers=tenant.headers,
    )
    assert response.status_code == 200, response.text
    assert len(response.json()["suggestions"]) == 2
    assert response.json()["balanceAfter"] == 4980


@pytest.mark.parametrize(
    ("scheduled_for", "message"),
    [
        ("2026-04-09T09:30:00", "Invalid request: 'scheduledFor' must carry a timezone offset (Z or ±HH:MM)"),
        ("next tuesday", "Invalid request: 'scheduledFor' must be an ISO 8601 datetime such as 2026-04-09T09:30:00Z"),
        (
            "2026-04-06T11:00:00Z",
            "'scheduledFor' must be in the future (it is 2026-04-06T11:00:00.000Z, now is 2026-04-06T12:00:00.000Z)",
        ),
        ("2027-04-07T12:00:00Z", "'scheduledFor' must be within one year from now"),
    ],
)
async def test_bad_schedule_times_are_400(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, scheduled_for: str, message: str
) -> None:
    suggestion_id = await generate(client, tenant, "TEXT")
    targets = [{"accountId": tenant.accounts["linkedin"], "platform": "linkedin"}]
    for path in ("schedule", "post"):
        response = await client.post(
            f"/api/v1/content/{suggestion_id}/{path}",
            json={"scheduledFor": scheduled_for, "targets": targets},
            headers=tenant.headers,
        )
        assert response.status_code == 400, path
        assert response.json() == error(message, 400)
    status = await client.get(f"/api/v1/content/{suggestion_id}/status", headers=tenant.headers)
    assert status.json() == {"id": suggestion_id, "status": "DRAFT", "platforms": []}


async def test_schedule_just_within_a_year_is_accepted(client: httpx.AsyncClient, tenant: Tenant) -> None:
    suggestion_id = await generate(client, tenant, "TEXT")
    response = await client.post(
        f"/api/v1/content/{suggestion_id}/schedule",
        json={"scheduledFor": "2027-04-06T11:59:00Z",
              "targets": [{"accountId": tenant.accounts["linkedin"], "platform": "linkedin"}]},
        headers=tenant.headers,
    )
    assert response.status_code == 200, response.text
    assert response.json()["scheduledFor"] == "2027-04-06T11:59:00.000Z"


async def test_target_platform_mismatch_is_400(client: httpx.AsyncClient, tenant: Tenant) -> None:
    suggestion_id = await generate(client, tenant, "TEXT")
    linkedin = tenant.accounts["linkedin"]
    response = await client.post(
        f"/api/v1/content/{suggestion_id}/post",
        json={"targets": [{"accountId": linkedin, "platform": "x"}]},
        headers=tenant.headers,
    )
    assert response.status_code == 400
    assert response.json() == error(f"'targets.0.platform' is x, but account {linkedin} is on linkedin", 400)


async def test_unknown_platform_name_is_400(client: httpx.AsyncClient, tenant: Tenant) -> None:
    suggestion_id = await generate(client, tenant, "TEXT")
    response = await client.post(
        f"/api/v1/content/{suggestion_id}/post",
        json={"targets": [{"accountId": tenant.accounts["x"], "platform": "myspace"}]},
        headers=tenant.headers,
    )
    assert response.status_code == 400
    assert response.json() == error(
        "Invalid request: 'targets.0.platform' input should be 'instagram', 'facebook', 'tiktok', 'linkedin', "
        "'x' or 'threads'",
        400,
    )


async def test_tiktok_refuses_an_image_post(client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant) -> None:
    suggestion_id = await generate(client, tenant, "IMAGE")
    assert (await client.post(f"/api/v1/content/{suggestion_id}/image", headers=tenant.headers)).status_code == 200
    response = await client.post(
        f"/api/v1/content/{suggestion_id}/post",
        json={"targets": [{"accountId": tenant.accounts["tiktok"], "platform": "tiktok"}]},
        headers=tenant.headers,
    )
    assert response.status_code == 400
    assert response.json() == error("TikTok accepts video only; this content is IMAGE", 400)
    status = await client.get(f"/api/v1/content/{suggestion_id}/status", headers=tenant.headers)
    assert status.json()["status"] == "DRAFT"


async def test_instagram_refuses_content_without_media(client: httpx.AsyncClient, tenant: Tenant) -> None:
    suggestion_id = await generate(client, tenant, "IMAGE")
    response = await client.post(
        f"/api/v1/content/{suggestion_id}/post",
        json={"targets": [{"accountId": tenant.accounts["instagram"], "platform": "instagram"}]},
        headers=tenant.headers,
    )
    assert response.status_code == 400
    assert response.json() == error(
        "Instagram needs media and this content has none: generate an image first (POST /content/{id}/image)", 400
    )


async def test_x_refuses_a_caption_over_280_characters(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant
) -> None:
    suggestion_id = await generate(client, tenant, "TEXT")
    x = tenant.accounts["x"]
    async with runtime.core.db.transaction() as session:
        await session.execute(
            update(Suggestion).where(Suggestion.id == suggestion_id).values(body="Latte art. " * 30, tags=["coffee"])
        )
    response = await client.post(
        f"/api/v1/content/{suggestion_id}/post", json={"targets": [{"accountId": x, "platform": "x"}]},
        headers=tenant.headers,
    )
    assert response.status_code == 400
    # 329 characters of body (trailing space trimmed) + "\n\n#coffee".
    assert response.json() == error("X: the text is 338 characters with its hashtags; the limit is 280", 400)

    # The same content fits LinkedIn's 3,000.
    linkedin = tenant.accounts["linkedin"]
    ok = await client.post(
        f"/api/v1/content/{suggestion_id}/post", json={"targets": [{"accountId": linkedin, "platform": "linkedin"}]},
        headers=tenant.headers,
    )
    assert ok.status_code == 200
    assert ok.json()["results"][0]["status"] == "success"


# ----- 401 ------------------------------------------------------------------------------


UNAUTHORIZED_HEADER = 'Bearer realm="fluxsocial"'


async def test_missing_authorization_is_401_with_bearer_challenge(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await client.get("/api/v1/credits/balance")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == UNAUTHORIZED_HEADER
    assert response.json() == error("Missing API key: send Authorization: Bearer fsx_live_…", 401)

    basic = await client.get("/api/v1/credits/balance", headers={"Authorization": f"Basic {tenant.key}"})
    assert basic.status_code == 401
    assert basic.json() == error("Missing API key: send Authorization: Bearer fsx_live_…", 401)


@pytest.mark.parametrize("secret", ["fsx_live_" + "A" * 43, "not-a-key", "fsx_test_"])
async def test_unknown_key_is_401(client: httpx.AsyncClient, tenant: Tenant, secret: str) -> None:
    response = await client.get("/api/v1/credits/balance", headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == UNAUTHORIZED_HEADER
    assert response.json() == error("Invalid, revoked or expired API key", 401)
    assert "x-ratelimit-limit" not in response.headers


async def test_revoked_key_is_401_at_once(client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant) -> None:
    assert (await client.get("/api/v1/credits/balance", headers=tenant.headers)).status_code == 200
    async with runtime.core.db.transaction() as session:
        await keys.revoke_api_key(session, tenant.key_id, runtime.core.now())
    response = await client.get("/api/v1/credits/balance", headers=tenant.headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == UNAUTHORIZED_HEADER
    assert response.json() == error("Invalid, revoked or expired API key", 401)


async def test_expired_key_is_401(client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, clock: Clock) -> None:
    async with runtime.core.db.transaction() as session:
        created = await keys.create_api_key(
            session, tenant.user_id, "short-lived", expires_at=clock.now + timedelta(hours=1), now=clock.now
        )
    headers = {"Authorization": f"Bearer {created.secret}"}
    assert (await client.get("/api/v1/credits/balance", headers=headers)).json() == {"balance": 5000}
    clock.advance(hours=1)
    response = await client.get("/api/v1/credits/balance", headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == UNAUTHORIZED_HEADER
    assert response.json() == error("Invalid, revoked or expired API key", 401)


@pytest.mark.parametrize("param", ["api_key", "apikey", "access_token", "token", "key"])
async def test_key_in_the_query_string_is_refused(client: httpx.AsyncClient, tenant: Tenant, param: str) -> None:
    message = "API keys are accepted only in the Authorization header (Bearer), never in the URL"
    response = await client.get("/api/v1/credits/balance", params={param: tenant.key})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == UNAUTHORIZED_HEADER
    assert response.json() == error(message, 401)
    # Even alongside a valid header, a key in the URL is refused (it has leaked into logs).
    both = await client.get("/api/v1/credits/balance", params={param: tenant.key}, headers=tenant.headers)
    assert both.status_code == 401
    assert both.json() == error(message, 401)


async def test_key_in_the_body_is_not_used(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await client.post(
        "/api/v1/content", json={"apiKey": tenant.key, "prompt": "latte", "businessId": tenant.business_id}
    )
    assert response.status_code == 401
    assert response.json() == error("Missing API key: send Authorization: Bearer fsx_live_…", 401)


# ----- 402 ------------------------------------------------------------------------------


async def test_insufficient_credits_is_402_with_current_balance(client: httpx.AsyncClient, runtime: Runtime) -> None:
    poor = await make_tenant(runtime.core, credits=10)
    response = await client.post(
        "/api/v1/content", json={"prompt": "Morning latte art", "businessId": poor.business_id}, headers=poor.headers
    )
    assert response.status_code == 402
    assert response.json() == error(
        "Insufficient credits: this operation costs 20 credits, your balance is 10", 402, currentBalance=10
    )
    assert response.headers["x-ratelimit-limit"] == "10"
    assert await balance_of(runtime.core, poor.user_id) == 10
    assert await ledger_rows(runtime.core, poor.user_id) == [(10, "signup_grant", None)]
    async with runtime.core.db.transaction() as session:
        assert list(await session.scalars(select(GenerationSession.id))) == []


async def test_insufficient_credits_for_an_image_is_402(client: httpx.AsyncClient, runtime: Runtime) -> None:
    tenant = await make_tenant(runtime.core, credits=60)
    suggestion_id = await generate(client, tenant)
    response = await client.post(f"/api/v1/content/{suggestion_id}/image", headers=tenant.headers)
    assert response.status_code == 402
    assert response.json() == error(
        "Insufficient credits: this operation costs 50 credits, your balance is 40", 402, currentBalance=40
    )
    content = await client.get(f"/api/v1/content/{suggestion_id}", headers=tenant.headers)
    assert content.json()["images"] == []
    assert await ledger_total(runtime.core, tenant.user_id) == 40 == await balance_of(runtime.core, tenant.user_id)


# ----- 403 ------------------------------------------------------------------------------


async def test_key_without_the_scope_is_403_naming_it(client: httpx.AsyncClient, runtime: Runtime) -> None:
    reader = await make_tenant(runtime.core, scopes=["credits:read"])
    response = await client.post(
        "/api/v1/content", json={"prompt": "Morning latte art", "businessId": reader.business_id}, headers=reader.headers
    )
    assert response.status_code == 403
    assert response.json() == error("This API key lacks the required scope: content:write", 403)
    assert await balance_of(runtime.core, reader.user_id) == 5000

    for method, path, scope in [
        ("GET", "/api/v1/businesses", "businesses:read"),
        ("GET", "/api/v1/accounts", "accounts:read"),
        ("GET", "/api/v1/content/sug_x", "content:read"),
        ("POST", "/api/v1/content/sug_x/post", "post:write"),
        ("DELETE", "/api/v1/content/sug_x/post", "post:write"),
    ]:
        denied = await client.request(method, path, headers=reader.headers)
        assert denied.status_code == 403, path
        assert denied.json() == error(f"This API key lacks the required scope: {scope}", 403)
    assert (await client.get("/api/v1/credits/balance", headers=reader.headers)).json() == {"balance": 5000}


# ----- 404 ------------------------------------------------------------------------------


async def test_other_users_resources_are_404(client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant) -> None:
    other = await make_tenant(runtime.core)
    theirs = await generate(client, other)
    mine = await generate(client, tenant, "TEXT")

    for method, path in [
        ("GET", f"/api/v1/content/{theirs}"),
        ("GET", f"/api/v1/content/{theirs}/status"),
        ("POST", f"/api/v1/content/{theirs}/image"),
        ("DELETE", f"/api/v1/content/{theirs}/post"),
    ]:
        response = await client.request(method, path, headers=tenant.headers)
        assert response.status_code == 404, path
        assert response.json() == error(f"Content {theirs} not found", 404)

    business = await client.post(
        "/api/v1/content", json={"prompt": "latte", "businessId": other.business_id}, headers=tenant.headers
    )
    assert business.status_code == 404
    assert business.json() == error(f"Business {other.business_id} not found", 404)

    accounts = await client.get("/api/v1/accounts", params={"businessId": other.business_id}, headers=tenant.headers)
    assert accounts.json() == error(f"Business {other.business_id} not found", 404)

    their_account = other.accounts["linkedin"]
    target = await client.post(
        f"/api/v1/content/{mine}/post",
        json={"targets": [{"accountId": their_account, "platform": "linkedin"}]},
        headers=tenant.headers,
    )
    assert target.status_code == 404
    assert target.json() == error(f"Account {their_account} not found", 404)

    video = await client.get("/api/v1/video/op_doesnotexist", headers=tenant.headers)
    assert video.status_code == 404
    assert video.json() == error("Video operation op_doesnotexist not found", 404)

    # Nothing of theirs was touched, nothing of mine charged beyond the generation.
    assert await balance_of(runtime.core, tenant.user_id) == 4980
    assert await balance_of(runtime.core, other.user_id) == 4980


async def test_a_key_restricted_to_one_business_sees_no_other(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant
) -> None:
    async with runtime.core.db.transaction() as session:
        second = Business(id=ids.new_id(ids.BUSINESS), user_id=tenant.user_id, name="Night Owl Bar", type="bar",
                          industry="food", timezone="Europe/Paris", language="fr")
        session.add(second)
        await session.flush()
        bar_account = SocialAccount(id=ids.new_id(ids.ACCOUNT), user_id=tenant.user_id, business_id=second.id,
                                    platform="linkedin", connection="sandbox", username="Night Owl", followers=10)
        session.add(bar_account)
        await session.flush()
        restricted = await keys.create_api_key(
            session, tenant.user_id, "cafe only", business_ids=[tenant.business_id], now=runtime.core.now()
        )
    headers = {"Authorization": f"Bearer {restricted.secret}"}

    everything = (await client.get("/api/v1/businesses", headers=tenant.headers)).json()["businesses"]
    assert {b["id"] for b in everything} == {tenant.business_id, second.id}
    assert (await client.get("/api/v1/businesses", headers=headers)).json() == {"businesses": [
        {"id": tenant.business_id, "name": "The Morning Cup", "type": "cafe", "industry": "food"},
    ]}
    accounts = (await client.get("/api/v1/accounts", headers=headers)).json()["accounts"]
    assert sorted(a["id"] for a in accounts) == sorted(tenant.accounts.values())

    not_found = error(f"Business {second.id} not found", 404)
    for response in (
        await client.post("/api/v1/content", json={"prompt": "latte", "businessId": second.id}, headers=headers),
        await client.get("/api/v1/accounts", params={"businessId": second.id}, headers=headers),
        await client.get("/api/v1/schedule/optimal-time", params={"businessId": second.id}, headers=headers),
    ):
        assert response.status_code == 404
        assert response.json() == not_found

    bar_post = await generate(client, tenant, "TEXT")
    async with runtime.core.db.transaction() as session:
        await session.execute(update(Suggestion).where(Suggestion.id == bar_post).values(business_id=second.id))
    hidden = await client.get(f"/api/v1/content/{bar_post}", headers=headers)
    assert hidden.json() == error(f"Content {bar_post} not found", 404)
    cafe_post = await generate(client, tenant, "TEXT")
    target = await client.post(
        f"/api/v1/content/{cafe_post}/post", json={"targets": [{"accountId": bar_account.id, "platform": "linkedin"}]},
        headers=headers,
    )
    assert target.json() == error(f"Account {bar_account.id} not found", 404)
    assert await balance_of(runtime.core, tenant.user_id) == 4960


async def test_unknown_endpoint_is_404_in_the_error_format(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await client.get("/api/v1/nothing-here", headers=tenant.headers)
    assert response.status_code == 404
    assert response.json() == error("No such endpoint: GET /api/v1/nothing-here", 404)


# ----- 429 ------------------------------------------------------------------------------


async def test_rate_limit_headers_on_every_authenticated_response(client: httpx.AsyncClient, tenant: Tenant) -> None:
    before = int(time.time())
    balance = await client.get("/api/v1/credits/balance", headers=tenant.headers)
    generated = await client.post(
        "/api/v1/content", json={"prompt": "latte", "businessId": tenant.business_id, "suggestionCount": 1},
        headers=tenant.headers,
    )
    image = await client.post(f"/api/v1/content/{generated.json()['suggestions'][0]['id']}/image", headers=tenant.headers)
    businesses = await client.get("/api/v1/businesses", headers=tenant.headers)
    for response, limit, remaining in [(balance, 60, 59), (generated, 10, 9), (image, 5, 4), (businesses, 60, 58)]:
        assert response.status_code == 200
        assert response.headers["x-ratelimit-limit"] == str(limit)
        assert response.headers["x-ratelimit-remaining"] == str(remaining)
        reset = int(response.headers["x-ratelimit-reset"])
        assert before < reset <= before + 3601


async def test_general_budget_exhausted_is_429(runtime_with: Callable[..., Runtime], runtime: Runtime) -> None:
    tuned = runtime_with(rate_limit_general=2)
    tenant = await make_tenant(tuned.core)
    async with in_process_client(tuned) as client:
        first = await client.get("/api/v1/credits/balance", headers=tenant.headers)
        second = await client.get("/api/v1/businesses", headers=tenant.headers)
        third = await client.get("/api/v1/credits/balance", headers=tenant.headers)
        assert [first.headers["x-ratelimit-remaining"], second.headers["x-ratelimit-remaining"]] == ["1", "0"]
        assert third.status_code == 429
        retry_after = third.json()["error"]["retryAfter"]
        assert isinstance(retry_after, int) and 0 < retry_after <= 3600
        assert third.json() == error(
            f"Rate limit exceeded. Try again in {retry_after} seconds", 429, retryAfter=retry_after
        )
        assert third.headers["retry-after"] == str(retry_after)
        assert third.headers["x-ratelimit-limit"] == "2"
        assert third.headers["x-ratelimit-remaining"] == "0"
        assert abs(int(third.headers["x-ratelimit-reset"]) - (int(time.time()) + retry_after)) <= 2

        # The other buckets are separate budgets.
        content = await client.post(
            "/api/v1/content", json={"prompt": "latte", "businessId": tenant.business_id, "suggestionCount": 1},
            headers=tenant.headers,
        )
        assert content.status_code == 200
        assert content.headers["x-ratelimit-limit"] == "10"

        # A second key of the same user has its own budget.
        async with tuned.core.db.transaction() as session:
            other = await keys.create_api_key(session, tenant.user_id, "second", now=tuned.core.now())
        fresh = await client.get("/api/v1/credits/balance", headers={"Authorization": f"Bearer {other.secret}"})
        assert fresh.status_code == 200
        assert fresh.json() == {"balance": 4980}


async def test_content_budget_exhausted_is_429_without_charging(runtime_with: Callable[..., Runtime]) -> None:
    tuned = runtime_with(rate_limit_content=1)
    tenant = await make_tenant(tuned.core)
    async with in_process_client(tuned) as client:
        body = {"prompt": "latte", "businessId": tenant.business_id, "suggestionCount": 1}
        assert (await client.post("/api/v1/content", json=body, headers=tenant.headers)).status_code == 200
        limited = await client.post("/api/v1/content", json=body, headers=tenant.headers)
    assert limited.status_code == 429
    assert limited.json()["error"]["status"] == 429
    assert limited.headers["x-ratelimit-limit"] == "1"
    assert await balance_of(tuned.core, tenant.user_id) == 4980


async def test_repeated_failed_authentication_is_429_per_address(
    runtime_with: Callable[..., Runtime],
) -> None:
    tuned = runtime_with(rate_limit_auth_failures=3)
    tenant = await make_tenant(tuned.core)
    bad = {"Authorization": "Bearer fsx_live_" + "B" * 43}
    async with in_process_client(tuned, client=("198.51.100.9", 5000)) as attacker:
        statuses = [(await attacker.get("/api/v1/credits/balance", headers=bad)).status_code for _ in range(3)]
        assert statuses == [401, 401, 401]
        blocked = await attacker.get("/api/v1/credits/balance", headers=bad)
        assert blocked.status_code == 429
        retry_after = blocked.json()["error"]["retryAfter"]
        assert 0 < retry_after <= 60
        assert blocked.json() == error(
            "Too many failed authentication attempts; try again later", 429, retryAfter=retry_after
        )
        assert blocked.headers["retry-after"] == str(retry_after)
        # Blocked even with a real key: the address is what is limited.
        assert (await attacker.get("/api/v1/credits/balance", headers=tenant.headers)).status_code == 429
    async with in_process_client(tuned, client=("198.51.100.10", 5000)) as neighbour:
        assert (await neighbour.get("/api/v1/credits/balance", headers=tenant.headers)).json() == {"balance": 5000}


# ----- 500 and 503 ----------------------------------------------------------------------


class BrokenText:
    name = "broken"

    def __init__(self, exc: Exception) -> None:
        self.exc = exc
        self.calls = 0

    async def generate(self, request: TextRequest) -> GeneratedText:
        self.calls += 1
        raise self.exc


async def test_unexpected_provider_failure_is_500_without_internals_and_refunded(live_server: LiveServer) -> None:
    core = live_server.runtime.core
    tenant = await make_tenant(core)
    broken = BrokenText(RuntimeError("secret internal detail at /srv/fluxsocial/providers.py line 42"))
    core.text = broken
    async with httpx.AsyncClient(base_url=live_server.url, headers=tenant.headers) as http:
        response = await http.post("/api/v1/content", json={"prompt": "latte", "businessId": tenant.business_id})
        assert response.status_code == 500
        assert response.json() == error("Internal server error", 500)
        assert "secret" not in response.text and "Traceback" not in response.text
        assert broken.calls == 1
        assert (await http.get("/api/v1/credits/balance")).json() == {"balance": 5000}
    rows = await ledger_rows(core, tenant.user_id)
    assert [(amount, reason) for amount, reason, _ in rows] == [
        (5000, "signup_grant"), (-20, "text_generation"), (20, "text_refund"),
    ]
    assert rows[1][2] == rows[2][2] and rows[1][2].startswith("ses_")
    assert await ledger_total(core, tenant.user_id) == 5000 == await balance_of(core, tenant.user_id)
    async with core.db.transaction() as session:
        assert list(await session.scalars(select(GenerationSession.id))) == []


async def test_provider_down_is_503_and_refunded(client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant) -> None:
    runtime.core.text = BrokenText(ServiceUnavailable("The text model is temporarily unavailable"))
    response = await client.post(
        "/api/v1/content", json={"prompt": "latte", "businessId": tenant.business_id}, headers=tenant.headers
    )
    assert response.status_code == 503
    assert response.json() == error("The text model is temporarily unavailable", 503)
    assert response.headers["x-ratelimit-limit"] == "10"
    assert [(a, r) for a, r, _ in await ledger_rows(runtime.core, tenant.user_id)] == [
        (5000, "signup_grant"), (-20, "text_generation"), (20, "text_refund"),
    ]
    assert await balance_of(runtime.core, tenant.user_id) == 5000


class DownImages:
    name = "down"

    async def generate(self, request: ImageRequest) -> GeneratedImage:
        raise ServiceUnavailable("The image model is temporarily unavailable")


async def test_image_provider_down_is_503_and_refunded(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant
) -> None:
    suggestion_id = await generate(client, tenant)
    runtime.core.images = DownImages()
    response = await client.post(f"/api/v1/content/{suggestion_id}/image", headers=tenant.headers)
    assert response.status_code == 503
    assert response.json() == error("The image model is temporarily unavailable", 503)
    assert response.headers["x-ratelimit-limit"] == "5"
    assert (await client.get(f"/api/v1/content/{suggestion_id}", headers=tenant.headers)).json()["images"] == []
    assert [(a, r) for a, r, _ in await ledger_rows(runtime.core, tenant.user_id)] == [
        (5000, "signup_grant"), (-20, "text_generation"), (-50, "image_generation"), (50, "image_refund"),
    ]
    assert await balance_of(runtime.core, tenant.user_id) == 4980 == await ledger_total(runtime.core, tenant.user_id)


class RefusingVideo:
    name = "refusing"

    async def start(self, request: VideoRequest) -> str:
        return "handle-1"

    async def poll(self, handle: str) -> VideoProgress:
        return VideoProgress(status="failed", error="The model refused the prompt")


async def test_video_that_fails_later_is_refunded_once(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant
) -> None:
    runtime.core.video = RefusingVideo()
    started = await client.post("/api/v1/video", json={"prompt": "A latte being poured"}, headers=tenant.headers)
    assert started.status_code == 200
    operation_id = started.json()["operationId"]
    assert started.json() == {"operationId": operation_id, "status": "processing"}
    assert await balance_of(runtime.core, tenant.user_id) == 4500

    assert await advance_video_operations(runtime.core, "w1") == 1
    assert await advance_video_operations(runtime.core, "w1") == 0
    status = await client.get(f"/api/v1/video/{operation_id}", headers=tenant.headers)
    assert status.json() == {"operationId": operation_id, "status": "failed", "error": "The model refused the prompt"}
    assert await ledger_rows(runtime.core, tenant.user_id) == [
        (5000, "signup_grant", None), (-500, "video_generation", operation_id), (500, "video_refund", operation_id),
    ]
    assert await balance_of(runtime.core, tenant.user_id) == 5000


# ----- upload-media: 408, 413, 415, SSRF, success ---------------------------------------


@pytest.fixture
def lab(runtime: Runtime, tls_server: TLSServer) -> TLSServer:
    """Let the runtime's media fetches trust the local TLS test server, with short limits."""
    runtime.core.settings = runtime.core.settings.model_copy(
        update={
            "media_fetch_ca_bundle": tls_server.ca_bundle,
            "media_fetch_timeout_seconds": 1.0,
            "media_max_image_bytes": 256 * 1024,
            "media_max_video_bytes": 512 * 1024,
        }
    )
    return tls_server


def upload_body(tenant: Tenant, url: str, **extra: Any) -> dict[str, Any]:
    return {"mediaUrl": url, "businessId": tenant.business_id, "caption": "Fresh beans today", "contentFormat": "IMAGE",
            **extra}


async def test_slow_media_server_is_408(client: httpx.AsyncClient, tenant: Tenant, lab: TLSServer) -> None:
    def slow(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "image/jpeg")
        handler.end_headers()
        handler.wfile.write(jpeg_bytes()[:100])
        handler.wfile.flush()
        lab.state.stop.wait(5)

    lab.state.routes["/slow.jpg"] = slow
    started = time.monotonic()
    response = await client.post(
        "/api/v1/content/upload-media", json=upload_body(tenant, lab.url("/slow.jpg")), headers=tenant.headers
    )
    assert response.status_code == 408
    assert response.json() == error("Downloading mediaUrl took longer than 1 seconds", 408)
    assert time.monotonic() - started < 4


async def test_oversized_streamed_media_is_413(client: httpx.AsyncClient, tenant: Tenant, lab: TLSServer) -> None:
    def endless(handler: BaseHTTPRequestHandler) -> None:
        # No Content-Length and no end: only counting while streaming can stop this (else it would be a 408).
        handler.send_response(200)
        handler.send_header("Content-Type", "image/jpeg")
        handler.end_headers()
        chunk = b"\x00" * 16384
        try:
            handler.wfile.write(jpeg_bytes()[:64])
            while not lab.state.stop.is_set():
                handler.wfile.write(chunk)
        except OSError:
            pass

    lab.state.routes["/huge.jpg"] = endless
    response = await client.post(
        "/api/v1/content/upload-media", json=upload_body(tenant, lab.url("/huge.jpg")), headers=tenant.headers
    )
    assert response.status_code == 413
    assert response.json() == error("The media exceeds the size limit of 256 KB", 413)


async def test_declared_oversize_is_413_before_downloading(
    client: httpx.AsyncClient, tenant: Tenant, lab: TLSServer
) -> None:
    lab.state.routes["/big.png"] = serve_bytes(png_bytes((900, 900)) + b"\x00" * 600_000, "image/png")
    response = await client.post(
        "/api/v1/content/upload-media", json=upload_body(tenant, lab.url("/big.png")), headers=tenant.headers
    )
    assert response.status_code == 413
    assert response.json() == error("The media exceeds the size limit of 512 KB", 413)


async def test_html_claiming_to_be_jpeg_is_415(client: httpx.AsyncClient, tenant: Tenant, lab: TLSServer) -> None:
    page = b"<!doctype html><html><head><title>Not an image</title></head><body>" + b"x" * 500 + b"</body></html>"
    lab.state.routes["/photo.jpg"] = serve_bytes(page, "image/jpeg")
    response = await client.post(
        "/api/v1/content/upload-media", json=upload_body(tenant, lab.url("/photo.jpg")), headers=tenant.headers
    )
    assert response.status_code == 415
    assert response.json() == error(
        "The file is neither a supported image (JPEG, PNG, GIF, WebP) nor a supported video (MP4, MOV, WebM)", 415
    )


async def test_media_urls_to_private_addresses_are_refused(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, lab: TLSServer
) -> None:
    lab.state.routes["/photo.jpg"] = serve_bytes(jpeg_bytes(), "image/jpeg")
    runtime.core.settings = runtime.core.settings.model_copy(update={"media_fetch_allow_private": False})
    for url, message in [
        (lab.url("/photo.jpg", host="127.0.0.1"),
         "mediaUrl points to a loopback address, which media downloads may not reach"),
        (lab.url("/photo.jpg", host="localhost"),
         "mediaUrl points to a loopback address, which media downloads may not reach"),
        ("https://169.254.169.254/latest/meta-data/",
         "mediaUrl points to a cloud metadata address, which media downloads may not reach"),
        (f"http://127.0.0.1:{lab.port}/photo.jpg", "mediaUrl must be an absolute https:// URL"),
    ]:
        response = await client.post(
            "/api/v1/content/upload-media", json=upload_body(tenant, url), headers=tenant.headers
        )
        assert response.status_code == 400, url
        assert response.json() == error(message, 400)
    assert lab.state.host_headers == []


def oriented_jpeg() -> bytes:
    """400x200: red left half, blue right half; EXIF says rotate 90° clockwise, and carries a GPS tag."""
    image = Image.new("RGB", (400, 200), (0, 0, 255))
    image.paste((255, 0, 0), (0, 0, 200, 200))
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90 CW to display
    exif[0x010F] = "SecretCam"  # Make
    out = BytesIO()
    image.save(out, format="JPEG", exif=exif.tobytes(), quality=95)
    return out.getvalue()


async def test_uploaded_image_is_normalised_and_stripped(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, lab: TLSServer
) -> None:
    lab.state.routes["/photo.jpg"] = serve_bytes(oriented_jpeg(), "image/jpeg")
    response = await client.post(
        "/api/v1/content/upload-media",
        json=upload_body(tenant, lab.url("/photo.jpg"), caption="Our new single-origin beans, roasted this morning "
                         "in small batches", tags=["#coffee", "beans"]),
        headers=tenant.headers,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"suggestionId", "sessionId", "contentFormat", "mediaUrl", "creditsUsed"}
    assert body["suggestionId"].startswith("sug_") and body["sessionId"].startswith("ses_")
    assert (body["contentFormat"], body["creditsUsed"]) == ("IMAGE", 0)
    assert body["mediaUrl"].startswith("http://127.0.0.1:8000/media/med_") and body["mediaUrl"].endswith(".jpg")

    served = await client.get(body["mediaUrl"].removeprefix("http://127.0.0.1:8000"))
    assert served.status_code == 200
    with Image.open(BytesIO(served.content)) as picture:
        assert (picture.format, picture.size) == ("JPEG", (1080, 1080))
        assert "exif" not in picture.info
        assert dict(picture.getexif()) == {}
        # The orientation was applied: the red half is now on top.
        top, bottom = picture.convert("RGB").getpixel((540, 100)), picture.convert("RGB").getpixel((540, 980))
    assert top[0] > 200 and top[2] < 60
    assert bottom[2] > 200 and bottom[0] < 60
    assert b"SecretCam" not in served.content

    content = await client.get(f"/api/v1/content/{body['suggestionId']}", headers=tenant.headers)
    assert content.json() == {
        "id": body["suggestionId"],
        "title": "Our new single-origin beans, roasted this morning ",
        "body": "Our new single-origin beans, roasted this morning in small batches",
        "contentFormat": "IMAGE",
        "tags": ["coffee", "beans"],
        "images": [{"imageUrl": body["mediaUrl"], "orderIndex": 0}],
    }
    assert await balance_of(runtime.core, tenant.user_id) == 5000


async def test_carousel_upload_keeps_slide_order(client: httpx.AsyncClient, tenant: Tenant, lab: TLSServer) -> None:
    lab.state.routes["/one.png"] = serve_bytes(png_bytes((300, 300), (255, 0, 0)), "image/png")
    lab.state.routes["/two.jpg"] = serve_bytes(jpeg_bytes((500, 300), (0, 0, 255)), "image/jpeg")
    response = await client.post(
        "/api/v1/content/upload-media",
        json={"mediaUrls": [lab.url("/one.png"), lab.url("/two.jpg")], "businessId": tenant.business_id,
              "caption": "Two views", "contentFormat": "CAROUSEL", "title": "Two"},
        headers=tenant.headers,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["contentFormat"] == "CAROUSEL"
    content = (await client.get(f"/api/v1/content/{body['suggestionId']}", headers=tenant.headers)).json()
    images = content["images"]
    assert [image["orderIndex"] for image in images] == [0, 1]
    assert images[0]["imageUrl"] == body["mediaUrl"]
    colours = []
    for image in images:
        served = await client.get(image["imageUrl"].removeprefix("http://127.0.0.1:8000"))
        with Image.open(BytesIO(served.content)) as picture:
            assert (picture.format, picture.size) == ("JPEG", (1080, 1080))
            colours.append(picture.convert("RGB").getpixel((540, 540)))
    assert colours[0][0] > 200 and colours[1][2] > 200
    assert content["title"] == "Two"

    # A carousel of two images can go to Instagram.
    posted = await client.post(
        f"/api/v1/content/{body['suggestionId']}/post",
        json={"targets": [{"accountId": tenant.accounts["instagram"], "platform": "instagram"}]},
        headers=tenant.headers,
    )
    assert posted.json()["results"][0]["status"] == "success"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"mediaUrls": ["https://a.example/1.jpg"], "contentFormat": "CAROUSEL"},
         "Invalid request: 'mediaUrls' list should have at least 2 items after validation, not 1"),
        ({"contentFormat": "CAROUSEL"}, "'mediaUrls' is required for CAROUSEL: 2-10 image URLs"),
        ({"contentFormat": "TEXT"}, "Invalid request: 'contentFormat' input should be 'IMAGE', 'VIDEO', 'CAROUSEL', "
                                    "'REEL' or 'STORY'"),
        ({"caption": ""}, "Invalid request: 'caption' string should have at least 1 character"),
        ({"mediaUrl": "ftp://example.com/a.jpg"}, "mediaUrl must be an absolute https:// URL"),
    ],
)
async def test_invalid_upload_fields_are_400(
    client: httpx.AsyncClient, tenant: Tenant, change: dict[str, Any], message: str
) -> None:
    response = await client.post(
        "/api/v1/content/upload-media", json=upload_body(tenant, "https://media.example.com/a.jpg", **change),
        headers=tenant.headers,
    )
    assert response.status_code == 400
    assert response.json() == error(message, 400)


async def test_uploaded_video_is_stored_as_is_and_goes_to_tiktok(
    client: httpx.AsyncClient, tenant: Tenant, lab: TLSServer
) -> None:
    clip = mp4_bytes(mdat_size=20_000)
    lab.state.routes["/clip.mp4"] = serve_bytes(clip, "application/octet-stream")
    lab.state.routes["/photo.png"] = serve_bytes(png_bytes(), "video/mp4")

    wrong = await client.post(
        "/api/v1/content/upload-media", json=upload_body(tenant, lab.url("/photo.png"), contentFormat="VIDEO"),
        headers=tenant.headers,
    )
    assert wrong.status_code == 415
    assert wrong.json() == error("contentFormat VIDEO needs video, but the media is image (image/png)", 415)

    response = await client.post(
        "/api/v1/content/upload-media", json=upload_body(tenant, lab.url("/clip.mp4"), contentFormat="VIDEO"),
        headers=tenant.headers,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["mediaUrl"].endswith(".mp4")
    served = await client.get(body["mediaUrl"].removeprefix("http://127.0.0.1:8000"))
    assert served.content == clip
    assert served.headers["content-type"] == "video/mp4"
    # A video has no images.
    assert (await client.get(f"/api/v1/content/{body['suggestionId']}", headers=tenant.headers)).json()["images"] == []

    posted = await client.post(
        f"/api/v1/content/{body['suggestionId']}/post",
        json={"targets": [{"accountId": tenant.accounts["tiktok"], "platform": "tiktok"}]},
        headers=tenant.headers,
    )
    assert posted.status_code == 200, posted.text
    result = posted.json()["results"][0]
    assert result["status"] == "success"
    page = await client.get(result["postUrl"].removeprefix("http://127.0.0.1:8000"))
    assert f'<video src="{body["mediaUrl"]}"' in page.text
    assert "Fresh beans today" in page.text


async def test_a_deeply_nested_body_is_400_not_500(client, tenant) -> None:  # type: ignore[no-untyped-def]
    response = await client.post(
        "/api/v1/content", content="[" * 5000 + "]" * 5000,
        headers={**tenant.headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json() == {"error": {"message": "Malformed JSON body: nested too deeply", "status": 400}}


async def test_a_refused_call_reports_but_does_not_spend_the_budget(client, tenant) -> None:  # type: ignore[no-untyped-def]
    bad = await client.post("/api/v1/content", json={"businessId": tenant.business_id}, headers=tenant.headers)
    assert bad.status_code == 400
    assert (bad.headers["x-ratelimit-limit"], bad.headers["x-ratelimit-remaining"]) == ("10", "10")
    good = await client.post(
        "/api/v1/content", json={"prompt": "Latte art", "businessId": tenant.business_id}, headers=tenant.headers
    )
    assert good.headers["x-ratelimit-remaining"] == "9"


async def test_a_nul_character_anywhere_is_refused_as_bad_input(client, tenant) -> None:  # type: ignore[no-untyped-def]
    # Past the API's own validation (a path id here), the database layer refuses it the same way.
    response = await client.get("/api/v1/content/sug_%00x", headers=tenant.headers)
    assert response.status_code in (400, 404)
    registered = await client.post("/oauth/register", json={
        "client_name": "Evil\u0000client", "redirect_uris": ["https://app.example/cb"], "token_endpoint_auth_method": "none",
    })
    assert registered.status_code == 400
    assert registered.json() == {"error": {"message": "Text must not contain NUL (U+0000) characters", "status": 400}}
