"""LinkedIn: the versioned Posts, Images and Videos APIs (api.linkedin.com/rest).

Every call carries ``LinkedIn-Version: YYYYMM`` and ``X-Restli-Protocol-Version: 2.0.0``::

    POST /rest/images?action=initializeUpload   {"initializeUploadRequest": {"owner"}} → uploadUrl, image URN
    PUT  <uploadUrl>                             the image bytes
    POST /rest/videos?action=initializeUpload   owner, fileSizeBytes → video URN, uploadInstructions, uploadToken
    PUT  <uploadUrl> for each part               each part's ETag
    POST /rest/videos?action=finalizeUpload     video, uploadToken, uploadedPartIds
    GET  /rest/videos/{video URN}                status PROCESSING → AVAILABLE | PROCESSING_FAILED
    POST /rest/posts                             author, commentary, visibility, distribution, content,
                                                 lifecycleState → 201 with the post URN in ``x-restli-id``

The commentary is "little" text: its reserved characters are escaped, else LinkedIn cuts
the post at the first of them. Connecting: www.linkedin.com/oauth/v2/authorization
(``openid profile w_member_social``), tokens from /oauth/v2/accessToken (60 days; a refresh
token only for apps LinkedIn enabled for it), the member from /v2/userinfo.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx

from ..config import Settings
from .base import MediaItem, PublishRequest, PublishResult
from .connect import AccountIdentity, ConnectError, authorize_url
from .credentials import AccountPublisher, AccountTokens, PlatformCredentials, RefreshRejected, expiry
from .http import MediaReader, PlatformError, PlatformHttp, json_body, oauth_error_text, parse_time, status_error

LABEL = "LinkedIn"
API_URL = "https://api.linkedin.com"
AUTH_URL = "https://www.linkedin.com"
SCOPES = ("openid", "profile", "w_member_social")
RESTLI_PROTOCOL = "2.0.0"
FIND_WINDOW = timedelta(days=2)
_RESERVED = re.compile(r"([\\|{}@\[\]()<>#*_~])")
# Kept as they are: links (so they still link) and hashtags (a little HashtagElement).
_VERBATIM = re.compile(r"https?://\S+|(?<![\w#])#\w+")


def little_text(text: str) -> str:
    """``text`` as LinkedIn "little" commentary: reserved characters backslash-escaped."""
    out, position = [], 0
    for match in _VERBATIM.finditer(text):
        out.append(_RESERVED.sub(r"\\\1", text[position:match.start()]))
        out.append(match.group())
        position = match.end()
    out.append(_RESERVED.sub(r"\\\1", text[position:]))
    return "".join(out)


def author_urn(platform_user_id: str) -> str:
    # A member connects as urn:li:person:…; an organization page may be stored as its own URN.
    return platform_user_id if platform_user_id.startswith("urn:li:") else f"urn:li:person:{platform_user_id}"


def post_url(urn: str) -> str:
    return f"https://www.linkedin.com/feed/update/{urn}/"


@dataclass(frozen=True)
class LinkedInEndpoints:
    api: str
    auth: str
    version: str

    @classmethod
    def from_settings(cls, settings: Settings) -> LinkedInEndpoints:
        override = settings.linkedin_api_url.rstrip("/") if settings.linkedin_api_url else None
        return cls(api=override or API_URL, auth=override or AUTH_URL, version=settings.linkedin_version)


def linkedin_error(response: httpx.Response, version: str) -> PlatformError:
    """Map ``{"status", "serviceErrorCode", "code", "message"}``."""
    body = json_body(response)
    body = body if isinstance(body, dict) else {}
    message = str(body.get("message") or "").strip()
    code = body.get("code") or body.get("serviceErrorCode")
    status = response.status_code
    if status == 422 and "duplicate" in message.lower():
        return PlatformError(
            f"LinkedIn refused the post as a duplicate ({message})", "rejected_content", status=status, code=code
        )
    if status == 426 or code == "NONEXISTENT_VERSION":
        return PlatformError(
            f"LinkedIn no longer serves API version {version} ({message}): set FLUXSOCIAL_LINKEDIN_VERSION to a "
            "current YYYYMM", "platform_down", status=status, code=code,
        )
    return status_error(LABEL, response, message or None, code=code)


class LinkedInPublisher(AccountPublisher):
    name = "linkedin"
    confirms_absence = False

    def __init__(
        self,
        endpoints: LinkedInEndpoints,
        http: PlatformHttp,
        tokens: AccountTokens,
        media: MediaReader,
        clock: Callable[[], datetime],
    ) -> None:
        super().__init__(endpoints, http, tokens, clock)
        self.media = media

    def _headers(self, token: str) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {token}",
            "LinkedIn-Version": self.endpoints.version,
            "X-Restli-Protocol-Version": RESTLI_PROTOCOL,
        }

    async def _call(self, client: httpx.AsyncClient, method: str, url: str, token: str, **kwargs: Any) -> httpx.Response:
        response = await self.http.send(client, LABEL, method, url, headers=self._headers(token), **kwargs)
        if response.status_code >= 400:
            raise linkedin_error(response, self.endpoints.version)
        return response

    async def _publish(self, request: PublishRequest, credentials: PlatformCredentials) -> PublishResult:
        if not credentials.platform_user_id:
            raise PlatformError("The LinkedIn member of this account is not known", "auth_expired")
        author = author_urn(credentials.platform_user_id)
        token = credentials.access_token
        post: dict[str, Any] = {
            "author": author,
            "commentary": little_text(request.caption),
            "visibility": "PUBLIC",
            "distribution": {"feedDistribution": "MAIN_FEED", "targetEntities": [], "thirdPartyDistributionChannels": []},
            "lifecycleState": "PUBLISHED",
            "isReshareDisabledByAuthor": False,
        }
        async with self.http.client(self.endpoints.api) as client:
            videos = [item for item in request.media if item.kind == "video"]
            images = [item for item in request.media if item.kind == "image"]
            if videos:
                urn = await self._upload_video(client, token, author, videos[0])
                post["content"] = {"media": {"title": request.title[:200], "id": urn}}
            elif len(images) == 1:
                post["content"] = {"media": {"id": await self._upload_image(client, token, author, images[0])}}
            elif images:
                urns = [await self._upload_image(client, token, author, item) for item in images]
                post["content"] = {"multiImage": {"images": [{"id": urn} for urn in urns]}}
            response = await self._call(client, "POST", "/rest/posts", token, json=post)
        urn = response.headers.get("x-restli-id") or str((json_body(response) or {}).get("id") or "")
        if not urn:
            raise PlatformError("LinkedIn accepted the post but did not return its id", "platform_down")
        return PublishResult(urn, post_url(urn))

    async def _upload_image(self, client: httpx.AsyncClient, token: str, owner: str, item: MediaItem) -> str:
        response = await self._call(
            client, "POST", "/rest/images", token, params={"action": "initializeUpload"},
            json={"initializeUploadRequest": {"owner": owner}},
        )
        value = (json_body(response) or {}).get("value") or {}
        data = await self.media.read(LABEL, item)
        await self._put(client, token, str(value["uploadUrl"]), data, item.content_type)
        return str(value["image"])

    async def _upload_video(self, client: httpx.AsyncClient, token: str, owner: str, item: MediaItem) -> str:
        data = await self.media.read(LABEL, item)
        response = await self._call(
            client, "POST", "/rest/videos", token, params={"action": "initializeUpload"},
            json={"initializeUploadRequest": {
                "owner": owner, "fileSizeBytes": len(data), "uploadCaptions": False, "uploadThumbnail": False,
            }},
        )
        value = (json_body(response) or {}).get("value") or {}
        video = str(value["video"])
        etags = []
        for part in value.get("uploadInstructions") or []:
            first, last = int(part["firstByte"]), int(part["lastByte"])
            uploaded = await self._put(client, token, str(part["uploadUrl"]), data[first:last + 1], "application/octet-stream")
            etags.append(uploaded.headers.get("etag", ""))
        await self._call(
            client, "POST", "/rest/videos", token, params={"action": "finalizeUpload"},
            json={"finalizeUploadRequest": {
                "video": video, "uploadToken": value.get("uploadToken", ""), "uploadedPartIds": etags,
            }},
        )

        async def available() -> bool | None:
            status = (json_body(await self._call(client, "GET", f"/rest/videos/{quote(video, safe='')}", token)) or {}).get("status")
            if status == "AVAILABLE":
                return True
            if status == "PROCESSING_FAILED":
                raise PlatformError("LinkedIn could not process the video", "media_error")
            return None

        await self.http.poll(LABEL, "the video", available)
        return video

    async def _put(self, client: httpx.AsyncClient, token: str, url: str, data: bytes, content_type: str) -> httpx.Response:
        response = await self.http.send(
            client, LABEL, "PUT", url, content=data,
            headers={"Authorization": f"Bearer {token}", "Content-Type": content_type},
        )
        if response.status_code >= 400:
            error = linkedin_error(response, self.endpoints.version)
            if error.category == "rejected_content":
                error.category = "media_error"
            raise error
        return response

    async def _find(self, request: PublishRequest, credentials: PlatformCredentials) -> PublishResult | None:
        if not credentials.platform_user_id or not request.caption.strip():
            return None
        commentary = little_text(request.caption)
        async with self.http.client(self.endpoints.api) as client:
            response = await self.http.send(
                client, LABEL, "GET", "/rest/posts",
                params={"author": author_urn(credentials.platform_user_id), "q": "author", "count": "20",
                        "sortBy": "LAST_MODIFIED"},
                headers={**self._headers(credentials.access_token), "X-RestLi-Method": "FINDER"},
            )
        if response.status_code == 403:
            return None  # reading posts back needs a permission LinkedIn grants few apps
        if response.status_code >= 400:
            raise linkedin_error(response, self.endpoints.version)
        since = self.clock() - FIND_WINDOW
        for post in (json_body(response) or {}).get("elements") or []:
            created = parse_time((post.get("createdAt") or 0) / 1000) if post.get("createdAt") else None
            if post.get("commentary") == commentary and (created is None or created >= since):
                return PublishResult(str(post["id"]), post_url(str(post["id"])))
        return None


class LinkedInConnect:
    platform = "linkedin"
    label = LABEL
    uses_pkce = False

    def __init__(self, settings: Settings, endpoints: LinkedInEndpoints, http: PlatformHttp) -> None:
        self.client_id = settings.linkedin_client_id
        self.client_secret = settings.linkedin_client_secret
        self.endpoints = endpoints
        self.http = http

    def configured(self) -> bool:
        return bool(self.client_id and self.client_secret)

    def authorize_url(self, *, redirect_uri: str, state: str, code_challenge: str | None) -> str:
        return authorize_url(f"{AUTH_URL}/oauth/v2/authorization", {
            "response_type": "code", "client_id": self.client_id, "redirect_uri": redirect_uri, "state": state,
            "scope": " ".join(SCOPES),
        })

    async def _token(self, fields: dict[str, str | None]) -> tuple[httpx.Response, dict[str, Any] | None]:
        assert self.client_secret is not None
        async with self.http.client(self.endpoints.auth) as client:
            response = await self.http.send(client, LABEL, "POST", "/oauth/v2/accessToken", data={
                **fields, "client_id": self.client_id, "client_secret": self.client_secret.get_secret_value(),
            })
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
            refresh_expires_at=expiry(now, body.get("refresh_token_expires_in"))
            or (previous.refresh_expires_at if previous else None),
            platform_user_id=previous.platform_user_id if previous else None,
            scope=body.get("scope"),
        )

    async def exchange_code(
        self, *, code: str, redirect_uri: str, code_verifier: str | None, now: datetime
    ) -> PlatformCredentials:
        response, body = await self._token(
            {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
        )
        if body is None:
            raise ConnectError(f"LinkedIn refused the authorization: {oauth_error_text(response)}")
        return self._credentials(body, now)

    async def identities(self, credentials: PlatformCredentials, now: datetime) -> list[AccountIdentity]:
        async with self.http.client(self.endpoints.api) as client:
            response = await self.http.send(
                client, LABEL, "GET", "/v2/userinfo", headers={"Authorization": f"Bearer {credentials.access_token}"}
            )
        if response.status_code >= 400:
            raise linkedin_error(response, self.endpoints.version)
        member = json_body(response) or {}
        if not member.get("sub"):
            raise ConnectError("LinkedIn did not say which member this is")
        name = member.get("name") or " ".join(filter(None, (member.get("given_name"), member.get("family_name"))))
        return [AccountIdentity(f"urn:li:person:{member['sub']}", str(name or member["sub"]), 0, credentials)]

    def can_refresh(self, credentials: PlatformCredentials, now: datetime) -> bool:
        return bool(credentials.refresh_token) and (
            credentials.refresh_expires_at is None or credentials.refresh_expires_at > now
        )

    async def refresh(self, credentials: PlatformCredentials, now: datetime) -> PlatformCredentials:
        response, body = await self._token({"grant_type": "refresh_token", "refresh_token": credentials.refresh_token})
        if body is None:
            if response.status_code >= 500:
                raise PlatformError(f"LinkedIn could not renew the token (HTTP {response.status_code})", "platform_down", True)
            raise RefreshRejected(oauth_error_text(response))
        return self._credentials(body, now, credentials)
