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
from dataclasses import dataclass
from datetime import datetime, timedelta

import anyio
from sqlalchemy import bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from .. import ids
from ..errors import BadRequest, NotFound
from ..models import Media, PostTarget, SocialAccount, Suggestion, SuggestionMedia
from ..platforms.base import MediaItem, PublishError, Publisher, PublishRequest, PublishResult
from ..platforms.credentials import open_credentials
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


async def refresh_suggestion_status(session: AsyncSession, suggestion_id: str, now: datetime) -> None:
    await refresh_suggestion_statuses(session, [suggestion_id], now)


async def refresh_suggestion_statuses(session: AsyncSession, suggestion_ids: Iterable[str], now: datetime) -> None:
    """Recompute the stored status (and next time) of suggestions from their targets, in two statements."""
    wanted = sorted(set(suggestion_ids))
    if not wanted:
        return
    rows = (await session.execute(
        select(PostTarget.suggestion_id, PostTarget.status, PostTarget.scheduled_for)
        .where(PostTarget.suggestion_id.in_(wanted))
    )).all()
    targets: dict[str, list[tuple[str, datetime | None]]] = {suggestion_id: [] for suggestion_id in wanted}
    for suggestion_id, status, when in rows:
        targets[suggestion_id].append((status, when))
    changes = []
    for suggestion_id, states in targets.items():
        due = [when for status, when in states if status == "scheduled" and when is not None]
        changes.append({
            "sid": suggestion_id,
            "status": derive_status(status for status, _ in states),
            "next": min(due) if due else None,
            "now": now,
        })
    table = Suggestion.__table__  # type: ignore[attr-defined]
    await session.execute(
        update(table)
        .where(table.c.id == bindparam("sid"))
        .values(status=bindparam("status"), scheduled_for=bindparam("next"), updated_at=bindparam("now")),
        changes,
    )


def target_result(target: PostTarget) -> TargetResult:
    return TargetResult(
        platform=target.platform,
        account_id=target.account_id,
        status=target.status,  # type: ignore[arg-type]
        post_url=target.post_url,
        error=target.error,
        error_category=target.error_category,
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
        media_sizes=tuple((m.width, m.height) if m.width and m.height else None for _, m in media),
    )
    existing_query = select(PostTarget).where(PostTarget.suggestion_id == suggestion.id)
    if not core.db.is_sqlite:
        # SQLite's single writer already runs this whole transaction alone. On PostgreSQL,
        # requests on one suggestion take turns (else two could insert the same target and
        # collide on its unique key), and the rows read here stay locked until commit, so a
        # scheduler claim cannot take a target between this check and the write below.
        await session.execute(select(func.pg_advisory_xact_lock(func.hashtextextended(suggestion.id, 0))))
        existing_query = existing_query.with_for_update()
    existing = {t.account_id: t for t in await session.scalars(existing_query)}
    now = core.now()
    prepared: list[PostTarget] = []
    for index, target in enumerate(targets):
        account = await owned_account(session, caller, target.account_id)
        if account.platform != target.platform:
            raise BadRequest(
                f"'targets.{index}.platform' is {target.platform}, but account {account.id} is on {account.platform}"
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
    return await _schedule(core, caller, request.suggestion_id, request.scheduled_for, request.targets)  # type: ignore[arg-type]


async def _schedule(
    core: Core, caller: Caller, suggestion_id: str, when: datetime, targets: list[Target]
) -> ScheduleResult:
    _check_schedule_time(core, when)
    async with core.db.transaction() as session:
        suggestion = await owned_suggestion(session, caller, suggestion_id)
        rows = await _prepare_targets(
            session, core, caller, suggestion, targets,
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
        # ``scheduled_for`` is already parsed; re-validating it as input would fail.
        scheduled = await _schedule(
            core, caller, request.suggestion_id, request.scheduled_for, request.targets  # type: ignore[arg-type]
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
    await Publishing(core, worker, retry_later=False).run(target_ids)
    async with core.db.transaction() as session:
        by_id = {t.id: t for t in await session.scalars(select(PostTarget).where(PostTarget.id.in_(target_ids)))}
    return PostResult(suggestion_id=request.suggestion_id, results=[target_result(by_id[i]) for i in target_ids])


async def retry_failed_targets(core: Core, caller: Caller, request: SuggestionInput) -> PostResult:
    """Publish again, now, only the targets of this content that failed; the rest stay as they are."""
    async with core.db.transaction() as session:
        suggestion = await owned_suggestion(session, caller, request.suggestion_id)
        failed = list(await session.scalars(
            select(PostTarget)
            .where(PostTarget.suggestion_id == suggestion.id, PostTarget.status == "failed")
            .order_by(PostTarget.created_at, PostTarget.id)
        ))
    if not failed:
        raise BadRequest(f"Content {suggestion.id} has no failed targets to retry (it is {suggestion.status})")
    return await post_content(core, caller, PostContentInput(
        suggestion_id=suggestion.id,
        targets=[Target(account_id=t.account_id, platform=t.platform) for t in failed],  # type: ignore[arg-type]
    ))


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

async def _publish_requests(session: AsyncSession, core: Core, targets: list[PostTarget]) -> dict[str, PublishRequest]:
    """What to send for each target, read in three queries however many targets there are."""
    suggestion_ids = {t.suggestion_id for t in targets}
    account_ids = {t.account_id for t in targets}
    suggestions = {s.id: s for s in await session.scalars(select(Suggestion).where(Suggestion.id.in_(suggestion_ids)))}
    accounts = {a.id: a for a in await session.scalars(select(SocialAccount).where(SocialAccount.id.in_(account_ids)))}
    media: dict[str, list[MediaItem]] = {suggestion_id: [] for suggestion_id in suggestion_ids}
    for suggestion_id, item in (await session.execute(
        select(SuggestionMedia.suggestion_id, Media)
        .join(Media, Media.id == SuggestionMedia.media_id)
        .where(SuggestionMedia.suggestion_id.in_(suggestion_ids))
        .order_by(SuggestionMedia.suggestion_id, SuggestionMedia.order_index)
    )).all():
        media[suggestion_id].append(
            MediaItem(kind=item.kind, url=core.media.url_for(item), content_type=item.content_type)  # type: ignore[arg-type]
        )
    requests = {}
    for target in targets:
        suggestion, account = suggestions.get(target.suggestion_id), accounts.get(target.account_id)
        if suggestion is None or account is None:
            continue
        requests[target.id] = PublishRequest(
            target_id=target.id,
            platform=account.platform,  # type: ignore[arg-type]
            account_id=account.id,
            username=account.username,
            credentials=open_credentials(core.settings, account),
            content_format=suggestion.content_format,
            title=suggestion.title,
            caption=compose_caption(suggestion.body, suggestion.tags),
            media=media[suggestion.id],
        )
    return requests


async def _publish_request(session: AsyncSession, core: Core, target: PostTarget) -> PublishRequest:
    request = (await _publish_requests(session, core, [target])).get(target.id)
    if request is None:
        raise NotFound("The target's content or account no longer exists")
    return request


def _publisher(core: Core, name: str) -> Publisher:
    try:
        return core.publishers[name]
    except KeyError:
        raise PublishError(f"No publisher is configured for {name}", "platform_down") from None


def _success_values(core: Core, result: PublishResult) -> dict[str, object]:
    return dict(
        status="success", platform_post_id=result.platform_post_id, post_url=result.post_url,
        published_at=core.now(), error=None, error_category=None,
    )


async def _record(core: Core, worker: str, outcomes: list[tuple[str, dict[str, object]]]) -> int:
    """Move targets out of ``publishing`` in one transaction, each only if this worker still holds it."""
    if not outcomes:
        return 0
    moved = 0
    async with core.db.transaction() as session:
        for target_id, values in outcomes:
            result = await session.execute(
                update(PostTarget)
                .where(PostTarget.id == target_id, PostTarget.status == "publishing", PostTarget.claimed_by == worker)
                .values(**values)
            )
            moved += result.rowcount  # type: ignore[attr-defined]
        suggestion_ids = await session.scalars(
            select(PostTarget.suggestion_id).where(PostTarget.id.in_([target_id for target_id, _ in outcomes]))
        )
        await refresh_suggestion_statuses(session, suggestion_ids, core.now())
    return moved


@dataclass
class _Claimed:
    target_id: str
    platform: str
    publisher: str
    attempts: int
    request: PublishRequest | None


class Publishing:
    """Publishes claimed targets with bounded concurrency and records the outcomes in batches.

    Outcomes are written every ``FLUSH_INTERVAL`` in one transaction rather than one
    transaction per post: the single SQLite writer (or the PostgreSQL round trips)
    would otherwise bound throughput. A crash in that short window leaves targets in
    ``publishing``, which reconciliation settles like any other interrupted publish.
    """

    FLUSH_INTERVAL = 0.05

    def __init__(self, core: Core, worker: str, *, retry_later: bool = True) -> None:
        self.core = core
        self.worker = worker
        # A scheduled post retries a passing failure later; a post made in a request
        # reports it now, and its caller decides.
        self.retry_later = retry_later
        settings = core.settings
        self.capacity = settings.publish_concurrency
        self.limit = anyio.CapacityLimiter(settings.publish_concurrency)
        self.per_platform_limit = settings.publish_concurrency_per_platform
        self.platform_limits: dict[str, anyio.CapacityLimiter] = {}
        self.outcomes: list[tuple[str, dict[str, object]]] = []
        self.in_flight = 0

    async def load(self, target_ids: list[str]) -> list[_Claimed]:
        async with self.core.db.transaction() as session:
            targets = list(await session.scalars(
                select(PostTarget).where(
                    PostTarget.id.in_(target_ids),
                    PostTarget.status == "publishing",
                    PostTarget.claimed_by == self.worker,
                )
            ))
            requests = await _publish_requests(session, self.core, targets)
        return [_Claimed(t.id, t.platform, t.publisher, t.attempts, requests.get(t.id)) for t in targets]

    async def attempt(self, claimed: _Claimed) -> None:
        platform_limit = self.platform_limits.setdefault(
            claimed.platform, anyio.CapacityLimiter(self.per_platform_limit)
        )
        try:
            async with self.limit, platform_limit:
                outcome = await self._outcome(claimed)
            self.outcomes.append((claimed.target_id, outcome))
        finally:
            self.in_flight -= 1

    async def _outcome(self, claimed: _Claimed) -> dict[str, object]:
        if claimed.request is None:
            return dict(status="failed", error="The content or the account no longer exists",
                        error_category="rejected_content")
        try:
            result = await _publisher(self.core, claimed.publisher).publish(claimed.request)
        except PublishError as exc:
            if exc.retryable and self.retry_later and claimed.attempts < MAX_ATTEMPTS:
                retry_at = self.core.now() + RETRY_BASE_DELAY * (2 ** (claimed.attempts - 1))
                return dict(
                    status="scheduled", scheduled_for=retry_at, claimed_by=None, claimed_at=None,
                    error=f"{exc.message} (retrying at {format_time(retry_at)})", error_category=exc.category,
                )
            return dict(status="failed", error=exc.message, error_category=exc.category)
        except Exception:
            log.exception("publisher %s failed on target %s", claimed.publisher, claimed.target_id)
            return dict(status="failed", error="The platform could not be reached", error_category="platform_down")
        return _success_values(self.core, result)

    async def flush(self) -> None:
        batch, self.outcomes = self.outcomes, []
        await _record(self.core, self.worker, batch)

    async def _flush_until(self, finished: anyio.Event) -> None:
        while not finished.is_set():
            with anyio.move_on_after(self.FLUSH_INTERVAL):
                await finished.wait()
            await self.flush()

    async def run(self, target_ids: list[str]) -> None:
        """Publish these already-claimed targets and record every outcome before returning."""
        finished = anyio.Event()
        async with anyio.create_task_group() as group:
            group.start_soon(self._flush_until, finished)
            async with anyio.create_task_group() as posts:
                for claimed in await self.load(target_ids):
                    self.in_flight += 1
                    posts.start_soon(self.attempt, claimed)
            finished.set()
        await self.flush()

    async def run_due(self, batch: int) -> int:
        """Claim due targets as capacity frees up, until none is due and none is in flight."""
        total = 0
        finished = anyio.Event()
        async with anyio.create_task_group() as group:
            group.start_soon(self._flush_until, finished)
            async with anyio.create_task_group() as posts:
                while True:
                    room = min(batch, self.capacity - self.in_flight)
                    claimed_ids = await claim_due_targets(self.core, self.worker, room) if room > 0 else []
                    for claimed in await self.load(claimed_ids) if claimed_ids else []:
                        self.in_flight += 1
                        posts.start_soon(self.attempt, claimed)
                    total += len(claimed_ids)
                    if not claimed_ids and self.in_flight == 0:
                        break
                    if len(claimed_ids) < room or room <= 0:
                        # Nothing more is due right now (or we are full): let posts finish.
                        await anyio.sleep(self.FLUSH_INTERVAL)
            finished.set()
        await self.flush()
        return total


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
        suggestion_ids = await session.scalars(select(PostTarget.suggestion_id).where(PostTarget.id.in_(due)))
        await refresh_suggestion_statuses(session, suggestion_ids, now)
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
        if not stale:
            return 0
        await session.execute(
            update(PostTarget).where(PostTarget.id.in_(stale)).values(claimed_by=worker, claimed_at=now)
        )
    claimed = await Publishing(core, worker).load(stale)
    outcomes: list[tuple[str, dict[str, object]]] = []
    for target in claimed:
        try:
            publisher = _publisher(core, target.publisher)
            found = await publisher.find_published(target.request) if target.request else None
        except Exception:
            log.exception("could not reconcile target %s", target.target_id)
            continue
        if found is not None:
            outcomes.append((target.target_id, _success_values(core, found)))
        elif publisher.confirms_absence:
            # Proven unpublished: safe to publish again.
            outcomes.append((target.target_id, dict(status="scheduled", claimed_by=None, claimed_at=None)))
        else:
            outcomes.append((target.target_id, dict(
                status="unconfirmed",
                error="Publishing was interrupted and the platform cannot confirm whether the post went out",
                error_category="platform_down",
            )))
    await _record(core, worker, outcomes)
    return len(stale)


async def publish_due_posts(core: Core, worker: str, batch: int = 100) -> int:
    """One scheduler pass: reconcile interrupted targets, then publish what is due."""
    await reconcile_stale_targets(core, worker)
    return await Publishing(core, worker).run_due(batch)
