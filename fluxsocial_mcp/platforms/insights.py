"""Engagement history read back from the platforms, for the optimal-time recommendation.

Adapters that can read an account's past posts and their interactions implement
``core.content_dna.PostHistoryReader`` (the same reading feeds Content DNA).
``sync_engagement`` stores what they report as ``EngagementSample`` rows — one per
post, keyed by account and post time, so a later sync updates rather than duplicates —
alongside the samples of our own posting history. Each account is read at most once
per ``interval`` in a process, within a time budget, and a platform that fails or is
slow is skipped: a recommendation never waits on, or breaks because of, a platform.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

import anyio
from sqlalchemy import select

from ..core.content_dna import PastPostInput, PostHistoryReader
from ..db import Database
from ..models import EngagementSample, SocialAccount
from .credentials import ACTIVE

log = logging.getLogger(__name__)


class EngagementSync:
    def __init__(self, interval: timedelta = timedelta(hours=6), budget_seconds: float = 8.0) -> None:
        self.interval = interval
        self.budget_seconds = budget_seconds
        self._synced: dict[str, datetime] = {}

    def forget(self) -> None:
        self._synced.clear()

    async def sync(
        self, db: Database, publishers: Mapping[str, object], accounts: Iterable[SocialAccount], now: datetime
    ) -> int:
        """Read and store the engagement of the accounts that are due; returns how many samples were written."""
        due = [
            account for account in accounts
            if account.connection != "sandbox"
            and account.status == ACTIVE
            and isinstance(publishers.get(account.connection), PostHistoryReader)
            and (account.id not in self._synced or now - self._synced[account.id] >= self.interval)
        ]
        written = 0
        with anyio.move_on_after(self.budget_seconds):
            for account in due:
                reader = publishers[account.connection]
                assert isinstance(reader, PostHistoryReader)
                # Counted as read even if it fails: a failing platform is not asked again at every request.
                self._synced[account.id] = now
                try:
                    posts = await reader.recent_posts(account.id, account.username)
                except Exception as exc:  # a platform's failure only costs us its samples
                    log.info("engagement of account %s not read: %s", account.id, exc)
                    continue
                written += await _store(db, account, posts)
        return written


async def _store(db: Database, account: SocialAccount, posts: list[PastPostInput]) -> int:
    # Interactions per follower, as the samples of our own posting history are.
    if account.followers <= 0:
        return 0
    rates: dict[datetime, float] = {}
    for post in posts:
        if post.posted_at is not None:
            rates[post.posted_at] = max(0, post.likes + post.comments + post.shares) / account.followers
    if not rates:
        return 0
    async with db.transaction() as session:
        existing = {
            sample.posted_at: sample
            for sample in await session.scalars(
                select(EngagementSample).where(
                    EngagementSample.account_id == account.id, EngagementSample.posted_at.in_(list(rates))
                )
            )
        }
        for posted_at, rate in rates.items():
            sample = existing.get(posted_at)
            if sample is None:
                session.add(EngagementSample(account_id=account.id, posted_at=posted_at, engagement_rate=rate))
            else:
                sample.engagement_rate = rate
    return len(rates)


ENGAGEMENT_SYNC = EngagementSync()


async def sync_engagement(
    db: Database, publishers: Mapping[str, object], accounts: Iterable[SocialAccount], now: datetime
) -> int:
    return await ENGAGEMENT_SYNC.sync(db, publishers, accounts, now)
