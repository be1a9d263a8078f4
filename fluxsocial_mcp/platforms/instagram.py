"""Instagram: content publishing through the Instagram API with Instagram Login.

Publishing is container → status → publish
(developers.facebook.com/docs/instagram-platform/content-publishing)::

    POST /{ig-user-id}/media          image_url | video_url, media_type REELS | STORIES | VIDEO,
                                      is_carousel_item; or media_type=CAROUSEL with children
    GET  /{container-id}?fields=status_code,status   IN_PROGRESS → FINISHED | ERROR | EXPIRED
    POST /{ig-user-id}/media_publish  creation_id → the media id
    GET  /{media-id}?fields=permalink

Connecting (Business Login for Instagram): www.instagram.com/oauth/authorize, the code
exchanged at api.instagram.com/oauth/access_token, then traded for the 60-day token at
graph.instagram.com/access_token (``ig_exchange_token``), renewed while still valid at
graph.instagram.com/refresh_access_token (``ig_refresh_token``).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from ..config import Settings
from .base import MediaItem, PublishRequest, PublishResult
from .connect import AccountIdentity, ConnectError, authorize_url
from .credentials import (
    AccountPublisher,
    PlatformCredentials,
    ReadsPostHistory,
    RefreshRejected,
    expiry,
)
from .http import (
    GRAPH_MEDIA_NOT_READY,
    GRAPH_RETRY_SUBCODES,
    PlatformError,
    PlatformHttp,
    graph_request,
    json_body,
    oauth_error_text,
    parse_time,
)
from ..core.content_dna import PastPostInput

LABEL = "Instagram"
AUTHORIZE_URL = "https://www.instagram.com/oauth/authorize"
GRAPH_URL = "https://graph.instagram.com"
TOKEN_URL = "https://api.instagram.com"
SCOPES = ("instagram_business_basic", "instagram_business_content_publish")
# How far back find_published looks for a post an interrupted attempt may have made.
FIND_WINDOW = timedelta(days=2)

Call = Callable[..., Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class InstagramEndpoints:
    graph: str
    token: str
    version: str

    @classmethod
    def from_settings(cls, settings: Settings) -> InstagramEndpoints:
        override = settings.instagram_api_url.rstrip("/") if settings.instagram_api_url else None
        return cls(graph=override or GRAPH_URL, token=override or TOKEN_URL, version=settings.meta_graph_version)


def profile_url(username: str) -> str:
    return f"https://www.instagram.com/{username.lstrip('@')}/"


class InstagramPublisher(AccountPublisher, ReadsPostHistory):
    name = "instagram"
    # The media list can only be searched by caption: a miss does not prove absence.
    confirms_absence = False

    # ----- publishing --------------------------------------------------------------------

    async def _publish(self, request: PublishRequest, credentials: PlatformCredentials) -> PublishResult:
        ig_user = _user_id(credentials)
        v = self.endpoints.version
        async with self.http.client(self.endpoints.graph) as client:
            call: Call = partial(graph_request, self.http, client, LABEL, token=credentials.access_token)
            container = await self._container(call, ig_user, request)
            await self._wait_until_ready(call, container)
            media_id = await self._publish_container(call, ig_user, container, request)
            try:
                body = await call("GET", f"/{v}/{media_id}", params={"fields": "permalink"})
                permalink = body.get("permalink")
            except PlatformError:
                permalink = None  # published all the same: the profile is the next best link
        return PublishResult(platform_post_id=media_id, post_url=permalink or profile_url(request.username))

    async def _container(self, call: Call, ig_user: str, request: PublishRequest) -> str:
        media, caption = request.media, request.caption
        if not media:
            raise PlatformError("Instagram needs an image or a video", "rejected_content")
        if request.content_format == "CAROUSEL":
            children = [await self._create(call, ig_user, _carousel_item(item)) for item in media]
            for child in children:
                await self._wait_until_ready(call, child)
            return await self._create(
                call, ig_user, {"media_type": "CAROUSEL", "children": ",".join(children), "caption": caption}
            )
        item = media[0]
        if request.content_format == "STORY":
            key = "video_url" if item.kind == "video" else "image_url"
            return await self._create(call, ig_user, {"media_type": "STORIES", key: item.url})
        if item.kind == "video":
            # Feed videos are published as reels since 2023.
            return await self._create(
                call, ig_user, {"media_type": "REELS", "video_url": item.url, "caption": caption, "share_to_feed": "true"}
            )
        return await self._create(call, ig_user, {"image_url": item.url, "caption": caption})

    async def _create(self, call: Call, ig_user: str, params: dict[str, str]) -> str:
        body = await call("POST", f"/{self.endpoints.version}/{ig_user}/media", params=params)
        return str(body["id"])

    async def _container_status(self, call: Call, container: str) -> tuple[str, str]:
        body = await call("GET", f"/{self.endpoints.version}/{container}", params={"fields": "status_code,status"})
        return str(body.get("status_code") or ""), str(body.get("status") or "")

    async def _wait_until_ready(self, call: Call, container: str) -> None:
        async def ready() -> bool | None:
            code, status = await self._container_status(call, container)
            if code in ("FINISHED", "PUBLISHED"):
                return True
            if code == "ERROR":
                subcode = _subcode(status)
                raise PlatformError(
                    f"Instagram could not process the media: {status or 'unknown error'}",
                    "media_error",
                    subcode in GRAPH_RETRY_SUBCODES,
                    code=subcode,
                )
            if code == "EXPIRED":
                raise PlatformError("Instagram's media container expired before publishing", "platform_down", True)
            return None

        await self.http.poll(LABEL, "the media", ready)

    async def _publish_container(self, call: Call, ig_user: str, container: str, request: PublishRequest) -> str:
        async def attempt() -> str | None:
            try:
                body = await call("POST", f"/{self.endpoints.version}/{ig_user}/media_publish", params={"creation_id": container})
            except PlatformError as exc:
                if exc.code in GRAPH_MEDIA_NOT_READY:
                    return None  # "media is not ready for publishing": wait, then again
                if exc.category == "platform_down" and exc.status is None:
                    # No answer: the post may be out. The container knows.
                    return await self._published_anyway(call, ig_user, container, request)
                raise
            return str(body["id"])

        return await self.http.poll(LABEL, "the post", attempt)

    async def _published_anyway(self, call: Call, ig_user: str, container: str, request: PublishRequest) -> str | None:
        code, _ = await self._container_status(call, container)
        if code != "PUBLISHED":
            return None
        found = await self._match(call, ig_user, request)
        if found is None:
            raise PlatformError(
                "Instagram published the post but did not return its id; check the profile before posting again",
                "platform_down",
            )
        return found.platform_post_id

    # ----- reconciliation and insights ---------------------------------------------------

    async def _find(self, request: PublishRequest, credentials: PlatformCredentials) -> PublishResult | None:
        async with self.http.client(self.endpoints.graph) as client:
            call: Call = partial(graph_request, self.http, client, LABEL, token=credentials.access_token)
            return await self._match(call, _user_id(credentials), request)

    async def _match(self, call: Call, ig_user: str, request: PublishRequest) -> PublishResult | None:
        # Stories never show in the media list, and an empty caption matches anything.
        if request.content_format == "STORY" or not request.caption.strip():
            return None
        body = await call(
            "GET", f"/{self.endpoints.version}/{ig_user}/media",
            params={"fields": "id,caption,permalink,timestamp", "limit": "25"},
        )
        since = self.clock() - FIND_WINDOW
        for item in body.get("data") or []:
            posted = parse_time(item.get("timestamp"))
            if (item.get("caption") or "").strip() == request.caption.strip() and (posted is None or posted >= since):
                return PublishResult(str(item["id"]), item.get("permalink") or profile_url(request.username))
        return None

    async def _recent_posts(self, credentials: PlatformCredentials) -> list[PastPostInput]:
        async with self.http.client(self.endpoints.graph) as client:
            body = await graph_request(
                self.http, client, LABEL, "GET", f"/{self.endpoints.version}/{_user_id(credentials)}/media",
                token=credentials.access_token,
                params={"fields": "id,caption,timestamp,like_count,comments_count", "limit": "50"},
            )
        return [
            PastPostInput(
                text=str(item.get("caption") or ""), posted_at=parse_time(item.get("timestamp")),
                likes=_count(item.get("like_count")), comments=_count(item.get("comments_count")),
                external_id=str(item["id"]),
            )
            for item in body.get("data") or [] if item.get("id")
        ]


def _carousel_item(item: MediaItem) -> dict[str, str]:
    if item.kind == "video":
        return {"media_type": "VIDEO", "video_url": item.url, "is_carousel_item": "true"}
    return {"image_url": item.url, "is_carousel_item": "true"}


def _user_id(credentials: PlatformCredentials) -> str:
    if not credentials.platform_user_id:
        raise PlatformError("The Instagram user id of this account is not known", "auth_expired")
    return credentials.platform_user_id


def _subcode(status: str) -> int | None:
    # A failed container's ``status`` reads "Error: … error code 2207026".
    match = re.search(r"\b(22\d{5})\b", status)
    return int(match.group(1)) if match else None


def _count(value: Any) -> int:
    try:
        return max(0, int(value))
    except (TypeError, ValueError):
        return 0


class InstagramConnect:
    platform = "instagram"
    label = LABEL
    uses_pkce = False

    def __init__(self, settings: Settings, endpoints: InstagramEndpoints, http: PlatformHttp) -> None:
        self.client_id = settings.instagram_client_id
        self.client_secret = settings.instagram_client_secret
        self.endpoints = endpoints
        self.http = http

    def configured(self) -> bool:
        return bool(self.client_id and self.client_secret)

    def authorize_url(self, *, redirect_uri: str, state: str, code_challenge: str | None) -> str:
        return authorize_url(AUTHORIZE_URL, {
            "client_id": self.client_id, "redirect_uri": redirect_uri, "response_type": "code",
            "scope": ",".join(SCOPES), "state": state,
        })

    def _secret(self) -> str:
        assert self.client_secret is not None
        return self.client_secret.get_secret_value()

    async def exchange_code(
        self, *, code: str, redirect_uri: str, code_verifier: str | None, now: datetime
    ) -> PlatformCredentials:
        async with self.http.client(self.endpoints.token) as client:
            response = await self.http.send(client, LABEL, "POST", "/oauth/access_token", data={
                "client_id": self.client_id, "client_secret": self._secret(), "grant_type": "authorization_code",
                "redirect_uri": redirect_uri, "code": code,
            })
        body = json_body(response)
        if response.status_code != 200 or not isinstance(body, dict):
            raise ConnectError(f"Instagram refused the authorization: {oauth_error_text(response)}")
        row = body["data"][0] if isinstance(body.get("data"), list) and body["data"] else body
        short_lived, user_id = row.get("access_token"), row.get("user_id")
        if not short_lived:
            raise ConnectError("Instagram answered without an access token")
        async with self.http.client(self.endpoints.graph) as client:
            response = await self.http.send(client, LABEL, "GET", "/access_token", params={
                "grant_type": "ig_exchange_token", "client_secret": self._secret(), "access_token": short_lived,
            })
        long_lived = json_body(response)
        if response.status_code != 200 or not isinstance(long_lived, dict) or not long_lived.get("access_token"):
            raise ConnectError(f"Instagram did not issue a long-lived token: {oauth_error_text(response)}")
        permissions = row.get("permissions")
        return PlatformCredentials(
            access_token=long_lived["access_token"],
            expires_at=expiry(now, long_lived.get("expires_in")),
            platform_user_id=str(user_id) if user_id else None,
            scope=",".join(permissions) if isinstance(permissions, list) else permissions,
        )

    async def identities(self, credentials: PlatformCredentials, now: datetime) -> list[AccountIdentity]:
        async with self.http.client(self.endpoints.graph) as client:
            me = await graph_request(
                self.http, client, LABEL, "GET", f"/{self.endpoints.version}/me",
                token=credentials.access_token, params={"fields": "user_id,username,followers_count"},
            )
        user_id = str(me.get("user_id") or me.get("id") or credentials.platform_user_id or "")
        if not user_id or not me.get("username"):
            raise ConnectError("Instagram did not say which account this is")
        return [AccountIdentity(user_id, f"@{me['username']}", _count(me.get("followers_count")), credentials)]

    def can_refresh(self, credentials: PlatformCredentials, now: datetime) -> bool:
        # A long-lived token renews itself while it is still valid; no refresh token exists.
        return credentials.expires_at is not None and not credentials.expired(now)

    async def refresh(self, credentials: PlatformCredentials, now: datetime) -> PlatformCredentials:
        async with self.http.client(self.endpoints.graph) as client:
            response = await self.http.send(client, LABEL, "GET", "/refresh_access_token", params={
                "grant_type": "ig_refresh_token", "access_token": credentials.access_token,
            })
        body = json_body(response)
        if response.status_code >= 500:
            raise PlatformError(f"Instagram could not renew the token (HTTP {response.status_code})", "platform_down", True)
        if response.status_code != 200 or not isinstance(body, dict) or not body.get("access_token"):
            raise RefreshRejected(oauth_error_text(response))
        return credentials.renewed(access_token=body["access_token"], expires_at=expiry(now, body.get("expires_in")))
