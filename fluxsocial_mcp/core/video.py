"""Video generation: an asynchronous operation, charged up front and refunded if it fails."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import or_, select, update

from .. import ids
from ..errors import NotFound
from ..models import Media, VideoOperation
from ..providers.base import VideoRequest
from . import credits
from .caller import Caller
from .schemas import GenerateVideoInput, VideoInput, VideoStartedResult, VideoStatusResult
from .service import Core

log = logging.getLogger(__name__)
# An operation a worker has been polling this long (it died) may be taken by another.
POLL_CLAIM_TIMEOUT = timedelta(minutes=5)


async def generate_video(core: Core, caller: Caller, request: GenerateVideoInput) -> VideoStartedResult:
    operation_id = ids.new_id(ids.VIDEO_OPERATION)
    async with credits.charged(core.db, caller, "video", operation_id) as charge:
        handle = await core.video.start(
            VideoRequest(
                prompt=request.prompt,
                duration=request.duration,
                aspect_ratio=request.aspect_ratio,
                style=request.style,
            )
        )
        async with core.db.transaction() as session:
            session.add(
                VideoOperation(
                    id=operation_id,
                    user_id=caller.user_id,
                    api_key_id=caller.api_key_id,
                    prompt=request.prompt,
                    duration=request.duration,
                    aspect_ratio=request.aspect_ratio,
                    style=request.style,
                    status="processing",
                    generator=core.video.name,
                    provider_handle=handle,
                    credits_charged=charge.cost,
                    created_at=core.now(),
                )
            )
    return VideoStartedResult(operation_id=operation_id, status="processing")


async def check_video_status(core: Core, caller: Caller, request: VideoInput) -> VideoStatusResult:
    async with core.db.transaction() as session:
        operation = await session.get(VideoOperation, request.operation_id)
        if operation is None or operation.user_id != caller.user_id:
            raise NotFound(f"Video operation {request.operation_id} not found")
        media = await session.get(Media, operation.media_id) if operation.media_id else None
    completed = operation.status == "completed" and media is not None
    return VideoStatusResult(
        operation_id=operation.id,
        status=operation.status,  # type: ignore[arg-type]
        video_url=core.media.url_for(media) if completed and media else None,
        duration=operation.duration if completed else None,
        error=operation.error if operation.status == "failed" else None,
    )


async def advance_video_operations(core: Core, worker: str, limit: int = 4) -> int:
    """Poll the backend for each unfinished operation; store the video or refund the credits."""
    now = core.now()
    async with core.db.transaction() as session:
        query = (
            select(VideoOperation.id)
            .where(
                VideoOperation.status == "processing",
                or_(VideoOperation.claimed_at.is_(None), VideoOperation.claimed_at < now - POLL_CLAIM_TIMEOUT),
            )
            .order_by(VideoOperation.created_at)
            .limit(limit)
        )
        if not core.db.is_sqlite:
            query = query.with_for_update(skip_locked=True)
        claimed = list(await session.scalars(query))
        if claimed:
            await session.execute(
                update(VideoOperation).where(VideoOperation.id.in_(claimed)).values(claimed_at=now)
            )
    for operation_id in claimed:
        await _advance(core, operation_id)
    return len(claimed)


async def _advance(core: Core, operation_id: str) -> None:
    async with core.db.transaction() as session:
        operation = await session.get(VideoOperation, operation_id)
    assert operation is not None
    try:
        progress = await core.video.poll(operation.provider_handle or "")
    except Exception as exc:  # the backend is down: try again on a later pass
        log.warning("video operation %s: poll failed: %r", operation_id, exc)
        async with core.db.transaction() as session:
            await session.execute(update(VideoOperation).where(VideoOperation.id == operation_id).values(claimed_at=None))
        return
    if progress.status == "processing":
        async with core.db.transaction() as session:
            await session.execute(update(VideoOperation).where(VideoOperation.id == operation_id).values(claimed_at=None))
        return
    if progress.status == "completed" and progress.data:
        media_id, filename = await core.media.write(progress.data, progress.content_type)
        async with core.db.transaction() as session:
            core.media.record(
                session, media_id=media_id, filename=filename, user_id=operation.user_id,
                data=progress.data, content_type=progress.content_type, kind="video", origin=operation.generator,
            )
            await session.flush()
            await session.execute(
                update(VideoOperation)
                .where(VideoOperation.id == operation_id, VideoOperation.status == "processing")
                .values(status="completed", media_id=media_id, completed_at=core.now())
            )
        return
    async with core.db.transaction() as session:
        result = await session.execute(
            update(VideoOperation)
            .where(VideoOperation.id == operation_id, VideoOperation.status == "processing")
            .values(status="failed", error=progress.error or "Video generation failed", completed_at=core.now())
        )
        # Refund in the same transaction as the status change: exactly once.
        if result.rowcount and operation.credits_charged:  # type: ignore[attr-defined]
            await credits.add_credits(session, operation.user_id, operation.credits_charged, "video_refund", operation_id)
