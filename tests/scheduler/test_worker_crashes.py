"""Real worker processes killed with SIGKILL mid-publish: nothing is lost, nothing is published twice.

The sandbox platform is given a long simulated round trip (half before it records
the post, half after), which opens two windows to kill the worker in: after the
claim but before the platform has the post, and after the platform has it but
before the worker recorded the result.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import anyio
import pytest
from sqlalchemy import func, insert, select

from fluxsocial_mcp import ids
from fluxsocial_mcp.app import Runtime
from fluxsocial_mcp.core.publishing import cancel_scheduled_post
from fluxsocial_mcp.core.schemas import SuggestionInput
from fluxsocial_mcp.core.keys import caller_for_key
from fluxsocial_mcp.models import ApiKey, GenerationSession, PostTarget, SandboxPost, Suggestion

from ..factories import Tenant, make_tenant

LATENCY_MS = 8000


def start_worker(database_url: str, data_dir: Path, latency_ms: int = LATENCY_MS) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "FLUXSOCIAL_DATABASE_URL": database_url,
        "FLUXSOCIAL_DATA_DIR": str(data_dir),
        "FLUXSOCIAL_SANDBOX_LATENCY_MS": str(latency_ms),
        "FLUXSOCIAL_PUBLISH_CLAIM_TIMEOUT_SECONDS": "1",
        "FLUXSOCIAL_SCHEDULER_INTERVAL_SECONDS": "0.2",
        "FLUXSOCIAL_LOG_LEVEL": "INFO",
    }
    log = open(data_dir.parent / f"worker-{time.monotonic_ns()}.log", "wb")
    worker = subprocess.Popen([sys.executable, "-m", "fluxsocial_mcp", "worker"], env=env,
                              stdout=subprocess.DEVNULL, stderr=log)
    worker.log_path = Path(log.name)  # type: ignore[attr-defined]
    log.close()
    return worker


def stop(worker: subprocess.Popen[bytes]) -> None:
    if worker.poll() is None:
        worker.send_signal(signal.SIGINT)
        try:
            worker.wait(timeout=10)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


async def due_targets(runtime: Runtime, tenant: Tenant, count: int, platform: str = "linkedin") -> list[str]:
    """Scheduled text posts already due on the real clock (the worker's clock)."""
    now = datetime.now(timezone.utc)
    session_id = ids.new_id(ids.SESSION)
    target_ids = []
    async with runtime.core.db.transaction() as session:
        await session.execute(insert(GenerationSession).values(
            id=session_id, user_id=tenant.user_id, business_id=tenant.business_id, kind="generate",
            prompt="crash test", generator="test", created_at=now,
        ))
        for index in range(count):
            suggestion_id, target_id = ids.new_id(ids.SUGGESTION), ids.new_id(ids.TARGET)
            await session.execute(insert(Suggestion).values(
                id=suggestion_id, session_id=session_id, user_id=tenant.user_id, business_id=tenant.business_id,
                title=f"Post {index}", body=f"Crash test post {index}", content_format="TEXT", tags=[],
                image_prompts=[], language="en", status="SCHEDULED", generator="test", created_at=now, updated_at=now,
            ))
            await session.execute(insert(PostTarget).values(
                id=target_id, suggestion_id=suggestion_id, user_id=tenant.user_id,
                account_id=tenant.accounts[platform], platform=platform, publisher="sandbox", status="scheduled",
                scheduled_for=now - timedelta(seconds=1), attempts=0, created_at=now,
            ))
            target_ids.append(target_id)
    return target_ids


async def target(runtime: Runtime, target_id: str) -> PostTarget:
    async with runtime.core.db.transaction() as session:
        row = await session.get(PostTarget, target_id, populate_existing=True)
        assert row is not None
        return row


async def posts_for(runtime: Runtime, target_id: str) -> list[SandboxPost]:
    async with runtime.core.db.transaction() as session:
        return list(await session.scalars(select(SandboxPost).where(SandboxPost.target_id == target_id)))


async def wait_for(condition, worker: subprocess.Popen[bytes], timeout: float = 90.0) -> None:  # type: ignore[no-untyped-def]
    """Poll until ``condition`` holds; a worker that died or a timeout fails with the worker's log."""
    deadline = time.monotonic() + timeout
    while not await condition():
        if worker.poll() is not None or time.monotonic() > deadline:
            log = worker.log_path.read_text(errors="replace")[-3000:]  # type: ignore[attr-defined]
            raise AssertionError(f"worker exited ({worker.returncode}) or timed out; its log:\n{log}")

        await anyio.sleep(0.1)


@pytest.fixture
def worker_env(database_url: str, tmp_path: Path) -> tuple[str, Path]:
    return database_url, tmp_path / "worker-data"


async def test_a_worker_killed_after_claiming_leaves_the_post_to_be_published_once(runtime, worker_env) -> None:
    tenant = await make_tenant(runtime.core)
    [target_id] = await due_targets(runtime, tenant, 1)
    first = start_worker(*worker_env)
    try:
        async def claimed() -> bool:
            return (await target(runtime, target_id)).status == "publishing"

        await wait_for(claimed, first)
        # The sandbox records the post only half-way through its 8 s round trip.
        assert await posts_for(runtime, target_id) == []
        first.send_signal(signal.SIGKILL)
        first.wait()
    finally:
        stop(first)
    await anyio.sleep(LATENCY_MS / 1000)
    assert await posts_for(runtime, target_id) == []
    assert (await target(runtime, target_id)).status == "publishing"

    second = start_worker(*worker_env, latency_ms=0)
    try:
        async def published() -> bool:
            return (await target(runtime, target_id)).status == "success"

        await wait_for(published, second)
    finally:
        stop(second)
    row = await target(runtime, target_id)
    [post] = await posts_for(runtime, target_id)
    assert (row.platform_post_id, row.attempts) == (post.id, 2)


async def test_a_worker_killed_after_the_platform_published_is_reconciled_not_republished(runtime, worker_env) -> None:
    tenant = await make_tenant(runtime.core)
    [target_id] = await due_targets(runtime, tenant, 1)
    first = start_worker(*worker_env)
    try:
        async def on_the_platform() -> bool:
            return bool(await posts_for(runtime, target_id))

        await wait_for(on_the_platform, first)
        first.send_signal(signal.SIGKILL)
        first.wait()
    finally:
        stop(first)
    # The platform has the post; the dead worker never recorded it.
    assert (await target(runtime, target_id)).status == "publishing"

    second = start_worker(*worker_env, latency_ms=0)
    try:
        async def settled() -> bool:
            return (await target(runtime, target_id)).status == "success"

        await wait_for(settled, second)
    finally:
        stop(second)
    row = await target(runtime, target_id)
    [post] = await posts_for(runtime, target_id)
    # Reconciled from the platform: the same post, claimed once, never sent again.
    assert (row.platform_post_id, row.attempts, row.claimed_by is not None) == (post.id, 1, True)


async def test_a_cancel_racing_the_worker_is_never_published(runtime, worker_env) -> None:
    tenant = await make_tenant(runtime.core)
    target_ids = await due_targets(runtime, tenant, 40)
    async with runtime.core.db.transaction() as session:
        suggestion_of = dict((await session.execute(
            select(PostTarget.id, PostTarget.suggestion_id).where(PostTarget.id.in_(target_ids))
        )).all())
        key = await session.get(ApiKey, tenant.key_id)
        assert key is not None
    caller = caller_for_key(key)
    worker = start_worker(*worker_env, latency_ms=100)
    cancelled: set[str] = set()
    try:
        for target_id in target_ids:
            try:
                await cancel_scheduled_post(runtime.core, caller, SuggestionInput(suggestion_id=suggestion_of[target_id]))
            except Exception:
                continue  # the worker won this one
            cancelled.add(target_id)
            await anyio.sleep(0.02)

        async def all_settled() -> bool:
            async with runtime.core.db.transaction() as session:
                open_count = await session.scalar(select(func.count()).select_from(PostTarget).where(
                    PostTarget.id.in_(target_ids), PostTarget.status.in_(("scheduled", "publishing"))))
            return open_count == 0

        await wait_for(all_settled, worker)
    finally:
        stop(worker)
    async with runtime.core.db.transaction() as session:
        statuses = dict((await session.execute(
            select(PostTarget.id, PostTarget.status).where(PostTarget.id.in_(target_ids)))).all())
        published = set(await session.scalars(select(SandboxPost.target_id).where(SandboxPost.target_id.in_(target_ids))))
    assert cancelled, "the race never let a cancel win"
    assert {statuses[t] for t in cancelled} == {"cancelled"}
    assert not cancelled & published
    assert published == {t for t, status in statuses.items() if status == "success"}
    assert set(statuses.values()) <= {"cancelled", "success"}
