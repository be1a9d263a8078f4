"""A fake of the X API v2: posts, media upload (simple and chunked), users, OAuth 2.0 with PKCE.

Errors are problem documents; a rate limit is a 429 with ``x-rate-limit-*`` headers; the
same text twice is a 403 "You are not allowed to create a Tweet with duplicate content.";
the token endpoint checks HTTP Basic client authentication and the PKCE S256 verifier.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import re
from dataclasses import dataclass
from typing import Any

import httpx

from fluxsocial_mcp.platforms.rules import x_length

from .base import Call, FakePlatform, json_response

INVALID_REQUEST = "https://api.twitter.com/2/problems/invalid-request"


def problem(status: int, title: str, detail: str, kind: str = "about:blank", headers: dict[str, str] | None = None) -> httpx.Response:
    return json_response(status, {"title": title, "detail": detail, "type": kind, "status": status}, headers)


def unauthorized() -> httpx.Response:
    return problem(401, "Unauthorized", "Unauthorized")


def too_many_requests(reset: int) -> httpx.Response:
    return problem(429, "Too Many Requests", "Too Many Requests", headers={
        "x-rate-limit-limit": "100", "x-rate-limit-remaining": "0", "x-rate-limit-reset": str(reset),
    })


def duplicate() -> httpx.Response:
    return problem(403, "Forbidden", "You are not allowed to create a Tweet with duplicate content.")


@dataclass
class Upload:
    id: str
    kind: str
    total: int
    received: dict[int, bytes]
    finalized: bool = False
    polls: int = 0
    failed: bool = False


class FakeX(FakePlatform):
    hosts = ("api.x.com",)

    def __init__(self) -> None:
        super().__init__()
        self.ids = itertools.count(1880028106020515840)
        self.user_id, self.username = "1460000000000000001", "morningcup"
        self.tokens = {"xat-1"}
        self.refresh_tokens = {"xrt-1"}
        self.client_id, self.client_secret = "x-client", "x-secret"
        # code → (code_challenge, redirect_uri)
        self.codes: dict[str, tuple[str, str]] = {}
        self.uploads: dict[str, Upload] = {}
        self.tweets: dict[str, dict[str, Any]] = {}
        self.video_polls = 1
        self.route("POST", "/2/oauth2/token", "token", self.token)
        self.route("GET", "/2/users/me", "me", self.me)
        self.route("POST", "/2/media/upload/initialize", "media_initialize", self.initialize)
        self.route("POST", r"/2/media/upload/(\d+)/append", "media_append", self.append)
        self.route("POST", r"/2/media/upload/(\d+)/finalize", "media_finalize", self.finalize)
        self.route("POST", "/2/media/upload", "media_upload", self.simple_upload)
        self.route("GET", "/2/media/upload", "media_status", self.status)
        self.route("POST", "/2/tweets", "create_tweet", self.create_tweet)
        self.route("GET", r"/2/users/(\d+)/tweets", "timeline", self.timeline)

    def authorize(self, code_challenge: str, redirect_uri: str) -> str:
        """What x.com/i/oauth2/authorize does once the person approves: a code bound to the challenge."""
        code = f"x-code-{len(self.codes) + 1}"
        self.codes[code] = (code_challenge, redirect_uri)
        return code

    def token(self, call: Call, _: re.Match[str]) -> httpx.Response:
        expected = "Basic " + base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        if call.headers.get("authorization") != expected:
            return json_response(401, {"error": "unauthorized_client", "error_description": "Missing valid authorization header"})
        f = call.form
        if f.get("grant_type") == "authorization_code":
            bound = self.codes.pop(f.get("code", ""), None)
            verifier = f.get("code_verifier", "")
            challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
            if bound is None or bound != (challenge, f.get("redirect_uri")):
                return json_response(400, {"error": "invalid_request", "error_description": "Value passed for the authorization code was invalid."})
        elif f.get("grant_type") == "refresh_token":
            if f.get("refresh_token") not in self.refresh_tokens:
                return json_response(400, {"error": "invalid_request", "error_description": "Value passed for the token was invalid."})
            # Single-use: the refresh token rotates.
            self.refresh_tokens.discard(f["refresh_token"])
        else:
            return json_response(400, {"error": "invalid_request", "error_description": "Unsupported grant_type"})
        n = len(self.tokens) + 1
        self.tokens.add(f"xat-{n}")
        self.refresh_tokens.add(f"xrt-{n}")
        return json_response(200, {
            "token_type": "bearer", "expires_in": 7200, "access_token": f"xat-{n}",
            "scope": "tweet.read tweet.write users.read media.write offline.access", "refresh_token": f"xrt-{n}",
        })

    def me(self, call: Call, _: re.Match[str]) -> httpx.Response:
        if call.bearer not in self.tokens:
            return unauthorized()
        return json_response(200, {"data": {
            "id": self.user_id, "name": "The Morning Cup", "username": self.username,
            "public_metrics": {"followers_count": 4200, "following_count": 10, "tweet_count": 99, "listed_count": 3},
        }})

    def _new_upload(self, kind: str, total: int) -> Upload:
        media_id = str(next(self.ids))
        upload = Upload(media_id, kind, total, {}, polls=self.video_polls)
        self.uploads[media_id] = upload
        return upload

    def simple_upload(self, call: Call, _: re.Match[str]) -> httpx.Response:
        if call.bearer not in self.tokens:
            return unauthorized()
        media = call.files.get("media")
        if media is None or call.form.get("media_category") != "tweet_image":
            return problem(400, "Invalid Request", "media and media_category=tweet_image are required", INVALID_REQUEST)
        upload = self._new_upload("image", len(media[1]))
        upload.received[0], upload.finalized, upload.polls = media[1], True, 0
        return json_response(200, {"data": {
            "id": upload.id, "media_key": f"3_{upload.id}", "size": upload.total, "expires_after_secs": 86400,
            "image": {"image_type": call.form.get("media_type", "image/jpeg"), "w": 1080, "h": 1080},
        }})

    def initialize(self, call: Call, _: re.Match[str]) -> httpx.Response:
        if call.bearer not in self.tokens:
            return unauthorized()
        body = call.json or {}
        if body.get("media_category") != "tweet_video" or not body.get("media_type", "").startswith("video/"):
            return problem(400, "Invalid Request", "media_type and media_category are required", INVALID_REQUEST)
        upload = self._new_upload("video", int(body.get("total_bytes", 0)))
        return json_response(200, {"data": {"id": upload.id, "media_key": f"7_{upload.id}", "expires_after_secs": 86399}})

    def append(self, call: Call, match: re.Match[str]) -> httpx.Response:
        if call.bearer not in self.tokens:
            return unauthorized()
        upload = self.uploads.get(match.group(1))
        media = call.files.get("media")
        if upload is None or media is None or "segment_index" not in call.form:
            return problem(400, "Invalid Request", "segment_index and media are required", INVALID_REQUEST)
        upload.received[int(call.form["segment_index"])] = media[1]
        return json_response(200, {"data": {"expires_at": 1775563200}})

    def finalize(self, call: Call, match: re.Match[str]) -> httpx.Response:
        if call.bearer not in self.tokens:
            return unauthorized()
        upload = self.uploads.get(match.group(1))
        if upload is None:
            return problem(400, "Invalid Request", "Unknown media id", INVALID_REQUEST)
        size = sum(len(part) for part in upload.received.values())
        if size != upload.total or sorted(upload.received) != list(range(len(upload.received))):
            return problem(400, "Invalid Request", f"File size mismatch: received {size} of {upload.total} bytes", INVALID_REQUEST)
        upload.finalized = True
        return json_response(200, {"data": {
            "id": upload.id, "media_key": f"7_{upload.id}", "size": size, "expires_after_secs": 86400,
            "processing_info": {"state": "pending", "check_after_secs": 1},
        }})

    def status(self, call: Call, _: re.Match[str]) -> httpx.Response:
        if call.bearer not in self.tokens:
            return unauthorized()
        upload = self.uploads.get(call.query.get("media_id", ""))
        if call.query.get("command") != "STATUS" or upload is None:
            return problem(400, "Invalid Request", "command=STATUS and a known media_id are required", INVALID_REQUEST)
        if upload.failed:
            info = {"state": "failed", "progress_percent": 12,
                    "error": {"code": 1, "name": "InvalidMedia", "message": "Unsupported video format"}}
        elif upload.polls > 0:
            upload.polls -= 1
            info = {"state": "in_progress", "check_after_secs": 1, "progress_percent": 50}
        else:
            info = {"state": "succeeded", "progress_percent": 100}
        return json_response(200, {"data": {"id": upload.id, "media_key": f"7_{upload.id}", "processing_info": info}})

    def create_tweet(self, call: Call, _: re.Match[str]) -> httpx.Response:
        if call.bearer not in self.tokens:
            return unauthorized()
        body = call.json or {}
        text = body.get("text", "")
        if x_length(text) > 280:
            return json_response(400, {"errors": [{"parameters": {"text": [text]}, "message": "Text is too long"}],
                                       "title": "Invalid Request", "detail": "One or more parameters to your request was invalid.",
                                       "type": INVALID_REQUEST})
        media_ids = (body.get("media") or {}).get("media_ids") or []
        for media_id in media_ids:
            upload = self.uploads.get(media_id)
            if upload is None or not upload.finalized or upload.polls > 0:
                return json_response(400, {"errors": [{"parameters": {"media.media_ids": [media_id]},
                                                       "message": "Your media IDs are invalid."}],
                                           "title": "Invalid Request",
                                           "detail": "One or more parameters to your request was invalid.",
                                           "type": INVALID_REQUEST})
        if any(t["text"] == text for t in self.tweets.values()):
            return duplicate()
        tweet_id = str(next(self.ids))
        self.tweets[tweet_id] = {"text": text, "media_ids": media_ids, "created_at": "2026-04-06T12:00:00.000Z"}
        return json_response(201, {"data": {"id": tweet_id, "text": text, "edit_history_tweet_ids": [tweet_id]}})

    def timeline(self, call: Call, match: re.Match[str]) -> httpx.Response:
        if call.bearer not in self.tokens:
            return unauthorized()
        if match.group(1) != self.user_id:
            return problem(403, "Forbidden", "You are not permitted to read this timeline.")
        return json_response(200, {"data": [
            {"id": tid, "text": t["text"], "created_at": t["created_at"], "edit_history_tweet_ids": [tid],
             "public_metrics": t.get("public_metrics") or
                               {"retweet_count": 2, "reply_count": 3, "like_count": 40, "quote_count": 1}}
            for tid, t in reversed(self.tweets.items())
        ], "meta": {"result_count": len(self.tweets)}})
