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
    # (width, height) of each item as displayed, None where the file does not say.
    media_sizes: tuple[tuple[int, int] | None, ...] = ()


# Width:height ranges the platforms' publishing APIs accept, by what is posted.
AspectRange = tuple[float, float]
ASPECT_RATIOS: dict[str, dict[str, AspectRange]] = {
    # Graph API: feed images 4:5 to 1.91:1; reels 0.01:1 to 10:1; stories 0.1:1 to 10:1.
    "instagram": {"image": (4 / 5, 1.91), "video": (0.01, 10.0), "story": (0.1, 10.0)},
    # X media: video 1:3 to 3:1.
    "x": {"video": (1 / 3, 3.0)},
    # LinkedIn video: 1:2.4 to 2.4:1.
    "linkedin": {"video": (1 / 2.4, 2.4)},
    # Threads: 0.01:1 to 10:1 for images and video.
    "threads": {"image": (0.01, 10.0), "video": (0.01, 10.0)},
}


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
    # False: a post carries images or one video, never both (X, LinkedIn, Facebook).
    mixed_media: bool = True
    # What a STORY may carry on this platform.
    story_kinds: frozenset[str] = frozenset({"image", "video"})
    # How the platform counts text: "chars", "x" (links 23, CJK and emoji 2) or
    # "threads" (emoji count their UTF-8 bytes).
    length_unit: str = "chars"


RULES: dict[str, PlatformRules] = {
    "instagram": PlatformRules(
        "Instagram", max_caption=2200, max_hashtags=30,
        formats=frozenset({"IMAGE", "VIDEO", "CAROUSEL", "REEL", "STORY"}), needs_media=True, max_items=10,
    ),
    "facebook": PlatformRules(
        "Facebook", max_caption=63206, max_items=10, mixed_media=False, story_kinds=frozenset({"image"}),
    ),
    "tiktok": PlatformRules(
        "TikTok", max_caption=2200, formats=frozenset({"VIDEO", "REEL", "STORY"}),
        needs_media=True, video_only=True, max_items=1,
    ),
    # The Posts API's multiImage takes 2-20 images; a video post takes one video alone.
    "linkedin": PlatformRules("LinkedIn", max_caption=3000, max_items=20, mixed_media=False),
    # 4 images or 1 video.
    "x": PlatformRules("X", max_caption=280, max_items=4, mixed_media=False, length_unit="x"),
    "threads": PlatformRules("Threads", max_caption=500, max_items=20, length_unit="threads"),
}

SINGLE_ITEM_FORMATS = frozenset({"IMAGE", "VIDEO", "REEL", "STORY"})
_LINK = re.compile(r"https?://\S+")
# twitter-text v3: these code points weigh 1, every other one 2 (a link always weighs 23).
_X_LIGHT = ((0, 4351), (8192, 8205), (8208, 8223), (8242, 8247))
# Joiners and modifiers inside one emoji sequence add nothing to its weight.
_EMOJI_PARTS = frozenset({0x200D, 0xFE0E, 0xFE0F, *range(0x1F3FB, 0x1F400)})
X_LINK_WEIGHT = 23


def _is_emoji(code: int) -> bool:
    return code >= 0x1F000 or 0x2600 <= code <= 0x27BF or code in _EMOJI_PARTS


def x_length(text: str) -> int:
    """The length X counts (its twitter-text rules, without its full emoji table)."""
    total, position = 0, 0
    for match in _LINK.finditer(text):
        total += _weigh(text[position:match.start()]) + X_LINK_WEIGHT
        position = match.end()
    return total + _weigh(text[position:])


def _weigh(text: str) -> int:
    total, previous = 0, 0
    for char in text:
        code = ord(char)
        if code in _EMOJI_PARTS or (previous == 0x200D and _is_emoji(code)):
            previous = code
            continue
        total += 1 if any(low <= code <= high for low, high in _X_LIGHT) else 2
        previous = code
    return total


def threads_length(text: str) -> int:
    """Threads counts characters, but each emoji as its number of UTF-8 bytes."""
    return sum(len(char.encode("utf-8")) if _is_emoji(ord(char)) else 1 for char in text)


def text_length(rules: PlatformRules, text: str) -> int:
    if rules.length_unit == "x":
        return x_length(text)
    if rules.length_unit == "threads":
        return threads_length(text)
    return len(text)


def compose_caption(body: str, tags: list[str]) -> str:
    """The text that is published: the body, then the tags it does not already carry."""
    present = {tag.lower() for tag in HASHTAG.findall(body)}
    extra = [f"#{tag}" for tag in tags if tag.lower() not in present]
    return f"{body.rstrip()}\n\n{' '.join(extra)}" if extra else body.rstrip()


def _ratio_text(value: float) -> str:
    return f"{value:g}:1" if value >= 1 else f"1:{1 / value:.3g}"


def check_aspect_ratios(platform: str, rules: PlatformRules, draft: PostDraft) -> None:
    ranges = ASPECT_RATIOS.get(platform, {})
    for kind, size in zip(draft.media_kinds, draft.media_sizes):
        key = "story" if draft.content_format == "STORY" and "story" in ranges else kind
        if size is None or key not in ranges:
            continue
        width, height = size
        low, high = ranges[key]
        if not low <= width / height <= high:
            raise BadRequest(
                f"{rules.name}: {'an' if kind == 'image' else 'a'} {kind} must be between "
                f"{_ratio_text(low)} and {_ratio_text(high)} "
                f"(width:height); this one is {width}×{height}"
            )


def check_post(platform: str, draft: PostDraft) -> None:
    rules = RULES[platform]
    check_aspect_ratios(platform, rules, draft)
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
    if not rules.mixed_media and "video" in kinds and "image" in kinds:
        raise BadRequest(f"{rules.name} takes either images or one video in a post, not both")
    if fmt in SINGLE_ITEM_FORMATS and len(kinds) > 1:
        raise BadRequest(f"{rules.name}: a {fmt} post takes one image or video, this content has {len(kinds)}")
    if fmt == "STORY" and kinds and not set(kinds) <= rules.story_kinds:
        allowed = " or ".join(sorted(rules.story_kinds))
        raise BadRequest(f"{rules.name}: a story can only be an {allowed} here")
    length = text_length(rules, draft.caption)
    if length > rules.max_caption:
        raise BadRequest(
            f"{rules.name}: the text is {length} characters with its hashtags; the limit is {rules.max_caption}"
        )
    if rules.max_hashtags is not None:
        count = len({tag.lower() for tag in HASHTAG.findall(draft.caption)})
        if count > rules.max_hashtags:
            raise BadRequest(f"{rules.name}: {count} hashtags; the limit is {rules.max_hashtags}")
