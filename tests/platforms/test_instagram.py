"""Instagram: container → status → publish against a fake of the Graph API (Instagram Login)."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from fluxsocial_mcp.app import Runtime
from fluxsocial_mcp.platforms.base import Publisher, PublishError
from fluxsocial_mcp.platforms.credentials import PlatformCredentials

from ..factories import Clock, Tenant, make_tenant
from .conftest import Fakes, Sleeps
from .fakes.meta import graph_error, rate_limited
from .support import connect_account, image, make_content, request, video

IG_USER = "17841400000000001"
CAPTION = "Fresh latte art every morning\n\n#coffee #latteart"


@pytest.fixture
def credentials(clock: Clock) -> PlatformCredentials:
    return PlatformCredentials(
        access_token="IGlong-1", expires_at=clock.now + timedelta(days=50), platform_user_id=IG_USER
    )


@pytest.fixture
async def tenant(runtime: Runtime) -> Tenant:
    return await make_tenant(runtime.core, platforms=())


async def test_an_image_post_is_a_container_waited_on_published_and_linked_by_its_permalink(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, publishers: dict[str, Publisher],
    fakes: Fakes, credentials: PlatformCredentials,
) -> None:
    account = await connect_account(runtime.core, tenant, "instagram", credentials)
    suggestion = await make_content(runtime.core, tenant)

    response = await client.post(
        f"/api/v1/content/{suggestion}/post", json={"targets": [{"accountId": account, "platform": "instagram"}]},
        headers=tenant.headers,
    )

    assert response.status_code == 200, response.text
    ig = fakes.instagram
    media_id, = ig.media
    assert response.json()["results"] == [{
        "platform": "instagram", "accountId": account, "status": "success", "postUrl": ig.media[media_id].permalink,
    }]
    assert ig.ops() == ["create_container", "read", "media_publish", "read"]
    create, status, publish, permalink = ig.calls
    assert (create.method, create.host, create.path) == ("POST", "graph.instagram.com", f"/v25.0/{IG_USER}/media")
    assert create.form["image_url"].startswith("http://127.0.0.1:8000/media/med_")
    assert create.form["caption"] == CAPTION
    # The token travels in the form body of a POST, never in its URL.
    assert create.form["access_token"] == "IGlong-1" and "access_token" not in create.query
    assert "media_type" not in create.form
    assert status.query["fields"] == "status_code,status"
    assert publish.form["creation_id"] == next(iter(ig.containers))
    assert permalink.query == {"fields": "permalink", "access_token": "IGlong-1"}

    status_body = (await client.get(f"/api/v1/content/{suggestion}/status", headers=tenant.headers)).json()
    assert status_body["status"] == "POSTED"
    assert status_body["platforms"][0]["postUrl"] == ig.media[media_id].permalink


async def test_a_reel_is_polled_while_instagram_processes_the_video(
    publishers: dict[str, Publisher], fakes: Fakes, sleeps: Sleeps, credentials: PlatformCredentials,
) -> None:
    result = await publishers["instagram"].publish(
        request("instagram", credentials, content_format="REEL", media=[video()])
    )

    ig = fakes.instagram
    create = ig.called("create_container")[0]
    assert {k: create.form[k] for k in ("media_type", "video_url", "caption", "share_to_feed")} == {
        "media_type": "REELS", "video_url": "https://cdn.example.com/latte.mp4", "caption": CAPTION,
        "share_to_feed": "true",
    }
    assert ig.ops() == ["create_container", "read", "read", "read", "media_publish", "read"]
    # Two IN_PROGRESS answers, each followed by a (backed-off) wait.
    assert sleeps == [1.0, 1.5]
    assert result.platform_post_id in ig.media


async def test_a_carousel_is_its_children_then_a_carousel_container(
    publishers: dict[str, Publisher], fakes: Fakes, credentials: PlatformCredentials,
) -> None:
    media = [image("https://cdn.example.com/1.jpg"), video("https://cdn.example.com/2.mp4"), image("https://cdn.example.com/3.jpg")]
    await publishers["instagram"].publish(request("instagram", credentials, content_format="CAROUSEL", media=media))

    creates = fakes.instagram.called("create_container")
    children, carousel = creates[:3], creates[3]
    assert [c.form.get("is_carousel_item") for c in children] == ["true", "true", "true"]
    assert children[0].form["image_url"] == "https://cdn.example.com/1.jpg"
    assert (children[1].form["media_type"], children[1].form["video_url"]) == ("VIDEO", "https://cdn.example.com/2.mp4")
    assert "caption" not in children[0].form
    ids = list(fakes.instagram.containers)[:3]
    assert (carousel.form["media_type"], carousel.form["children"], carousel.form["caption"]) == (
        "CAROUSEL", ",".join(ids), CAPTION
    )


async def test_a_story_carries_no_caption(
    publishers: dict[str, Publisher], fakes: Fakes, credentials: PlatformCredentials,
) -> None:
    await publishers["instagram"].publish(request("instagram", credentials, content_format="STORY", media=[image()]))

    create = fakes.instagram.called("create_container")[0]
    assert create.form["media_type"] == "STORIES" and "caption" not in create.form


async def test_media_not_ready_at_publish_time_is_waited_out(
    publishers: dict[str, Publisher], fakes: Fakes, sleeps: Sleeps, credentials: PlatformCredentials,
) -> None:
    fakes.instagram.fail("media_publish", graph_error(
        9007, "Media ID is not available", subcode=2207027,
        user_msg="The media is not ready for publishing, please wait for a moment",
    ))

    result = await publishers["instagram"].publish(request("instagram", credentials, media=[image()]))

    assert fakes.instagram.ops().count("media_publish") == 2
    assert sleeps == [1.0]
    assert result.platform_post_id in fakes.instagram.media


async def test_a_rate_limit_is_a_retryable_rate_limited_error(
    publishers: dict[str, Publisher], fakes: Fakes, credentials: PlatformCredentials,
) -> None:
    fakes.instagram.fail("create_container", rate_limited(4))

    with pytest.raises(PublishError) as raised:
        await publishers["instagram"].publish(request("instagram", credentials, media=[image()]))

    assert (raised.value.category, raised.value.retryable) == ("rate_limited", True)
    assert raised.value.message.startswith("Instagram rate limit reached (Application request limit reached; code 4)")
    assert fakes.instagram.media == {}


async def test_the_daily_publishing_limit_is_rate_limited(
    publishers: dict[str, Publisher], fakes: Fakes, credentials: PlatformCredentials,
) -> None:
    fakes.instagram.fail("media_publish", graph_error(
        9, "Application request limit reached", subcode=2207042,
        user_msg="You reached maximum number of posts that is allowed to be published by Content Publishing API.",
    ))

    with pytest.raises(PublishError) as raised:
        await publishers["instagram"].publish(request("instagram", credentials, media=[image()]))

    assert raised.value.category == "rate_limited"
    assert "daily publishing limit reached" in raised.value.message


async def test_a_container_that_fails_processing_is_a_media_error_with_the_reason(
    publishers: dict[str, Publisher], fakes: Fakes, credentials: PlatformCredentials,
) -> None:
    fakes.instagram.next_error = "Error: Media upload has failed with error code 2207026"

    with pytest.raises(PublishError) as raised:
        await publishers["instagram"].publish(request("instagram", credentials, content_format="REEL", media=[video()]))

    assert (raised.value.category, raised.value.retryable) == ("media_error", False)
    assert raised.value.message == (
        "Instagram could not process the media: Error: Media upload has failed with error code 2207026"
    )
    assert "media_publish" not in fakes.instagram.ops()


async def test_a_refused_caption_is_rejected_content(
    publishers: dict[str, Publisher], fakes: Fakes, credentials: PlatformCredentials,
) -> None:
    with pytest.raises(PublishError) as raised:
        await publishers["instagram"].publish(request("instagram", credentials, media=[image()], caption="x" * 2201))

    assert raised.value.category == "rejected_content"
    assert "The caption is too long" in raised.value.message


async def test_find_published_matches_a_recent_post_by_its_caption_but_cannot_prove_absence(
    publishers: dict[str, Publisher], fakes: Fakes, credentials: PlatformCredentials,
) -> None:
    instagram = publishers["instagram"]
    published = await instagram.publish(request("instagram", credentials, media=[image()]))

    found = await instagram.find_published(request("instagram", credentials, media=[image()]))
    missing = await instagram.find_published(request("instagram", credentials, media=[image()], caption="Other"))

    assert found == published
    assert missing is None and instagram.confirms_absence is False
    listing = fakes.instagram.called("list_media")[0]
    assert listing.query["fields"] == "id,caption,permalink,timestamp"


async def test_a_text_post_to_instagram_is_refused_before_anything_is_sent(
    client: httpx.AsyncClient, runtime: Runtime, tenant: Tenant, publishers: dict[str, Publisher],
    fakes: Fakes, credentials: PlatformCredentials,
) -> None:
    account = await connect_account(runtime.core, tenant, "instagram", credentials)
    suggestion = await make_content(runtime.core, tenant, "TEXT", kinds=())

    response = await client.post(
        f"/api/v1/content/{suggestion}/post", json={"targets": [{"accountId": account, "platform": "instagram"}]},
        headers=tenant.headers,
    )

    assert response.status_code == 400
    assert response.json()["error"]["message"] == "Instagram does not accept TEXT posts: it needs an image or a video"
    assert fakes.calls() == 0
