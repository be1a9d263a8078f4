"""X: posts through the X API v2 with the user's OAuth 2.0 token (docs.x.com/x-api).

    POST /2/media/upload                       an image: multipart media + media_category=tweet_image
    POST /2/media/upload/initialize            a video: media_type, total_bytes, media_category=tweet_video
    POST /2/media/upload/{id}/append           multipart media + segment_index, per chunk
    POST /2/media/upload/{id}/finalize         → processing_info (pending …)
    GET  /2/media/upload?command=STATUS&media_id={id}   → succeeded | in_progress | failed
    POST /2/tweets                             {"text", "media": {"media_ids"}} → 201 {"data": {"id"}}

Errors are problem documents (``{"title", "detail", "type", "status"}``); a rate limit is a
429 whose ``x-rate-limit-reset`` says when it lifts; a repeated text is a 403 "You are not
allowed to create a Tweet with duplicate content."

Connecting: x.com/i/oauth2/authorize with PKCE S256 (required by X), tokens from
/2/oauth2/token (HTTP Basic client authentication for a confidential client): 2-hour
access tokens and single-use, rotating refresh tokens (``offline.access``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx

from ..config import Settings
from .base import MediaItem, PublishRequest, PublishResult
from .connect import AccountIdentity, ConnectError, authorize_url
from .credentials import (
    AccountPublisher,
    AccountTokens,
    PlatformCredentials,
    ReadsPostHistory,
    RefreshRejected,
    expiry,
)
from .http import (
    MediaReader,
    PlatformError,
    PlatformHttp,
    interaction_count,
    json_body,
    oauth_error_text,
    parse_time,
    status_error,
)
from ..core.content_dna import PastPostInput

LABEL = "X"
AUTHORIZE_URL = "https://x.com/i/oauth2/authorize"
API_URL = "https://api.x.com"
SCOPES = ("tweet.read", "tweet.write", "users.read", "media.write", "offline.access")
# X takes append segments of up to 5 MB.
CHUNK_BYTES = 4 * 1024 * 1024
FIND_WINDOW = timedelta(days=2)
_LINK = re.compile(r"https?://\S+")


def post_url(username: str, post_id: str) -> str:
    return f"https://x.com/{username.lstrip('@')}/status/{post_id}"


@dataclass(frozen=True)
class XEndpoints:
    api: str

    @classmethod
    def from_settings(cls, settings: Settings) -> XEndpoints:
        return cls(api=settings.x_api_url.rstrip("/") if settings.x_api_url else API_URL)


def x_error(response: httpx.Response) -> PlatformError:
    body = json_body(response)
    body = body if isinstance(body, dict) else {}
    detail = str(body.get("detail") or body.get("title") or "").strip()
    errors = body.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        detail = str(errors[0].get("message") or errors[0].get("detail") or detail)
    if response.status_code == 403 and "duplicate content" in detail.lower():
        return PlatformError(
            f"X refused the post as a duplicate of a recent one ({detail})", "rejected_content",
            status=403, code="duplicate",
        )
    return status_error(LABEL, response, detail or None, code=body.get("type") or body.get("title"))


def _comparable(text: str) -> str:
    # X shortens links to t.co and may trim whitespace; compare what is left.
    return " ".join(_LINK.sub("", text).split())


class XPublisher(AccountPublisher, ReadsPostHistory):
    name = "x"
    confirms_absence = False

    def __init__(
        self,
        endpoints: XEndpoints,
        http: PlatformHttp,
        tokens: AccountTokens,
        media: MediaReader,
        clock: Callable[[], datetime],
    ) -> None:
        self.endpoints = endpoints
        self.http = http
        self.tokens = tokens
        self.media = media
        self.clock = clock

    async def _call(self, client: httpx.AsyncClient, method: str, url: str, token: str, **kwargs: Any) -> dict[str, Any]:
        response = await self.http.send(
            client, LABEL, method, url, headers={"Authorization": f"Bearer {token}"}, **kwargs
        )
        if response.status_code >= 400:
            raise x_error(response)
        body = json_body(response)
        return body if isinstance(body, dict) else {}

    async def _publish(self, request: PublishRequest, credentials: PlatformCredentials) -> PublishResult:
        token = credentials.access_token
        async with self.http.client(self.endpoints.api) as client:
            media_ids = [await self._upload(client, token, item) for item in request.media]
            payload: dict[str, Any] = {"text": request.caption}
            if media_ids:
                payload["media"] = {"media_ids": media_ids}
            body = await self._call(client, "POST", "/2/tweets", token, json=payload)
        post_id = str((body.get("data") or {}).get("id") or "")
        if not post_id:
            raise PlatformError("X accepted the post but did not return its id", "platform_down")
        return PublishResult(post_id, post_url(request.username, post_id))

    async def _upload(self, client: httpx.AsyncClient, token: str, item: MediaItem) -> str:
        data = await self.media.read(LABEL, item)
        if item.kind == "image":
            body = await self._call(
                client, "POST", "/2/media/upload", token,
                data={"media_category": "tweet_image", "media_type": item.content_type},
                files={"media": ("media", data, item.content_type)},
            )
            return str(body["data"]["id"])
        started = await self._call(client, "POST", "/2/media/upload/initialize", token, json={
            "media_type": item.content_type, "total_bytes": len(data), "media_category": "tweet_video",
        })
        media_id = str(started["data"]["id"])
        for index, offset in enumerate(range(0, len(data), CHUNK_BYTES)):
            await self._call(
                client, "POST", f"/2/media/upload/{media_id}/append", token,
                data={"segment_index": str(index)},
                files={"media": ("chunk", data[offset:offset + CHUNK_BYTES], "application/octet-stream")},
            )
        finished = await self._call(client, "POST", f"/2/media/upload/{media_id}/finalize", token)
        info = (finished.get("data") or {}).get("processing_info")
        if info is None or info.get("state") == "succeeded":
            return media_id
        self._check_failed(info)

        async def processed() -> bool | None:
            status = await self._call(
                client, "GET", "/2/media/upload", token, params={"command": "STATUS", "media_id": media_id}
            )
            state_info = (status.get("data") or {}).get("processing_info") or {}
            if state_info.get("state") == "succeeded":
                return True
            self._check_failed(state_info)
            return None

        await self.http.poll(LABEL, "the video", processed)
        return media_id

    @staticmethod
    def _check_failed(info: dict[str, Any]) -> None:
        if info.get("state") == "failed":
            error = info.get("error") or {}
            raise PlatformError(
                f"X could not process the video: {error.get('message') or error.get('name') or 'unknown error'}",
                "media_error",
                code=error.get("name"),
            )

    async def _timeline(self, client: httpx.AsyncClient, credentials: PlatformCredentials, fields: str) -> list[dict[str, Any]]:
        user = credentials.platform_user_id
        if not user:
            raise PlatformError("The X user id of this account is not known", "auth_expired")
        body = await self._call(
            client, "GET", f"/2/users/{user}/tweets", credentials.access_token,
            params={"max_results": "20", "tweet.fields": fields},
        )
        return list(body.get("data") or [])

    async def _find(self, request: PublishRequest, credentials: PlatformCredentials) -> PublishResult | None:
        wanted = _comparable(request.caption)
        if not wanted:
            return None
        since = self.clock() - FIND_WINDOW
        async with self.http.client(self.endpoints.api) as client:
            posts = await self._timeline(client, credentials, "created_at,text")
        for post in posts:
            created = parse_time(post.get("created_at"))
            if _comparable(str(post.get("text") or "")) == wanted and (created is None or created >= since):
                return PublishResult(str(post["id"]), post_url(request.username, str(post["id"])))
        return None

    async def _recent_posts(self, credentials: PlatformCredentials) -> list[PastPostInput]:
        async with self.http.client(self.endpoints.api) as client:
            posts = await self._timeline(client, credentials, "created_at,text,public_metrics")
        found = []
        for post in posts:
            metrics = post.get("public_metrics") or {}
            found.append(PastPostInput(
                text=str(post.get("text") or ""), posted_at=parse_time(post.get("created_at")),
                likes=interaction_count(metrics.get("like_count")), comments=interaction_count(metrics.get("reply_count")),
                shares=interaction_count(metrics.get("retweet_count")) + interaction_count(metrics.get("quote_count")),
                external_id=str(post.get("id") or "") or None,
            ))
        return found


class XConnect:
    platform = "x"
    label = LABEL
    uses_pkce = True

    def __init__(self, settings: Settings, endpoints: XEndpoints, http: PlatformHttp) -> None:
        self.client_id = settings.x_client_id
        self.client_secret = settings.x_client_secret
        self.endpoints = endpoints
        self.http = http

    def configured(self) -> bool:
        # A public client (no secret) is allowed by X; PKCE protects the code either way.
        return bool(self.client_id)

    def authorize_url(self, *, redirect_uri: str, state: str, code_challenge: str | None) -> str:
        return authorize_url(AUTHORIZE_URL, {
            "response_type": "code", "client_id": self.client_id, "redirect_uri": redirect_uri,
            "scope": " ".join(SCOPES), "state": state,
            "code_challenge": code_challenge, "code_challenge_method": "S256" if code_challenge else None,
        })

    async def _token(self, fields: dict[str, str | None]) -> tuple[httpx.Response, dict[str, Any] | None]:
        auth = None
        form = {**fields, "client_id": self.client_id}
        if self.client_secret is not None:
            # Confidential clients authenticate with HTTP Basic (RFC 6749 §2.3.1).
            auth = httpx.BasicAuth(str(self.client_id), self.client_secret.get_secret_value())
        async with self.http.client(self.endpoints.api) as client:
            response = await self.http.send(client, LABEL, "POST", "/2/oauth2/token", data=form, auth=auth)
        body = json_body(response)
        if response.status_code == 200 and isinstance(body, dict) and body.get("access_token"):
            return response, body
        return response, None

    @staticmethod
    def _credentials(body: dict[str, Any], now: datetime, previous: PlatformCredentials | None = None) -> PlatformCredentials:
        return PlatformCredentials(
            access_token=body["access_token"],
            refresh_token=body.get("refresh_token") or (previous.refresh_token if previous else None),
            expires_at=expiry(now, body.get("expires_in")),
            platform_user_id=previous.platform_user_id if previous else None,
            scope=body.get("scope"),
        )

    async def exchange_code(
        self, *, code: str, redirect_uri: str, code_verifier: str | None, now: datetime
    ) -> PlatformCredentials:
        response, body = await self._token({
            "grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
            "code_verifier": code_verifier,
        })
        if body is None:
            raise ConnectError(f"X refused the authorization: {oauth_error_text(response)}")
        return self._credentials(body, now)

    async def identities(self, credentials: PlatformCredentials, now: datetime) -> list[AccountIdentity]:
        async with self.http.client(self.endpoints.api) as client:
            response = await self.http.send(
                client, LABEL, "GET", "/2/users/me", params={"user.fields": "public_metrics"},
                headers={"Authorization": f"Bearer {credentials.access_token}"},
            )
        if response.status_code >= 400:
            raise x_error(response)
        user = (json_body(response) or {}).get("data") or {}
        if not user.get("id") or not user.get("username"):
            raise ConnectError("X did not say which account this is")
        followers = interaction_count((user.get("public_metrics") or {}).get("followers_count"))
        return [AccountIdentity(str(user["id"]), f"@{user['username']}", followers, credentials)]

    def can_refresh(self, credentials: PlatformCredentials, now: datetime) -> bool:
        return bool(credentials.refresh_token)

    async def refresh(self, credentials: PlatformCredentials, now: datetime) -> PlatformCredentials:
        response, body = await self._token({"grant_type": "refresh_token", "refresh_token": credentials.refresh_token})
        if body is None:
            if response.status_code >= 500:
                raise PlatformError(f"X could not renew the token (HTTP {response.status_code})", "platform_down", True)
            raise RefreshRejected(oauth_error_text(response))
        return self._credentials(body, now, credentials)
