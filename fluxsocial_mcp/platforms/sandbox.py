"""The sandbox platform: "publishes" by recording the post and serving a page that shows it.

It is what the embedded default and ``fsx_test_`` keys publish to. Publishing
is idempotent by target id, like a real platform's idempotency key, so the
scheduler can always ask it whether an interrupted attempt went through.
"""

from __future__ import annotations

import anyio
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from .. import ids
from ..db import Database
from ..models import SandboxPost
from .base import PublishRequest, PublishResult

SANDBOX_POST_PATH = "/sandbox/posts"


class SandboxPublisher:
    name = "sandbox"
    # find_published answers authoritatively: "None" means it was never published.
    confirms_absence = True
    # Posts arriving within this window are written in one transaction (group commit),
    # so the single SQLite writer is not the limit when many posts fall due at once.
    GROUP_WINDOW = 0.005

    def __init__(self, db: Database, public_url: str, latency_ms: int = 0) -> None:
        self.db = db
        self.public_url = public_url.rstrip("/")
        self.half_latency = latency_ms / 2000
        self._pending: list[_Pending] = []
        self._writing = False

    def _result(self, post: SandboxPost) -> PublishResult:
        return PublishResult(platform_post_id=post.id, post_url=f"{self.public_url}{SANDBOX_POST_PATH}/{post.id}")

    async def publish(self, request: PublishRequest) -> PublishResult:
        if self.half_latency:
            await anyio.sleep(self.half_latency)
        pending = _Pending(SandboxPost(
            id=ids.new_id("sbx"),
            target_id=request.target_id,
            account_id=request.account_id,
            platform=request.platform,
            username=request.username,
            content_format=request.content_format,
            title=request.title[:300],
            caption=request.caption,
            media_urls=[item.url for item in request.media],
        ))
        self._pending.append(pending)
        if not self._writing:
            await self._write_pending()
        await pending.done.wait()
        if pending.error is not None:
            raise pending.error
        if self.half_latency:
            await anyio.sleep(self.half_latency)
        assert pending.result is not None
        return pending.result

    async def _write_pending(self) -> None:
        """Write every post queued so far; the first caller of a window writes for all."""
        self._writing = True
        batch: list[_Pending] = []
        try:
            await anyio.sleep(self.GROUP_WINDOW)
            while self._pending:
                batch, self._pending = self._pending, []
                try:
                    async with self.db.transaction() as session:
                        session.add_all([p.post for p in batch])
                except IntegrityError:
                    # A retry of an already-published target is in the batch: one by one.
                    for item in batch:
                        await self._write_one(item)
                else:
                    for item in batch:
                        item.finish(self._result(item.post))
        except BaseException as exc:
            # Nobody may be left waiting on a write that will not happen.
            error = exc if isinstance(exc, Exception) else RuntimeError("the sandbox write was cancelled")
            for item in [*batch, *self._pending]:
                if not item.done.is_set():
                    item.finish(error=error)
            self._pending = []
            raise
        finally:
            self._writing = False

    async def _write_one(self, item: _Pending) -> None:
        try:
            async with self.db.transaction() as session:
                session.add(item.post)
        except IntegrityError as exc:
            existing = await self.find_published_target(item.post.target_id)
            item.finish(existing, None if existing is not None else exc)
        else:
            item.finish(self._result(item.post))

    async def find_published(self, request: PublishRequest) -> PublishResult | None:
        return await self.find_published_target(request.target_id)

    async def find_published_target(self, target_id: str) -> PublishResult | None:
        async with self.db.transaction() as session:
            post = await session.scalar(select(SandboxPost).where(SandboxPost.target_id == target_id))
        return self._result(post) if post is not None else None

    async def get_post(self, post_id: str) -> SandboxPost | None:
        async with self.db.transaction() as session:
            return await session.get(SandboxPost, post_id)


class _Pending:
    def __init__(self, post: SandboxPost) -> None:
        self.post = post
        self.done = anyio.Event()
        self.result: PublishResult | None = None
        self.error: Exception | None = None

    def finish(self, result: PublishResult | None = None, error: Exception | None = None) -> None:
        self.result, self.error = result, error
        self.done.set()
