"""X: API v2 posts with media upload, against a fake of the X API."""

from __future__ import annotations

import time
from datetime import timedelta

import httpx
import pytest

from fluxsocial_mcp.app import Runtime
from fluxsocial_mcp.platforms.base import MediaItem, Publisher, PublishError
from fluxsocial_mcp.platforms.credentials import PlatformCredentials
from fluxsocial_mcp.platforms.http import PlatformHttp
from fluxsocial_mcp.platforms.registry import build_publishers

from ..factories import Clock, make_tenant
from .conftest import Fakes, Sleeps
from .fakes import FakePlatforms
from .fakes.x import too_many_requests
from .support import VIDEO_BYTES, connect_account, make_content, media_file, request

USER = "1460000000000000001"
CAPTION = "Fresh latte art every morning\n\n#coffee #latteart"


@pytest.fixture
def credentials(clock: Clock) -> PlatformCredentials:
    return PlatformCredentials(access_token="xat-1", refresh_token="xrt-1", expires_at=clock.now + timedelta(hours=1),
                               platform_user_id=USER)


async def our_media(runtime: Runtime, *kinds: str) -> list[MediaItem]:
    tenant = await make_tenant(runtime.core, platforms=())
    items = []
    for kind in kinds:
        media = await media_file(runtime.core, tenant.user_id, kind)
        items.append(MediaItem(kind, runtime.core.media.url_for(media), media.content_type))  # type: ignore[arg-type]
    return items


async def test_a_text_post_is_one_post_request_with_the_bearer_token(
    publishers: dict[str, Publisher], fakes: Fakes, credentials: PlatformCredentials
) -> None:
    result = await publishers["x"].publish(request("x", credentials, content_format="TEXT"))

    post, = fakes.x.calls
    assert (post.method, post.host, post.path) == ("POST", "api.x.com", "/2/tweets")
    assert post.headers["authorization"] == "Bearer xat-1"
    assert post.json == {"text": CAPTION}
    tweet_id, = fakes.x.tweets
    assert (result.platform_post_id, result.post_url) == (tweet_id, f"https://x.com/morningcup/status/{tweet_id}")


async def test_images_are_uploaded_then_attached_by_media_id(
    client: httpx.AsyncClient, runtime: Runtime, publishers: dict[str, Publisher], fakes: Fakes,
    credentials: PlatformCredentials,
) -> None:
    tenant = await make_tenant(runtime.core, platforms=())
    account = await connect_account(runtime.core, tenant, "x", credentials)
    suggestion = await make_content(runtime.core, tenant, "CAROUSEL", kinds=("image", "image"))

    response = await client.post(
        f"/api/v1/content/{suggestion}/post", json={"targets": [{"accountId": account, "platform": "x"}]},
        headers=tenant.headers,
    )

    assert response.json()["results"][0]["status"] == "success", response.text
    uploads = fakes.x.called("media_upload")
    assert [u.form for u in uploads] == [{"media_category": "tweet_image", "media_type": "image/jpeg"}] * 2
    assert all(u.files["media"][1][:3] == b"\xff\xd8\xff" for u in uploads)
    tweet = fakes.x.called("create_tweet")[0]
    assert tweet.json["media"] == {"media_ids": list(fakes.x.uploads)}


async def test_a_video_is_initialized_appended_in_segments_finalized_and_awaited(
    runtime: Runtime, publishers: dict[str, Publisher], fakes: Fakes, sleeps: Sleeps,
    credentials: PlatformCredentials, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("fluxsocial_mcp.platforms.x.CHUNK_BYTES", 4000)
    media = await our_media(runtime, "video")

    await publishers["x"].publish(request("x", credentials, content_format="VIDEO", media=media))

    x = fakes.x
    assert x.ops() == ["media_initialize", "media_append", "media_append", "media_append", "media_finalize",
                       "media_status", "media_status", "create_tweet"]
    init = x.calls[0]
    assert init.json == {"media_type": "video/mp4", "total_bytes": len(VIDEO_BYTES), "media_category": "tweet_video"}
    media_id, = x.uploads
    appends = x.called("media_append")
    assert [a.path for a in appends] == [f"/2/media/upload/{media_id}/append"] * 3
    assert [a.form["segment_index"] for a in appends] == ["0", "1", "2"]
    assert x.calls[5].query == {"command": "STATUS", "media_id": media_id}
    assert sleeps == [1.0]


async def test_a_failed_video_processing_is_a_media_error(
    runtime: Runtime, publishers: dict[str, Publisher], fakes: Fakes, credentials: PlatformCredentials
) -> None:
    media = await our_media(runtime, "video")
    original = fakes.x.finalize

    def finalize_then_fail(call, match):  # type: ignore[no-untyped-def]
        fakes.x.uploads[match.group(1)].failed = True
        return original(call, match)

    fakes.x.routes = [(m, p, o, finalize_then_fail if o == "media_finalize" else h) for m, p, o, h in fakes.x.routes]

    with pytest.raises(PublishError) as raised:
        await publishers["x"].publish(request("x", credentials, content_format="VIDEO", media=media))

    assert (raised.value.category, raised.value.message) == ("media_error", "X could not process the video: Unsupported video format")
    assert fakes.x.tweets == {}


async def test_duplicate_content_is_rejected_with_xs_reason(
    publishers: dict[str, Publisher], credentials: PlatformCredentials
) -> None:
    x = publishers["x"]
    await x.publish(request("x", credentials, content_format="TEXT"))

    with pytest.raises(PublishError) as raised:
        await x.publish(request("x", credentials, content_format="TEXT"))

    assert (raised.value.category, raised.value.retryable) == ("rejected_content", False)
    assert raised.value.message == (
        "X refused the post as a duplicate of a recent one "
        "(You are not allowed to create a Tweet with duplicate content.)"
    )


async def test_a_429_says_when_the_limit_resets(
    publishers: dict[str, Publisher], fakes: Fakes, credentials: PlatformCredentials
) -> None:
    fakes.x.fail("create_tweet", too_many_requests(int(time.time()) + 600))

    with pytest.raises(PublishError) as raised:
        await publishers["x"].publish(request("x", credentials, content_format="TEXT"))

    error = raised.value
    assert (error.category, error.retryable) == ("rate_limited", True)
    assert error.message.startswith("X rate limit reached: Too Many Requests. Try again in ")
    assert 590 <= error.retry_after <= 600  # type: ignore[attr-defined]


async def test_the_base_url_override_sends_every_call_to_another_host(
    runtime: Runtime, clock: Clock, fakes: Fakes, sleeps: Sleeps, credentials: PlatformCredentials
) -> None:
    router = FakePlatforms(fakes.x)
    router.by_host["x.fake.test"] = fakes.x
    http = PlatformHttp(transport=router.transport, sleep=sleeps)
    settings = runtime.core.settings.model_copy(update={"x_api_url": "https://x.fake.test/"})
    x = build_publishers(settings, runtime.core.db, runtime.sandbox, http=http, clock=clock)["x"]

    await x.publish(request("x", credentials, content_format="TEXT"))

    assert [(c.host, c.path) for c in fakes.x.calls] == [("x.fake.test", "/2/tweets")]


async def test_find_published_compares_texts_without_links(
    publishers: dict[str, Publisher], credentials: PlatformCredentials
) -> None:
    x = publishers["x"]
    published = await x.publish(request("x", credentials, content_format="TEXT", caption="New beans https://ex.com/b"))

    found = await x.find_published(request("x", credentials, caption="New beans  https://t.co/abc"))
    assert found == published
    assert await x.find_published(request("x", credentials, caption="Old beans")) is None
