"""Google Veo's long-running operations, alone and through the real core (media store, refunds)."""

from __future__ import annotations

import httpx
import httpx2
import pytest
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from sqlalchemy import select

from fluxsocial_mcp.core import credits
from fluxsocial_mcp.core.video import advance_video_operations
from fluxsocial_mcp.errors import ServiceUnavailable
from fluxsocial_mcp.models import CreditLedgerEntry, Media
from fluxsocial_mcp.providers.base import VideoRequest
from fluxsocial_mcp.providers.veo import VeoVideoGenerator

from ..factories import make_tenant
from ..media.support import mp4_bytes
from .fakes import FakeApi, Sleeps, generators, google_error, json_response

KEY = "AIzaSy-veo-key"
OPERATION = "models/veo-3.0-generate-001/operations/8n2kx1qzq4lr"
BASE = "https://generativelanguage.googleapis.com/v1beta"
DOWNLOAD = f"{BASE}/files/3gq7b3yvz0rd:download?alt=media"
REQUEST = VideoRequest(prompt="Steam rising from a latte, slow push-in", duration=8, aspect_ratio="9:16",
                       style="cinematic")


def veo(api: FakeApi, sleeps: Sleeps | None = None) -> VeoVideoGenerator:
    video = generators(api, sleeps, video_provider="veo", video_api_key=KEY)[2]
    assert isinstance(video, VeoVideoGenerator)
    video.poll_interval = 0
    return video


def started() -> httpx.Response:
    return json_response(200, {"name": OPERATION})


def pending() -> httpx.Response:
    return json_response(200, {"name": OPERATION, "metadata": {
        "@type": "type.googleapis.com/google.ai.generativelanguage.v1beta.PredictLongRunningMetadata"}})


def done(uri: str = DOWNLOAD) -> httpx.Response:
    return json_response(200, {"name": OPERATION, "done": True, "response": {
        "@type": "type.googleapis.com/google.ai.generativelanguage.v1beta.PredictLongRunningResponse",
        "generateVideoResponse": {"generatedSamples": [{"video": {"uri": uri}}]},
    }})


def failed(message: str = "Veo could not generate a video for this prompt.") -> httpx.Response:
    return json_response(200, {"name": OPERATION, "done": True, "error": {"code": 3, "message": message}})


def video_file() -> list[httpx.Response]:
    """The file link redirects to storage, as the real download does."""
    return [
        httpx.Response(302, headers={"location": "https://storage.googleusercontent.test/v/abc.mp4?sig=1"}),
        httpx.Response(200, content=mp4_bytes(), headers={"content-type": "video/mp4"}),
    ]


async def test_start_is_a_predict_long_running_call() -> None:
    api = FakeApi(started())
    handle = await veo(api).start(REQUEST)
    assert handle == OPERATION
    request = api.requests[0]
    assert str(request.url) == f"{BASE}/models/veo-3.0-generate-001:predictLongRunning"
    assert request.headers["x-goog-api-key"] == KEY
    body = api.body()
    assert body["parameters"] == {"aspectRatio": "9:16", "durationSeconds": 8}
    assert body["instances"][0]["prompt"].startswith("Steam rising from a latte, slow push-in\n\nStyle: Cinematic")


async def test_an_operation_runs_through_several_polls_then_downloads_the_video() -> None:
    api = FakeApi(pending(), pending(), done(), *video_file())
    video = veo(api)
    assert (await video.poll(OPERATION)).status == "processing"
    assert (await video.poll(OPERATION)).status == "processing"
    progress = await video.poll(OPERATION)
    assert progress.status == "completed"
    assert progress.data == mp4_bytes() and progress.content_type == "video/mp4"
    assert [str(r.url) for r in api.requests[:3]] == [f"{BASE}/{OPERATION}"] * 3
    assert all(r.headers["x-goog-api-key"] == KEY for r in api.requests[:4])
    assert str(api.requests[3].url) == DOWNLOAD
    assert "x-goog-api-key" not in api.requests[4].headers  # never to the storage host


async def test_a_failed_operation_reports_the_providers_reason() -> None:
    progress = await veo(FakeApi(failed())).poll(OPERATION)
    assert progress.status == "failed"
    assert progress.error == "Video generation failed: Veo could not generate a video for this prompt."


async def test_a_filtered_video_is_failed_with_the_reason() -> None:
    api = FakeApi(json_response(200, {"name": OPERATION, "done": True, "response": {"generateVideoResponse": {
        "raiMediaFilteredCount": 1,
        "raiMediaFilteredReasons": ["The video was filtered because it may depict a real person."],
    }}}))
    progress = await veo(api).poll(OPERATION)
    assert progress.status == "failed"
    assert progress.error == (
        "The provider returned no video: The video was filtered because it may depict a real person."
    )


async def test_a_download_that_is_not_a_video_fails_the_operation() -> None:
    api = FakeApi(done(), httpx.Response(200, content=b"<html>expired</html>"))
    progress = await veo(api).poll(OPERATION)
    assert (progress.status, progress.error) == ("failed", "The provider returned a file that is not a video")


async def test_an_unknown_operation_fails_and_a_down_provider_raises_for_a_later_try() -> None:
    assert (await veo(FakeApi(google_error(404, "NOT_FOUND", "Operation not found"))).poll(OPERATION)).status == "failed"
    down = google_error(503, "UNAVAILABLE", "The service is currently unavailable.")
    with pytest.raises(ServiceUnavailable):
        await veo(FakeApi(down, down, down)).poll(OPERATION)
    assert (await veo(FakeApi()).poll('{"kind":"offline-slideshow"}')).status == "failed"


async def test_polls_are_spaced_out() -> None:
    api = FakeApi(pending(), pending())
    video = veo(api)
    now = [100.0]
    video.monotonic = lambda: now[0]
    video.poll_interval = 10
    await video.poll(OPERATION)
    now[0] += 3
    assert (await video.poll(OPERATION)).status == "processing"
    assert len(api.requests) == 1  # too soon: the provider was not asked
    now[0] += 8
    await video.poll(OPERATION)
    assert len(api.requests) == 2


# -- through the core ----------------------------------------------------------------


async def _ledger(runtime, user_id: str) -> list[tuple[int, str]]:  # type: ignore[no-untyped-def]
    async with runtime.core.db.transaction() as session:
        entries = await credits.ledger(session, user_id)
        assert await credits.ledger_sum(session, user_id) == await credits.get_balance(session, user_id)
    return [(e.amount, e.reason) for e in reversed(entries)]


async def test_a_veo_video_is_stored_in_our_media_store(runtime, client) -> None:  # type: ignore[no-untyped-def]
    api = FakeApi(started(), pending(), done(), *video_file())
    runtime.core.video = veo(api)
    tenant = await make_tenant(runtime.core)
    started_op = await client.post("/api/v1/video", json={"prompt": "Latte steam"}, headers=tenant.headers)
    assert started_op.status_code == 200, started_op.text
    operation_id = started_op.json()["operationId"]
    assert started_op.json()["status"] == "processing"

    await advance_video_operations(runtime.core, "test-worker")
    status = (await client.get(f"/api/v1/video/{operation_id}", headers=tenant.headers)).json()
    assert status == {"operationId": operation_id, "status": "processing"}

    await advance_video_operations(runtime.core, "test-worker")
    status = (await client.get(f"/api/v1/video/{operation_id}", headers=tenant.headers)).json()
    assert status["status"] == "completed" and status["duration"] == 8
    assert status["videoUrl"].startswith("http://127.0.0.1:8000/media/") and status["videoUrl"].endswith(".mp4")
    assert "googleusercontent" not in status["videoUrl"] and "generativelanguage" not in status["videoUrl"]
    served = await client.get(status["videoUrl"].removeprefix("http://127.0.0.1:8000"))
    assert served.status_code == 200 and served.content == mp4_bytes()
    async with runtime.core.db.transaction() as session:
        media = (await session.scalars(select(Media))).one()
        assert media.origin == "veo:veo-3.0-generate-001"
    assert await _ledger(runtime, tenant.user_id) == [(5000, "signup_grant"), (-500, "video_generation")]


async def test_a_failed_veo_operation_refunds_the_500_credits_once(runtime, client) -> None:  # type: ignore[no-untyped-def]
    api = FakeApi(started(), pending(), failed("Internal error while generating the video"))
    runtime.core.video = veo(api)
    tenant = await make_tenant(runtime.core)
    operation_id = (await client.post("/api/v1/video", json={"prompt": "Latte steam"}, headers=tenant.headers)).json()[
        "operationId"
    ]
    for _ in range(4):  # the extra passes find nothing left to poll, and refund nothing twice
        await advance_video_operations(runtime.core, "test-worker")
    status = (await client.get(f"/api/v1/video/{operation_id}", headers=tenant.headers)).json()
    assert status == {"operationId": operation_id, "status": "failed",
                      "error": "Video generation failed: Internal error while generating the video"}
    assert await _ledger(runtime, tenant.user_id) == [
        (5000, "signup_grant"), (-500, "video_generation"), (500, "video_refund")]
    async with runtime.core.db.transaction() as session:
        entries = (await session.scalars(
            select(CreditLedgerEntry).where(CreditLedgerEntry.related_id == operation_id))).all()
    assert sorted(e.amount for e in entries) == [-500, 500]


async def test_a_veo_start_failure_refunds_at_once(runtime, client) -> None:  # type: ignore[no-untyped-def]
    api = FakeApi(google_error(400, "INVALID_ARGUMENT", "durationSeconds must be between 5 and 8"))
    runtime.core.video = veo(api)
    tenant = await make_tenant(runtime.core)
    response = await client.post("/api/v1/video", json={"prompt": "Latte", "duration": 4}, headers=tenant.headers)
    assert response.status_code == 503
    assert response.json() == {"error": {"status": 503, "message": (
        "Google Veo refused the request (HTTP 400): durationSeconds must be between 5 and 8")}}
    assert await _ledger(runtime, tenant.user_id) == [
        (5000, "signup_grant"), (-500, "video_generation"), (500, "video_refund")]


async def test_the_mcp_video_tools_report_a_veo_operations_progress(live_server) -> None:  # type: ignore[no-untyped-def]
    core = live_server.runtime.core
    core.video = veo(FakeApi(started(), pending(), done(), *video_file()))
    tenant = await make_tenant(core)
    async with httpx2.AsyncClient(headers=tenant.headers, timeout=30) as http:
        async with streamable_http_client(f"{live_server.url}/api/mcp", http_client=http) as streams:
            async with ClientSession(*streams[:2]) as session:
                await session.initialize()
                started_op = await session.call_tool("generate_video", {"prompt": "Latte steam", "duration": 6})
                assert started_op.is_error is False, started_op.content
                operation_id = started_op.structured_content["operationId"]
                seen = []
                for _ in range(2):
                    await advance_video_operations(core, "test-worker")
                    status = await session.call_tool("check_video_status", {"operationId": operation_id})
                    seen.append(status.structured_content)
    assert seen[0] == {"operationId": operation_id, "status": "processing"}
    assert seen[1]["status"] == "completed" and seen[1]["duration"] == 6
    assert seen[1]["videoUrl"].startswith(f"{live_server.url}/media/")
