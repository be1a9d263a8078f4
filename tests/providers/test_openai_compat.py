"""OpenAI Chat Completions and Images (and the servers that speak them) against a local fake."""

from __future__ import annotations

import io
import json

import httpx
import pytest
from PIL import Image

from fluxsocial_mcp.errors import BadRequest, ServiceUnavailable
from fluxsocial_mcp.providers.base import ImageRequest
from fluxsocial_mcp.providers.structured import SUGGESTIONS_SCHEMA

from ..media.support import png_bytes
from .fakes import FakeApi, Sleeps, b64, generators, json_response, openai_chat, openai_error, suggestions, text_request

KEY = "sk-test-abc123"


def openai_text(api: FakeApi, sleeps: Sleeps | None = None, **settings):  # type: ignore[no-untyped-def]
    settings = {"text_provider": "openai", "text_api_key": KEY, "text_model": "gpt-4.1-mini", **settings}
    return generators(api, sleeps, **settings)[0]


async def test_the_request_is_exactly_a_structured_chat_completion() -> None:
    api = FakeApi(openai_chat(json.dumps(suggestions(2))))
    result = await openai_text(api).generate(text_request(count=2, content_dna="tone: playful",
                                                          examples=("Best post! ☕",)))
    request = api.requests[0]
    assert request.method == "POST"
    assert str(request.url) == "https://api.openai.com/v1/chat/completions"
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert request.headers["content-type"] == "application/json"
    body = api.body()
    assert set(body) == {"model", "messages", "response_format"}  # no temperature: reasoning models refuse it
    assert body["model"] == "gpt-4.1-mini"
    assert [m["role"] for m in body["messages"]] == ["system", "user"]
    assert "tone: playful" in body["messages"][1]["content"]
    assert "Best post! ☕" in body["messages"][1]["content"]
    assert body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "social_post_suggestions", "strict": True, "schema": SUGGESTIONS_SCHEMA},
    }
    assert result.generator == "openai:gpt-4.1-mini"
    assert [s.title for s in result.suggestions] == ["Almond croissant day #1", "Almond croissant day #2"]
    assert result.suggestions[0].tags == ["croissant", "bakery"]


async def test_a_local_server_takes_no_key_and_its_base_url() -> None:
    api = FakeApi(openai_chat(json.dumps(suggestions(1))))
    text = openai_text(api, text_api_key=None, text_base_url="http://127.0.0.1:11434/v1", text_model="llama3.2")
    await text.generate(text_request(count=1))
    assert str(api.requests[0].url) == "http://127.0.0.1:11434/v1/chat/completions"
    assert "authorization" not in api.requests[0].headers
    assert api.body()["model"] == "llama3.2"


async def test_a_malformed_answer_is_retried_once() -> None:
    api = FakeApi(openai_chat('{"suggestions": [{"title": "only a title"}]}'), openai_chat(json.dumps(suggestions(2))))
    result = await openai_text(api).generate(text_request(count=2))
    assert len(result.suggestions) == 2 and len(api.requests) == 2


async def test_two_malformed_answers_are_a_503() -> None:
    api = FakeApi(openai_chat("Sure! Here are some ideas: ..."), openai_chat(json.dumps(suggestions(1))))
    with pytest.raises(ServiceUnavailable) as caught:
        await openai_text(api).generate(text_request(count=2))
    assert caught.value.status == 503
    assert caught.value.message == (
        "OpenAI-compatible text provider answered with malformed suggestions twice "
        "(asked for 2 suggestions, got 1); nothing was stored"
    )


async def test_a_truncated_answer_counts_as_malformed() -> None:
    api = FakeApi(openai_chat('{"suggestions": [', finish_reason="length"), openai_chat(json.dumps(suggestions(1))))
    assert len((await openai_text(api).generate(text_request(count=1))).suggestions) == 1


async def test_a_refusal_is_a_400() -> None:
    api = FakeApi(openai_chat("", refusal="I can't help with that."))
    with pytest.raises(BadRequest, match="declined this request: I can't help with that."):
        await openai_text(api).generate(text_request(count=1))


async def test_rate_limits_are_retried_with_backoff() -> None:
    api = FakeApi(
        openai_error(429, "Rate limit reached for gpt-4.1-mini", "rate_limit_exceeded", {"retry-after-ms": "250"}),
        openai_error(500, "The server had an error while processing your request.", "server_error"),
        openai_chat(json.dumps(suggestions(1))),
    )
    sleeps = Sleeps()
    await openai_text(api, sleeps).generate(text_request(count=1))
    assert sleeps == [0.25, 2.0]


async def test_a_wrong_key_is_a_503_naming_the_setting() -> None:
    api = FakeApi(openai_error(401, f"Incorrect API key provided: {KEY}.", "invalid_api_key"))
    with pytest.raises(ServiceUnavailable) as caught:
        await openai_text(api).generate(text_request(count=1))
    assert caught.value.message == (
        "OpenAI-compatible text provider rejected the configured API key (HTTP 401); check FLUXSOCIAL_TEXT_API_KEY"
    )


# -- images ---------------------------------------------------------------------------

IMAGE = ImageRequest(prompt="An almond croissant on a marble table", title="Croissant day",
                     business_name="The Morning Cup", content_format="IMAGE", slide_index=0, slide_count=1)


def openai_images(api: FakeApi, **settings):  # type: ignore[no-untyped-def]
    settings = {"image_provider": "openai", "image_api_key": KEY, **settings}
    return generators(api, **settings)[1]


async def test_gpt_image_answers_base64_which_is_normalised() -> None:
    api = FakeApi(json_response(200, {
        "created": 1713833628,
        "data": [{"b64_json": b64(png_bytes((1024, 1536)))}],
        "usage": {"total_tokens": 100, "input_tokens": 50, "output_tokens": 50,
                  "input_tokens_details": {"text_tokens": 10, "image_tokens": 40}},
    }))
    image = await openai_images(api).generate(IMAGE)
    assert str(api.requests[0].url) == "https://api.openai.com/v1/images/generations"
    assert api.requests[0].headers["authorization"] == f"Bearer {KEY}"
    assert api.body() == {"model": "gpt-image-1", "prompt": IMAGE.prompt, "n": 1, "size": "1024x1024"}
    assert image.content_type == "image/jpeg" and image.generator == "openai:gpt-image-1"
    assert Image.open(io.BytesIO(image.data)).size == (1080, 1080)


async def test_dall_e_is_asked_for_base64_and_a_url_answer_is_downloaded_not_stored() -> None:
    api = FakeApi(
        json_response(200, {"created": 1, "data": [{"url": "https://oaidalleapiprodscus.example/img.png?se=2026"}]}),
        httpx.Response(200, content=png_bytes(), headers={"content-type": "image/png"}),
    )
    image = await openai_images(api, image_model="dall-e-3").generate(IMAGE)
    assert api.body(0)["response_format"] == "b64_json"
    assert str(api.requests[1].url) == "https://oaidalleapiprodscus.example/img.png?se=2026"
    assert "authorization" not in api.requests[1].headers  # the key stays with the API host
    assert image.data.startswith(b"\xff\xd8\xff")


async def test_an_answer_that_is_not_an_image_is_a_503() -> None:
    api = FakeApi(json_response(200, {"created": 1, "data": [{"b64_json": b64(b"<html>nope</html>")}]}))
    with pytest.raises(ServiceUnavailable, match="not an image"):
        await openai_images(api).generate(IMAGE)


async def test_an_image_content_policy_refusal_is_a_503_with_the_reason() -> None:
    api = FakeApi(openai_error(400, "Your request was rejected as a result of our safety system.",
                               "content_policy_violation"))
    with pytest.raises(ServiceUnavailable, match="HTTP 400.*safety system"):
        await openai_images(api).generate(IMAGE)
