"""What every real adapter shares: HTTP clients, polling, reading our media, and error mapping.

A platform failure leaves an adapter only as a ``PlatformError``::

    PublishError                 base.py: message, category, retryable
    └── PlatformError            + HTTP status, the platform's own error code, retry_after
                                   (seconds) and token_rejected (the access token itself was refused)

Categories, as the post status shows them: ``auth_expired`` (the token is refused or lacks a
permission: reconnect the account), ``rate_limited`` (retry later), ``rejected_content`` (the
platform refuses this post: duplicate, policy, a parameter), ``media_error`` (the platform
could not fetch or accept the media), ``platform_down`` (unreachable, 5xx or a transient fault).

Each adapter maps its platform's own error shape here or in its module, at the boundary:
nothing above the adapters ever sees an ``httpx`` exception or a platform payload.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import anyio
import httpx

from .. import __version__
from ..core.mediastore import MEDIA_PATH, MediaStore
from .base import ErrorCategory, MediaItem, PublishError

T = TypeVar("T")
Sleep = Callable[[float], Awaitable[None]]

USER_AGENT = f"FluxSocial/{__version__} (+https://github.com/fluxsocial)"
# A video we publish is at most 100 MB (SPEC §5); a little slack for anything fetched back.
MAX_MEDIA_BYTES = 110 * 1024 * 1024
MAX_POLL_DELAY = 30.0


class PlatformError(PublishError):
    """A platform refused or failed a request; the message is written for the post's owner."""

    def __init__(
        self,
        message: str,
        category: ErrorCategory,
        retryable: bool = False,
        *,
        status: int | None = None,
        code: str | int | None = None,
        retry_after: float | None = None,
        token_rejected: bool = False,
    ) -> None:
        super().__init__(message, category, retryable)
        self.status = status
        self.code = code
        self.retry_after = retry_after
        self.token_rejected = token_rejected


@dataclass
class PlatformHttp:
    """Makes the adapters' HTTP clients (one per operation) and waits on platform processing.

    ``transport`` replaces the network (tests hand in an ``httpx.MockTransport`` or a
    fake's ASGI app); ``sleep`` replaces the real wait between polls.
    """

    transport: httpx.AsyncBaseTransport | None = None
    timeout: float = 30.0
    poll_interval: float = 2.0
    poll_timeout: float = 120.0
    sleep: Sleep = field(default=anyio.sleep)

    @classmethod
    def from_settings(cls, settings: Any, **overrides: Any) -> PlatformHttp:
        values: dict[str, Any] = dict(
            timeout=settings.platform_http_timeout_seconds,
            poll_interval=settings.platform_poll_interval_seconds,
            poll_timeout=settings.platform_poll_timeout_seconds,
        )
        values.update(overrides)
        return cls(**values)

    def client(self, base_url: str = "", *, headers: Mapping[str, str] | None = None) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=base_url,
            transport=self.transport,
            timeout=self.timeout,
            headers={"User-Agent": USER_AGENT, **(headers or {})},
            # A platform that redirects an API call is not one we should follow blindly.
            follow_redirects=False,
        )

    async def send(self, client: httpx.AsyncClient, label: str, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """One request; a network failure becomes a retryable ``platform_down``."""
        try:
            return await client.request(method, url, **kwargs)
        except httpx.TimeoutException:
            raise PlatformError(f"{label} did not answer in time", "platform_down", retryable=True) from None
        except httpx.TransportError as exc:
            raise PlatformError(
                f"{label} could not be reached ({type(exc).__name__})", "platform_down", retryable=True
            ) from None

    async def poll(self, label: str, what: str, check: Callable[[], Awaitable[T | None]]) -> T:
        """Call ``check`` until it returns a value, backing off, for at most ``poll_timeout`` seconds of waiting."""
        waited, delay = 0.0, self.poll_interval
        while True:
            result = await check()
            if result is not None:
                return result
            if waited >= self.poll_timeout:
                raise PlatformError(
                    f"{label} was still processing {what} after {int(waited)} seconds",
                    "platform_down",
                    retryable=True,
                )
            await self.sleep(delay)
            waited += delay
            delay = min(delay * 1.5, MAX_POLL_DELAY)


class MediaReader:
    """The bytes behind a ``MediaItem``: from our media folder when it is ours, else fetched.

    Platforms that take uploads (X, LinkedIn) need the bytes; reading our own files
    from disk spares a request to ourselves through the public URL.
    """

    def __init__(self, media_dir: Path, public_url: str, http: PlatformHttp) -> None:
        self.store = MediaStore(media_dir, public_url)
        self.prefix = f"{public_url.rstrip('/')}{MEDIA_PATH}/"
        self.http = http

    async def read(self, label: str, item: MediaItem) -> bytes:
        if item.url.startswith(self.prefix):
            path = self.store.path_for(item.url[len(self.prefix):])
            if path is None:
                raise PlatformError(f"The media file {item.url} no longer exists", "media_error")
            return await anyio.Path(path).read_bytes()
        if urlsplit(item.url).scheme != "https":
            raise PlatformError(f"Media must be served over https: {item.url}", "media_error")
        async with self.http.client() as client:
            try:
                async with client.stream("GET", item.url) as response:
                    if response.status_code != 200:
                        raise PlatformError(
                            f"The media {item.url} could not be read (HTTP {response.status_code})", "media_error"
                        )
                    chunks, size = [], 0
                    async for chunk in response.aiter_bytes():
                        size += len(chunk)
                        if size > MAX_MEDIA_BYTES:
                            raise PlatformError(f"The media {item.url} is too large to upload", "media_error")
                        chunks.append(chunk)
                    return b"".join(chunks)
            except httpx.HTTPError:
                raise PlatformError(f"The media {item.url} could not be read", "media_error", retryable=True) from None


# ----- reading responses -----------------------------------------------------------------

def json_body(response: httpx.Response) -> Any:
    """The response's JSON, or None when it has none (or not JSON)."""
    try:
        return response.json()
    except ValueError:
        return None


def retry_after(response: httpx.Response, now: float | None = None) -> float | None:
    """Seconds until a rate limit lifts: ``Retry-After`` (RFC 9110 §10.2.3) or X's ``x-rate-limit-reset``."""
    now = time.time() if now is None else now
    value = response.headers.get("retry-after")
    if value:
        if value.strip().isdigit():
            return float(value.strip())
        try:
            return max(0.0, email.utils.parsedate_to_datetime(value).timestamp() - now)
        except (TypeError, ValueError):
            pass
    reset = response.headers.get("x-rate-limit-reset")
    if reset and reset.strip().isdigit():
        return max(0.0, float(reset) - now)
    return None


def _later(seconds: float | None) -> str:
    if seconds is None:
        return "Try again later"
    if seconds < 90:
        return f"Try again in {max(1, round(seconds))} seconds"
    return f"Try again in {round(seconds / 60)} minutes"


def status_error(label: str, response: httpx.Response, detail: str | None = None, code: str | int | None = None) -> PlatformError:
    """The generic reading of an HTTP failure, for errors a platform module has no better word for."""
    status = response.status_code
    text = f": {detail}" if detail else ""
    if status == 401:
        return PlatformError(
            f"{label} refused the access token{text}", "auth_expired", status=status, code=code, token_rejected=True
        )
    if status == 403:
        return PlatformError(
            f"{label} does not allow this account to post{text}", "auth_expired", status=status, code=code
        )
    if status == 429:
        wait = retry_after(response)
        return PlatformError(
            f"{label} rate limit reached{text}. {_later(wait)}", "rate_limited", True,
            status=status, code=code, retry_after=wait,
        )
    if status in (408, 502, 503, 504) or status >= 500:
        return PlatformError(f"{label} is having trouble (HTTP {status}){text}", "platform_down", True, status=status, code=code)
    if status in (413, 415):
        return PlatformError(f"{label} did not accept the media{text}", "media_error", status=status, code=code)
    return PlatformError(f"{label} refused the post{text}", "rejected_content", status=status, code=code)


# ----- Meta's Graph API (Instagram, Facebook Pages, Threads) ---------------------------------

# https://developers.facebook.com/docs/graph-api/guides/error-handling and the Instagram
# Platform error-code reference.
GRAPH_RATE_LIMIT_CODES = frozenset({4, 17, 32, 613, 80001, 80002, 80004, 80005, 80006, 80008, 80014})
GRAPH_TOKEN_CODES = frozenset({102, 190})
GRAPH_TRANSIENT_CODES = frozenset({1, 2})
# Media the platform could not fetch or does not accept.
GRAPH_MEDIA_SUBCODES = frozenset({2207003, 2207004, 2207005, 2207009, 2207026, 2207052, 2207057})
# Faults worth another attempt with a fresh container.
GRAPH_RETRY_SUBCODES = frozenset({2207001, 2207003, 2207008, 2207020, 2207027, 2207032, 2207053})
GRAPH_MEDIA_NOT_READY = (9007, 2207027)


def graph_error(label: str, response: httpx.Response) -> PlatformError:
    """Map ``{"error": {"message", "type", "code", "error_subcode", "fbtrace_id", ...}}``."""
    body = json_body(response)
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        if response.status_code < 400:
            return PlatformError(f"{label} gave an unexpected answer", "platform_down", True, status=response.status_code)
        return status_error(label, response)
    code = _int(error.get("code"))
    subcode = _int(error.get("error_subcode"))
    said = str(error.get("error_user_msg") or error.get("message") or "unknown error").strip().rstrip(".")
    tag = f"code {code}" + (f"/{subcode}" if subcode else "")
    ident: str | int | None = subcode or code
    if code in GRAPH_TOKEN_CODES:
        return PlatformError(
            f"{label} refused the access token ({said}; {tag})", "auth_expired",
            status=response.status_code, code=ident, token_rejected=True,
        )
    if code == 10 or (code is not None and 200 <= code < 300):
        return PlatformError(
            f"{label} is missing a permission for this account ({said}; {tag}); reconnect it and grant every permission asked",
            "auth_expired", status=response.status_code, code=ident,
        )
    if code in GRAPH_RATE_LIMIT_CODES or subcode == 2207042:
        wait = retry_after(response)
        what = "daily publishing limit" if subcode == 2207042 else "rate limit"
        return PlatformError(
            f"{label} {what} reached ({said}; {tag}). {_later(wait)}", "rate_limited", True,
            status=response.status_code, code=ident, retry_after=wait,
        )
    if code == 506:
        return PlatformError(
            f"{label} refused the post as a duplicate of a recent one ({said}; {tag})", "rejected_content",
            status=response.status_code, code=ident,
        )
    if subcode in GRAPH_MEDIA_SUBCODES or code == 9004:
        return PlatformError(
            f"{label} could not use the media: {said} ({tag})", "media_error", subcode in GRAPH_RETRY_SUBCODES,
            status=response.status_code, code=ident,
        )
    if (
        code in GRAPH_TRANSIENT_CODES
        or code == 9007
        or subcode in GRAPH_RETRY_SUBCODES
        or error.get("is_transient") is True
        or response.status_code >= 500
    ):
        return PlatformError(
            f"{label} had a temporary problem: {said} ({tag})", "platform_down", True,
            status=response.status_code, code=ident,
        )
    return PlatformError(
        f"{label} refused the post: {said} ({tag})", "rejected_content", status=response.status_code, code=ident
    )


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def interaction_count(value: Any) -> int:
    """A like/comment/share count from a platform's JSON: missing or garbled counts as 0."""
    return max(0, _int(value) or 0)


async def graph_request(
    http: PlatformHttp,
    client: httpx.AsyncClient,
    label: str,
    method: str,
    path: str,
    *,
    token: str,
    params: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """One Graph API call: parameters in the query (GET) or the form body (POST), errors mapped."""
    fields = {k: v for k, v in (params or {}).items() if v is not None}
    fields["access_token"] = token
    if method == "GET":
        response = await http.send(client, label, method, path, params=fields)
    else:
        response = await http.send(client, label, method, path, data=fields)
    body = json_body(response)
    if response.status_code >= 400 or not isinstance(body, dict) or "error" in body:
        raise graph_error(label, response)
    return body


def parse_time(value: Any) -> datetime | None:
    """A platform's timestamp (ISO 8601, Meta's ``+0000`` offsets, or epoch seconds) as aware UTC."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, timezone.utc)
    if not isinstance(value, str) or not value:
        return None
    text = value.strip().replace("Z", "+00:00")
    for parse in (datetime.fromisoformat, lambda t: datetime.strptime(t, "%Y-%m-%dT%H:%M:%S%z")):
        try:
            parsed = parse(text)
        except ValueError:
            continue
        return parsed.astimezone(timezone.utc) if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
    return None


def oauth_error_text(response: httpx.Response) -> str:
    """The human part of a token endpoint's error (RFC 6749 §5.2 and the platforms' variants)."""
    body = json_body(response)
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):
            return str(error.get("message") or error.get("code") or "unknown error")
        for key in ("error_description", "error_message", "message", "error"):
            if body.get(key):
                return str(body[key])
    return f"HTTP {response.status_code}"
