"""Every provider failure after the debit refunds exactly, as the ledger shows, and stores nothing."""

from __future__ import annotations

import json

import httpx
import pytest
from sqlalchemy import func, select

from fluxsocial_mcp.core import credits
from fluxsocial_mcp.models import GenerationSession, Media, Suggestion, SuggestionMedia

from ..factories import make_tenant
from ..media.support import png_bytes
from .fakes import (
    FakeApi,
    anthropic_error,
    b64,
    gemini_text,
    generators,
    google_error,
    json_response,
    openai_chat,
    openai_error,
    suggestions,
)


async def ledger(runtime, user_id: str) -> list[tuple[int, str]]:  # type: ignore[no-untyped-def]
    async with runtime.core.db.transaction() as session:
        entries = await credits.ledger(session, user_id)
        assert await credits.ledger_sum(session, user_id) == await credits.get_balance(session, user_id)
    return [(e.amount, e.reason) for e in reversed(entries)]


async def count(runtime, model) -> int:  # type: ignore[no-untyped-def]
    async with runtime.core.db.transaction() as session:
        return int(await session.scalar(select(func.count()).select_from(model)))


KEY = "sk-refund-test-key-0123456789"

TEXT_FAILURES = {
    "malformed twice": ({"text_provider": "openai", "text_api_key": KEY},
                        [openai_chat("not json"), openai_chat('{"suggestions": []}')], 503),
    "down": ({"text_provider": "openai", "text_api_key": KEY},
             [openai_error(503, "upstream connect error", "server_error")] * 3, 503),
    "key refused": ({"text_provider": "anthropic", "text_api_key": KEY},
                    [anthropic_error(401, "authentication_error", "invalid x-api-key")], 503),
    "rate limited": ({"text_provider": "gemini", "text_api_key": KEY},
                     [google_error(429, "RESOURCE_EXHAUSTED", "Quota exceeded")] * 3, 503),
    "timeout": ({"text_provider": "openai", "text_api_key": KEY}, [httpx.ReadTimeout("slow")], 503),
    "unreachable": ({"text_provider": "openai", "text_base_url": "http://127.0.0.1:9/v1"},
                    [httpx.ConnectError("refused")] * 3, 503),
    "safety block": ({"text_provider": "gemini", "text_api_key": KEY},
                     [gemini_text("", finish_reason="SAFETY")], 400),
}


@pytest.mark.parametrize("case", list(TEXT_FAILURES))
async def test_a_failed_text_generation_refunds_exactly(runtime, client, case) -> None:  # type: ignore[no-untyped-def]
    settings, answers, status = TEXT_FAILURES[case]
    runtime.core.text = generators(FakeApi(*answers), **settings)[0]
    tenant = await make_tenant(runtime.core)
    response = await client.post("/api/v1/content", json={"prompt": "Croissants", "businessId": tenant.business_id},
                                 headers=tenant.headers)
    assert response.status_code == status, response.text
    assert response.json()["error"]["status"] == status
    assert KEY not in response.text
    assert await ledger(runtime, tenant.user_id) == [(5000, "signup_grant"), (-20, "text_generation"),
                                                     (20, "text_refund")]
    assert await count(runtime, Suggestion) == 0 and await count(runtime, GenerationSession) == 0


async def test_a_real_provider_answer_is_stored_with_its_language(runtime, client) -> None:  # type: ignore[no-untyped-def]
    runtime.core.text = generators(FakeApi(openai_chat(json.dumps(suggestions(2, language="es")))),
                                   text_provider="openai", text_api_key=KEY)[0]
    tenant = await make_tenant(runtime.core)
    response = await client.post("/api/v1/content", json={
        "prompt": "Croissants", "businessId": tenant.business_id, "suggestionCount": 2, "language": "es",
    }, headers=tenant.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["creditsUsed"] == 20 and body["balanceAfter"] == 4980
    assert set(body["suggestions"][0]) == {"id", "title", "body", "contentFormat", "tags"}
    assert body["suggestions"][0]["tags"] == ["croissant", "bakery"]
    async with runtime.core.db.transaction() as session:
        stored = (await session.scalars(select(Suggestion))).all()
    assert {s.language for s in stored} == {"es"} and {s.generator for s in stored} == {"openai:gpt-4.1-mini"}
    assert stored[0].image_prompts == ["Close-up of an almond croissant, slide 1"]


IMAGE_FAILURES = {
    "quota": ({"image_provider": "openai", "image_api_key": KEY},
              [openai_error(429, "quota", "insufficient_quota", {"retry-after": "900"})]),
    "not an image": ({"image_provider": "openai", "image_api_key": KEY},
                     [json_response(200, {"created": 1, "data": [{"b64_json": b64(b"GIF89a-not-really")}]})]),
    "key refused": ({"image_provider": "gemini", "image_api_key": KEY},
                    [google_error(403, "PERMISSION_DENIED", "Method doesn't allow unregistered callers")]),
    "timeout": ({"image_provider": "gemini", "image_api_key": KEY}, [httpx.ConnectTimeout("slow")]),
}


@pytest.mark.parametrize("case", list(IMAGE_FAILURES))
async def test_a_failed_image_generation_refunds_exactly(runtime, client, case) -> None:  # type: ignore[no-untyped-def]
    tenant = await make_tenant(runtime.core)
    created = await client.post("/api/v1/content", json={"prompt": "Croissants", "businessId": tenant.business_id,
                                                         "suggestionCount": 1}, headers=tenant.headers)
    suggestion_id = created.json()["suggestions"][0]["id"]
    settings, answers = IMAGE_FAILURES[case]
    runtime.core.images = generators(FakeApi(*answers), **settings)[1]
    response = await client.post(f"/api/v1/content/{suggestion_id}/image", json={}, headers=tenant.headers)
    assert response.status_code == 503, response.text
    assert await ledger(runtime, tenant.user_id) == [
        (5000, "signup_grant"), (-20, "text_generation"), (-50, "image_generation"), (50, "image_refund")]
    assert await count(runtime, Media) == 0 and await count(runtime, SuggestionMedia) == 0
    assert not runtime.core.settings.media_dir.exists() or not any(runtime.core.settings.media_dir.iterdir())


async def test_a_provider_image_is_stored_by_us_as_a_normalised_jpeg(runtime, client) -> None:  # type: ignore[no-untyped-def]
    tenant = await make_tenant(runtime.core)
    created = await client.post("/api/v1/content", json={"prompt": "Croissants", "businessId": tenant.business_id,
                                                         "suggestionCount": 1}, headers=tenant.headers)
    suggestion_id = created.json()["suggestions"][0]["id"]
    api = FakeApi(json_response(200, {"predictions": [{"mimeType": "image/png",
                                                       "bytesBase64Encoded": b64(png_bytes((640, 480)))}]}))
    runtime.core.images = generators(api, image_provider="gemini", image_api_key=KEY)[1]
    response = await client.post(f"/api/v1/content/{suggestion_id}/image", json={}, headers=tenant.headers)
    assert response.status_code == 200, response.text
    assert response.json()["creditsUsed"] == 50
    url = response.json()["imageUrl"]
    assert url.startswith("http://127.0.0.1:8000/media/") and url.endswith(".jpg")
    served = await client.get(url.removeprefix("http://127.0.0.1:8000"))
    assert served.content.startswith(b"\xff\xd8\xff")
    assert api.body()["instances"][0]["prompt"]  # the suggestion's stored image prompt was sent
