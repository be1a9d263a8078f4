"""The HTTP edge every real AI provider shares: timeouts, bounded retries, error translation.

Whatever goes wrong on the wire leaves this module as one of::

    ServiceUnavailable              503  the provider is down, slow, rate-limiting or refusing the key
    ├── ProviderHttpError                a final HTTP error answer; ``status_code`` says which
    └── MalformedAnswer                  the provider answered, but not with what was asked for

so the core refunds the credits it took and the REST/MCP edges render a 503.

Retries: 429, 408, 5xx (and Anthropic's 529 "overloaded") and connection failures
are retried with exponential backoff, at most ``RetryPolicy.attempts`` tries in
all. A ``Retry-After`` the provider sends is honoured when it is short; a long one
ends the call at once, since no API caller waits minutes for a post draft. A
timeout is not retried: the caller has already waited the whole timeout.

The API key travels only to the configured base URL's origin: a redirect, or a
download link on another host, is followed without it. Error messages never
carry the key, even when a provider echoes it back.
"""

from __future__ import annotations

import email.utils
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

import anyio
import httpx

from ..errors import ServiceUnavailable

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]
RETRYABLE_STATUS = frozenset({408, 429, 500, 502, 503, 504, 529})
MAX_REDIRECTS = 5
# How much of a provider's own error message is passed on to our caller.
MESSAGE_LIMIT = 240


class ProviderHttpError(ServiceUnavailable):
    """The provider answered with a final HTTP error (after any retries)."""

    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


class MalformedAnswer(ServiceUnavailable):
    """The provider answered 2xx, but the answer is unusable (bad JSON, schema violated …)."""


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 3
    base_delay: float = 1.0
    max_delay: float = 8.0
    # A Retry-After longer than this is not waited for: the call fails at once.
    max_retry_after: float = 20.0

    def backoff(self, attempt: int) -> float:
        """The pause after failed try number ``attempt`` (1-based): 1 s, 2 s, 4 s … capped."""
        return min(self.max_delay, self.base_delay * 2 ** (attempt - 1))


@dataclass
class ProviderClient:
    """Talks to one provider's HTTP API.

    Args:
        provider: a human name for messages and logs ("OpenAI-compatible text").
        base_url: the API root the paths are joined to, e.g. ``https://api.openai.com/v1``.
        auth_headers: the headers that carry the secret; sent to ``base_url``'s origin only.
        key_setting: the setting to point at when the key is refused.
        headers: other headers sent with every request (``anthropic-version`` …).
        timeout: seconds for the whole of one try (connect, send, wait, read).
        transport: an ``httpx`` transport, e.g. ``httpx.MockTransport`` in tests.
        sleep: how to wait between tries; tests pass a recorder that returns at once.
    """

    provider: str
    base_url: str
    auth_headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    key_setting: str = "the API key setting"
    headers: Mapping[str, str] = field(default_factory=dict)
    timeout: float = 60.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    transport: httpx.AsyncBaseTransport | None = field(default=None, repr=False)
    sleep: Sleep = field(default=anyio.sleep, repr=False)

    def __post_init__(self) -> None:
        self.base_url = self.base_url.rstrip("/")
        self._origin = _origin(self.base_url)
        self._secrets = [value.split(" ", 1)[-1] for value in self.auth_headers.values() if value]

    # -- requests ----------------------------------------------------------------

    def url(self, path: str) -> str:
        """``path`` joined to the base URL; an absolute URL is kept as it is."""
        if path.startswith(("http://", "https://")):
            return path
        return f"{self.base_url}/{path.lstrip('/')}"

    async def post_json(self, path: str, body: Mapping[str, Any]) -> Any:
        return self.decode(await self.send("POST", path, json=body))

    async def get_json(self, path: str) -> Any:
        return self.decode(await self.send("GET", path))

    def decode(self, response: httpx.Response) -> Any:
        try:
            return response.json()
        except ValueError:
            raise MalformedAnswer(f"{self.provider} answered with something that is not JSON") from None

    async def send(self, method: str, path: str, *, json: Mapping[str, Any] | None = None) -> httpx.Response:
        """One request with retries; returns a 2xx response or raises ``ServiceUnavailable``."""
        url = self.url(path)
        attempts = max(1, self.retry.attempts)
        for attempt in range(1, attempts + 1):
            try:
                async with self._client() as client:
                    response = await client.request(method, url, json=json, headers=self._headers_for(url))
            except httpx.TimeoutException:
                raise ServiceUnavailable(f"{self.provider} did not answer within {self.timeout:g} seconds") from None
            except httpx.TransportError as exc:
                if attempt == attempts:
                    raise ServiceUnavailable(
                        f"{self.provider} could not be reached ({type(exc).__name__})"
                    ) from None
                delay = self.retry.backoff(attempt)
                log.warning("%s: %s, retrying in %.1fs (%d/%d)", self.provider, type(exc).__name__, delay,
                            attempt, attempts)
                await self.sleep(delay)
                continue
            if response.is_success:
                return response
            self._raise_if_final(response)
            delay = self._retry_delay(response, attempt)
            if attempt == attempts or delay is None:
                break
            log.warning("%s: HTTP %d, retrying in %.1fs (%d/%d)", self.provider, response.status_code, delay,
                        attempt, attempts)
            await self.sleep(delay)
        raise self._exhausted(response, attempt)

    async def download(self, url: str, *, max_bytes: int) -> tuple[bytes, str]:
        """Fetch a file the provider made (a video, an image link); return (bytes, content type).

        Redirects are followed by hand so that the key goes to the provider's own
        origin only, never to the storage host a download link redirects to.
        """
        for attempt in range(1, max(1, self.retry.attempts) + 1):
            try:
                return await self._download_once(url, max_bytes)
            except _Retryable as exc:
                if attempt >= self.retry.attempts:
                    raise ServiceUnavailable(f"{self.provider}: downloading the result failed ({exc})") from None
                await self.sleep(self.retry.backoff(attempt))
        raise AssertionError("unreachable")

    async def _download_once(self, url: str, max_bytes: int) -> tuple[bytes, str]:
        current = self.url(url)
        try:
            async with self._client() as client:
                for _ in range(MAX_REDIRECTS + 1):
                    async with client.stream("GET", current, headers=self._headers_for(current)) as response:
                        if response.is_redirect:
                            current = urljoin(current, response.headers["location"])
                            continue
                        if not response.is_success:
                            await response.aread()
                            if response.status_code in RETRYABLE_STATUS:
                                raise _Retryable(f"HTTP {response.status_code}")
                            self._raise_if_final(response)
                            raise self._exhausted(response, 1)
                        declared = response.headers.get("content-length")
                        if declared and declared.isdigit() and int(declared) > max_bytes:
                            raise ServiceUnavailable(f"{self.provider}: the result is larger than {max_bytes} bytes")
                        chunks, size = [], 0
                        async for chunk in response.aiter_bytes():
                            size += len(chunk)
                            if size > max_bytes:
                                raise ServiceUnavailable(
                                    f"{self.provider}: the result is larger than {max_bytes} bytes"
                                )
                            chunks.append(chunk)
                        content_type = response.headers.get("content-type", "").split(";")[0].strip()
                        return b"".join(chunks), content_type
        except httpx.TimeoutException:
            raise ServiceUnavailable(f"{self.provider}: downloading the result timed out") from None
        except httpx.TransportError as exc:
            raise _Retryable(type(exc).__name__) from None
        raise ServiceUnavailable(f"{self.provider}: too many redirects while downloading the result")

    # -- helpers -------------------------------------------------------------------

    def _client(self) -> httpx.AsyncClient:
        # A client per call: providers hold no connection pool across event loops
        # (CLI runs, test loops), and an AI call's latency dwarfs a new connection.
        return httpx.AsyncClient(timeout=self.timeout, transport=self.transport, follow_redirects=False)

    def _headers_for(self, url: str) -> dict[str, str]:
        headers = dict(self.headers)
        if _origin(url) == self._origin:
            headers.update(self.auth_headers)
        return headers

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            if secret:
                text = text.replace(secret, "[redacted]")
        return text

    def _provider_message(self, response: httpx.Response) -> str:
        """The provider's own words about the error, redacted and cut short."""
        message = ""
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict):
            error = body.get("error", body)
            if isinstance(error, dict):
                message = str(error.get("message") or error.get("status") or error.get("type") or "")
            elif isinstance(error, str):
                message = error
            if not message and isinstance(body.get("detail"), str):
                message = body["detail"]
        elif isinstance(body, list) and body and isinstance(body[0], dict):
            error = body[0].get("error", {})
            message = str(error.get("message", "")) if isinstance(error, dict) else ""
        message = " ".join(self.redact(message).split())
        return message[:MESSAGE_LIMIT] + ("…" if len(message) > MESSAGE_LIMIT else "")

    def _raise_if_final(self, response: httpx.Response) -> None:
        status = response.status_code
        if status in (401, 403) or (status == 400 and _google_key_invalid(response)):
            raise ProviderHttpError(
                f"{self.provider} rejected the configured API key (HTTP {status}); check {self.key_setting}",
                status,
            )
        if status not in RETRYABLE_STATUS:
            detail = self._provider_message(response)
            raise ProviderHttpError(
                f"{self.provider} refused the request (HTTP {status})" + (f": {detail}" if detail else ""),
                status,
            )

    def _retry_delay(self, response: httpx.Response, attempt: int) -> float | None:
        """How long to wait before the next try, or None when the provider asks for too long."""
        asked = retry_after(response.headers)
        if asked is None:
            return self.retry.backoff(attempt)
        if asked > self.retry.max_retry_after:
            return None
        return max(asked, 0.0)

    def _exhausted(self, response: httpx.Response, attempts: int) -> ProviderHttpError:
        status = response.status_code
        detail = self._provider_message(response)
        suffix = f": {detail}" if detail else ""
        if status == 429:
            asked = retry_after(response.headers)
            wait = f"; it asks to wait {asked:g} seconds" if asked else ""
            return ProviderHttpError(f"{self.provider} is rate-limiting requests (HTTP 429){wait}{suffix}", status)
        tries = f" after {attempts} attempts" if attempts > 1 else ""
        return ProviderHttpError(f"{self.provider} is unavailable (HTTP {status}){tries}{suffix}", status)


class _Retryable(Exception):
    pass


def _google_key_invalid(response: httpx.Response) -> bool:
    """Google APIs answer a bad key with 400 INVALID_ARGUMENT and the reason ``API_KEY_INVALID``."""
    try:
        details = response.json()["error"]["details"]
    except (ValueError, KeyError, TypeError):
        return False
    return isinstance(details, list) and any(
        isinstance(d, dict) and d.get("reason") == "API_KEY_INVALID" for d in details
    )


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds from ``retry-after-ms`` (OpenAI) or ``Retry-After`` (RFC 9110 §10.2.3: seconds or a date)."""
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return float(millis) / 1000
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    value = value.strip()
    try:
        return float(value)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()
