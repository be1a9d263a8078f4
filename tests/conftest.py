"""Shared fixtures: a migrated database (SQLite, or PostgreSQL when FLUXSOCIAL_TEST_DATABASE_URL is
set), a fresh runtime per test on emptied tables, an in-process client and a real uvicorn server."""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import AsyncIterator
from datetime import datetime, timezone
from pathlib import Path

import httpx
import pytest
import uvicorn
from argon2 import PasswordHasher
from sqlmodel import SQLModel

from fluxsocial_mcp.app import Runtime, build_runtime, create_app
from fluxsocial_mcp.config import Settings
from fluxsocial_mcp.core import users
from fluxsocial_mcp.db import Database
from fluxsocial_mcp.migrations import upgrade_database

from .factories import Clock

TEST_DATABASE_URL = os.environ.get("FLUXSOCIAL_TEST_DATABASE_URL")


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every tenant gets a password; the production Argon2 cost (~0.3 s each) buys the tests nothing.

    Tests that check the stored hash itself still see a real argon2id hash.
    """
    monkeypatch.setattr(users, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("data")


@pytest.fixture(scope="session")
def database_url(data_dir: Path) -> str:
    return TEST_DATABASE_URL or f"sqlite+aiosqlite:///{data_dir / 'test.db'}"


@pytest.fixture(scope="session")
async def database(database_url: str) -> AsyncIterator[Database]:
    db = Database(database_url)
    if not db.is_sqlite:
        # A clean schema: the suite owns the test database.
        async with db.engine.begin() as connection:
            await connection.exec_driver_sql("DROP SCHEMA public CASCADE")
            await connection.exec_driver_sql("CREATE SCHEMA public")
    await upgrade_database(db)
    yield db
    await db.dispose()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def settings(data_dir: Path, database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        _env_file=None,
        data_dir=tmp_path / "data",
        database_url=database_url,
        public_url="http://127.0.0.1:8000",
        secret_key="test-secret",
        scheduler_enabled=False,
        media_fetch_allow_private=True,
    )


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 4, 6, 12, 0, tzinfo=timezone.utc))


@pytest.fixture
async def runtime(settings: Settings, database: Database, clock: Clock) -> AsyncIterator[Runtime]:
    async with database.transaction() as session:
        for table in reversed(SQLModel.metadata.sorted_tables):
            await session.execute(table.delete())
    runtime = build_runtime(settings, database)
    runtime.core.clock = clock
    yield runtime


@pytest.fixture
async def client(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(runtime=runtime)
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as http:
        yield http


class LiveServer:
    def __init__(self, url: str, runtime: Runtime) -> None:
        self.url = url
        self.runtime = runtime


@pytest.fixture
async def live_server(settings: Settings, database: Database, clock: Clock) -> AsyncIterator[LiveServer]:
    """The whole app on uvicorn over real loopback TCP, its public URL pointing at itself."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    settings = settings.model_copy(update={"public_url": url})
    async with database.transaction() as session:
        for table in reversed(SQLModel.metadata.sorted_tables):
            await session.execute(table.delete())
    runtime = build_runtime(settings, database)
    runtime.core.clock = clock
    app = create_app(settings, runtime)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield LiveServer(url, runtime)
    finally:
        server.should_exit = True
        await task
