"""LinkedIn: versioned Posts API with image and video uploads, against a fake of the REST APIs."""

from __future__ import annotations

from datetime import timedelta

import pytest

from fluxsocial_mcp.app import Runtime
from fluxsocial_mcp.platforms.base import MediaItem, Publisher, PublishError
from fluxsocial_mcp.platforms.credentials import PlatformCredentials
from fluxsocial_mcp.platforms.http import PlatformHttp
from fluxsocial_mcp.platforms.linkedin import little_text
from fluxsocial_mcp.platforms.registry import build_publishers

from ..factories import Clock, make_tenant
from .conftest import Fakes
from .fakes.linkedin import li_error
from .support import VIDEO_BYTES, jpeg_bytes, media_file, request

MEMBER = "urn:li:person:782bbtaQ"


@pytest.fixture
def credentials(clock: Clock) -> PlatformCredentials:
    return PlatformCredentials(access_token="AQVlinkedin-1", expires_at=clock.now + timedelta(days=50),
                               platform_user_id=MEMBER)


async def our_media(runtime: Runtime, *kinds: str) -> list[MediaItem]:
    tenant = await make_tenant(runtime.core, platforms=())
    items = []
    for kind in kinds:
        media = await media_file(runtime.core, tenant.user_id, kind)
        items.append(MediaItem(kind, runtime.core.media.url_for(media), media.content_type))  # type: ignore[arg-type]
    return items


def test_commentary_escapes_little_text_but_keeps_links_and_hashtags() -> None:
    assert little_text("Brunch (10-2) @ the café_bar! #coffee https://ex.com/a_b(c)") == (
        r"Brunch \(10-2\) \@ the café\_bar! #coffee https://ex.com/a_b(c)"
    )


async def test_a_text_post_carries_the_version_headers_and_returns_the_restli_id(
    publishers: dict[str, Publisher], fakes: Fakes, credentials: PlatformCredentials
) -> None:
    result = await publishers["linkedin"].publish(
        request("linkedin", credentials, content_format="TEXT", caption="Open at 7 (every day) #coffee")
    )

    post, = fakes.linkedin.calls
    assert (post.method, post.host, post.path) == ("POST", "api.linkedin.com", "/rest/posts")
    assert post.headers["linkedin-version"] == "202605"
    assert post.headers["x-restli-protocol-version"] == "2.0.0"
    assert post.headers["authorization"] == "Bearer AQVlinkedin-1"
    assert post.json == {
        "author": MEMBER, "commentary": r"Open at 7 \(every day\) #coffee", "visibility": "PUBLIC",
        "distribution": {"feedDistribution": "MAIN_FEED", "targetEntities": [], "thirdPartyDistributionChannels": []},
        "lifecycleState": "PUBLISHED", "isReshareDisabledByAuthor": False,
    }
    urn, = fakes.linkedin.posts
    assert (result.platform_post_id, result.post_url) == (urn, f"https://www.linkedin.com/feed/update/{urn}/")


async def test_an_image_is_initialized_uploaded_then_referenced_by_the_post(
    runtime: Runtime, publishers: dict[str, Publisher], fakes: Fakes, credentials: PlatformCredentials
) -> None:
    media = await our_media(runtime, "image")

    await publishers["linkedin"].publish(request("linkedin", credentials, media=media))

    li = fakes.linkedin
    assert li.ops() == ["images", "upload", "create_post"]
    init, upload, post = li.calls
    assert init.query == {"action": "initializeUpload"}
    assert init.json == {"initializeUploadRequest": {"owner": MEMBER}}
    assert (upload.method, upload.host) == ("PUT", "www.linkedin.com")
    image_urn, = li.images
    assert upload.content == li.images[image_urn] and upload.content[:3] == jpeg_bytes()[:3]
    assert post.json["content"] == {"media": {"id": image_urn}}


async def test_several_images_are_a_multi_image_post(
    runtime: Runtime, publishers: dict[str, Publisher], fakes: Fakes, credentials: PlatformCredentials
) -> None:
    media = await our_media(runtime, "image", "image")

    await publishers["linkedin"].publish(request("linkedin", credentials, content_format="CAROUSEL", media=media))

    post = fakes.linkedin.called("create_post")[0]
    assert post.json["content"] == {"multiImage": {"images": [{"id": urn} for urn in fakes.linkedin.images]}}


async def test_a_video_is_uploaded_in_parts_finalized_with_their_etags_and_awaited(
    runtime: Runtime, publishers: dict[str, Publisher], fakes: Fakes, credentials: PlatformCredentials
) -> None:
    fakes.linkedin.part_size = 4000
    media = await our_media(runtime, "video")

    await publishers["linkedin"].publish(request("linkedin", credentials, content_format="VIDEO", media=media))

    li = fakes.linkedin
    urn, = li.videos
    video = li.videos[urn]
    assert li.ops() == ["videos", "upload", "upload", "upload", "videos", "video", "video", "create_post"]
    init = li.calls[0]
    assert init.json["initializeUploadRequest"] == {
        "owner": MEMBER, "fileSizeBytes": len(VIDEO_BYTES), "uploadCaptions": False, "uploadThumbnail": False,
    }
    assert b"".join(video["parts"][i] for i in range(3)) == VIDEO_BYTES  # type: ignore[index]
    finalize = li.calls[4]
    assert finalize.query == {"action": "finalizeUpload"}
    assert finalize.json == {"finalizeUploadRequest": {"video": urn, "uploadToken": "", "uploadedPartIds": video["etags"]}}
    assert li.calls[-1].json["content"] == {"media": {"title": "Latte art", "id": urn}}


async def test_a_duplicate_post_is_rejected_content(
    publishers: dict[str, Publisher], credentials: PlatformCredentials
) -> None:
    linkedin = publishers["linkedin"]
    first = await linkedin.publish(request("linkedin", credentials, content_format="TEXT"))

    with pytest.raises(PublishError) as raised:
        await linkedin.publish(request("linkedin", credentials, content_format="TEXT"))

    assert (raised.value.category, raised.value.message) == (
        "rejected_content", f"LinkedIn refused the post as a duplicate (Content is a duplicate of {first.platform_post_id})"
    )


async def test_a_throttle_is_rate_limited(
    publishers: dict[str, Publisher], fakes: Fakes, credentials: PlatformCredentials
) -> None:
    fakes.linkedin.fail("create_post", li_error(
        429, "Resource level throttle APPLICATION DAY limit for calls to this resource is reached."
    ))

    with pytest.raises(PublishError) as raised:
        await publishers["linkedin"].publish(request("linkedin", credentials, content_format="TEXT"))

    assert (raised.value.category, raised.value.retryable) == ("rate_limited", True)
    assert "APPLICATION DAY limit" in raised.value.message


async def test_a_retired_api_version_says_which_setting_to_change(
    runtime: Runtime, http: PlatformHttp, clock: Clock, fakes: Fakes, credentials: PlatformCredentials
) -> None:
    settings = runtime.core.settings.model_copy(update={"linkedin_version": "202401"})
    linkedin = build_publishers(settings, runtime.core.db, runtime.sandbox, http=http, clock=clock)["linkedin"]

    with pytest.raises(PublishError) as raised:
        await linkedin.publish(request("linkedin", credentials, content_format="TEXT"))

    assert raised.value.message == (
        "LinkedIn no longer serves API version 202401 (Requested version 202401 is not active): "
        "set FLUXSOCIAL_LINKEDIN_VERSION to a current YYYYMM"
    )
    assert fakes.linkedin.calls[0].headers["linkedin-version"] == "202401"


async def test_find_published_gives_up_quietly_without_the_read_permission(
    publishers: dict[str, Publisher], fakes: Fakes, credentials: PlatformCredentials
) -> None:
    linkedin = publishers["linkedin"]
    published = await linkedin.publish(request("linkedin", credentials, content_format="TEXT"))

    assert await linkedin.find_published(request("linkedin", credentials, content_format="TEXT")) is None
    fakes.linkedin.can_read_posts = True
    assert await linkedin.find_published(request("linkedin", credentials, content_format="TEXT")) == published
    finder = fakes.linkedin.called("find_posts")[-1]
    assert finder.query["q"] == "author" and finder.query["author"] == MEMBER
    assert finder.headers["x-restli-method"] == "FINDER"
