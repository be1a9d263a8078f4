"""Each platform's documented rules, checked when a post or schedule is requested."""

from __future__ import annotations

import pytest

from fluxsocial_mcp.errors import BadRequest
from fluxsocial_mcp.platforms.rules import PostDraft, check_post, threads_length, x_length


def refused(platform: str, fmt: str, caption: str = "Hello", kinds: tuple[str, ...] = ()) -> str:
    with pytest.raises(BadRequest) as raised:
        check_post(platform, PostDraft(content_format=fmt, caption=caption, media_kinds=kinds))
    return raised.value.message


def accepted(platform: str, fmt: str, caption: str = "Hello", kinds: tuple[str, ...] = ()) -> None:
    check_post(platform, PostDraft(content_format=fmt, caption=caption, media_kinds=kinds))


def test_x_counts_text_as_x_does() -> None:
    assert x_length("a" * 10) == 10
    assert x_length("日本語") == 6
    assert x_length("menu https://example.com/a/very/long/path/to/the/menu") == 5 + 23
    assert x_length("👍🏽") == 2 and x_length("👨‍👩‍👧") == 2
    assert refused("x", "TEXT", "咖" * 141) == "X: the text is 282 characters with its hashtags; the limit is 280"
    accepted("x", "TEXT", "see " + "https://example.com/" + "x" * 300)


def test_x_takes_four_images_or_one_video() -> None:
    accepted("x", "CAROUSEL", kinds=("image",) * 4)
    assert refused("x", "CAROUSEL", kinds=("image",) * 5) == (
        "X: a carousel takes 2-4 items, this one has 5"
    )
    assert refused("x", "CAROUSEL", kinds=("image", "video")) == "X takes either images or one video in a post, not both"
    assert refused("x", "CAROUSEL", kinds=("video", "video")) == "X takes at most 1 video per post"


def test_linkedin_does_not_mix_images_and_a_video() -> None:
    accepted("linkedin", "CAROUSEL", kinds=("image",) * 12)
    assert refused("linkedin", "CAROUSEL", kinds=("image", "video")) == (
        "LinkedIn takes either images or one video in a post, not both"
    )
    assert refused("linkedin", "TEXT", "x" * 3001).endswith("the limit is 3000")


def test_threads_counts_an_emoji_as_its_utf8_bytes() -> None:
    assert threads_length("hi 😀") == 7
    accepted("threads", "TEXT", "a" * 500)
    assert refused("threads", "TEXT", "a" * 497 + "😀") == (
        "Threads: the text is 501 characters with its hashtags; the limit is 500"
    )


def test_a_facebook_story_is_an_image() -> None:
    accepted("facebook", "STORY", kinds=("image",))
    assert refused("facebook", "STORY", kinds=("video",)) == "Facebook: a story can only be an image here"


def test_a_story_reel_or_single_post_carries_one_item() -> None:
    assert refused("instagram", "STORY", kinds=("image", "image")) == (
        "Instagram: a STORY post takes one image or video, this content has 2"
    )


def test_tiktok_takes_video_only_and_instagram_its_documented_limits() -> None:
    assert refused("tiktok", "CAROUSEL", kinds=("image", "image")) == "TikTok accepts video only; this content is CAROUSEL"
    assert refused("instagram", "CAROUSEL", kinds=("image",) * 11) == "Instagram: a carousel takes 2-10 items, this one has 11"
    tags = " ".join(f"#tag{i}" for i in range(31))
    assert refused("instagram", "IMAGE", tags, ("image",)) == "Instagram: 31 hashtags; the limit is 30"


def test_video_aspect_ratios_are_checked_per_platform() -> None:
    from fluxsocial_mcp.errors import BadRequest
    from fluxsocial_mcp.platforms.rules import PostDraft, check_post

    tall = PostDraft("VIDEO", "A clip", ("video",), ((1080, 3840),))  # 9:32
    with pytest.raises(BadRequest) as refused:
        check_post("x", tall)
    assert refused.value.message == "X: a video must be between 1:3 and 3:1 (width:height); this one is 1080×3840"
    with pytest.raises(BadRequest, match=r"LinkedIn: a video must be between 1:2.4 and 2.4:1"):
        check_post("linkedin", tall)
    check_post("instagram", PostDraft("REEL", "A clip", ("video",), ((1080, 3840),)))  # reels go to 0.01:1
    check_post("x", PostDraft("VIDEO", "A clip", ("video",), ((720, 1280),)))
    check_post("x", PostDraft("VIDEO", "A clip", ("video",), (None,)))  # unknown size: the platform decides


def test_instagram_feed_images_must_be_between_4_5_and_1_91() -> None:
    from fluxsocial_mcp.errors import BadRequest
    from fluxsocial_mcp.platforms.rules import PostDraft, check_post

    check_post("instagram", PostDraft("IMAGE", "Hi", ("image",), ((1080, 1080),)))
    with pytest.raises(BadRequest, match=r"Instagram: an image must be between 1:1.25 and 1.91:1"):
        check_post("instagram", PostDraft("IMAGE", "Hi", ("image",), ((1080, 1920),)))
    check_post("instagram", PostDraft("STORY", "Hi", ("image",), ((1080, 1920),)))  # stories are 9:16
