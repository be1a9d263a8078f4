"""Posting, scheduling and cancelling, and the scheduler that publishes due targets exactly once.

A target moves ``scheduled → publishing → success | failed`` (or ``cancelled``
from ``scheduled``). Every move is a conditional UPDATE on the current status,
so a cancel and a claim racing for the same row cannot both win. A target is
marked ``publishing`` and committed before the platform is called; if the
process dies before the result is recorded, the target is reconciled with the
platform (``find_published``) instead of being published blindly again.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

import anyio
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from .. import ids
from ..errors import BadRequest, NotFound
from ..models import PostTarget, SocialAccount, Suggestion
from ..platforms.base import MediaItem, PublishError, Publisher, PublishRequest, PublishResult
from ..platforms.rules import PostDraft, check_post, compose_caption
from .caller import Caller
from .catalog import owned_account
from .content import owned_suggestion, slide_media
from .schemas import (
    CancelResult,
    PostContentInput,
    PostResult,
    PostStatusResult,
    ScheduleContentInput,
    ScheduleResult,
    SuggestionInput,
    Target,
    TargetOut,
    TargetResult,
    format_time,
)
from .service import Core

log = logging.getLogger(__name__)

MAX_SCHEDULE_AHEAD = timedelta(days=365)
MAX_ATTEMPTS = 3
RETRY_BASE_DELAY = timedelta(seconds=30)
PUBLISH_CONCURRENCY = 16
IN_FLIGHT = ("scheduled", "publishing", "unconfirmed")


def derive_status(statuses: Iterable[str]) -> str:
    statuses = list(statuses)
    live = [s for s in statuses if s != "cancelled"]
    if not statuses:
        return "DRAFT"
    if not live:
        return "CANCELLED"
    if any(s in ("publishing", "unconfirmed") for s in live):
        return "PUBLISHING"
    if "scheduled" in live:
        return "SCHEDULED"
    succeeded, failed = live.count("success"), live.count("failed")
    if succeeded and failed:
        return "PARTIALLY_POSTED"
    return "POSTED" if succeeded else "FAILED"


async def refresh_suggestion_status(session: AsyncSession, suggestion_id: str, now: datetime) -> Suggestion:
    suggestion = await session.get(Suggestion, suggestion_id, with_for_update=False, populate_existing=True)
    assert suggestion is not None
    rows = (await session.execute(
        select(PostTarget.status, PostTarget.scheduled_for).where(PostTarget.suggestion_id == suggestion_id)
    )).all()
    suggestion.status = derive_status(status for status, _ in rows)
    due = [when for status, when in rows if status == "scheduled" and when is not None]
    suggestion.scheduled_for = min(due) if due else None
    suggestion.updated_at = now
    await session.flush()
    return suggestion


def target_result(target: PostTarget) -> TargetResult:
    return TargetResult(
        platform=target.platform,
        account_id=target.account_id,
        status=target.status,  # type: ignore[arg-type]
        post_url=target.post_url,
        error=target.error,
    )


async def _prepare_targets(
    session: AsyncSession,
    core: Core,
    caller: Caller,
    suggestion: Suggestion,
    targets: list[Target],
    *,
    status: str,
    scheduled_for: datetime,
    replacing_scheduled: bool = False,
) -> list[PostTarget]:
    """Check every requested target and create (or reuse) its row, before anything is published."""
    seen: set[str] = set()
    for target in targets:
        if target.account_id in seen:
            raise BadRequest(f"'targets' names account {target.account_id} twice")
        seen.add(target.account_id)

    media = await slide_media(session, suggestion.id)
    draft = PostDraft(
        content_format=suggestion.content_format,
        caption=compose_caption(suggestion.body, suggestion.tags),
        media_kinds=tuple(m.kind for _, m in media),
    )
    existing = {
        t.account_id: t
        for t in await session.scalars(select(PostTarget).where(PostTarget.suggestion_id == suggestion.id))
    }
    now = core.now()
    prepared: list[PostTarget] = []
    for target in targets:
        account = await owned_account(session, caller, target.account_id)
        if account.platform != target.platform:
            raise BadRequest(
                f"Account {account.id} is a {account.platform} account, not {target.platform}"
            )
        if account.status != "active":
            raise BadRequest(f"Account {account.id} needs to be reconnected ({account.status})")
        check_post(account.platform, draft)
        row = existing.get(account.id)
        if row is not None:
            if row.status == "success":
                raise BadRequest(f"This content was already posted to {account.platform} account {account.id}: {row.post_url}")
            if row.status in IN_FLIGHT and not (replacing_scheduled and row.status == "scheduled"):
                raise BadRequest(
                    f"This content is already {row.status} for {account.platform} account {account.id}"
                )
        else:
            row = PostTarget(
                id=ids.new_id(ids.TARGET),
                suggestion_id=suggestion.id,
                user_id=caller.user_id,
                account_id=account.id,
                platform=account.platform,
                status=status,
                created_at=now,
            )
            session.add(row)
        row.publisher = "sandbox" if caller.mode == "test" else account.connection
        row.status = status
        row.scheduled_for = scheduled_for
        row.claimed_by = None
        row.claimed_at = now if status == "publishing" else None
        row.error = row.error_category = None
        row.attempts = 1 if status == "publishing" else 0
        prepared.append(row)
    await session.flush()
    return prepared


def _check_schedule_time(core: Core, when: datetime) -> None:
    now = core.now()
    if when <= now:
        raise BadRequest(f"'scheduledFor' must be in the future (it is {format_time(when)}, now is {format_time(now)})")
    if when > now + MAX_SCHEDULE_AHEAD:
        raise BadRequest("'scheduledFor' must be within one year from now")


async def schedule_content(core: Core, caller: Caller, request: ScheduleContentInput) -> ScheduleResult:
    when: datetime = request.scheduled_for  # type: ignore[assignment]
    _check_schedule_time(core, when)
    async with core.db.transaction() as session:
        suggestion = await owned_suggestion(session, caller, request.suggestion_id)
        rows = await _prepare_targets(
            session, core, caller, suggestion, request.targets,
            status="scheduled", scheduled_for=when, replacing_scheduled=True,
        )
        # Rescheduling with fewer targets drops the ones left out (only while still scheduled).
        kept = [row.id for row in rows]
        await session.execute(
            update(PostTarget)
            .where(PostTarget.suggestion_id == suggestion.id, PostTarget.status == "scheduled", PostTarget.id.not_in(kept))
            .values(status="cancelled")
        )
        await refresh_suggestion_status(session, suggestion.id, core.now())
    return ScheduleResult(
        suggestion_id=suggestion.id,
        scheduled_for=format_time(when),
        targets=[TargetOut(account_id=row.account_id, platform=row.platform) for row in rows],
    )


async def post_content(core: Core, caller: Caller, request: PostContentInput) -> PostResult:
    if request.scheduled_for is not None:
        scheduled = await schedule_content(
            core, caller,
            ScheduleContentInput(
                suggestion_id=request.suggestion_id,
                scheduled_for=request.scheduled_for,
                targets=request.targets,
            ),
        )
        return PostResult(
            suggestion_id=scheduled.suggestion_id,
            results=[
                TargetResult(platform=t.platform, account_id=t.account_id, status="scheduled")
                for t in scheduled.targets
            ],
        )
    worker = f"request:{ids.new_id('w')}"
    async with core.db.transaction() as session:
        suggestion = await owned_suggestion(session, caller, request.suggestion_id)
        rows = await _prepare_targets(
            session, core, caller, suggestion, request.targets, status="publishing", scheduled_for=core.now()
        )
        for row in rows:
            row.claimed_by = worker
        await refresh_suggestion_status(session, suggestion.id, core.now())
    target_ids = [row.id for row in rows]
    await _publish_all(core, target_ids, worker)
    async with core.db.transaction() as session:
        by_id = {t.id: t for t in await session.scalars(select(PostTarget).where(PostTarget.id.in_(target_ids)))}
    return PostResult(suggestion_id=request.suggestion_id, results=[target_result(by_id[i]) for i in target_ids])


async def cancel_scheduled_post(core: Core, caller: Caller, request: SuggestionInput) -> CancelResult:
    async with core.db.transaction() as session:
        suggestion = await owned_suggestion(session, caller, request.suggestion_id)
        result = await session.execute(
            update(PostTarget)
            .where(PostTarget.suggestion_id == suggestion.id, PostTarget.status == "scheduled")
            .values(status="cancelled")
        )
        if result.rowcount == 0:  # type: ignore[attr-defined]
            raise BadRequest(
                f"Only scheduled posts can be cancelled; this content is {suggestion.status}"
            )
        await refresh_suggestion_status(session, suggestion.id, core.now())
    return CancelResult(suggestion_id=suggestion.id, cancelled=True)


async def check_post_status(core: Core, caller: Caller, request: SuggestionInput) -> PostStatusResult:
    async with core.db.transaction() as session:
        suggestion = await owned_suggestion(session, caller, request.suggestion_id)
        targets = list(await session.scalars(
            select(PostTarget).where(PostTarget.suggestion_id == suggestion.id).order_by(PostTarget.created_at, PostTarget.id)
        ))
    return PostStatusResult(
        id=suggestion.id,
        status=derive_status(t.status for t in targets),  # type: ignore[arg-type]
        platforms=[target_result(t) for t in targets],
    )


# ----- publishing ---------------------------------------------------------------------

async def _publish_request(session: AsyncSession, core: Core, target: PostTarget) -> PublishRequest:
    suggestion = await session.get(Suggestion, target.suggestion_id)
    account = await session.get(SocialAccount, target.account_id)
    if suggestion is None or account is None:
        raise NotFound("The target's content or account no longer exists")
    media = await slide_media(session, suggestion.id)
    return PublishRequest(
        target_id=target.id,
        platform=account.platform,  # type: ignore[arg-type]
        account_id=account.id,
        username=account.username,
        credentials={},
        content_format=suggestion.content_format,
        title=suggestion.title,
        caption=compose_caption(suggestion.body, suggestion.tags),
        media=[MediaItem(kind=m.kind, url=core.media.url_for(m), content_type=m.content_type) for _, m in media],  # type: ignore[arg-type]
    )


def _publisher(core: Core, name: str) -> Publisher:
    try:
        return core.publishers[name]
    except KeyError:
        raise PublishError(f"No publisher is configured for {name}", "platform_down") from None


async def _record(
    core: Core, target_id: str, worker: str, *, values: dict[str, object]
) -> bool:
    """Move a target out of ``publishing``, only if this worker still holds its claim."""
    async with core.db.transaction() as session:
        result = await session.execute(
            update(PostTarget)
            .where(PostTarget.id == target_id, PostTarget.status == "publishing", PostTarget.claimed_by == worker)
            .values(**values)
        )
        if result.rowcount == 0:  # type: ignore[attr-defined]
            return False
        suggestion_id = await session.scalar(select(PostTarget.suggestion_id).where(PostTarget.id == target_id))
        await refresh_suggestion_status(session, suggestion_id, core.now())
        return True


def _success_values(core: Core, result: PublishResult) -> dict[str, object]:
    return dict(
        status="success", platform_post_id=result.platform_post_id, post_url=result.post_url,
        published_at=core.now(), error=None, error_category=None,
    )


async def publish_target(core: Core, target_id: str, worker: str) -> None:
    """Publish one target this worker has claimed, and record what the platform said."""
    async with core.db.transaction() as session:
        target = await session.get(PostTarget, target_id)
        if target is None or target.status != "publishing" or target.claimed_by != worker:
            return
        attempts, was_scheduled = target.attempts, not worker.startswith("request:")
        publisher_name = target.publisher
        try:
            request = await _publish_request(session, core, target)
        except NotFound as exc:
            request = None
            missing = exc.message
    if request is None:
        await _record(core, target_id, worker, values=dict(status="failed", error=missing, error_category="rejected_content"))
        return
    try:
        result = await _publisher(core, publisher_name).publish(request)
    except PublishError as exc:
        if exc.retryable and was_scheduled and attempts < MAX_ATTEMPTS:
            retry_at = core.now() + RETRY_BASE_DELAY * (2 ** (attempts - 1))
            await _record(core, target_id, worker, values=dict(
                status="scheduled", scheduled_for=retry_at, claimed_by=None, claimed_at=None,
                error=f"{exc.message} (retrying at {format_time(retry_at)})", error_category=exc.category,
            ))
        else:
            await _record(core, target_id, worker, values=dict(
                status="failed", error=exc.message, error_category=exc.category,
            ))
        return
    except Exception:
        log.exception("publisher %s failed on target %s", publisher_name, target_id)
        await _record(core, target_id, worker, values=dict(
            status="failed", error="The platform could not be reached", error_category="platform_down",
        ))
        return
    await _record(core, target_id, worker, values=_success_values(core, result))


async def _publish_all(core: Core, target_ids: list[str], worker: str) -> None:
    limiter = anyio.CapacityLimiter(PUBLISH_CONCURRENCY)

    async def one(target_id: str) -> None:
        async with limiter:
            await publish_target(core, target_id, worker)

    async with anyio.create_task_group() as group:
        for target_id in target_ids:
            group.start_soon(one, target_id)


async def claim_due_targets(core: Core, worker: str, limit: int = 100) -> list[str]:
    """Atomically take up to ``limit`` due targets for this worker.

    On PostgreSQL, ``FOR UPDATE SKIP LOCKED`` lets any number of workers claim
    side by side without waiting on or taking each other's rows; SQLite's
    single writer (BEGIN IMMEDIATE) gives the same exclusivity.
    """
    now = core.now()
    async with core.db.transaction() as session:
        query = (
            select(PostTarget.id)
            .where(PostTarget.status == "scheduled", PostTarget.scheduled_for <= now)
            .order_by(PostTarget.scheduled_for)
            .limit(limit)
        )
        if not core.db.is_sqlite:
            query = query.with_for_update(skip_locked=True)
        due = list(await session.scalars(query))
        if not due:
            return []
        await session.execute(
            update(PostTarget)
            .where(PostTarget.id.in_(due), PostTarget.status == "scheduled")
            .values(status="publishing", claimed_by=worker, claimed_at=now, attempts=PostTarget.attempts + 1)
        )
        suggestion_ids = set(await session.scalars(
            select(PostTarget.suggestion_id).where(PostTarget.id.in_(due))
        ))
        for suggestion_id in sorted(suggestion_ids):
            await refresh_suggestion_status(session, suggestion_id, now)
    return due


async def reconcile_stale_targets(core: Core, worker: str, limit: int = 100) -> int:
    """Settle targets whose worker died mid-publish, by asking the platform what happened."""
    now = core.now()
    cutoff = now - timedelta(seconds=core.settings.publish_claim_timeout_seconds)
    async with core.db.transaction() as session:
        query = (
            select(PostTarget.id)
            .where(PostTarget.status == "publishing", PostTarget.claimed_at < cutoff)
            .limit(limit)
        )
        if not core.db.is_sqlite:
            query = query.with_for_update(skip_locked=True)
        stale = list(await session.scalars(query))
        if stale:
            await session.execute(
                update(PostTarget).where(PostTarget.id.in_(stale)).values(claimed_by=worker, claimed_at=now)
            )
    for target_id in stale:
        async with core.db.transaction() as session:
            target = await session.get(PostTarget, target_id)
            assert target is not None
            request = await _publish_request(session, core, target)
            publisher_name = target.publisher
        try:
            publisher = _publisher(core, publisher_name)
            found = await publisher.find_published(request)
        except Exception:
            log.exception("could not reconcile target %s", target_id)
            continue
        if found is not None:
            await _record(core, target_id, worker, values=_success_values(core, found))
        elif publisher.confirms_absence:
            # Proven unpublished: safe to publish again.
            await _record(core, target_id, worker, values=dict(status="scheduled", claimed_by=None, claimed_at=None))
        else:
            await _record(core, target_id, worker, values=dict(
                status="unconfirmed",
                error="Publishing was interrupted and the platform cannot confirm whether the post went out",
                error_category="platform_down",
            ))
    return len(stale)


async def publish_due_posts(core: Core, worker: str, batch: int = 100) -> int:
    """One scheduler pass: reconcile interrupted targets, then publish what is due."""
    await reconcile_stale_targets(core, worker)
    total = 0
    while True:
        claimed = await claim_due_targets(core, worker, batch)
        if not claimed:
            return total
        await _publish_all(core, claimed, worker)
        total += len(claimed)
