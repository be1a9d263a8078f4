"""The shared provider HTTP edge: retries with backoff, Retry-After, error translation, key hygiene."""

from __future__ import annotations

import httpx
import pytest

from fluxsocial_mcp.errors import ServiceUnavailable
from fluxsocial_mcp.providers.http import MalformedAnswer, ProviderClient, ProviderHttpError, RetryPolicy, retry_after

from .fakes import FakeApi, Sleeps, json_response, openai_error

KEY = "sk-secret-test-key-1234567890"


def client(api: FakeApi, sleeps: Sleeps, **extra) -> ProviderClient:  # type: ignore[no-untyped-def]
    return ProviderClient(
        provider="Test AI", base_url="https://ai.test/v1/", auth_headers={"Authorization": f"Bearer {KEY}"},
        key_setting="FLUXSOCIAL_TEXT_API_KEY", timeout=5, transport=api.transport, sleep=sleeps, **extra,
    )


async def test_5xx_then_success_backs_off_exponentially() -> None:
    api = FakeApi(json_response(500, {"error": {"message": "boom"}}), json_response(502, {}), json_response(200, {"ok": 1}))
    sleeps = Sleeps()
    assert await client(api, sleeps).post_json("/chat", {"a": 1}) == {"ok": 1}
    assert sleeps == [1.0, 2.0]
    assert [str(r.url) for r in api.requests] == ["https://ai.test/v1/chat"] * 3
    assert all(r.headers["authorization"] == f"Bearer {KEY}" for r in api.requests)


async def test_retries_are_bounded_then_503() -> None:
    api = FakeApi(*[json_response(503, {"error": {"message": "The server is overloaded"}})] * 3)
    sleeps = Sleeps()
    with pytest.raises(ProviderHttpError) as caught:
        await client(api, sleeps).post_json("/chat", {})
    assert caught.value.status == 503
    assert caught.value.message == "Test AI is unavailable (HTTP 503) after 3 attempts: The server is overloaded"
    assert len(api.requests) == 3 and sleeps == [1.0, 2.0]


async def test_a_short_retry_after_is_honoured() -> None:
    api = FakeApi(openai_error(429, "Rate limit reached", "rate_limit_exceeded", {"retry-after": "3"}),
                  json_response(200, {"ok": True}))
    sleeps = Sleeps()
    await client(api, sleeps).post_json("/chat", {})
    assert sleeps == [3.0]


async def test_openai_retry_after_ms_is_understood() -> None:
    assert retry_after(httpx.Headers({"retry-after-ms": "1500", "retry-after": "2"})) == 1.5
    assert retry_after(httpx.Headers({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"})) == 0.0
    assert retry_after(httpx.Headers({})) is None


async def test_a_long_retry_after_fails_at_once_with_503() -> None:
    api = FakeApi(openai_error(429, "You exceeded your current quota", "insufficient_quota", {"retry-after": "3600"}))
    sleeps = Sleeps()
    with pytest.raises(ServiceUnavailable) as caught:
        await client(api, sleeps).post_json("/chat", {})
    assert caught.value.message == (
        "Test AI is rate-limiting requests (HTTP 429); it asks to wait 3600 seconds: You exceeded your current quota"
    )
    assert sleeps == [] and len(api.requests) == 1


async def test_a_rejected_key_is_a_503_that_never_echoes_the_key() -> None:
    api = FakeApi(openai_error(401, f"Incorrect API key provided: {KEY}.", "invalid_api_key"))
    with pytest.raises(ProviderHttpError) as caught:
        await client(api, Sleeps()).post_json("/chat", {})
    assert caught.value.status == 503 and caught.value.status_code == 401
    assert caught.value.message == (
        "Test AI rejected the configured API key (HTTP 401); check FLUXSOCIAL_TEXT_API_KEY"
    )
    assert len(api.requests) == 1


async def test_a_provider_message_echoing_the_key_is_redacted() -> None:
    api = FakeApi(openai_error(400, f"model not found for key {KEY}", "model_not_found"))
    with pytest.raises(ProviderHttpError) as caught:
        await client(api, Sleeps()).post_json("/chat", {})
    assert KEY not in caught.value.message
    assert caught.value.message == "Test AI refused the request (HTTP 400): model not found for key [redacted]"


async def test_a_timeout_is_a_503_without_retry() -> None:
    api = FakeApi(httpx.ReadTimeout("slow"))
    sleeps = Sleeps()
    with pytest.raises(ServiceUnavailable) as caught:
        await client(api, sleeps).post_json("/chat", {})
    assert caught.value.message == "Test AI did not answer within 5 seconds"
    assert sleeps == []


async def test_connection_errors_are_retried_then_503() -> None:
    api = FakeApi(httpx.ConnectError("refused"), httpx.ConnectError("refused"))
    sleeps = Sleeps()
    with pytest.raises(ServiceUnavailable) as caught:
        await client(api, sleeps, retry=RetryPolicy(attempts=2)).post_json("/chat", {})
    assert caught.value.message == "Test AI could not be reached (ConnectError)"
    assert sleeps == [1.0]


async def test_a_2xx_that_is_not_json_is_a_malformed_answer() -> None:
    api = FakeApi(httpx.Response(200, text="<html>gateway</html>"))
    with pytest.raises(MalformedAnswer):
        await client(api, Sleeps()).post_json("/chat", {})


async def test_downloads_send_the_key_to_the_api_host_only() -> None:
    api = FakeApi(
        httpx.Response(302, headers={"location": "https://storage.example/files/v.mp4?sig=abc"}),
        httpx.Response(200, content=b"video-bytes", headers={"content-type": "video/mp4"}),
    )
    data, content_type = await client(api, Sleeps()).download("https://ai.test/v1/files/x:download?alt=media",
                                                              max_bytes=1000)
    assert (data, content_type) == (b"video-bytes", "video/mp4")
    assert api.requests[0].headers["authorization"] == f"Bearer {KEY}"
    assert str(api.requests[1].url) == "https://storage.example/files/v.mp4?sig=abc"
    assert "authorization" not in api.requests[1].headers


async def test_downloads_beyond_the_limit_are_refused() -> None:
    api = FakeApi(httpx.Response(200, content=b"x" * 2000))
    with pytest.raises(ServiceUnavailable, match="larger than 1000 bytes"):
        await client(api, Sleeps()).download("https://ai.test/v1/files/x", max_bytes=1000)


def test_the_client_repr_carries_no_secret() -> None:
    assert KEY not in repr(client(FakeApi(), Sleeps()))
