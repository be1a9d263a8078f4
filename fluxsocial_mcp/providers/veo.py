"""Google Veo through the Gemini API's long-running operations.

``start`` calls ``POST {base}/models/{model}:predictLongRunning`` and returns the
operation's ``name`` (``models/veo-…/operations/…``) as the handle. ``poll``
reads ``GET {base}/{name}``; while ``done`` is absent the video is processing.
A done operation carries either ``error`` (the video failed: the core refunds)
or ``response.generateVideoResponse.generatedSamples[].video.uri``, a file link
on the API host that is downloaded with the key into our media store: the
provider's link expires, so it is never what we store or show.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import anyio.to_thread

from ..errors import UnsupportedMedia
from ..media.process import verify_video
from .base import VideoProgress, VideoRequest
from .http import ProviderClient, ProviderHttpError
from .openai_compat import decode_base64

DEFAULT_MODEL = "veo-3.0-generate-001"
# Google suggests polling long-running operations about every 10 seconds.
POLL_INTERVAL = 10.0
_OPERATION_NAME = re.compile(r"[A-Za-z0-9._\-]+(?:/[A-Za-z0-9._\-]+)*/operations/[A-Za-z0-9._\-]+")
STYLE_HINTS = {
    "realistic": "Photorealistic, natural light, real-world textures.",
    "animated": "Colourful 3D animation style, smooth stylised motion.",
    "cinematic": "Cinematic: dramatic lighting, shallow depth of field, film grain, slow camera moves.",
    "social": "Bright, dynamic social media style: eye-catching from the first second, quick pacing.",
}


def video_prompt(request: VideoRequest) -> str:
    return f"{request.prompt.strip()}\n\nStyle: {STYLE_HINTS.get(request.style, '')}".strip()


@dataclass
class VeoVideoGenerator:
    http: ProviderClient
    model: str = DEFAULT_MODEL
    max_bytes: int = 100 * 1024 * 1024
    poll_interval: float = POLL_INTERVAL
    monotonic: Callable[[], float] = field(default=time.monotonic, repr=False)
    name: str = field(init=False)
    _polled: dict[str, float] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        # Stored as the media's origin (32 characters at most).
        self.name = f"veo:{self.model}"[:32]

    async def start(self, request: VideoRequest) -> str:
        body = {
            "instances": [{"prompt": video_prompt(request)}],
            "parameters": {"aspectRatio": request.aspect_ratio, "durationSeconds": request.duration},
        }
        answer = await self.http.post_json(f"/models/{self.model}:predictLongRunning", body)
        name = answer.get("name") if isinstance(answer, dict) else None
        if not isinstance(name, str) or not _OPERATION_NAME.fullmatch(name):
            raise ProviderHttpError(f"{self.http.provider} started no operation")
        return name

    async def poll(self, handle: str) -> VideoProgress:
        """Read the operation; download the video once it is done.

        A provider that is down raises (the core tries again on a later pass); an
        operation the provider no longer knows, or that failed, is ``failed``.
        """
        if not _OPERATION_NAME.fullmatch(handle or ""):
            return VideoProgress(status="failed", error="Invalid operation handle: not a Veo operation")
        now = self.monotonic()
        last = self._polled.get(handle)
        if last is not None and now - last < self.poll_interval:
            return VideoProgress(status="processing")
        self._polled[handle] = now
        try:
            operation = await self.http.get_json(f"/{handle}")
        except ProviderHttpError as exc:
            if exc.status_code == 404:
                self._polled.pop(handle, None)
                return VideoProgress(status="failed", error="The video operation expired or is unknown to the provider")
            raise
        if not isinstance(operation, dict) or not operation.get("done"):
            return VideoProgress(status="processing")
        self._polled.pop(handle, None)
        return await self._finished(operation)

    async def _finished(self, operation: dict[str, Any]) -> VideoProgress:
        error = operation.get("error")
        if isinstance(error, dict):
            message = self.http.redact(str(error.get("message") or "unknown error"))[:300]
            return VideoProgress(status="failed", error=f"Video generation failed: {message}")
        response = operation.get("response") if isinstance(operation.get("response"), dict) else {}
        video, filtered = _first_video(response)
        if video is None:
            reason = f": {filtered}" if filtered else ""
            return VideoProgress(status="failed", error=f"The provider returned no video{reason}")
        if isinstance(video.get("bytesBase64Encoded"), str):
            data = decode_base64(video["bytesBase64Encoded"], self.http.provider)
        elif isinstance(video.get("uri"), str):
            data, _ = await self.http.download(video["uri"], max_bytes=self.max_bytes)
        else:
            return VideoProgress(status="failed", error="The provider returned no video")
        try:
            content_type = await anyio.to_thread.run_sync(verify_video, data)
        except UnsupportedMedia:
            return VideoProgress(status="failed", error="The provider returned a file that is not a video")
        return VideoProgress(status="completed", data=data, content_type=content_type)


def _first_video(response: dict[str, Any]) -> tuple[dict[str, Any] | None, str]:
    """The first generated video, from the REST shape or the SDK's; else the filter reason."""
    inner = response.get("generateVideoResponse")
    inner = inner if isinstance(inner, dict) else response
    for key in ("generatedSamples", "generatedVideos", "videos"):
        samples = inner.get(key)
        if isinstance(samples, list) and samples and isinstance(samples[0], dict):
            sample = samples[0]
            video = sample.get("video", sample)
            if isinstance(video, dict):
                return video, ""
    reasons = inner.get("raiMediaFilteredReasons")
    reason = "; ".join(str(r) for r in reasons)[:300] if isinstance(reasons, list) else ""
    return None, reason
