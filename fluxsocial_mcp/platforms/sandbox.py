"""The sandbox platform: "publishes" by recording the post and serving a page that shows it.

It is what the embedded default and ``fsx_test_`` keys publish to. Publishing
is idempotent by target id, like a real platform's idempotency key, so the
scheduler can always ask it whether an interrupted attempt went through.
"""

from __future__ import annotations

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

    def __init__(self, db: Database, public_url: str) -> None:
        self.db = db
        self.public_url = public_url.rstrip("/")

    def _result(self, post: SandboxPost) -> PublishResult:
        return PublishResult(platform_post_id=post.id, post_url=f"{self.public_url}{SANDBOX_POST_PATH}/{post.id}")

    async def publish(self, request: PublishRequest) -> PublishResult:
        post = SandboxPost(
            id=ids.new_id("sbx"),
            target_id=request.target_id,
            account_id=request.account_id,
            platform=request.platform,
            username=request.username,
            content_format=request.content_format,
            title=request.title[:300],
            caption=request.caption,
            media_urls=[item.url for item in request.media],
        )
        try:
            async with self.db.transaction() as session:
                session.add(post)
        except IntegrityError:
            existing = await self.find_published(request)
            if existing is None:
                raise
            return existing
        return self._result(post)

    async def find_published(self, request: PublishRequest) -> PublishResult | None:
        async with self.db.transaction() as session:
            post = await session.scalar(select(SandboxPost).where(SandboxPost.target_id == request.target_id))
        return self._result(post) if post is not None else None

    async def get_post(self, post_id: str) -> SandboxPost | None:
        async with self.db.transaction() as session:
            return await session.get(SandboxPost, post_id)
