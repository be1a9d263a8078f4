"""Threads: the Threads API's two-step publishing (developers.facebook.com/docs/threads/posts).

    POST /{threads-user-id}/threads           media_type TEXT | IMAGE | VIDEO (+ text, image_url,
                                              video_url, is_carousel_item), or CAROUSEL + children
    GET  /{container-id}?fields=status,error_message   IN_PROGRESS → FINISHED | ERROR | EXPIRED
    POST /{threads-user-id}/threads_publish   creation_id → the post id
    GET  /{post-id}?fields=permalink

Connecting: threads.net/oauth/authorize, the code exchanged at graph.threads.net/oauth/access_token,
traded for the 60-day token (``th_exchange_token``), renewed while valid (``th_refresh_token``).
"""

from __future__ import annotations

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
    PlatformError,
    PlatformHttp,
    graph_request,
    interaction_count,
    json_body,
    oauth_error_text,
    parse_time,
)
from ..core.content_dna import PastPostInput

LABEL = "Threads"
AUTHORIZE_URL = "https://threads.net/oauth/authorize"
GRAPH_URL = "https://graph.threads.net"
SCOPES = ("threads_basic", "threads_content_publish", "threads_manage_insights")
FIND_WINDOW = timedelta(days=2)
# The container ``error_message`` values that mean the media itself is at fault.
MEDIA_FAILURES = ("FAILED_DOWNLOADING", "FAILED_PROCESSING", "INVALID", "UNKNOWN_MEDIA")

Call = Callable[..., Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class ThreadsEndpoints:
    graph: str
    version: str

    @classmethod
    def from_settings(cls, settings: Settings) -> ThreadsEndpoints:
        override = settings.threads_api_url.rstrip("/") if settings.threads_api_url else None
        return cls(graph=override or GRAPH_URL, version=settings.threads_api_version)


def profile_url(username: str) -> str:
    return f"https://www.threads.net/@{username.lstrip('@')}"


class ThreadsPublisher(AccountPublisher, ReadsPostHistory):
    name = "threads"
    confirms_absence = False

    async def _publish(self, request: PublishRequest, credentials: PlatformCredentials) -> PublishResult:
        user = _user_id(credentials)
        v = self.endpoints.version
        async with self.http.client(self.endpoints.graph) as client:
            call: Call = partial(graph_request, self.http, client, LABEL, token=credentials.access_token)
            media, text = request.media, request.caption
            if len(media) > 1:
                children = [await self._create(call, user, _media_params(item, carousel=True)) for item in media]
                for child in children:
                    await self._wait_until_ready(call, child)
                container = await self._create(
                    call, user, {"media_type": "CAROUSEL", "children": ",".join(children), "text": text}
                )
            elif media:
                container = await self._create(call, user, {**_media_params(media[0]), "text": text})
            else:
                container = await self._create(call, user, {"media_type": "TEXT", "text": text})
            await self._wait_until_ready(call, container)

            async def attempt() -> str | None:
                try:
                    body = await call("POST", f"/{v}/{user}/threads_publish", params={"creation_id": container})
                except PlatformError as exc:
                    if exc.code in GRAPH_MEDIA_NOT_READY:
                        return None
                    raise
                return str(body["id"])

            post_id = await self.http.poll(LABEL, "the post", attempt)
            try:
                link = (await call("GET", f"/{v}/{post_id}", params={"fields": "permalink"})).get("permalink")
            except PlatformError:
                link = None
        return PublishResult(post_id, link or profile_url(request.username))

    async def _create(self, call: Call, user: str, params: dict[str, str]) -> str:
        body = await call("POST", f"/{self.endpoints.version}/{user}/threads", params=params)
        return str(body["id"])

    async def _wait_until_ready(self, call: Call, container: str) -> None:
        async def ready() -> bool | None:
            body = await call("GET", f"/{self.endpoints.version}/{container}", params={"fields": "status,error_message"})
            status, problem = body.get("status"), str(body.get("error_message") or "")
            if status in ("FINISHED", "PUBLISHED"):
                return True
            if status == "ERROR":
                media = problem.startswith(MEDIA_FAILURES)
                raise PlatformError(
                    f"Threads could not process the post: {problem or 'unknown error'}",
                    "media_error" if media else "platform_down",
                    not media,
                    code=problem or None,
                )
            if status == "EXPIRED":
                raise PlatformError("The Threads container expired before publishing", "platform_down", True)
            return None

        await self.http.poll(LABEL, "the media", ready)

    async def _find(self, request: PublishRequest, credentials: PlatformCredentials) -> PublishResult | None:
        if not request.caption.strip():
            return None
        async with self.http.client(self.endpoints.graph) as client:
            body = await graph_request(
                self.http, client, LABEL, "GET", f"/{self.endpoints.version}/{_user_id(credentials)}/threads",
                token=credentials.access_token, params={"fields": "id,text,permalink,timestamp", "limit": "25"},
            )
        since = self.clock() - FIND_WINDOW
        for post in body.get("data") or []:
            posted = parse_time(post.get("timestamp"))
            if (post.get("text") or "").strip() == request.caption.strip() and (posted is None or posted >= since):
                return PublishResult(str(post["id"]), post.get("permalink") or profile_url(request.username))
        return None

    async def _recent_posts(self, credentials: PlatformCredentials) -> list[PastPostInput]:
        user = _user_id(credentials)
        v = self.endpoints.version
        found = []
        async with self.http.client(self.endpoints.graph) as client:
            call: Call = partial(graph_request, self.http, client, LABEL, token=credentials.access_token)
            posts = await call("GET", f"/{v}/{user}/threads", params={"fields": "id,text,timestamp", "limit": "10"})
            for post in posts.get("data") or []:
                if not post.get("id"):
                    continue
                # A post's interactions come only from its insights edge.
                insights = await call(
                    "GET", f"/{v}/{post['id']}/insights", params={"metric": "likes,replies,reposts,quotes"}
                )
                metrics = {row.get("name"): _metric(row) for row in insights.get("data") or []}
                found.append(PastPostInput(
                    text=str(post.get("text") or ""), posted_at=parse_time(post.get("timestamp")),
                    likes=metrics.get("likes", 0), comments=metrics.get("replies", 0),
                    shares=metrics.get("reposts", 0) + metrics.get("quotes", 0), external_id=str(post["id"]),
                ))
        return found


def _media_params(item: MediaItem, carousel: bool = False) -> dict[str, str]:
    params = (
        {"media_type": "VIDEO", "video_url": item.url} if item.kind == "video"
        else {"media_type": "IMAGE", "image_url": item.url}
    )
    if carousel:
        params["is_carousel_item"] = "true"
    return params


def _metric(row: dict[str, Any]) -> int:
    total = row.get("total_value")
    if isinstance(total, dict):
        return interaction_count(total.get("value"))
    values = row.get("values") or []
    return interaction_count(values[0].get("value")) if values and isinstance(values[0], dict) else 0


def _user_id(credentials: PlatformCredentials) -> str:
    if not credentials.platform_user_id:
        raise PlatformError("The Threads user id of this account is not known", "auth_expired")
    return credentials.platform_user_id


class ThreadsConnect:
    platform = "threads"
    label = LABEL
    uses_pkce = False

    def __init__(self, settings: Settings, endpoints: ThreadsEndpoints, http: PlatformHttp) -> None:
        self.client_id = settings.threads_client_id
        self.client_secret = settings.threads_client_secret
        self.endpoints = endpoints
        self.http = http

    def configured(self) -> bool:
        return bool(self.client_id and self.client_secret)

    def _secret(self) -> str:
        assert self.client_secret is not None
        return self.client_secret.get_secret_value()

    def authorize_url(self, *, redirect_uri: str, state: str, code_challenge: str | None) -> str:
        return authorize_url(AUTHORIZE_URL, {
            "client_id": self.client_id, "redirect_uri": redirect_uri, "scope": ",".join(SCOPES),
            "response_type": "code", "state": state,
        })

    async def exchange_code(
        self, *, code: str, redirect_uri: str, code_verifier: str | None, now: datetime
    ) -> PlatformCredentials:
        async with self.http.client(self.endpoints.graph) as client:
            response = await self.http.send(client, LABEL, "POST", "/oauth/access_token", data={
                "client_id": self.client_id, "client_secret": self._secret(), "code": code,
                "grant_type": "authorization_code", "redirect_uri": redirect_uri,
            })
            short = json_body(response)
            if response.status_code != 200 or not isinstance(short, dict) or not short.get("access_token"):
                raise ConnectError(f"Threads refused the authorization: {oauth_error_text(response)}")
            response = await self.http.send(client, LABEL, "GET", "/access_token", params={
                "grant_type": "th_exchange_token", "client_secret": self._secret(), "access_token": short["access_token"],
            })
        long = json_body(response)
        if response.status_code != 200 or not isinstance(long, dict) or not long.get("access_token"):
            raise ConnectError(f"Threads did not issue a long-lived token: {oauth_error_text(response)}")
        user_id = short.get("user_id")
        return PlatformCredentials(
            access_token=long["access_token"], expires_at=expiry(now, long.get("expires_in")),
            platform_user_id=str(user_id) if user_id else None,
        )

    async def identities(self, credentials: PlatformCredentials, now: datetime) -> list[AccountIdentity]:
        v = self.endpoints.version
        async with self.http.client(self.endpoints.graph) as client:
            me = await graph_request(
                self.http, client, LABEL, "GET", f"/{v}/me", token=credentials.access_token,
                params={"fields": "id,username"},
            )
            followers = 0
            try:
                insights = await graph_request(
                    self.http, client, LABEL, "GET", f"/{v}/{me['id']}/threads_insights",
                    token=credentials.access_token, params={"metric": "followers_count"},
                )
                followers = sum(_metric(row) for row in insights.get("data") or [])
            except PlatformError:
                pass  # the insights permission is optional
        if not me.get("id") or not me.get("username"):
            raise ConnectError("Threads did not say which account this is")
        return [AccountIdentity(str(me["id"]), f"@{me['username']}", followers, credentials)]

    def can_refresh(self, credentials: PlatformCredentials, now: datetime) -> bool:
        return credentials.expires_at is not None and not credentials.expired(now)

    async def refresh(self, credentials: PlatformCredentials, now: datetime) -> PlatformCredentials:
        async with self.http.client(self.endpoints.graph) as client:
            response = await self.http.send(client, LABEL, "GET", "/refresh_access_token", params={
                "grant_type": "th_refresh_token", "access_token": credentials.access_token,
            })
        body = json_body(response)
        if response.status_code >= 500:
            raise PlatformError(f"Threads could not renew the token (HTTP {response.status_code})", "platform_down", True)
        if response.status_code != 200 or not isinstance(body, dict) or not body.get("access_token"):
            raise RefreshRejected(oauth_error_text(response))
        return credentials.renewed(access_token=body["access_token"], expires_at=expiry(now, body.get("expires_in")))
