"""TikTok: the Content Posting API, Direct Post (developers.tiktok.com/doc/content-posting-api-reference-direct-post).

    POST /v2/post/publish/creator_info/query/    first, every time: the privacy levels and
                                                 interaction settings this creator allows
    POST /v2/post/publish/video/init/            post_info + source_info PULL_FROM_URL → publish_id
    POST /v2/post/publish/content/init/          photos: media_type PHOTO, photo_images → publish_id
    POST /v2/post/publish/status/fetch/          PROCESSING_DOWNLOAD → PUBLISH_COMPLETE | FAILED

Every answer is ``{"data": …, "error": {"code", "message", "log_id"}}``; ``code`` "ok" is
success. ``PULL_FROM_URL`` needs the domain of the media URLs (our public URL) verified
in the TikTok developer portal, or TikTok answers ``url_ownership_unverified``.

Connecting (Login Kit for Web): www.tiktok.com/v2/auth/authorize/, tokens from
/v2/oauth/token/ (24-hour access token, one-year refresh token, which may rotate).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from ..config import Settings
from .base import PublishRequest, PublishResult
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
    PlatformError,
    PlatformHttp,
    interaction_count,
    json_body,
    oauth_error_text,
    parse_time,
    retry_after,
    status_error,
)
from ..core.content_dna import PastPostInput

LABEL = "TikTok"
AUTHORIZE_URL = "https://www.tiktok.com/v2/auth/authorize/"
API_URL = "https://open.tiktokapis.com"
SCOPES = ("user.info.basic", "user.info.profile", "user.info.stats", "video.publish", "video.list")
# Most public first: a post takes the most public level allowed, never above the configured one.
PRIVACY_LEVELS = ("PUBLIC_TO_EVERYONE", "FOLLOWER_OF_CREATOR", "MUTUAL_FOLLOW_FRIENDS", "SELF_ONLY")
MAX_TITLE = 2200
MAX_PHOTO_TITLE = 90
MAX_PHOTO_DESCRIPTION = 4000

# error.code → (category, retryable, what to tell the owner)
API_ERRORS: dict[str, tuple[str, bool, str]] = {
    "access_token_invalid": ("auth_expired", False, "TikTok refused the access token"),
    "scope_not_authorized": ("auth_expired", False, "TikTok has not granted video.publish for this account"),
    "scope_permission_missed": ("auth_expired", False, "TikTok has not granted a permission this needs"),
    "rate_limit_exceeded": ("rate_limited", True, "TikTok rate limit reached"),
    "spam_risk_too_many_posts": ("rate_limited", True, "TikTok's daily post limit for this account is reached"),
    "spam_risk_too_many_pending_share": ("rate_limited", True, "Too many TikTok posts of this account are pending"),
    "reached_active_user_cap": ("rate_limited", True, "The app reached TikTok's daily cap of posting users"),
    "spam_risk_user_banned_from_posting": ("rejected_content", False, "TikTok has banned this account from posting"),
    "unaudited_client_can_only_post_to_private_accounts": (
        "rejected_content", False, "Until the app passes TikTok's audit it may only post to private accounts",
    ),
    "privacy_level_option_mismatch": ("rejected_content", False, "TikTok refused the privacy level"),
    "url_ownership_unverified": (
        "media_error", False,
        "TikTok only pulls media from a verified domain: verify the domain of FLUXSOCIAL_PUBLIC_URL in the "
        "TikTok developer portal",
    ),
    "invalid_param": ("rejected_content", False, "TikTok refused a parameter of the post"),
    "internal_error": ("platform_down", True, "TikTok had an internal error"),
}

# status/fetch fail_reason → (category, retryable, what to tell the owner)
FAIL_REASONS: dict[str, tuple[str, bool, str]] = {
    "file_format_check_failed": ("media_error", False, "TikTok does not accept this file format"),
    "duration_check_failed": ("media_error", False, "the video is too long or too short for this account"),
    "frame_rate_check_failed": ("media_error", False, "TikTok does not accept the video's frame rate"),
    "picture_size_check_failed": ("media_error", False, "TikTok does not accept the picture size"),
    "video_pull_failed": ("media_error", True, "TikTok could not download the video"),
    "photo_pull_failed": ("media_error", True, "TikTok could not download the photos"),
    "publish_cancelled": ("rejected_content", False, "the post was cancelled on TikTok"),
    "auth_removed": ("auth_expired", False, "the account withdrew FluxSocial's access"),
    "spam_risk_too_many_posts": ("rate_limited", True, "TikTok's daily post limit for this account is reached"),
    "spam_risk_user_banned_from_posting": ("rejected_content", False, "TikTok has banned this account from posting"),
    "spam_risk_text": ("rejected_content", False, "TikTok flagged the caption as spam"),
    "spam_risk": ("rejected_content", False, "TikTok flagged the post as spam"),
    "internal": ("platform_down", True, "TikTok had an internal error"),
}


@dataclass(frozen=True)
class TikTokEndpoints:
    api: str

    @classmethod
    def from_settings(cls, settings: Settings) -> TikTokEndpoints:
        return cls(api=settings.tiktok_api_url.rstrip("/") if settings.tiktok_api_url else API_URL)


def choose_privacy(preferred: str, allowed: list[str]) -> str:
    """The most public level the creator allows that is no more public than ``preferred``."""
    start = PRIVACY_LEVELS.index(preferred) if preferred in PRIVACY_LEVELS else 0
    for level in PRIVACY_LEVELS[start:]:
        if level in allowed:
            return level
    raise PlatformError(
        f"TikTok allows this account only {', '.join(allowed) or 'no'} privacy levels, none of them at or below "
        f"{preferred} (FLUXSOCIAL_TIKTOK_PRIVACY_LEVEL)",
        "rejected_content",
    )


def post_url(username: str, post_id: str, photo: bool) -> str:
    return f"https://www.tiktok.com/@{username.lstrip('@')}/{'photo' if photo else 'video'}/{post_id}"


class TikTokPublisher(AccountPublisher, ReadsPostHistory):
    name = "tiktok"
    # A publish id is only ours to ask about; nothing lists posts by our own id.
    confirms_absence = False

    def __init__(
        self,
        endpoints: TikTokEndpoints,
        http: PlatformHttp,
        tokens: AccountTokens,
        privacy_level: str,
        clock: Callable[[], datetime],
    ) -> None:
        super().__init__(endpoints, http, tokens, clock)
        self.privacy_level = privacy_level

    async def find_published(self, request: PublishRequest) -> PublishResult | None:
        return None

    async def _api(
        self, client: httpx.AsyncClient, path: str, token: str, payload: dict[str, Any] | None = None,
        params: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json; charset=UTF-8"}
        response = await self.http.send(client, LABEL, "POST", path, headers=headers, json=payload, params=params)
        body = json_body(response)
        error = body.get("error") if isinstance(body, dict) else None
        code = error.get("code") if isinstance(error, dict) else None
        if response.status_code == 200 and code in (None, "ok") and isinstance(body, dict):
            return body.get("data") or {}
        raise api_error(response, error if isinstance(error, dict) else {})

    async def _publish(self, request: PublishRequest, credentials: PlatformCredentials) -> PublishResult:
        token = credentials.access_token
        media = request.media
        if not media:
            raise PlatformError("TikTok needs a video or photos", "rejected_content")
        photo = all(item.kind == "image" for item in media)
        async with self.http.client(self.endpoints.api) as client:
            creator = await self._api(client, "/v2/post/publish/creator_info/query/", token)
            privacy = choose_privacy(self.privacy_level, list(creator.get("privacy_level_options") or []))
            if photo:
                init = await self._api(client, "/v2/post/publish/content/init/", token, {
                    "post_info": {
                        "title": request.title[:MAX_PHOTO_TITLE],
                        "description": request.caption[:MAX_PHOTO_DESCRIPTION],
                        "privacy_level": privacy,
                        "disable_comment": bool(creator.get("comment_disabled")),
                        "auto_add_music": True,
                    },
                    "source_info": {
                        "source": "PULL_FROM_URL", "photo_cover_index": 0, "photo_images": [item.url for item in media],
                    },
                    "post_mode": "DIRECT_POST",
                    "media_type": "PHOTO",
                })
            else:
                video = next(item for item in media if item.kind == "video")
                init = await self._api(client, "/v2/post/publish/video/init/", token, {
                    "post_info": {
                        "title": request.caption[:MAX_TITLE],
                        "privacy_level": privacy,
                        "disable_duet": bool(creator.get("duet_disabled")),
                        "disable_comment": bool(creator.get("comment_disabled")),
                        "disable_stitch": bool(creator.get("stitch_disabled")),
                        "video_cover_timestamp_ms": 1000,
                    },
                    "source_info": {"source": "PULL_FROM_URL", "video_url": video.url},
                })
            publish_id = str(init["publish_id"])
            username = str(creator.get("creator_username") or request.username)
            return await self._outcome(client, token, publish_id, username, photo)

    async def _outcome(
        self, client: httpx.AsyncClient, token: str, publish_id: str, username: str, photo: bool
    ) -> PublishResult:
        completed = False

        async def check() -> str | None:
            nonlocal completed
            data = await self._api(client, "/v2/post/publish/status/fetch/", token, {"publish_id": publish_id})
            status = data.get("status")
            if status == "FAILED":
                raise fail_error(str(data.get("fail_reason") or "internal"), publish_id)
            if status == "PUBLISH_COMPLETE":
                completed = True
                # (sic) TikTok's field name. The id comes once moderation has made the post public.
                ids = data.get("publicaly_available_post_id") or data.get("publicly_available_post_id") or []
                return str(ids[0]) if ids else None
            return None

        try:
            post_id = await self.http.poll(LABEL, "the post", check)
        except PlatformError as exc:
            if exc.category != "platform_down" or not exc.retryable:
                raise
            if completed:
                # Published, still in moderation: TikTok's publish id is all it has returned so far.
                return PublishResult(publish_id, f"https://www.tiktok.com/@{username.lstrip('@')}")
            # Retrying could post twice: the owner has to look.
            raise PlatformError(
                f"TikTok was still processing the post (publish id {publish_id}); it may yet appear on the "
                "account, so check TikTok before posting again",
                "platform_down",
            ) from None
        return PublishResult(post_id, post_url(username, post_id, photo))

    async def _recent_posts(self, credentials: PlatformCredentials) -> list[PastPostInput]:
        async with self.http.client(self.endpoints.api) as client:
            data = await self._api(
                client, "/v2/video/list/", credentials.access_token, {"max_count": 20},
                params={"fields": "id,title,video_description,create_time,like_count,comment_count,share_count"},
            )
        return [
            PastPostInput(
                text=str(video.get("video_description") or video.get("title") or ""),
                posted_at=parse_time(video.get("create_time")), likes=interaction_count(video.get("like_count")),
                comments=interaction_count(video.get("comment_count")), shares=interaction_count(video.get("share_count")),
                external_id=str(video.get("id") or "") or None,
            )
            for video in data.get("videos") or []
        ]


def api_error(response: httpx.Response, error: dict[str, Any]) -> PlatformError:
    code = str(error.get("code") or "")
    said = str(error.get("message") or "").strip()
    log_id = error.get("log_id")
    known = API_ERRORS.get(code)
    if known is None:
        return status_error(LABEL, response, said or code or None, code=code or None)
    category, retryable, text = known
    detail = f" ({said})" if said else ""
    trace = f" [log id {log_id}]" if log_id else ""
    wait = retry_after(response) if category == "rate_limited" else None
    return PlatformError(
        f"{text}{detail}{trace}", category, retryable,  # type: ignore[arg-type]
        status=response.status_code, code=code, retry_after=wait,
        token_rejected=code == "access_token_invalid",
    )


def fail_error(reason: str, publish_id: str) -> PlatformError:
    category, retryable, text = FAIL_REASONS.get(reason, ("platform_down", False, f"TikTok failed the post ({reason})"))
    return PlatformError(f"{text} (publish id {publish_id})", category, retryable, code=reason)  # type: ignore[arg-type]


class TikTokConnect:
    platform = "tiktok"
    label = LABEL
    uses_pkce = False

    def __init__(self, settings: Settings, endpoints: TikTokEndpoints, http: PlatformHttp) -> None:
        self.client_key = settings.tiktok_client_key
        self.client_secret = settings.tiktok_client_secret
        self.endpoints = endpoints
        self.http = http

    def configured(self) -> bool:
        return bool(self.client_key and self.client_secret)

    def authorize_url(self, *, redirect_uri: str, state: str, code_challenge: str | None) -> str:
        return authorize_url(AUTHORIZE_URL, {
            "client_key": self.client_key, "scope": ",".join(SCOPES), "response_type": "code",
            "redirect_uri": redirect_uri, "state": state,
        })

    async def _token(self, fields: dict[str, str | None]) -> tuple[httpx.Response, dict[str, Any] | None]:
        assert self.client_secret is not None
        async with self.http.client(self.endpoints.api) as client:
            response = await self.http.send(
                client, LABEL, "POST", "/v2/oauth/token/",
                data={"client_key": self.client_key, "client_secret": self.client_secret.get_secret_value(), **fields},
                headers={"Cache-Control": "no-cache"},
            )
        body = json_body(response)
        if response.status_code == 200 and isinstance(body, dict) and body.get("access_token") and not body.get("error"):
            return response, body
        return response, None

    def _credentials(self, body: dict[str, Any], now: datetime) -> PlatformCredentials:
        return PlatformCredentials(
            access_token=body["access_token"],
            refresh_token=body.get("refresh_token"),
            expires_at=expiry(now, body.get("expires_in")),
            refresh_expires_at=expiry(now, body.get("refresh_expires_in")),
            platform_user_id=body.get("open_id"),
            scope=body.get("scope"),
        )

    async def exchange_code(
        self, *, code: str, redirect_uri: str, code_verifier: str | None, now: datetime
    ) -> PlatformCredentials:
        response, body = await self._token(
            {"code": code, "grant_type": "authorization_code", "redirect_uri": redirect_uri}
        )
        if body is None:
            raise ConnectError(f"TikTok refused the authorization: {oauth_error_text(response)}")
        return self._credentials(body, now)

    async def identities(self, credentials: PlatformCredentials, now: datetime) -> list[AccountIdentity]:
        async with self.http.client(self.endpoints.api) as client:
            response = await self.http.send(
                client, LABEL, "GET", "/v2/user/info/",
                params={"fields": "open_id,username,display_name,follower_count"},
                headers={"Authorization": f"Bearer {credentials.access_token}"},
            )
        body = json_body(response)
        error = body.get("error") if isinstance(body, dict) else None
        if response.status_code != 200 or (isinstance(error, dict) and error.get("code") not in (None, "ok")):
            raise api_error(response, error if isinstance(error, dict) else {})
        user = ((body or {}).get("data") or {}).get("user") or {}
        open_id = user.get("open_id") or credentials.platform_user_id
        name = user.get("username") or user.get("display_name")
        if not open_id or not name:
            raise ConnectError("TikTok did not say which account this is")
        return [AccountIdentity(str(open_id), f"@{name}", interaction_count(user.get("follower_count")), credentials)]

    def can_refresh(self, credentials: PlatformCredentials, now: datetime) -> bool:
        return bool(credentials.refresh_token) and (
            credentials.refresh_expires_at is None or credentials.refresh_expires_at > now
        )

    async def refresh(self, credentials: PlatformCredentials, now: datetime) -> PlatformCredentials:
        response, body = await self._token(
            {"grant_type": "refresh_token", "refresh_token": credentials.refresh_token}
        )
        if body is None:
            if response.status_code >= 500:
                raise PlatformError(f"TikTok could not renew the token (HTTP {response.status_code})", "platform_down", True)
            raise RefreshRejected(oauth_error_text(response))
        renewed = self._credentials(body, now)
        return renewed.renewed(platform_user_id=renewed.platform_user_id or credentials.platform_user_id)
