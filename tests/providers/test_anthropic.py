"""Anthropic Messages with a forced tool call, against a local fake."""

from __future__ import annotations

import pytest

from fluxsocial_mcp.errors import BadRequest, ServiceUnavailable
from fluxsocial_mcp.providers.structured import SUGGESTIONS_SCHEMA

from .fakes import FakeApi, Sleeps, anthropic_error, anthropic_tool_use, generators, json_response, suggestions, text_request

KEY = "sk-ant-api03-test"


def claude(api: FakeApi, sleeps: Sleeps | None = None, **settings):  # type: ignore[no-untyped-def]
    return generators(api, sleeps, text_provider="anthropic", text_api_key=KEY, **settings)[0]


async def test_the_request_is_a_messages_call_forcing_the_tool() -> None:
    api = FakeApi(anthropic_tool_use(suggestions(2, language="es")))
    result = await claude(api, text_model="claude-haiku-4-5").generate(text_request(count=2, language="es"))
    request = api.requests[0]
    assert str(request.url) == "https://api.anthropic.com/v1/messages"
    assert request.headers["x-api-key"] == KEY
    assert request.headers["anthropic-version"] == "2023-06-01"
    assert "authorization" not in request.headers
    body = api.body()
    assert body["model"] == "claude-haiku-4-5"
    assert body["max_tokens"] == 8192
    assert isinstance(body["system"], str)
    assert body["messages"] == [{"role": "user", "content": body["messages"][0]["content"]}]
    assert "'es'" in body["messages"][0]["content"]
    assert body["tools"] == [{
        "name": "social_post_suggestions",
        "description": "Submit the social media post suggestions.",
        "input_schema": SUGGESTIONS_SCHEMA,
    }]
    assert body["tool_choice"] == {"type": "tool", "name": "social_post_suggestions"}
    assert result.generator == "anthropic:claude-haiku-4-5"
    assert result.suggestions[0].title == "Día del croissant de almendra #1"
    assert result.suggestions[0].language == "es"


async def test_a_text_only_answer_is_retried_then_503() -> None:
    text_only = json_response(200, {
        "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
        "content": [{"type": "text", "text": "Here you go"}], "stop_reason": "end_turn", "stop_sequence": None,
        "usage": {"input_tokens": 10, "output_tokens": 3},
    })
    api = FakeApi(text_only, anthropic_tool_use({"suggestions": "none"}))
    with pytest.raises(ServiceUnavailable, match="malformed suggestions twice"):
        await claude(api).generate(text_request(count=1))
    assert len(api.requests) == 2


async def test_overloaded_529_is_retried() -> None:
    api = FakeApi(anthropic_error(529, "overloaded_error", "Overloaded"), anthropic_tool_use(suggestions(1)))
    sleeps = Sleeps()
    result = await claude(api, sleeps).generate(text_request(count=1))
    assert len(result.suggestions) == 1 and sleeps == [1.0]


async def test_rate_limit_honours_retry_after() -> None:
    api = FakeApi(
        anthropic_error(429, "rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit",
                        {"retry-after": "7"}),
        anthropic_tool_use(suggestions(1)),
    )
    sleeps = Sleeps()
    await claude(api, sleeps).generate(text_request(count=1))
    assert sleeps == [7.0]


async def test_an_invalid_key_is_a_503() -> None:
    api = FakeApi(anthropic_error(401, "authentication_error", "invalid x-api-key"))
    with pytest.raises(ServiceUnavailable, match="Anthropic rejected the configured API key"):
        await claude(api).generate(text_request(count=1))


async def test_a_refusal_is_a_400() -> None:
    api = FakeApi(anthropic_tool_use({}, stop_reason="refusal"))
    with pytest.raises(BadRequest):
        await claude(api).generate(text_request(count=1))
