"""Google Gemini (text), Imagen and Gemini image models, against a local fake."""

from __future__ import annotations

import json

import pytest

from fluxsocial_mcp.errors import BadRequest, ServiceUnavailable
from fluxsocial_mcp.providers.base import ImageRequest

from ..media.support import png_bytes
from .fakes import FakeApi, Sleeps, b64, gemini_text, generators, google_error, json_response, suggestions, text_request

KEY = "AIzaSy-test-key"
IMAGE = ImageRequest(prompt="Latte art swan, top view", title="Swan", business_name="The Morning Cup",
                     content_format="CAROUSEL", slide_index=1, slide_count=5)


def gemini(api: FakeApi, sleeps: Sleeps | None = None, **settings):  # type: ignore[no-untyped-def]
    return generators(api, sleeps, **{"text_provider": "gemini", "text_api_key": KEY, **settings})


async def test_the_request_asks_for_json_with_a_response_schema() -> None:
    api = FakeApi(gemini_text(json.dumps(suggestions(2, language="he"))))
    result = await gemini(api)[0].generate(text_request(count=2, language="he"))
    request = api.requests[0]
    assert str(request.url) == (
        "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:generateContent"
    )
    assert request.headers["x-goog-api-key"] == KEY
    assert "key=" not in str(request.url)
    body = api.body()
    assert body["systemInstruction"]["parts"][0]["text"].startswith("You are an experienced")
    assert body["contents"][0]["role"] == "user" and "'he'" in body["contents"][0]["parts"][0]["text"]
    config = body["generationConfig"]
    assert config["responseMimeType"] == "application/json"
    schema = config["responseSchema"]
    assert schema["type"] == "OBJECT" and "additionalProperties" not in schema
    item = schema["properties"]["suggestions"]["items"]
    assert item["type"] == "OBJECT"
    assert item["propertyOrdering"] == ["title", "body", "tags", "imagePrompts", "language"]
    assert item["properties"]["tags"] == {"type": "ARRAY", "items": {"type": "STRING"},
                                          "description": "3 to 8 hashtags without the # sign."}
    assert result.generator == "gemini:gemini-2.5-flash"
    assert result.suggestions[0].title == "יום קרואסון השקדים #1" and result.suggestions[0].language == "he"


async def test_malformed_then_valid_answer_succeeds() -> None:
    api = FakeApi(gemini_text('{"suggestions": [{"title": 5}]}'), gemini_text(json.dumps(suggestions(1))))
    assert len((await gemini(api)[0].generate(text_request(count=1))).suggestions) == 1


async def test_a_blocked_prompt_is_a_400_without_retry() -> None:
    api = FakeApi(json_response(200, {"promptFeedback": {"blockReason": "SAFETY", "safetyRatings": []},
                                      "usageMetadata": {"promptTokenCount": 8, "totalTokenCount": 8}}))
    with pytest.raises(BadRequest, match=r"blocked this prompt \(SAFETY\)"):
        await gemini(api)[0].generate(text_request(count=1))
    assert len(api.requests) == 1


async def test_resource_exhausted_is_retried_then_503() -> None:
    exhausted = google_error(429, "RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota).")
    api = FakeApi(exhausted, exhausted, exhausted)
    sleeps = Sleeps()
    with pytest.raises(ServiceUnavailable) as caught:
        await gemini(api, sleeps)[0].generate(text_request(count=1))
    assert caught.value.message == (
        "Google Gemini is rate-limiting requests (HTTP 429): Resource has been exhausted (e.g. check quota)."
    )
    assert sleeps == [1.0, 2.0]


async def test_google_reports_a_bad_key_as_400_api_key_invalid() -> None:
    api = FakeApi(google_error(400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.",
                               reason="API_KEY_INVALID"))
    with pytest.raises(ServiceUnavailable) as caught:
        await gemini(api)[0].generate(text_request(count=1))
    assert caught.value.message == (
        "Google Gemini rejected the configured API key (HTTP 400); check FLUXSOCIAL_TEXT_API_KEY"
    )


async def test_imagen_predict_reuses_the_text_key() -> None:
    api = FakeApi(json_response(200, {"predictions": [{"mimeType": "image/png", "bytesBase64Encoded": b64(png_bytes())}]}))
    image = await gemini(api, image_provider="gemini")[1].generate(IMAGE)
    request = api.requests[0]
    assert str(request.url) == (
        "https://generativelanguage.googleapis.com/v1beta/models/imagen-4.0-generate-001:predict"
    )
    assert request.headers["x-goog-api-key"] == KEY
    assert api.body() == {"instances": [{"prompt": "Latte art swan, top view"}],
                          "parameters": {"sampleCount": 1, "aspectRatio": "1:1"}}
    assert image.content_type == "image/jpeg" and image.generator == "gemini:imagen-4.0-generate-001"


async def test_imagen_filtering_the_image_is_a_400() -> None:
    api = FakeApi(json_response(200, {}))
    with pytest.raises(BadRequest, match="safety"):
        await gemini(api, image_provider="gemini")[1].generate(IMAGE)


async def test_gemini_image_models_answer_inline_data() -> None:
    api = FakeApi(json_response(200, {"candidates": [{
        "content": {"role": "model", "parts": [
            {"text": "Here is your swan."},
            {"inlineData": {"mimeType": "image/png", "data": b64(png_bytes())}},
        ]},
        "finishReason": "STOP", "index": 0,
    }]}))
    images = gemini(api, image_provider="imagen", image_model="gemini-2.5-flash-image")[1]
    image = await images.generate(IMAGE)
    assert str(api.requests[0].url).endswith("/models/gemini-2.5-flash-image:generateContent")
    assert api.body()["generationConfig"] == {"responseModalities": ["IMAGE"]}
    assert image.data.startswith(b"\xff\xd8\xff")
