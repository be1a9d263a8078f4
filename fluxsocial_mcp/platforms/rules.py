"""Each platform's publishing rules, checked when a post or schedule is requested.

A breach is a 400 naming the platform and the rule, raised before anything is
published. Limits are the platforms' documented ones.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import BadRequest

HASHTAG = re.compile(r"(?<![\w#])#(\w+)", re.UNICODE)


@dataclass(frozen=True)
class PostDraft:
    content_format: str
    caption: str
    media_kinds: tuple[str, ...]


@dataclass(frozen=True)
class PlatformRules:
    name: str
    max_caption: int
    max_hashtags: int | None = None
    formats: frozenset[str] = frozenset({"IMAGE", "VIDEO", "CAROUSEL", "REEL", "STORY", "TEXT"})
    needs_media: bool = False
    video_only: bool = False
    max_items: int = 10
    min_carousel: int = 2
    max_videos: int = 1


RULES: dict[str, PlatformRules] = {
    "instagram": PlatformRules(
        "Instagram", max_caption=2200, max_hashtags=30,
        formats=frozenset({"IMAGE", "VIDEO", "CAROUSEL", "REEL", "STORY"}), needs_media=True, max_items=10,
    ),
    "facebook": PlatformRules("Facebook", max_caption=63206, max_items=10),
    "tiktok": PlatformRules(
        "TikTok", max_caption=2200, formats=frozenset({"VIDEO", "REEL", "STORY"}),
        needs_media=True, video_only=True, max_items=1,
    ),
    "linkedin": PlatformRules("LinkedIn", max_caption=3000, max_items=9),
    "x": PlatformRules("X", max_caption=280, max_items=4),
    "threads": PlatformRules("Threads", max_caption=500, max_items=10),
}


def compose_caption(body: str, tags: list[str]) -> str:
    """The text that is published: the body, then the tags it does not already carry."""
    present = {tag.lower() for tag in HASHTAG.findall(body)}
    extra = [f"#{tag}" for tag in tags if tag.lower() not in present]
    return f"{body.rstrip()}\n\n{' '.join(extra)}" if extra else body.rstrip()


def check_post(platform: str, draft: PostDraft) -> None:
    rules = RULES[platform]
    fmt = draft.content_format
    if fmt not in rules.formats:
        if rules.video_only:
            raise BadRequest(f"{rules.name} accepts video only; this content is {fmt}")
        raise BadRequest(f"{rules.name} does not accept {fmt} posts: it needs an image or a video")
    kinds = draft.media_kinds
    if rules.needs_media and not kinds:
        hint = "upload a video with upload-media" if rules.video_only else "generate an image first (POST /content/{id}/image)"
        raise BadRequest(f"{rules.name} needs media and this content has none: {hint}")
    if rules.video_only and any(kind != "video" for kind in kinds):
        raise BadRequest(f"{rules.name} accepts video only; this content has images")
    if fmt in ("VIDEO", "REEL") and kinds and "video" not in kinds:
        raise BadRequest(f"{rules.name}: a {fmt} post needs a video")
    if fmt == "CAROUSEL" and kinds and not (rules.min_carousel <= len(kinds) <= rules.max_items):
        raise BadRequest(
            f"{rules.name}: a carousel takes {rules.min_carousel}-{rules.max_items} items, this one has {len(kinds)}"
        )
    if len(kinds) > rules.max_items:
        raise BadRequest(f"{rules.name} takes at most {rules.max_items} media items, this content has {len(kinds)}")
    if kinds.count("video") > rules.max_videos:
        raise BadRequest(f"{rules.name} takes at most {rules.max_videos} video per post")
    length = len(draft.caption)
    if length > rules.max_caption:
        raise BadRequest(
            f"{rules.name}: the text is {length} characters with its hashtags; the limit is {rules.max_caption}"
        )
    if rules.max_hashtags is not None:
        count = len({tag.lower() for tag in HASHTAG.findall(draft.caption)})
        if count > rules.max_hashtags:
            raise BadRequest(f"{rules.name}: {count} hashtags; the limit is {rules.max_hashtags}")
