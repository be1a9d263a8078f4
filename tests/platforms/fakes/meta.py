"""Fakes of Meta's Graph APIs: Instagram (Instagram Login), Facebook Pages and Threads.

Errors have the Graph shape ``{"error": {"message", "type", "code", "error_subcode",
"fbtrace_id", ...}}``; media containers move IN_PROGRESS → FINISHED as they are polled,
and publishing one that is not ready answers code 9007 / subcode 2207027.
"""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass, field
from typing import Any

import httpx

from .base import Call, FakePlatform, json_response

VERSION = "v25.0"


def graph_error(
    code: int, message: str, *, subcode: int | None = None, status: int = 400, user_msg: str | None = None,
    transient: bool = False, headers: dict[str, str] | None = None,
) -> httpx.Response:
    error: dict[str, Any] = {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "AbCdEfGh123"}
    if subcode is not None:
        error["error_subcode"] = subcode
        error["is_transient"] = transient
    if user_msg is not None:
        error["error_user_title"] = message
        error["error_user_msg"] = user_msg
    return json_response(status, {"error": error}, headers)


def token_expired() -> httpx.Response:
    return graph_error(
        190, "Error validating access token: Session has expired on Tuesday, 07-Apr-26 12:00:00 PDT.", subcode=463
    )


def rate_limited(code: int = 4) -> httpx.Response:
    return graph_error(
        code, "Application request limit reached", status=400,
        headers={"x-app-usage": json.dumps({"call_count": 100, "total_cputime": 20, "total_time": 30})},
    )


@dataclass
class Container:
    id: str
    params: dict[str, str]
    # How many more status reads stay IN_PROGRESS before the final state.
    pending_polls: int
    final: str = "FINISHED"
    error_status: str = ""
    published: bool = False

    def status(self) -> tuple[str, str]:
        if self.published:
            return "PUBLISHED", "Published"
        if self.pending_polls > 0:
            self.pending_polls -= 1
            return "IN_PROGRESS", "In Progress: Media is still being processed."
        if self.final == "ERROR":
            return "ERROR", self.error_status
        return self.final, "Finished: Media has been uploaded and it is ready to be published."


@dataclass
class Published:
    id: str
    text: str
    permalink: str
    timestamp: str
    likes: int = 0
    comments: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


class FakeInstagram(FakePlatform):
    hosts = ("graph.instagram.com", "api.instagram.com")

    def __init__(self) -> None:
        super().__init__()
        self.ids = itertools.count(17900000000000001)
        self.user_id = "17841400000000001"
        self.username = "morningcup"
        self.followers = 2000
        self.tokens = {"IGlong-1"}
        self.client_id, self.client_secret = "ig-app", "ig-secret"
        self.codes = {"ig-code-ok"}
        self.containers: dict[str, Container] = {}
        self.media: dict[str, Published] = {}
        self.video_polls = 2
        # The processing error the next container ends in, as its ``status`` reads.
        self.next_error: str | None = None
        v = VERSION
        self.route("POST", "/oauth/access_token", "token", self.token)
        self.route("GET", "/access_token", "exchange", self.exchange)
        self.route("GET", "/refresh_access_token", "refresh", self.refresh)
        self.route("GET", f"/{v}/me", "me", self.me)
        self.route("POST", rf"/{v}/(\d+)/media", "create_container", self.create_container)
        self.route("POST", rf"/{v}/(\d+)/media_publish", "media_publish", self.media_publish)
        self.route("GET", rf"/{v}/(\d+)/media", "list_media", self.list_media)
        self.route("GET", rf"/{v}/(\d+)", "read", self.read)

    def _authorized(self, call: Call) -> httpx.Response | None:
        return None if call.params.get("access_token") in self.tokens else token_expired()

    def token(self, call: Call, _: re.Match[str]) -> httpx.Response:
        form = call.form
        if (form.get("client_id"), form.get("client_secret")) != (self.client_id, self.client_secret):
            return json_response(400, {"error_type": "OAuthException", "code": 101, "error_message": "Error validating client secret."})
        if form.get("grant_type") != "authorization_code" or form.get("code") not in self.codes or not form.get("redirect_uri"):
            return json_response(400, {"error_type": "OAuthException", "code": 400, "error_message": "Invalid authorization code"})
        self.codes.discard(form["code"])
        self.tokens.add("IGshort-1")
        return json_response(200, {"data": [{
            "access_token": "IGshort-1", "user_id": self.user_id,
            "permissions": "instagram_business_basic,instagram_business_content_publish",
        }]})

    def exchange(self, call: Call, _: re.Match[str]) -> httpx.Response:
        q = call.query
        if q.get("grant_type") != "ig_exchange_token" or q.get("client_secret") != self.client_secret:
            return graph_error(100, "Invalid grant_type or client_secret")
        if q.get("access_token") != "IGshort-1":
            return token_expired()
        self.tokens.add("IGlong-1")
        return json_response(200, {"access_token": "IGlong-1", "token_type": "bearer", "expires_in": 5183944})

    def refresh(self, call: Call, _: re.Match[str]) -> httpx.Response:
        if call.query.get("grant_type") != "ig_refresh_token":
            return graph_error(100, "Invalid grant_type")
        if call.query.get("access_token") not in self.tokens:
            return token_expired()
        self.tokens.add("IGlong-2")
        return json_response(200, {"access_token": "IGlong-2", "token_type": "bearer", "expires_in": 5183944})

    def me(self, call: Call, _: re.Match[str]) -> httpx.Response:
        if problem := self._authorized(call):
            return problem
        return json_response(200, {
            "user_id": self.user_id, "username": self.username, "followers_count": self.followers, "id": "2700000001",
        })

    def create_container(self, call: Call, match: re.Match[str]) -> httpx.Response:
        if problem := self._authorized(call):
            return problem
        if match.group(1) != self.user_id:
            return graph_error(100, "Unsupported post request", subcode=33)
        p = call.params
        kind = p.get("media_type")
        sources = [key for key in ("image_url", "video_url", "children") if p.get(key)]
        if len(sources) != 1:
            return graph_error(100, "The parameter image_url, video_url or children is required")
        if kind == "CAROUSEL":
            children = p["children"].split(",")
            if not 2 <= len(children) <= 10 or any(c not in self.containers for c in children):
                return graph_error(100, "Invalid parameter", subcode=2207028, user_msg="Carousel children are not valid")
        elif kind in ("REELS", "VIDEO", "STORIES") and "video_url" not in sources and kind != "STORIES":
            return graph_error(100, "video_url is required for this media_type")
        elif kind is None and "image_url" not in sources:
            return graph_error(100, "Only photo or video can be accepted as media type.", subcode=2207052)
        if kind == "VIDEO" and p.get("is_carousel_item") != "true":
            return graph_error(100, "The VIDEO media type is deprecated: publish videos as REELS")
        if len(p.get("caption", "")) > 2200:
            return graph_error(100, "The caption is too long", subcode=2207010, user_msg="The caption is too long")
        container = Container(
            str(next(self.ids)), dict(p), self.video_polls if "video_url" in sources else 0,
        )
        if self.next_error:
            container.final, container.error_status, self.next_error = "ERROR", self.next_error, None
        self.containers[container.id] = container
        return json_response(200, {"id": container.id})

    def read(self, call: Call, match: re.Match[str]) -> httpx.Response:
        if problem := self._authorized(call):
            return problem
        node = match.group(1)
        fields = call.query.get("fields", "")
        if node in self.containers and "status_code" in fields:
            code, status = self.containers[node].status()
            return json_response(200, {"status_code": code, "status": status, "id": node})
        if node in self.media and fields == "permalink":
            return json_response(200, {"permalink": self.media[node].permalink, "id": node})
        if node == self.user_id and fields == "followers_count":
            return json_response(200, {"followers_count": self.followers, "id": node})
        return graph_error(100, f"Unsupported get request. Object with ID '{node}' does not exist", subcode=33)

    def media_publish(self, call: Call, match: re.Match[str]) -> httpx.Response:
        if problem := self._authorized(call):
            return problem
        container = self.containers.get(call.params.get("creation_id", ""))
        if container is None:
            return graph_error(24, "The requested resource does not exist", subcode=2207008)
        if container.published:
            return graph_error(100, "The media has already been published", subcode=2207006)
        if container.pending_polls > 0 or container.final != "FINISHED":
            return graph_error(
                9007, "Media ID is not available", subcode=2207027,
                user_msg="The media is not ready for publishing, please wait for a moment",
            )
        container.published = True
        media_id = str(next(self.ids))
        self.media[media_id] = Published(
            media_id, container.params.get("caption", ""), f"https://www.instagram.com/p/C{media_id[-6:]}/",
            "2026-04-06T12:00:00+0000",
        )
        return json_response(200, {"id": media_id})

    def list_media(self, call: Call, _: re.Match[str]) -> httpx.Response:
        if problem := self._authorized(call):
            return problem
        data = []
        for m in reversed(self.media.values()):
            item = {"id": m.id, "timestamp": m.timestamp, "caption": m.text, "permalink": m.permalink,
                    "like_count": m.likes, "comments_count": m.comments}
            wanted = set(call.query.get("fields", "").split(","))
            data.append({k: v for k, v in item.items() if k in wanted or k == "id"})
        return json_response(200, {"data": data, "paging": {"cursors": {"before": "QVFI", "after": "QVFJ"}}})


class FakeFacebook(FakePlatform):
    hosts = ("graph.facebook.com",)

    def __init__(self) -> None:
        super().__init__()
        self.ids = itertools.count(700001)
        self.page_id, self.page_token = "104000000000001", "EAAPage-1"
        self.client_id, self.client_secret = "fb-app", "fb-secret"
        self.codes = {"fb-code-ok"}
        self.user_tokens: set[str] = set()
        self.posts: dict[str, Published] = {}
        self.photos: dict[str, dict[str, str]] = {}
        self.videos: dict[str, dict[str, str]] = {}
        self.stories: list[str] = []
        v = VERSION
        self.route("GET", f"/{v}/oauth/access_token", "token", self.token)
        self.route("GET", f"/{v}/me/accounts", "accounts", self.accounts)
        self.route("POST", rf"/{v}/(\d+)/feed", "feed", self.feed)
        self.route("POST", rf"/{v}/(\d+)/photos", "photos", self.upload_photo)
        self.route("POST", rf"/{v}/(\d+)/videos", "videos", self.upload_video)
        self.route("POST", rf"/{v}/(\d+)/photo_stories", "photo_stories", self.photo_story)
        self.route("GET", rf"/{v}/(\d+)/published_posts", "published_posts", self.published_posts)
        self.route("GET", rf"/{v}/([\d_]+)", "read", self.read)

    def _page(self, call: Call, match: re.Match[str]) -> httpx.Response | None:
        if call.params.get("access_token") != self.page_token:
            return token_expired()
        if match.group(1) != self.page_id:
            return graph_error(200, "(#200) The user hasn't authorized the application to perform this action")
        return None

    def token(self, call: Call, _: re.Match[str]) -> httpx.Response:
        q = call.query
        if (q.get("client_id"), q.get("client_secret")) != (self.client_id, self.client_secret):
            return graph_error(1, "Error validating client secret.", subcode=None)
        if q.get("grant_type") == "fb_exchange_token":
            if q.get("fb_exchange_token") != "EAAshort-1":
                return token_expired()
            self.user_tokens.add("EAAlong-1")
            return json_response(200, {"access_token": "EAAlong-1", "token_type": "bearer", "expires_in": 5183999})
        if q.get("code") not in self.codes or not q.get("redirect_uri"):
            return graph_error(100, "Invalid verification code format.", subcode=36007)
        self.codes.discard(q["code"])
        return json_response(200, {"access_token": "EAAshort-1", "token_type": "bearer", "expires_in": 5183})

    def accounts(self, call: Call, _: re.Match[str]) -> httpx.Response:
        if call.query.get("access_token") not in self.user_tokens:
            return token_expired()
        return json_response(200, {"data": [
            {"id": self.page_id, "name": "The Morning Cup", "access_token": self.page_token, "followers_count": 5400,
             "tasks": ["ANALYZE", "ADVERTISE", "MODERATE", "CREATE_CONTENT", "MANAGE"], "category": "Coffee shop"},
            {"id": "104000000000002", "name": "Someone Else's Page", "access_token": "EAAPage-2", "followers_count": 9,
             "tasks": ["ANALYZE"], "category": "Brand"},
        ], "paging": {"cursors": {"before": "MAZDZD", "after": "MAZDZD"}}})

    def _post(self, message: str) -> str:
        post_id = f"{self.page_id}_{next(self.ids)}"
        self.posts[post_id] = Published(
            post_id, message, f"https://www.facebook.com/{self.page_id}/posts/{post_id.split('_')[1]}",
            "2026-04-06T12:00:00+0000",
        )
        return post_id

    def feed(self, call: Call, match: re.Match[str]) -> httpx.Response:
        if problem := self._page(call, match):
            return problem
        p = call.params
        message = p.get("message", "")
        if any(post.text == message and message for post in self.posts.values()):
            return graph_error(506, "(#506) Duplicate status message", subcode=1455006)
        attached = [json.loads(v)["media_fbid"] for k, v in sorted(p.items()) if k.startswith("attached_media[")]
        if any(photo not in self.photos for photo in attached):
            return graph_error(100, "(#100) param attached_media must be an array of valid media ids")
        if not message and not attached:
            return graph_error(100, "(#100) Missing message or attachment")
        return json_response(200, {"id": self._post(message)})

    def upload_photo(self, call: Call, match: re.Match[str]) -> httpx.Response:
        if problem := self._page(call, match):
            return problem
        p = call.params
        if not p.get("url", "").startswith("http"):
            return graph_error(324, "(#324) Requires upload file")
        photo_id = str(next(self.ids))
        self.photos[photo_id] = dict(p)
        if p.get("published") == "false":
            return json_response(200, {"id": photo_id})
        return json_response(200, {"id": photo_id, "post_id": self._post(p.get("message", ""))})

    def upload_video(self, call: Call, match: re.Match[str]) -> httpx.Response:
        if problem := self._page(call, match):
            return problem
        if not call.params.get("file_url"):
            return graph_error(100, "(#100) file_url is required")
        video_id = str(next(self.ids))
        self.videos[video_id] = dict(call.params)
        return json_response(200, {"id": video_id})

    def photo_story(self, call: Call, match: re.Match[str]) -> httpx.Response:
        if problem := self._page(call, match):
            return problem
        photo = call.params.get("photo_id", "")
        if photo not in self.photos or self.photos[photo].get("published") != "false":
            return graph_error(100, "(#100) photo_id must be an unpublished photo")
        post_id = str(next(self.ids))
        self.stories.append(post_id)
        return json_response(200, {"success": True, "post_id": post_id})

    def read(self, call: Call, match: re.Match[str]) -> httpx.Response:
        node = match.group(1)
        if call.query.get("access_token") != self.page_token:
            return token_expired()
        if node in self.posts:
            return json_response(200, {"permalink_url": self.posts[node].permalink, "id": node})
        if node in self.videos:
            return json_response(200, {"permalink_url": f"/{self.page_id}/videos/{node}/", "id": node})
        return graph_error(100, f"Unsupported get request. Object with ID '{node}' does not exist", subcode=33)

    def published_posts(self, call: Call, match: re.Match[str]) -> httpx.Response:
        if problem := self._page(call, match):
            return problem
        return json_response(200, {"data": [
            {"id": p.id, "message": p.text, "created_time": p.timestamp, "permalink_url": p.permalink,
             "reactions": {"data": [], "summary": {"total_count": p.likes}},
             "comments": {"data": [], "summary": {"total_count": p.comments}}}
            for p in reversed(self.posts.values())
        ]})


class FakeThreads(FakePlatform):
    hosts = ("graph.threads.net",)

    def __init__(self) -> None:
        super().__init__()
        self.ids = itertools.count(18000000000000001)
        self.user_id, self.username = "25000000000000001", "morningcup"
        self.tokens = {"THlong-1"}
        self.client_id, self.client_secret = "th-app", "th-secret"
        self.codes = {"th-code-ok"}
        self.containers: dict[str, Container] = {}
        self.posts: dict[str, Published] = {}
        self.video_polls = 1
        v = "v1.0"
        self.route("POST", "/oauth/access_token", "token", self.token)
        self.route("GET", "/access_token", "exchange", self.exchange)
        self.route("GET", "/refresh_access_token", "refresh", self.refresh)
        self.route("GET", f"/{v}/me", "me", self.me)
        self.route("GET", rf"/{v}/(\d+)/threads_insights", "user_insights", self.user_insights)
        self.route("POST", rf"/{v}/(\d+)/threads", "create_container", self.create_container)
        self.route("POST", rf"/{v}/(\d+)/threads_publish", "threads_publish", self.publish)
        self.route("GET", rf"/{v}/(\d+)/threads", "list_threads", self.list_threads)
        self.route("GET", rf"/{v}/(\d+)/insights", "insights", self.insights)
        self.route("GET", rf"/{v}/(\d+)", "read", self.read)

    def _authorized(self, call: Call) -> httpx.Response | None:
        return None if call.params.get("access_token") in self.tokens else token_expired()

    def token(self, call: Call, _: re.Match[str]) -> httpx.Response:
        f = call.form
        if (f.get("client_id"), f.get("client_secret")) != (self.client_id, self.client_secret):
            return graph_error(101, "Error validating client secret.")
        if f.get("grant_type") != "authorization_code" or f.get("code") not in self.codes:
            return graph_error(100, "Invalid authorization code", subcode=36007)
        self.tokens.add("THshort-1")
        return json_response(200, {"access_token": "THshort-1", "user_id": int(self.user_id)})

    def exchange(self, call: Call, _: re.Match[str]) -> httpx.Response:
        q = call.query
        if q.get("grant_type") != "th_exchange_token" or q.get("client_secret") != self.client_secret:
            return graph_error(100, "Invalid grant_type")
        if q.get("access_token") != "THshort-1":
            return token_expired()
        return json_response(200, {"access_token": "THlong-1", "token_type": "bearer", "expires_in": 5183944})

    def refresh(self, call: Call, _: re.Match[str]) -> httpx.Response:
        if call.query.get("grant_type") != "th_refresh_token" or call.query.get("access_token") not in self.tokens:
            return token_expired()
        self.tokens.add("THlong-2")
        return json_response(200, {"access_token": "THlong-2", "token_type": "bearer", "expires_in": 5183944})

    def me(self, call: Call, _: re.Match[str]) -> httpx.Response:
        if problem := self._authorized(call):
            return problem
        return json_response(200, {"id": self.user_id, "username": self.username})

    def user_insights(self, call: Call, _: re.Match[str]) -> httpx.Response:
        if problem := self._authorized(call):
            return problem
        return json_response(200, {"data": [{
            "name": "followers_count", "period": "day", "title": "followers_count",
            "description": "The number of followers", "total_value": {"value": 812}, "id": f"{self.user_id}/insights",
        }]})

    def create_container(self, call: Call, match: re.Match[str]) -> httpx.Response:
        if problem := self._authorized(call):
            return problem
        p = call.params
        kind = p.get("media_type")
        if kind not in ("TEXT", "IMAGE", "VIDEO", "CAROUSEL"):
            return graph_error(100, "Param media_type must be one of {TEXT, IMAGE, VIDEO, CAROUSEL}")
        needed = {"TEXT": "text", "IMAGE": "image_url", "VIDEO": "video_url", "CAROUSEL": "children"}[kind]
        if not p.get(needed):
            return graph_error(100, f"Param {needed} is required for media_type {kind}")
        if len(p.get("text", "")) > 500:
            return graph_error(100, "Param text must be at most 500 characters long.")
        if kind == "CAROUSEL" and not 2 <= len(p["children"].split(",")) <= 20:
            return graph_error(100, "A carousel takes 2 to 20 children")
        container = Container(str(next(self.ids)), dict(p), self.video_polls if kind == "VIDEO" else 0)
        self.containers[container.id] = container
        return json_response(200, {"id": container.id})

    def read(self, call: Call, match: re.Match[str]) -> httpx.Response:
        if problem := self._authorized(call):
            return problem
        node, fields = match.group(1), call.query.get("fields", "")
        if node in self.containers and "status" in fields:
            code, message = self.containers[node].status()
            body = {"status": code, "id": node}
            if code == "ERROR":
                body["error_message"] = message
            return json_response(200, body)
        if node in self.posts and fields == "permalink":
            return json_response(200, {"permalink": self.posts[node].permalink, "id": node})
        return graph_error(100, "Object does not exist", subcode=33)

    def publish(self, call: Call, _: re.Match[str]) -> httpx.Response:
        if problem := self._authorized(call):
            return problem
        container = self.containers.get(call.params.get("creation_id", ""))
        if container is None:
            return graph_error(24, "The requested resource does not exist", subcode=4279009)
        if container.pending_polls > 0 or container.final != "FINISHED":
            return graph_error(9007, "Media ID is not available", subcode=2207027)
        container.published = True
        post_id = str(next(self.ids))
        self.posts[post_id] = Published(
            post_id, container.params.get("text", ""), f"https://www.threads.net/@{self.username}/post/C{post_id[-5:]}",
            "2026-04-06T12:00:00+0000", likes=10, comments=2, extra={"reposts": 1, "quotes": 1},
        )
        return json_response(200, {"id": post_id})

    def list_threads(self, call: Call, _: re.Match[str]) -> httpx.Response:
        if problem := self._authorized(call):
            return problem
        return json_response(200, {"data": [
            {"id": p.id, "text": p.text, "timestamp": p.timestamp, "permalink": p.permalink}
            for p in reversed(self.posts.values())
        ]})

    def insights(self, call: Call, match: re.Match[str]) -> httpx.Response:
        if problem := self._authorized(call):
            return problem
        post = self.posts[match.group(1)]
        values = {"likes": post.likes, "replies": post.comments, **post.extra}
        return json_response(200, {"data": [
            {"name": name, "period": "lifetime", "values": [{"value": values.get(name, 0)}], "title": name,
             "id": f"{post.id}/insights/{name}/lifetime"}
            for name in call.query.get("metric", "").split(",")
        ]})
