"""A fake of TikTok's Content Posting API (Direct Post), user info, video list and OAuth v2.

Every answer is ``{"data": …, "error": {"code", "message", "log_id"}}``. A publish moves
PROCESSING_DOWNLOAD → PUBLISH_COMPLETE as its status is fetched, and only then shows the
public post id (``publicaly_available_post_id``, TikTok's spelling).
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from typing import Any

import httpx

from .base import Call, FakePlatform, json_response

LOG_ID = "202604061200000102030405060708090A"


def tiktok_error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> httpx.Response:
    return json_response(status, {"error": {"code": code, "message": message, "log_id": LOG_ID}}, headers)


def ok(data: Any) -> httpx.Response:
    return json_response(200, {"data": data, "error": {"code": "ok", "message": "", "log_id": LOG_ID}})


@dataclass
class Publish:
    id: str
    body: dict[str, Any]
    pending: int
    fail_reason: str | None = None
    post_id: str | None = None
    statuses: list[str] = field(default_factory=list)


class FakeTikTok(FakePlatform):
    hosts = ("open.tiktokapis.com",)

    def __init__(self) -> None:
        super().__init__()
        self.ids = itertools.count(7312345678901234501)
        self.tokens = {"act.valid-1"}
        self.refresh_tokens = {"rft.valid-1"}
        self.client_key, self.client_secret = "tt-key", "tt-secret"
        self.codes = {"tt-code-ok"}
        self.open_id = "-000AbCdEfGhIjKlMnOp"
        self.privacy_options = ["PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "SELF_ONLY"]
        self.comment_disabled = False
        self.creator_info_asked: set[str] = set()
        self.publishes: dict[str, Publish] = {}
        self.pending_polls = 2
        self.next_fail_reason: str | None = None
        self.moderation_pending = False
        self.route("POST", "/v2/oauth/token/", "token", self.token)
        self.route("GET", "/v2/user/info/", "user_info", self.user_info)
        self.route("POST", "/v2/post/publish/creator_info/query/", "creator_info", self.creator_info)
        self.route("POST", "/v2/post/publish/video/init/", "video_init", self.video_init)
        self.route("POST", "/v2/post/publish/content/init/", "content_init", self.content_init)
        self.route("POST", "/v2/post/publish/status/fetch/", "status_fetch", self.status_fetch)
        self.route("POST", "/v2/video/list/", "video_list", self.video_list)

    def _authorized(self, call: Call, json_body: bool = True) -> httpx.Response | None:
        if call.bearer not in self.tokens:
            return tiktok_error(401, "access_token_invalid", "The access token is invalid or not found in the request.")
        if json_body and call.headers.get("content-type") != "application/json; charset=UTF-8":
            return tiktok_error(400, "invalid_param", "Content-Type must be application/json; charset=UTF-8")
        return None

    def token(self, call: Call, _: re.Match[str]) -> httpx.Response:
        f = call.form
        if (f.get("client_key"), f.get("client_secret")) != (self.client_key, self.client_secret):
            return json_response(401, {"error": "invalid_client", "error_description": "Client key or secret is incorrect.", "log_id": LOG_ID})
        if f.get("grant_type") == "authorization_code":
            if f.get("code") not in self.codes or not f.get("redirect_uri"):
                return json_response(400, {"error": "invalid_grant", "error_description": "Authorization code is expired.", "log_id": LOG_ID})
            self.codes.discard(f["code"])
        elif f.get("grant_type") == "refresh_token":
            if f.get("refresh_token") not in self.refresh_tokens:
                return json_response(400, {"error": "invalid_grant", "error_description": "Refresh token is invalid or expired.", "log_id": LOG_ID})
            self.refresh_tokens.discard(f["refresh_token"])
        else:
            return json_response(400, {"error": "unsupported_grant_type", "error_description": "", "log_id": LOG_ID})
        n = len(self.tokens) + 1
        self.tokens.add(f"act.valid-{n}")
        self.refresh_tokens.add(f"rft.valid-{n}")
        return json_response(200, {
            "access_token": f"act.valid-{n}", "expires_in": 86400, "open_id": self.open_id,
            "refresh_expires_in": 31536000, "refresh_token": f"rft.valid-{n}",
            "scope": "user.info.basic,user.info.profile,user.info.stats,video.publish,video.list", "token_type": "Bearer",
        })

    def user_info(self, call: Call, _: re.Match[str]) -> httpx.Response:
        if problem := self._authorized(call, json_body=False):
            return problem
        return ok({"user": {"open_id": self.open_id, "username": "morningcup", "display_name": "The Morning Cup",
                            "follower_count": 15300}})

    def creator_info(self, call: Call, _: re.Match[str]) -> httpx.Response:
        if problem := self._authorized(call):
            return problem
        self.creator_info_asked.add(call.bearer or "")
        return ok({
            "creator_avatar_url": "https://p16-sign.tiktokcdn-us.com/avatar.jpeg",
            "creator_username": "morningcup", "creator_nickname": "The Morning Cup",
            "privacy_level_options": self.privacy_options, "comment_disabled": self.comment_disabled,
            "duet_disabled": False, "stitch_disabled": True, "max_video_post_duration_sec": 600,
        })

    def _start(self, call: Call, body: dict[str, Any], prefix: str) -> httpx.Response:
        if call.bearer not in self.creator_info_asked:
            return tiktok_error(400, "invalid_param", "Query creator info before posting")
        info = body.get("post_info") or {}
        if info.get("privacy_level") not in self.privacy_options:
            return tiktok_error(400, "privacy_level_option_mismatch", "privacy_level is not among the creator's options")
        publish = Publish(f"{prefix}~v2.{next(self.ids)}", body, self.pending_polls, self.next_fail_reason)
        self.publishes[publish.id] = publish
        return ok({"publish_id": publish.id})

    def video_init(self, call: Call, _: re.Match[str]) -> httpx.Response:
        if problem := self._authorized(call):
            return problem
        body = call.json or {}
        source = body.get("source_info") or {}
        if source.get("source") != "PULL_FROM_URL" or not str(source.get("video_url", "")).startswith("http"):
            return tiktok_error(400, "invalid_param", "source_info.video_url is required for PULL_FROM_URL")
        if len((body.get("post_info") or {}).get("title", "")) > 2200:
            return tiktok_error(400, "invalid_param", "title is too long")
        return self._start(call, body, "v_pub_url")

    def content_init(self, call: Call, _: re.Match[str]) -> httpx.Response:
        if problem := self._authorized(call):
            return problem
        body = call.json or {}
        source = body.get("source_info") or {}
        if body.get("media_type") != "PHOTO" or body.get("post_mode") not in ("DIRECT_POST", "MEDIA_UPLOAD"):
            return tiktok_error(400, "invalid_param", "media_type must be PHOTO and post_mode DIRECT_POST or MEDIA_UPLOAD")
        images = source.get("photo_images") or []
        if source.get("source") != "PULL_FROM_URL" or not 1 <= len(images) <= 35:
            return tiktok_error(400, "invalid_param", "photo_images must list 1 to 35 URLs")
        if len((body.get("post_info") or {}).get("title", "")) > 90:
            return tiktok_error(400, "invalid_param", "title is at most 90 characters")
        return self._start(call, body, "p_pub_url")

    def status_fetch(self, call: Call, _: re.Match[str]) -> httpx.Response:
        if problem := self._authorized(call):
            return problem
        publish = self.publishes.get((call.json or {}).get("publish_id", ""))
        if publish is None:
            return tiktok_error(400, "invalid_publish_id", "publish_id does not exist")
        if publish.pending > 0:
            publish.pending -= 1
            return ok({"status": "PROCESSING_DOWNLOAD", "fail_reason": "", "publicaly_available_post_id": [],
                       "uploaded_bytes": 0, "downloaded_bytes": 1024})
        if publish.fail_reason:
            return ok({"status": "FAILED", "fail_reason": publish.fail_reason, "publicaly_available_post_id": []})
        if publish.post_id is None and not self.moderation_pending:
            publish.post_id = str(next(self.ids))
        return ok({"status": "PUBLISH_COMPLETE", "fail_reason": "",
                   "publicaly_available_post_id": [int(publish.post_id)] if publish.post_id else [],
                   "downloaded_bytes": 2048})

    def video_list(self, call: Call, _: re.Match[str]) -> httpx.Response:
        if problem := self._authorized(call):
            return problem
        return ok({"videos": [
            {"id": "7312345678900000001", "title": "Latte art", "video_description": "Latte art #coffee",
             "create_time": 1775476800, "like_count": 300, "comment_count": 20, "share_count": 5},
        ], "cursor": 1775476800000, "has_more": False})
