"""TikTok: creator info first, then Direct Post (video or photos), then the publish status."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from fluxsocial_mcp.app import Runtime
from fluxsocial_mcp.platforms.base import Publisher, PublishError
from fluxsocial_mcp.platforms.credentials import PlatformCredentials
from fluxsocial_mcp.platforms.tiktok import choose_privacy

from ..factories import Clock, make_tenant
from .conftest import Fakes, Sleeps
from .fakes.tiktok import tiktok_error
from .support import connect_account, image, make_content, request, video

CAPTION = "Fresh latte art every morning\n\n#coffee #latteart"


@pytest.fixture
def credentials(clock: Clock) -> PlatformCredentials:
    return PlatformCredentials(
        access_token="act.valid-1", refresh_token="rft.valid-1", expires_at=clock.now + timedelta(hours=20),
        refresh_expires_at=clock.now + timedelta(days=300), platform_user_id="-000AbCdEfGhIjKlMnOp",
    )


async def test_a_video_asks_creator_info_first_then_pulls_the_video_and_waits_for_the_post(
    client: httpx.AsyncClient, runtime: Runtime, publishers: dict[str, Publisher], fakes: Fakes, sleeps: Sleeps,
    credentials: PlatformCredentials,
) -> None:
    tenant = await make_tenant(runtime.core, platforms=())
    account = await connect_account(runtime.core, tenant, "tiktok", credentials)
    suggestion = await make_content(runtime.core, tenant, "REEL", kinds=("video",))

    response = await client.post(
        f"/api/v1/content/{suggestion}/post", json={"targets": [{"accountId": account, "platform": "tiktok"}]},
        headers=tenant.headers,
    )

    tiktok = fakes.tiktok
    assert tiktok.ops() == ["creator_info", "video_init", "status_fetch", "status_fetch", "status_fetch"]
    creator, init = tiktok.calls[:2]
    assert creator.headers["authorization"] == "Bearer act.valid-1"
    assert creator.headers["content-type"] == "application/json; charset=UTF-8"
    body = init.json
    assert body["source_info"]["source"] == "PULL_FROM_URL"
    assert body["source_info"]["video_url"].startswith("http://127.0.0.1:8000/media/med_")
    assert body["post_info"] == {
        "title": CAPTION, "privacy_level": "PUBLIC_TO_EVERYONE", "disable_duet": False,
        "disable_comment": False, "disable_stitch": True, "video_cover_timestamp_ms": 1000,
    }
    publish_id, = tiktok.publishes
    assert tiktok.calls[2].json == {"publish_id": publish_id}
    post_id = tiktok.publishes[publish_id].post_id
    assert response.json()["results"] == [{
        "platform": "tiktok", "accountId": account, "status": "success",
        "postUrl": f"https://www.tiktok.com/@morningcup/video/{post_id}",
    }]
    assert sleeps == [1.0, 1.5]


async def test_photos_go_through_content_init_as_a_photo_post(
    publishers: dict[str, Publisher], fakes: Fakes, credentials: PlatformCredentials
) -> None:
    media = [image("https://cdn.example.com/1.jpg"), image("https://cdn.example.com/2.jpg")]
    result = await publishers["tiktok"].publish(request("tiktok", credentials, content_format="CAROUSEL", media=media))

    init = fakes.tiktok.called("content_init")[0].json
    assert init["media_type"] == "PHOTO" and init["post_mode"] == "DIRECT_POST"
    assert init["source_info"] == {
        "source": "PULL_FROM_URL", "photo_cover_index": 0,
        "photo_images": ["https://cdn.example.com/1.jpg", "https://cdn.example.com/2.jpg"],
    }
    assert init["post_info"]["title"] == "Latte art" and init["post_info"]["description"] == CAPTION
    assert "/photo/" in result.post_url


async def test_the_privacy_level_is_the_most_public_the_creator_allows(
    publishers: dict[str, Publisher], fakes: Fakes, credentials: PlatformCredentials
) -> None:
    fakes.tiktok.privacy_options = ["FOLLOWER_OF_CREATOR", "SELF_ONLY"]
    fakes.tiktok.comment_disabled = True

    await publishers["tiktok"].publish(request("tiktok", credentials, content_format="VIDEO", media=[video()]))

    info = fakes.tiktok.called("video_init")[0].json["post_info"]
    assert (info["privacy_level"], info["disable_comment"]) == ("FOLLOWER_OF_CREATOR", True)


def test_a_configured_private_level_is_never_made_more_public() -> None:
    assert choose_privacy("SELF_ONLY", ["PUBLIC_TO_EVERYONE", "SELF_ONLY"]) == "SELF_ONLY"
    assert choose_privacy("MUTUAL_FOLLOW_FRIENDS", ["PUBLIC_TO_EVERYONE", "SELF_ONLY"]) == "SELF_ONLY"
    with pytest.raises(PublishError) as raised:
        choose_privacy("SELF_ONLY", ["PUBLIC_TO_EVERYONE"])
    assert raised.value.category == "rejected_content"


async def test_too_many_posts_is_rate_limited_and_names_the_log_id(
    publishers: dict[str, Publisher], fakes: Fakes, credentials: PlatformCredentials
) -> None:
    fakes.tiktok.fail("video_init", tiktok_error(403, "spam_risk_too_many_posts", "The daily post cap is reached."))

    with pytest.raises(PublishError) as raised:
        await publishers["tiktok"].publish(request("tiktok", credentials, content_format="VIDEO", media=[video()]))

    assert (raised.value.category, raised.value.retryable) == ("rate_limited", True)
    assert raised.value.message == (
        "TikTok's daily post limit for this account is reached (The daily post cap is reached.) "
        "[log id 202604061200000102030405060708090A]"
    )


async def test_the_api_rate_limit_is_retryable(
    publishers: dict[str, Publisher], fakes: Fakes, credentials: PlatformCredentials
) -> None:
    fakes.tiktok.fail("creator_info", tiktok_error(429, "rate_limit_exceeded", "API rate limit was exceeded"))

    with pytest.raises(PublishError) as raised:
        await publishers["tiktok"].publish(request("tiktok", credentials, content_format="VIDEO", media=[video()]))

    assert (raised.value.category, raised.value.retryable) == ("rate_limited", True)


async def test_an_unverified_media_domain_is_a_media_error_that_says_what_to_do(
    publishers: dict[str, Publisher], fakes: Fakes, credentials: PlatformCredentials
) -> None:
    fakes.tiktok.fail("video_init", tiktok_error(403, "url_ownership_unverified", "Please verify the URL ownership."))

    with pytest.raises(PublishError) as raised:
        await publishers["tiktok"].publish(request("tiktok", credentials, content_format="VIDEO", media=[video()]))

    assert raised.value.category == "media_error"
    assert "verify the domain of FLUXSOCIAL_PUBLIC_URL" in raised.value.message


async def test_a_failed_publish_reports_tiktoks_reason(
    publishers: dict[str, Publisher], fakes: Fakes, credentials: PlatformCredentials
) -> None:
    fakes.tiktok.next_fail_reason = "duration_check_failed"

    with pytest.raises(PublishError) as raised:
        await publishers["tiktok"].publish(request("tiktok", credentials, content_format="VIDEO", media=[video()]))

    publish_id, = fakes.tiktok.publishes
    assert (raised.value.category, raised.value.message) == (
        "media_error", f"the video is too long or too short for this account (publish id {publish_id})"
    )


async def test_a_post_still_in_moderation_succeeds_with_tiktoks_publish_id(
    publishers: dict[str, Publisher], fakes: Fakes, credentials: PlatformCredentials
) -> None:
    fakes.tiktok.moderation_pending = True

    result = await publishers["tiktok"].publish(request("tiktok", credentials, content_format="VIDEO", media=[video()]))

    publish_id, = fakes.tiktok.publishes
    assert (result.platform_post_id, result.post_url) == (publish_id, "https://www.tiktok.com/@morningcup")


async def test_a_post_still_processing_when_the_wait_ends_is_not_retried_blindly(
    publishers: dict[str, Publisher], fakes: Fakes, credentials: PlatformCredentials
) -> None:
    fakes.tiktok.pending_polls = 1000

    with pytest.raises(PublishError) as raised:
        await publishers["tiktok"].publish(request("tiktok", credentials, content_format="VIDEO", media=[video()]))

    assert (raised.value.category, raised.value.retryable) == ("platform_down", False)
    assert "check TikTok before posting again" in raised.value.message
