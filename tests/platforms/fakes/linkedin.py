"""A fake of LinkedIn's versioned REST APIs (Posts, Images, Videos), OAuth 2.0 and userinfo.

Every /rest call must carry ``LinkedIn-Version`` (an active YYYYMM) and
``X-Restli-Protocol-Version: 2.0.0``; errors are ``{"status", "serviceErrorCode", "code",
"message"}``; a created post answers 201 with its URN in ``x-restli-id``.
"""

from __future__ import annotations

import itertools
import re
from urllib.parse import unquote

import httpx

from .base import Call, FakePlatform, json_response

ACTIVE_VERSIONS = {"202605", "202604"}


def li_error(status: int, message: str, code: str | None = None, service: int | None = None) -> httpx.Response:
    body: dict[str, object] = {"status": status, "message": message}
    if code:
        body["code"] = code
    if service:
        body["serviceErrorCode"] = service
    return json_response(status, body)


class FakeLinkedIn(FakePlatform):
    hosts = ("api.linkedin.com", "www.linkedin.com")

    def __init__(self) -> None:
        super().__init__()
        self.ids = itertools.count(7400000000000000001)
        self.member = "782bbtaQ"
        self.tokens = {"AQVlinkedin-1"}
        self.client_id, self.client_secret = "li-app", "li-secret"
        self.codes = {"li-code-ok"}
        self.refresh_tokens: set[str] = set()
        self.issue_refresh_token = False
        self.images: dict[str, bytes | None] = {}
        self.videos: dict[str, dict[str, object]] = {}
        self.posts: dict[str, dict[str, object]] = {}
        self.part_size = 4 * 1024 * 1024
        self.video_polls = 1
        self.can_read_posts = False
        self.route("POST", "/oauth/v2/accessToken", "token", self.token)
        self.route("GET", "/v2/userinfo", "userinfo", self.userinfo)
        self.route("POST", "/rest/images", "images", self.images_action)
        self.route("POST", "/rest/videos", "videos", self.videos_action)
        self.route("GET", r"/rest/videos/(.+)", "video", self.video)
        self.route("PUT", r"/dms-uploads/(.+)", "upload", self.upload)
        self.route("POST", "/rest/posts", "create_post", self.create_post)
        self.route("GET", "/rest/posts", "find_posts", self.find_posts)

    def _rest(self, call: Call) -> httpx.Response | None:
        version = call.headers.get("linkedin-version")
        if version not in ACTIVE_VERSIONS:
            return li_error(426, f"Requested version {version} is not active", "NONEXISTENT_VERSION")
        if call.headers.get("x-restli-protocol-version") != "2.0.0":
            return li_error(400, "X-Restli-Protocol-Version 2.0.0 is required", "ILLEGAL_ARGUMENT")
        if call.bearer not in self.tokens:
            return li_error(401, "Invalid access token", "INVALID_ACCESS_TOKEN", 65600)
        return None

    def token(self, call: Call, _: re.Match[str]) -> httpx.Response:
        f = call.form
        if (f.get("client_id"), f.get("client_secret")) != (self.client_id, self.client_secret):
            return json_response(401, {"error": "invalid_client", "error_description": "Client authentication failed"})
        if f.get("grant_type") == "authorization_code":
            if f.get("code") not in self.codes or not f.get("redirect_uri"):
                return json_response(400, {
                    "error": "invalid_request",
                    "error_description": "Unable to retrieve access token: appid/redirect uri/code verifier does not "
                                         "match authorization code. Or authorization code expired.",
                })
            self.codes.discard(f["code"])
        elif f.get("grant_type") == "refresh_token":
            if f.get("refresh_token") not in self.refresh_tokens:
                return json_response(400, {"error": "invalid_request", "error_description": "The provided refresh token is invalid"})
        else:
            return json_response(400, {"error": "unsupported_grant_type", "error_description": "unsupported grant"})
        token = f"AQVlinkedin-{len(self.tokens) + 1}"
        self.tokens.add(token)
        body: dict[str, object] = {"access_token": token, "expires_in": 5184000, "scope": "openid,profile,w_member_social",
                                   "token_type": "Bearer"}
        if self.issue_refresh_token:
            body.update(refresh_token=f"AQWrefresh-{len(self.tokens)}", refresh_token_expires_in=31536000)
            self.refresh_tokens.add(str(body["refresh_token"]))
        return json_response(200, body)

    def userinfo(self, call: Call, _: re.Match[str]) -> httpx.Response:
        if call.bearer not in self.tokens:
            return li_error(401, "Invalid access token", "INVALID_ACCESS_TOKEN", 65600)
        return json_response(200, {"sub": self.member, "name": "Ada Lovelace", "given_name": "Ada",
                                   "family_name": "Lovelace", "locale": {"country": "US", "language": "en"}})

    def images_action(self, call: Call, _: re.Match[str]) -> httpx.Response:
        if problem := self._rest(call):
            return problem
        if call.query.get("action") != "initializeUpload":
            return li_error(400, "Unknown action")
        owner = ((call.json or {}).get("initializeUploadRequest") or {}).get("owner")
        if owner != f"urn:li:person:{self.member}":
            return li_error(403, "Not enough permissions to access: images.INITIALIZEUPLOAD", "ACCESS_DENIED", 100)
        urn = f"urn:li:image:D4E10AQ{next(self.ids)}"
        self.images[urn] = None
        return json_response(200, {"value": {
            "uploadUrlExpiresAt": 1775563200000,
            "uploadUrl": f"https://www.linkedin.com/dms-uploads/sp/v2/{urn.rsplit(':', 1)[1]}/uploaded-image/0",
            "image": urn,
        }})

    def videos_action(self, call: Call, _: re.Match[str]) -> httpx.Response:
        if problem := self._rest(call):
            return problem
        action = call.query.get("action")
        if action == "initializeUpload":
            request = (call.json or {}).get("initializeUploadRequest") or {}
            size = int(request.get("fileSizeBytes", 0))
            if request.get("owner") != f"urn:li:person:{self.member}" or size <= 0:
                return li_error(400, "owner and fileSizeBytes are required", "ILLEGAL_ARGUMENT")
            urn = f"urn:li:video:D5E10AQ{next(self.ids)}"
            parts = [(start, min(start + self.part_size, size) - 1) for start in range(0, size, self.part_size)]
            self.videos[urn] = {"size": size, "parts": {}, "finalized": False, "polls": self.video_polls,
                                "etags": [f"/etag-{urn[-4:]}-{i}" for i in range(len(parts))]}
            return json_response(200, {"value": {
                "uploadUrlsExpireAt": 1775563200000, "video": urn, "uploadToken": "",
                "uploadInstructions": [
                    {"uploadUrl": f"https://www.linkedin.com/dms-uploads/sp/v2/{urn.rsplit(':', 1)[1]}/part/{i}",
                     "firstByte": first, "lastByte": last}
                    for i, (first, last) in enumerate(parts)
                ],
            }})
        if action == "finalizeUpload":
            request = (call.json or {}).get("finalizeUploadRequest") or {}
            video = self.videos.get(str(request.get("video")))
            if video is None:
                return li_error(404, "Video not found", "NOT_FOUND")
            if request.get("uploadedPartIds") != video["etags"] or len(video["parts"]) != len(video["etags"]):  # type: ignore[arg-type]
                return li_error(400, "uploadedPartIds do not match the uploaded parts", "ILLEGAL_ARGUMENT")
            video["finalized"] = True
            return httpx.Response(200)
        return li_error(400, "Unknown action")

    def upload(self, call: Call, match: re.Match[str]) -> httpx.Response:
        if call.bearer not in self.tokens:
            return li_error(401, "Invalid access token", "INVALID_ACCESS_TOKEN", 65600)
        path = match.group(1)
        for urn in self.images:
            if urn.rsplit(":", 1)[1] in path:
                self.images[urn] = call.content
                return httpx.Response(201)
        for urn, video in self.videos.items():
            if urn.rsplit(":", 1)[1] in path:
                index = int(path.rsplit("/", 1)[1])
                video["parts"][index] = call.content  # type: ignore[index]
                return httpx.Response(200, headers={"etag": video["etags"][index]})  # type: ignore[index]
        return li_error(404, "Unknown upload")

    def video(self, call: Call, match: re.Match[str]) -> httpx.Response:
        if problem := self._rest(call):
            return problem
        urn = unquote(match.group(1))
        video = self.videos.get(urn)
        if video is None:
            return li_error(404, "Video not found", "NOT_FOUND")
        if not video["finalized"] or video["polls"] > 0:  # type: ignore[operator]
            if video["finalized"]:
                video["polls"] -= 1  # type: ignore[operator]
            return json_response(200, {"id": urn, "status": "PROCESSING" if video["finalized"] else "WAITING_UPLOAD"})
        return json_response(200, {"id": urn, "status": "AVAILABLE", "duration": 8000})

    def create_post(self, call: Call, _: re.Match[str]) -> httpx.Response:
        if problem := self._rest(call):
            return problem
        post = call.json or {}
        required = ("author", "commentary", "visibility", "distribution", "lifecycleState")
        if any(key not in post for key in required):
            return li_error(422, f"Missing one of {', '.join(required)}", "UNPROCESSABLE_ENTITY")
        if post["author"] != f"urn:li:person:{self.member}":
            return li_error(403, "Not enough permissions to access: partnerApiPostsExternal.CREATE", "ACCESS_DENIED", 100)
        if len(str(post["commentary"])) > 3000:
            return li_error(422, "/commentary :: length of commentary exceeds 3000", "UNPROCESSABLE_ENTITY")
        for urn, existing in self.posts.items():
            if existing["commentary"] == post["commentary"]:
                return li_error(422, f"Content is a duplicate of {urn}", "DUPLICATE_POST")
        content = post.get("content") or {}
        media = [content["media"]["id"]] if "media" in content else [
            image["id"] for image in (content.get("multiImage") or {}).get("images", [])
        ]
        for urn in media:
            if urn in self.images and self.images[urn] is None or urn in self.videos and not self.videos[urn]["finalized"]:
                return li_error(400, f"Media {urn} was never uploaded", "ILLEGAL_ARGUMENT")
            if urn not in self.images and urn not in self.videos:
                return li_error(400, f"Unknown media {urn}", "ILLEGAL_ARGUMENT")
        urn = f"urn:li:share:{next(self.ids)}"
        self.posts[urn] = {**post, "createdAt": 1775476800000}
        return httpx.Response(201, headers={"x-restli-id": urn, "x-linkedin-id": urn.rsplit(":", 1)[1]})

    def find_posts(self, call: Call, _: re.Match[str]) -> httpx.Response:
        if problem := self._rest(call):
            return problem
        if not self.can_read_posts:
            return li_error(403, "Not enough permissions to access: partnerApiPostsExternal.FINDER-author", "ACCESS_DENIED", 100)
        return json_response(200, {"elements": [{"id": urn, **post} for urn, post in self.posts.items()],
                                   "paging": {"start": 0, "count": 20, "links": []}})
