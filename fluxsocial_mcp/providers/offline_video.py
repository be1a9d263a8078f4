"""The default video generator: an animated title card, not an AI video.

``OfflineVideoGenerator`` follows the long-running-operation shape of real
video APIs. ``start`` does no work: it returns a self-describing handle (compact
JSON of the request), so a poll after a process restart still knows what to
render. ``poll`` renders the whole clip in one go, in a worker thread: a
gradient card with the prompt, the style, a moving disc, a progress bar and an
"Offline preview" badge, encoded by imageio-ffmpeg's bundled ffmpeg as H.264
(yuv420p, +faststart) of exactly ``duration`` seconds.
"""

from __future__ import annotations

import json
import math
import subprocess
import tempfile
from pathlib import Path

import anyio.to_thread
import imageio_ffmpeg
from PIL import Image, ImageDraw

from .base import VideoProgress, VideoRequest
from .offline_image import BADGE_TEXT, WHITE, clean_text, decorate, draw_badge, draw_lines, fit_text, gradient, palette

HANDLE_KIND = "offline-slideshow"
HANDLE_VERSION = 1
MAX_DURATION = 60
FRAME_SIZES = {"9:16": (720, 1280), "16:9": (1280, 720)}
# Per style: (saturation, value) of the palette, plus how the card is labelled.
STYLES = {
    "realistic": (0.35, 0.50, "Realistic"),
    "animated": (0.85, 0.62, "Animated"),
    "cinematic": (0.45, 0.32, "Cinematic"),
    "social": (0.65, 0.56, "Social"),
}


class HandleError(ValueError):
    """The handle was not issued by this generator, or was altered."""


def encode_handle(request: VideoRequest) -> str:
    payload = {
        "kind": HANDLE_KIND,
        "v": HANDLE_VERSION,
        "prompt": request.prompt,
        "duration": request.duration,
        "aspect": request.aspect_ratio,
        "style": request.style,
    }
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=True)


def decode_handle(handle: str) -> VideoRequest:
    try:
        payload = json.loads(handle)
    except (TypeError, ValueError) as exc:
        raise HandleError("handle is not JSON") from exc
    if not isinstance(payload, dict) or payload.get("kind") != HANDLE_KIND or payload.get("v") != HANDLE_VERSION:
        raise HandleError("handle was not issued by the offline slideshow generator")
    prompt, duration = payload.get("prompt"), payload.get("duration")
    aspect, style = payload.get("aspect"), payload.get("style")
    if not isinstance(prompt, str):
        raise HandleError("handle has no prompt")
    if isinstance(duration, bool) or not isinstance(duration, int) or not 1 <= duration <= MAX_DURATION:
        raise HandleError(f"handle duration must be 1–{MAX_DURATION} seconds")
    if aspect not in FRAME_SIZES:
        raise HandleError(f"handle aspect ratio must be one of {', '.join(FRAME_SIZES)}")
    if style not in STYLES:
        raise HandleError(f"handle style must be one of {', '.join(STYLES)}")
    return VideoRequest(prompt=prompt, duration=duration, aspect_ratio=aspect, style=style)


def _base_frame(request: VideoRequest, size: tuple[int, int]) -> Image.Image:
    """Everything that does not move: background, text, badge, letterbox."""
    width, height = size
    saturation, value, label = STYLES[request.style]
    seed = f"{request.style}\n{request.prompt}"
    frame = gradient(size, *palette(seed, saturation, value))
    decorate(frame, seed)
    overlay = Image.new("RGBA", size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    margin = round(min(size) * 0.08)
    inner = width - 2 * margin

    prompt = clean_text(request.prompt) or label
    unit = min(size) / 720  # type scale: 1.0 for the 720-px short side
    sizes = tuple(round(s * unit) for s in (64, 56, 50, 44, 38, 32))
    font, lines, line_height = fit_text(prompt, inner, height * 0.5, sizes, 7)
    subtitle = f"{label} · {request.duration} s"
    sub_font, sub_lines, sub_height = fit_text(subtitle, inner, height * 0.1, (round(32 * unit),), 1)
    block = len(lines) * line_height + 24 + sub_height
    y = draw_lines(draw, lines, font, line_height, width / 2, (height - block) / 2, WHITE)
    draw_lines(draw, sub_lines, sub_font, sub_height, width / 2, y + 24, (255, 255, 255, 200))

    if request.style == "cinematic":
        bar = round(height * 0.07)
        draw.rectangle((0, 0, width, bar), fill=(0, 0, 0, 255))
        draw.rectangle((0, height - bar, width, height), fill=(0, 0, 0, 255))
    badge_size = round(26 * unit)
    draw_badge(draw, (margin, height - margin - badge_size * 2.2), BADGE_TEXT, badge_size)
    return Image.alpha_composite(frame.convert("RGBA"), overlay).convert("RGB")


def _frames(request: VideoRequest, size: tuple[int, int], fps: int):
    """Yield raw RGB frames: the static card plus a disc on a Lissajous path and a progress bar."""
    base = _base_frame(request, size)
    width, height = size
    total = request.duration * fps
    radius = min(size) * 0.05
    for index in range(total):
        t = index / total
        frame = base.copy()
        draw = ImageDraw.Draw(frame)
        cx = width / 2 + math.sin(2 * math.pi * t) * width * 0.32
        # Kept in the top band, clear of the centred text and the letterbox.
        cy = height * 0.16 + math.sin(4 * math.pi * t) * height * 0.035
        draw.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), outline=WHITE, width=max(3, round(radius / 6)))
        bar_y = height - round(height * 0.03)
        draw.rectangle((0, bar_y, round(width * (index + 1) / total), height), fill=(255, 255, 255))
        yield frame.tobytes()


def render_video(request: VideoRequest, fps: int) -> bytes:
    """Encode the clip to a temporary MP4 and return its bytes."""
    size = FRAME_SIZES[request.aspect_ratio]
    with tempfile.TemporaryDirectory(prefix="fluxsocial-video-") as tmp:
        path = Path(tmp) / "clip.mp4"
        writer = imageio_ffmpeg.write_frames(
            str(path),
            size,
            fps=fps,
            codec="libx264",
            pix_fmt_out="yuv420p",
            quality=None,  # rate control is set below
            ffmpeg_log_level="error",
            # Flat cards compress well; "veryfast" keeps an 8 s clip near a second on 2 cores.
            output_params=["-preset", "veryfast", "-crf", "26", "-movflags", "+faststart"],
        )
        writer.send(None)  # start ffmpeg
        try:
            for frame in _frames(request, size, fps):
                writer.send(frame)
        finally:
            writer.close()
        return path.read_bytes()


class OfflineVideoGenerator:
    """Renders an animated "Offline preview" title card as an MP4; no model, no network.

    Args:
        fps: frame rate of the rendered clip. 12 is smooth enough for a moving
            title card and keeps the render short.
    """

    name = "offline-slideshow"

    def __init__(self, fps: int = 12) -> None:
        if not 1 <= fps <= 60:
            raise ValueError("fps must be between 1 and 60")
        self.fps = fps

    async def start(self, request: VideoRequest) -> str:
        """Return a handle that carries the whole request; nothing renders yet.

        Raises:
            ValueError: the request cannot be rendered (duration outside
                1–60 s, or an unknown aspect ratio or style).
        """
        handle = encode_handle(request)
        try:
            decode_handle(handle)  # the same checks poll will apply, failing early
        except HandleError as exc:
            raise ValueError(str(exc).replace("handle ", "video ", 1)) from exc
        return handle

    async def poll(self, handle: str) -> VideoProgress:
        """Render the clip named by ``handle``; a bad handle or a failed encode is ``failed``."""
        try:
            request = decode_handle(handle)
        except HandleError as exc:
            return VideoProgress(status="failed", error=f"Invalid operation handle: {exc}")
        try:
            data = await anyio.to_thread.run_sync(render_video, request, self.fps)
        except (OSError, RuntimeError, subprocess.SubprocessError) as exc:
            return VideoProgress(status="failed", error=f"Offline video rendering failed: {exc}")
        width, height = FRAME_SIZES[request.aspect_ratio]
        return VideoProgress(
            status="completed",
            data=data,
            content_type="video/mp4",
            extra={"duration": str(request.duration), "width": str(width), "height": str(height)},
        )
