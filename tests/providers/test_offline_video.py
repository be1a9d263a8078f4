import json

import imageio_ffmpeg
import pytest

from fluxsocial_mcp.providers.base import VideoRequest
from fluxsocial_mcp.providers.offline_video import OfflineVideoGenerator


def probe(path):
    frames = imageio_ffmpeg.read_frames(str(path))
    try:
        meta = next(frames)
    finally:
        frames.close()
    _, seconds = imageio_ffmpeg.count_frames_and_secs(str(path))
    return meta, seconds


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("duration", "aspect", "style", "size"),
    [(8, "9:16", "social", (720, 1280)), (4, "16:9", "cinematic", (1280, 720))],
)
async def test_renders_an_mp4_of_the_requested_length_and_shape(tmp_path, duration, aspect, style, size):
    generator = OfflineVideoGenerator()
    handle = await generator.start(VideoRequest(prompt="Summer sale at Café Olé", duration=duration,
                                                aspect_ratio=aspect, style=style))
    progress = await generator.poll(handle)
    assert progress.status == "completed", progress.error
    assert progress.content_type == "video/mp4"
    assert progress.extra["duration"] == str(duration)

    path = tmp_path / "clip.mp4"
    path.write_bytes(progress.data)
    meta, seconds = probe(path)
    assert abs(seconds - duration) <= 0.2
    assert meta["size"] == size
    assert meta["codec"] == "h264"
    assert meta["pix_fmt"].startswith("yuv420p")
    # +faststart: the index (moov) precedes the media data (mdat).
    assert progress.data.index(b"moov") < progress.data.index(b"mdat")


@pytest.mark.asyncio
async def test_the_handle_survives_a_restart():
    request = VideoRequest(prompt="שלום", duration=4, aspect_ratio="9:16", style="animated")
    handle = await OfflineVideoGenerator().start(request)
    assert json.loads(handle)["prompt"] == "שלום"
    # A fresh instance, as after a process restart, can still finish the job.
    progress = await OfflineVideoGenerator(fps=6).poll(handle)
    assert progress.status == "completed", progress.error
    assert progress.data[4:8] == b"ftyp"


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "handle",
    [
        "",
        "not json",
        "[]",
        "{}",
        '{"kind":"offline-slideshow","v":1,"prompt":"x","duration":0,"aspect":"9:16","style":"social"}',
        '{"kind":"offline-slideshow","v":1,"prompt":"x","duration":8,"aspect":"4:3","style":"social"}',
        '{"kind":"offline-slideshow","v":1,"prompt":"x","duration":8,"aspect":"9:16","style":"noir"}',
        '{"kind":"other","v":1,"prompt":"x","duration":8,"aspect":"9:16","style":"social"}',
    ],
)
async def test_malformed_handles_fail_cleanly(handle):
    progress = await OfflineVideoGenerator().poll(handle)
    assert progress.status == "failed"
    assert progress.data is None
    assert progress.error


@pytest.mark.asyncio
async def test_start_rejects_unrenderable_requests():
    with pytest.raises(ValueError):
        await OfflineVideoGenerator().start(VideoRequest(prompt="x", duration=0, aspect_ratio="9:16", style="social"))
