"""Fixtures of the OAuth tests: the oauth routes in a tiny Starlette app on a real database
(a SQLite file; PostgreSQL for ``postgres_server`` when one is reachable), driven through httpx."""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import create_engine, event
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel import SQLModel
from starlette.applications import Starlette

from oauth import OAUTH_TABLES, FixedWindowFailureLimiter, OAuthTokenVerifier, SqlOAuthStore, create_oauth_routes

from .oauth_harness import ISSUER, Clock, FakeFetcher, FakeKeys, OAuthHarness, make_config

POSTGRES_URL = os.environ.get("FLUXSOCIAL_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")


@asynccontextmanager
async def harness(engine: AsyncEngine, database: Path | None) -> AsyncIterator[OAuthHarness]:
    store = SqlOAuthStore(async_sessionmaker(engine))
    config = make_config()
    keys, fetcher, clock = FakeKeys(), FakeFetcher(), Clock()
    app = Starlette(
        routes=create_oauth_routes(
            config, store, keys, fetcher, failure_limiter=FixedWindowFailureLimiter(3, 600), clock=clock
        )
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=ISSUER) as http:
        yield OAuthHarness(
            http=http,
            app=app,
            config=config,
            store=store,
            keys=keys,
            fetcher=fetcher,
            clock=clock,
            verifier=OAuthTokenVerifier(config, store, keys, clock=clock),
            database=database,
        )


@pytest.fixture(scope="session")
def schema_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty database with the oauth tables, created once and copied for each test."""
    template = tmp_path_factory.mktemp("oauth-schema") / "template.db"
    engine = create_engine(f"sqlite:///{template}")
    SQLModel.metadata.create_all(engine, tables=list(OAUTH_TABLES))
    engine.dispose()
    return template


@pytest_asyncio.fixture
async def server(tmp_path: Path, schema_template: Path) -> AsyncIterator[OAuthHarness]:
    database = tmp_path / "oauth.db"
    shutil.copyfile(schema_template, database)
    engine = create_async_engine(f"sqlite+aiosqlite:///{database}")

    @event.listens_for(engine.sync_engine, "connect")
    def _pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        dbapi_connection.execute("PRAGMA foreign_keys=ON")
        # Durability against power loss is not what these tests check; fsyncs only slow them.
        dbapi_connection.execute("PRAGMA synchronous=OFF")

    async with harness(engine, database) as running:
        yield running
    await engine.dispose()


@pytest_asyncio.fixture
async def postgres_server() -> AsyncIterator[OAuthHarness]:
    """The same server on PostgreSQL, in a throwaway schema; skipped when no server answers."""
    schema = f"oauth_test_{secrets.token_hex(6)}"
    admin = create_async_engine(POSTGRES_URL, connect_args={"timeout": 2})
    try:
        async with admin.begin() as connection:
            await connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    except Exception as exc:  # no PostgreSQL here: the default run must pass without one
        await admin.dispose()
        pytest.skip(f"PostgreSQL is not reachable at {POSTGRES_URL}: {exc.__class__.__name__}")
    engine = create_async_engine(POSTGRES_URL, connect_args={"server_settings": {"search_path": schema}})
    try:
        async with engine.begin() as connection:
            await connection.run_sync(SQLModel.metadata.create_all, tables=list(OAUTH_TABLES))
        async with harness(engine, None) as running:
            yield running
    finally:
        await engine.dispose()
        async with admin.begin() as connection:
            await connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        await admin.dispose()
