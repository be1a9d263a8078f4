"""Facebook Pages: posting to a Page with its Page access token (Graph API, Pages API).

    TEXT                 POST /{page-id}/feed      message                   → {"id": "<page>_<post>"}
    IMAGE                POST /{page-id}/photos    url, message              → {"id", "post_id"}
    CAROUSEL             POST /{page-id}/photos    url, published=false (each) → photo ids, then
                         POST /{page-id}/feed      message, attached_media[i]={"media_fbid": …}
    VIDEO / REEL         POST /{page-id}/videos    file_url, description     → {"id"}
    STORY (image)        POST /{page-id}/photos    published=false, then POST /{page-id}/photo_stories photo_id
    link                 GET  /{object-id}?fields=permalink_url

Connecting (Facebook Login): www.facebook.com/{version}/dialog/oauth, the code exchanged at
/oauth/access_token, the user token made long-lived (``fb_exchange_token``), then one
account per Page from /me/accounts, each with its Page token — which does not expire, so
there is nothing to renew: a revoked one asks for a reconnect.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from ..config import Settings
from .base import PublishRequest, PublishResult
from .connect import AccountIdentity, ConnectError, authorize_url
from .credentials import AccountPublisher, PlatformCredentials, ReadsPostHistory, expiry
from .http import (
    PlatformError,
    PlatformHttp,
    graph_request,
    interaction_count,
    json_body,
    oauth_error_text,
    parse_time,
)
from ..core.content_dna import PastPostInput

LABEL = "Facebook"
GRAPH_URL = "https://graph.facebook.com"
DIALOG_URL = "https://www.facebook.com"
WEB_URL = "https://www.facebook.com"
SCOPES = ("pages_show_list", "pages_manage_posts", "pages_read_engagement")
FIND_WINDOW = timedelta(days=2)

Call = Callable[..., Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class FacebookEndpoints:
    graph: str
    version: str

    @classmethod
    def from_settings(cls, settings: Settings) -> FacebookEndpoints:
        override = settings.facebook_api_url.rstrip("/") if settings.facebook_api_url else None
        return cls(graph=override or GRAPH_URL, version=settings.meta_graph_version)


def _absolute(link: str | None) -> str | None:
    # Video permalinks come back relative ("/page/videos/123/").
    if link and link.startswith("/"):
        return f"{WEB_URL}{link}"
    return link


class FacebookPublisher(AccountPublisher, ReadsPostHistory):
    name = "facebook"
    confirms_absence = False

    async def _publish(self, request: PublishRequest, credentials: PlatformCredentials) -> PublishResult:
        page = _page_id(credentials)
        v = self.endpoints.version
        media, caption = request.media, request.caption
        async with self.http.client(self.endpoints.graph) as client:
            call: Call = partial(graph_request, self.http, client, LABEL, token=credentials.access_token)
            if request.content_format == "STORY" and media and media[0].kind == "image":
                photo = await call("POST", f"/{v}/{page}/photos", params={"url": media[0].url, "published": "false"})
                story = await call("POST", f"/{v}/{page}/photo_stories", params={"photo_id": str(photo["id"])})
                post_id = str(story.get("post_id") or photo["id"])
                return PublishResult(post_id, f"{WEB_URL}/{page}")
            if not media:
                created = await call("POST", f"/{v}/{page}/feed", params={"message": caption})
                post_id = str(created["id"])
            elif media[0].kind == "video":
                created = await call(
                    "POST", f"/{v}/{page}/videos", params={"file_url": media[0].url, "description": caption}
                )
                post_id = str(created["id"])
            elif len(media) == 1:
                created = await call("POST", f"/{v}/{page}/photos", params={"url": media[0].url, "message": caption})
                post_id = str(created.get("post_id") or created["id"])
            else:
                photos = [
                    str((await call("POST", f"/{v}/{page}/photos", params={"url": item.url, "published": "false"}))["id"])
                    for item in media
                ]
                attached = {f"attached_media[{i}]": json.dumps({"media_fbid": photo}) for i, photo in enumerate(photos)}
                created = await call("POST", f"/{v}/{page}/feed", params={"message": caption, **attached})
                post_id = str(created["id"])
            try:
                body = await call("GET", f"/{v}/{post_id}", params={"fields": "permalink_url"})
                link = _absolute(body.get("permalink_url"))
            except PlatformError:
                link = None
        return PublishResult(post_id, link or f"{WEB_URL}/{post_id}")

    async def _find(self, request: PublishRequest, credentials: PlatformCredentials) -> PublishResult | None:
        if request.content_format == "STORY" or not request.caption.strip():
            return None
        page = _page_id(credentials)
        async with self.http.client(self.endpoints.graph) as client:
            body = await graph_request(
                self.http, client, LABEL, "GET", f"/{self.endpoints.version}/{page}/published_posts",
                token=credentials.access_token, params={"fields": "id,message,permalink_url,created_time", "limit": "25"},
            )
        since = self.clock() - FIND_WINDOW
        for post in body.get("data") or []:
            posted = parse_time(post.get("created_time"))
            if (post.get("message") or "").strip() == request.caption.strip() and (posted is None or posted >= since):
                return PublishResult(str(post["id"]), _absolute(post.get("permalink_url")) or f"{WEB_URL}/{post['id']}")
        return None

    async def _recent_posts(self, credentials: PlatformCredentials) -> list[PastPostInput]:
        async with self.http.client(self.endpoints.graph) as client:
            body = await graph_request(
                self.http, client, LABEL, "GET", f"/{self.endpoints.version}/{_page_id(credentials)}/published_posts",
                token=credentials.access_token,
                params={
                    "fields": "id,message,created_time,shares,reactions.summary(total_count).limit(0),"
                              "comments.summary(total_count).limit(0)",
                    "limit": "50",
                },
            )
        return [
            PastPostInput(
                text=str(post.get("message") or ""), posted_at=parse_time(post.get("created_time")),
                likes=_summary(post.get("reactions")), comments=_summary(post.get("comments")),
                shares=interaction_count((post.get("shares") or {}).get("count")), external_id=str(post["id"]),
            )
            for post in body.get("data") or [] if post.get("id")
        ]


def _page_id(credentials: PlatformCredentials) -> str:
    if not credentials.platform_user_id:
        raise PlatformError("The Facebook Page id of this account is not known", "auth_expired")
    return credentials.platform_user_id


def _summary(edge: Any) -> int:
    return interaction_count(((edge or {}).get("summary") or {}).get("total_count")) if isinstance(edge, dict) else 0


class FacebookConnect:
    platform = "facebook"
    label = LABEL
    uses_pkce = False

    def __init__(self, settings: Settings, endpoints: FacebookEndpoints, http: PlatformHttp) -> None:
        self.client_id = settings.facebook_client_id
        self.client_secret = settings.facebook_client_secret
        self.endpoints = endpoints
        self.http = http

    def configured(self) -> bool:
        return bool(self.client_id and self.client_secret)

    def authorize_url(self, *, redirect_uri: str, state: str, code_challenge: str | None) -> str:
        return authorize_url(f"{DIALOG_URL}/{self.endpoints.version}/dialog/oauth", {
            "client_id": self.client_id, "redirect_uri": redirect_uri, "state": state,
            "response_type": "code", "scope": ",".join(SCOPES),
        })

    async def _token(self, params: dict[str, str | None]) -> dict[str, Any]:
        async with self.http.client(self.endpoints.graph) as client:
            response = await self.http.send(
                client, LABEL, "GET", f"/{self.endpoints.version}/oauth/access_token", params=params
            )
        body = json_body(response)
        if response.status_code != 200 or not isinstance(body, dict) or not body.get("access_token"):
            raise ConnectError(f"Facebook refused the authorization: {oauth_error_text(response)}")
        return body

    async def exchange_code(
        self, *, code: str, redirect_uri: str, code_verifier: str | None, now: datetime
    ) -> PlatformCredentials:
        assert self.client_secret is not None
        secret = self.client_secret.get_secret_value()
        short = await self._token({
            "client_id": self.client_id, "redirect_uri": redirect_uri, "client_secret": secret, "code": code,
        })
        # Page tokens read through a long-lived user token never expire.
        long = await self._token({
            "grant_type": "fb_exchange_token", "client_id": self.client_id, "client_secret": secret,
            "fb_exchange_token": short["access_token"],
        })
        return PlatformCredentials(access_token=long["access_token"], expires_at=expiry(now, long.get("expires_in")))

    async def identities(self, credentials: PlatformCredentials, now: datetime) -> list[AccountIdentity]:
        async with self.http.client(self.endpoints.graph) as client:
            body = await graph_request(
                self.http, client, LABEL, "GET", f"/{self.endpoints.version}/me/accounts",
                token=credentials.access_token, params={"fields": "id,name,access_token,followers_count,tasks"},
            )
        found = []
        for page in body.get("data") or []:
            tasks = page.get("tasks")
            if not page.get("access_token") or (isinstance(tasks, list) and "CREATE_CONTENT" not in tasks):
                continue
            found.append(AccountIdentity(
                platform_user_id=str(page["id"]),
                username=str(page.get("name") or page["id"]),
                followers=interaction_count(page.get("followers_count")),
                credentials=PlatformCredentials(access_token=page["access_token"], platform_user_id=str(page["id"])),
            ))
        return found

    def can_refresh(self, credentials: PlatformCredentials, now: datetime) -> bool:
        return False

    async def refresh(self, credentials: PlatformCredentials, now: datetime) -> PlatformCredentials:
        raise PlatformError("Facebook Page tokens cannot be renewed", "auth_expired")
