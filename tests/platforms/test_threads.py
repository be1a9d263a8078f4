"""Threads: container then publish, against a fake of the Threads API."""

from __future__ import annotations

from datetime import timedelta

import pytest

from fluxsocial_mcp.platforms.base import Publisher, PublishError
from fluxsocial_mcp.platforms.credentials import PlatformCredentials

from ..factories import Clock
from .conftest import Fakes, Sleeps
from .fakes.meta import rate_limited
from .support import image, request, video

USER = "25000000000000001"
CAPTION = "Fresh latte art every morning\n\n#coffee #latteart"


@pytest.fixture
def credentials(clock: Clock) -> PlatformCredentials:
    return PlatformCredentials(access_token="THlong-1", expires_at=clock.now + timedelta(days=40), platform_user_id=USER)


async def test_a_text_thread_is_a_text_container_then_threads_publish(
    publishers: dict[str, Publisher], fakes: Fakes, credentials: PlatformCredentials
) -> None:
    result = await publishers["threads"].publish(request("threads", credentials, content_format="TEXT"))

    threads = fakes.threads
    assert threads.ops() == ["create_container", "read", "threads_publish", "read"]
    create = threads.calls[0]
    assert (create.path, create.form["media_type"], create.form["text"]) == (f"/v1.0/{USER}/threads", "TEXT", CAPTION)
    assert threads.calls[1].query["fields"] == "status,error_message"
    assert threads.calls[2].form["creation_id"] == next(iter(threads.containers))
    assert result.post_url == threads.posts[result.platform_post_id].permalink


async def test_a_video_thread_waits_for_its_container(
    publishers: dict[str, Publisher], fakes: Fakes, sleeps: Sleeps, credentials: PlatformCredentials
) -> None:
    await publishers["threads"].publish(request("threads", credentials, content_format="VIDEO", media=[video()]))

    create = fakes.threads.calls[0]
    assert (create.form["media_type"], create.form["video_url"]) == ("VIDEO", "https://cdn.example.com/latte.mp4")
    assert fakes.threads.ops().count("read") == 3  # IN_PROGRESS, FINISHED, then the permalink
    assert sleeps == [1.0]


async def test_a_carousel_thread_is_items_then_a_carousel_container(
    publishers: dict[str, Publisher], fakes: Fakes, credentials: PlatformCredentials
) -> None:
    media = [image("https://cdn.example.com/1.jpg"), video("https://cdn.example.com/2.mp4")]
    await publishers["threads"].publish(request("threads", credentials, content_format="CAROUSEL", media=media))

    items, carousel = fakes.threads.called("create_container")[:2], fakes.threads.called("create_container")[2]
    assert [(i.form["media_type"], i.form["is_carousel_item"]) for i in items] == [("IMAGE", "true"), ("VIDEO", "true")]
    assert (carousel.form["media_type"], carousel.form["children"]) == ("CAROUSEL", ",".join(list(fakes.threads.containers)[:2]))
    assert carousel.form["text"] == CAPTION


async def test_a_rate_limit_is_rate_limited(
    publishers: dict[str, Publisher], fakes: Fakes, credentials: PlatformCredentials
) -> None:
    fakes.threads.fail("create_container", rate_limited(613))

    with pytest.raises(PublishError) as raised:
        await publishers["threads"].publish(request("threads", credentials, content_format="TEXT"))

    assert (raised.value.category, raised.value.retryable) == ("rate_limited", True)
    assert raised.value.message.startswith("Threads rate limit reached")


async def test_a_failed_video_download_is_a_media_error(
    publishers: dict[str, Publisher], fakes: Fakes, credentials: PlatformCredentials
) -> None:
    threads = fakes.threads
    threads.video_polls = 0
    original = threads.create_container

    def failing(call, match):  # type: ignore[no-untyped-def]
        response = original(call, match)
        container = threads.containers[response.json()["id"]]
        container.final, container.error_status = "ERROR", "FAILED_DOWNLOADING_VIDEO"
        return response

    threads.routes = [(m, p, o, failing if o == "create_container" else h) for m, p, o, h in threads.routes]

    with pytest.raises(PublishError) as raised:
        await publishers["threads"].publish(request("threads", credentials, content_format="VIDEO", media=[video()]))

    assert (raised.value.category, raised.value.message) == (
        "media_error", "Threads could not process the post: FAILED_DOWNLOADING_VIDEO"
    )


async def test_find_published_and_recent_posts_read_the_threads_of_the_account(
    publishers: dict[str, Publisher], fakes: Fakes, credentials: PlatformCredentials
) -> None:
    threads = publishers["threads"]
    published = await threads.publish(request("threads", credentials, content_format="TEXT"))

    assert await threads.find_published(request("threads", credentials, content_format="TEXT")) == published
    assert await threads.find_published(request("threads", credentials, caption="Not posted")) is None
