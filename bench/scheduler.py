"""Scheduler benchmark: many targets falling due in the same minute, real worker processes.

    python bench/scheduler.py                      # SQLite, one worker process
    python bench/scheduler.py --postgres --workers 2

It creates a fresh database, schedules ``--targets`` sandbox posts whose times are
spread over ``--spread`` seconds starting a few seconds from now, starts
``fluxsocial-mcp worker`` processes with the sandbox platform answering in
``--latency-ms`` (simulated round trip), waits until every target is settled,
then prints throughput, lateness (when the platform received the post minus the
time it was scheduled for), duplicates and lost targets. The baseline it compares
against is the ideal: every post received exactly at its time plus the latency.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import func, insert, select

from fluxsocial_mcp import ids
from fluxsocial_mcp.db import Database
from fluxsocial_mcp.migrations import upgrade_database
from fluxsocial_mcp.models import (
    Business,
    GenerationSession,
    PostTarget,
    SandboxPost,
    SocialAccount,
    Suggestion,
    User,
)

PLATFORMS = ("linkedin", "x", "threads", "facebook")
POSTGRES_ADMIN_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
POSTGRES_BENCH_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/fluxsocial_bench"


async def prepare_postgres() -> None:
    admin = Database(POSTGRES_ADMIN_URL)
    async with admin.engine.connect() as connection:
        connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
        await connection.exec_driver_sql("DROP DATABASE IF EXISTS fluxsocial_bench WITH (FORCE)")
        await connection.exec_driver_sql("CREATE DATABASE fluxsocial_bench")
    await admin.dispose()


async def seed(db: Database, count: int, start: datetime, spread: float) -> None:
    now = datetime.now(timezone.utc)
    user_id, business_id = ids.new_id(ids.USER), ids.new_id(ids.BUSINESS)
    session_id = ids.new_id(ids.SESSION)
    accounts = [ids.new_id(ids.ACCOUNT) for _ in PLATFORMS]
    per_suggestion = len(PLATFORMS)
    suggestions = [ids.new_id(ids.SUGGESTION) for _ in range((count + per_suggestion - 1) // per_suggestion)]
    async with db.transaction() as session:
        await session.execute(insert(User).values(id=user_id, email="bench@example.com", credit_balance=0, created_at=now))
        await session.execute(insert(Business).values(
            id=business_id, user_id=user_id, name="Bench Café", type="cafe", industry="food",
            timezone="UTC", created_at=now,
        ))
        await session.execute(insert(SocialAccount), [
            dict(id=a, user_id=user_id, business_id=business_id, platform=p, connection="sandbox",
                 username=f"@bench_{p}", followers=100, status="active", created_at=now)
            for a, p in zip(accounts, PLATFORMS)
        ])
        await session.execute(insert(GenerationSession).values(
            id=session_id, user_id=user_id, business_id=business_id, kind="generate", prompt="bench",
            generator="bench", created_at=now,
        ))
        await session.execute(insert(Suggestion), [
            dict(id=s, session_id=session_id, user_id=user_id, business_id=business_id, title=f"Post {i}",
                 body=f"Benchmark post number {i}.", content_format="TEXT", tags=["bench"], image_prompts=[],
                 language="en", status="SCHEDULED", generator="bench", created_at=now, updated_at=now)
            for i, s in enumerate(suggestions)
        ])
        rows = []
        for i in range(count):
            rows.append(dict(
                id=ids.new_id(ids.TARGET), suggestion_id=suggestions[i // per_suggestion], user_id=user_id,
                account_id=accounts[i % per_suggestion], platform=PLATFORMS[i % per_suggestion],
                publisher="sandbox", status="scheduled", attempts=0, created_at=now,
                scheduled_for=start + timedelta(seconds=spread * i / count),
            ))
        for chunk in range(0, len(rows), 2000):
            await session.execute(insert(PostTarget), rows[chunk:chunk + 2000])


async def settled(db: Database) -> tuple[int, int]:
    async with db.transaction() as session:
        pending = await session.scalar(
            select(func.count()).select_from(PostTarget).where(PostTarget.status.in_(("scheduled", "publishing")))
        )
        total = await session.scalar(select(func.count()).select_from(PostTarget))
    return int(pending or 0), int(total or 0)


async def measure(db: Database, latency: float) -> dict[str, float]:
    async with db.transaction() as session:
        rows = (await session.execute(
            select(PostTarget.scheduled_for, SandboxPost.created_at)
            .join(SandboxPost, SandboxPost.target_id == PostTarget.id)
        )).all()
        posts = int(await session.scalar(select(func.count()).select_from(SandboxPost)) or 0)
        distinct = int(await session.scalar(select(func.count(func.distinct(SandboxPost.target_id)))) or 0)
        succeeded = int(await session.scalar(
            select(func.count()).select_from(PostTarget).where(PostTarget.status == "success")) or 0)
        total = int(await session.scalar(select(func.count()).select_from(PostTarget)) or 0)
        reclaimed = int(await session.scalar(
            select(func.count()).select_from(PostTarget).where(PostTarget.attempts > 1)) or 0)
    # The platform records a post half-way through its round trip.
    lateness = sorted(max(0.0, (received - due).total_seconds() - latency / 2) for due, received in rows)
    first_due = min(due for due, _ in rows)
    last_received = max(received for _, received in rows)
    return {
        "published": len(rows),
        "duplicates": posts - distinct,
        "lost": total - succeeded,
        "reclaimed": reclaimed,
        "throughput": len(rows) / max(0.001, (last_received - first_due).total_seconds()),
        "p50": statistics.median(lateness),
        "p99": lateness[min(len(lateness) - 1, int(len(lateness) * 0.99))],
        "max": lateness[-1],
    }


def start_workers(count: int, database_url: str, data_dir: Path, latency_ms: int) -> list[subprocess.Popen[bytes]]:
    env = {
        **os.environ,
        "FLUXSOCIAL_DATABASE_URL": database_url,
        "FLUXSOCIAL_DATA_DIR": str(data_dir),
        "FLUXSOCIAL_SANDBOX_LATENCY_MS": str(latency_ms),
        "FLUXSOCIAL_SCHEDULER_INTERVAL_SECONDS": "0.5",
        "FLUXSOCIAL_LOG_LEVEL": "WARNING",
    }
    command = [sys.executable, "-m", "fluxsocial_mcp", "worker"]
    return [subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL) for _ in range(count)]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", type=int, default=10_000)
    parser.add_argument("--latency-ms", type=int, default=200)
    parser.add_argument("--spread", type=float, default=60.0, help="seconds over which the targets fall due")
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=600.0)
    args = parser.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="fluxsocial-bench-"))
    if args.postgres:
        await prepare_postgres()
        url = POSTGRES_BENCH_URL
    else:
        url = f"sqlite+aiosqlite:///{data_dir / 'bench.db'}"
    db = Database(url)
    await upgrade_database(db)
    start = datetime.now(timezone.utc) + timedelta(seconds=8)
    await seed(db, args.targets, start, args.spread)
    print(f"{args.targets} targets due from {start:%H:%M:%S} over {args.spread:g}s, "
          f"{args.latency_ms} ms platform latency, {args.workers} worker(s) on "
          f"{'PostgreSQL' if args.postgres else 'SQLite'}", flush=True)

    workers = start_workers(args.workers, url, data_dir, args.latency_ms)
    began = time.monotonic()
    try:
        while time.monotonic() - began < args.timeout:
            await asyncio.sleep(1.0)
            pending, total = await settled(db)
            if pending == 0 and datetime.now(timezone.utc) > start + timedelta(seconds=args.spread):
                break
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGINT)
        for worker in workers:
            try:
                worker.wait(timeout=10)
            except subprocess.TimeoutExpired:
                worker.kill()
    figures = await measure(db, args.latency_ms / 1000)
    await db.dispose()
    print(f"published   {figures['published']:.0f} of {args.targets}")
    print(f"throughput  {figures['throughput']:.0f} posts/s "
          f"(arrival rate {args.targets / args.spread:.0f}/s: ratio {figures['throughput'] / (args.targets / args.spread):.2f})")
    print(f"lateness    p50 {figures['p50']:.2f}s  p99 {figures['p99']:.2f}s  max {figures['max']:.2f}s  "
          f"(baseline: 0s beyond the {args.latency_ms} ms latency)")
    print(f"duplicates  {figures['duplicates']:.0f}")
    print(f"lost        {figures['lost']:.0f}")
    print(f"re-claimed  {figures['reclaimed']:.0f}")


if __name__ == "__main__":
    asyncio.run(main())
