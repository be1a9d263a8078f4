"""Facebook Pages: feed, photos, multi-photo, videos and photo stories against a fake Graph API."""

from __future__ import annotations

import json

import pytest

from fluxsocial_mcp.platforms.base import Publisher, PublishError
from fluxsocial_mcp.platforms.credentials import PlatformCredentials

from .conftest import Fakes
from .fakes.meta import rate_limited, token_expired
from .support import image, request, video

PAGE = "104000000000001"
CAPTION = "Fresh latte art every morning\n\n#coffee #latteart"


@pytest.fixture
def credentials() -> PlatformCredentials:
    # Page tokens read through a long-lived user token never expire.
    return PlatformCredentials(access_token="EAAPage-1", platform_user_id=PAGE)


async def test_a_text_post_goes_to_the_page_feed(
    publishers: dict[str, Publisher], fakes: Fakes, credentials: PlatformCredentials
) -> None:
    result = await publishers["facebook"].publish(request("facebook", credentials, content_format="TEXT"))

    feed, read = fakes.facebook.calls
    assert (feed.method, feed.path, feed.form["message"]) == ("POST", f"/v25.0/{PAGE}/feed", CAPTION)
    assert read.query["fields"] == "permalink_url"
    assert result.platform_post_id.startswith(f"{PAGE}_")
    assert result.post_url == f"https://www.facebook.com/{PAGE}/posts/{result.platform_post_id.split('_')[1]}"


async def test_one_image_is_a_published_page_photo_with_the_caption_as_message(
    publishers: dict[str, Publisher], fakes: Fakes, credentials: PlatformCredentials
) -> None:
    result = await publishers["facebook"].publish(request("facebook", credentials, media=[image()]))

    photo = fakes.facebook.called("photos")[0]
    assert (photo.form["url"], photo.form["message"]) == ("https://cdn.example.com/latte.jpg", CAPTION)
    assert "published" not in photo.form
    assert result.platform_post_id in fakes.facebook.posts


async def test_several_images_are_unpublished_photos_attached_to_one_feed_post(
    publishers: dict[str, Publisher], fakes: Fakes, credentials: PlatformCredentials
) -> None:
    media = [image("https://cdn.example.com/1.jpg"), image("https://cdn.example.com/2.jpg")]
    await publishers["facebook"].publish(request("facebook", credentials, content_format="CAROUSEL", media=media))

    photos = fakes.facebook.called("photos")
    assert [p.form["published"] for p in photos] == ["false", "false"]
    feed = fakes.facebook.called("feed")[0]
    attached = [json.loads(feed.form[f"attached_media[{i}]"]) for i in range(2)]
    assert attached == [{"media_fbid": photo} for photo in fakes.facebook.photos]
    assert feed.form["message"] == CAPTION


async def test_a_video_is_a_page_video_with_an_absolute_permalink(
    publishers: dict[str, Publisher], fakes: Fakes, credentials: PlatformCredentials
) -> None:
    result = await publishers["facebook"].publish(request("facebook", credentials, content_format="VIDEO", media=[video()]))

    upload = fakes.facebook.called("videos")[0]
    assert (upload.form["file_url"], upload.form["description"]) == ("https://cdn.example.com/latte.mp4", CAPTION)
    assert result.post_url == f"https://www.facebook.com/{PAGE}/videos/{result.platform_post_id}/"


async def test_an_image_story_is_an_unpublished_photo_then_a_photo_story(
    publishers: dict[str, Publisher], fakes: Fakes, credentials: PlatformCredentials
) -> None:
    result = await publishers["facebook"].publish(request("facebook", credentials, content_format="STORY", media=[image()]))

    assert fakes.facebook.ops() == ["photos", "photo_stories"]
    story = fakes.facebook.called("photo_stories")[0]
    assert story.form["photo_id"] == next(iter(fakes.facebook.photos))
    assert result.platform_post_id == fakes.facebook.stories[0]


async def test_a_repeated_status_is_refused_as_a_duplicate(
    publishers: dict[str, Publisher], credentials: PlatformCredentials
) -> None:
    facebook = publishers["facebook"]
    await facebook.publish(request("facebook", credentials, content_format="TEXT"))

    with pytest.raises(PublishError) as raised:
        await facebook.publish(request("facebook", credentials, content_format="TEXT"))

    assert (raised.value.category, raised.value.retryable) == ("rejected_content", False)
    assert raised.value.message == (
        "Facebook refused the post as a duplicate of a recent one ((#506) Duplicate status message; code 506/1455006)"
    )


async def test_the_page_rate_limit_is_retryable(
    publishers: dict[str, Publisher], fakes: Fakes, credentials: PlatformCredentials
) -> None:
    fakes.facebook.fail("feed", rate_limited(32))

    with pytest.raises(PublishError) as raised:
        await publishers["facebook"].publish(request("facebook", credentials, content_format="TEXT"))

    assert (raised.value.category, raised.value.retryable) == ("rate_limited", True)


async def test_a_revoked_page_token_asks_for_a_reconnect(
    publishers: dict[str, Publisher], fakes: Fakes, credentials: PlatformCredentials
) -> None:
    fakes.facebook.fail("feed", token_expired())

    with pytest.raises(PublishError) as raised:
        await publishers["facebook"].publish(request("facebook", credentials, content_format="TEXT"))

    assert raised.value.category == "auth_expired"
    assert raised.value.message.startswith("The Facebook account @morningcup needs to be reconnected: Facebook refused")
    assert raised.value.message.endswith("Reconnect it in Settings → Businesses.")
