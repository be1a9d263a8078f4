"""Fixtures of the web app tests: a cookie-keeping client on the in-process app, and
(for the browser tests) Debian's Chromium driven by Playwright."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from fluxsocial_mcp.app import Runtime, build_runtime, create_app
from fluxsocial_mcp.db import Database

from ..factories import Clock
from .support import WebSession

CLIENT_ADDRESS = ("203.0.113.7", 40000)


@asynccontextmanager
async def web_session(runtime: Runtime, base_url: str = "http://127.0.0.1:8000") -> AsyncIterator[WebSession]:
    transport = httpx.ASGITransport(app=create_app(runtime=runtime), client=CLIENT_ADDRESS)
    async with httpx.AsyncClient(transport=transport, base_url=base_url) as http:
        yield WebSession(http)


@pytest.fixture
async def web(runtime: Runtime) -> AsyncIterator[WebSession]:
    async with web_session(runtime) as session:
        yield session


@pytest.fixture
def runtime_with(runtime: Runtime, database: Database, clock: Clock) -> Callable[..., Runtime]:
    """Another runtime on the same (already emptied) database with some settings changed."""

    def build(**overrides: Any) -> Runtime:
        tuned = build_runtime(runtime.core.settings.model_copy(update=overrides), database)
        tuned.core.clock = clock
        return tuned

    return build


@pytest.fixture(scope="session")
def screenshots_dir() -> Path:
    """test-artifacts/screenshots/ at the repository root (named in the README)."""
    path = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
    path.mkdir(parents=True, exist_ok=True)
    return path
