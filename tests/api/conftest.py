"""Helpers for the REST API verification suite.

The TLS test server of the media tests is reused for upload-media; importing its
fixtures here registers them for this folder too.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from fluxsocial_mcp.app import Runtime, build_runtime, create_app
from fluxsocial_mcp.core import credits
from fluxsocial_mcp.core.service import Core
from fluxsocial_mcp.db import Database
from fluxsocial_mcp.models import CreditLedgerEntry, PostTarget, SandboxPost

from ..factories import Clock
from ..media.support import certificate, tls_server  # noqa: F401  (fixtures)

CLIENT_ADDRESS = ("203.0.113.7", 40000)


@asynccontextmanager
async def in_process_client(
    runtime: Runtime, client: tuple[str, int] = CLIENT_ADDRESS, raise_app_exceptions: bool = True
) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client speaking ASGI to a fresh app on ``runtime``."""
    transport = httpx.ASGITransport(
        app=create_app(runtime=runtime), client=client, raise_app_exceptions=raise_app_exceptions
    )
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as http:
        yield http


@pytest.fixture
def runtime_with(runtime: Runtime, database: Database, clock: Clock) -> Callable[..., Runtime]:
    """Build another runtime on the same (already emptied) database with some settings changed."""

    def build(**overrides: Any) -> Runtime:
        settings = runtime.core.settings.model_copy(update=overrides)
        tuned = build_runtime(settings, database)
        tuned.core.clock = clock
        return tuned

    return build


async def balance_of(core: Core, user_id: str) -> int:
    async with core.db.transaction() as session:
        return await credits.get_balance(session, user_id)


async def ledger_total(core: Core, user_id: str) -> int:
    async with core.db.transaction() as session:
        return await credits.ledger_sum(session, user_id)


async def ledger_rows(core: Core, user_id: str) -> list[tuple[int, str, str | None]]:
    """(amount, reason, related id) of every ledger entry, oldest first."""
    async with core.db.transaction() as session:
        rows = await session.execute(
            select(CreditLedgerEntry.amount, CreditLedgerEntry.reason, CreditLedgerEntry.related_id)
            .where(CreditLedgerEntry.user_id == user_id)
            .order_by(CreditLedgerEntry.id)
        )
        return [tuple(row) for row in rows.all()]  # type: ignore[misc]


async def sandbox_post_count(core: Core, target_id: str | None = None) -> int:
    async with core.db.transaction() as session:
        query = select(func.count()).select_from(SandboxPost)
        if target_id is not None:
            query = query.where(SandboxPost.target_id == target_id)
        return int(await session.scalar(query))


async def targets_of(core: Core, suggestion_id: str) -> dict[str, PostTarget]:
    """The suggestion's post targets by account id."""
    async with core.db.transaction() as session:
        rows = await session.scalars(select(PostTarget).where(PostTarget.suggestion_id == suggestion_id))
        return {row.account_id: row for row in rows}


