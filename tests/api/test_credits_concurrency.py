"""Concurrent debits never spend the same credits (SQLite and PostgreSQL alike)."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable

from sqlalchemy import func, select

from fluxsocial_mcp.app import Runtime
from fluxsocial_mcp.models import CreditLedgerEntry, GenerationSession, Suggestion

from ..factories import make_tenant
from .conftest import balance_of, in_process_client, ledger_total

REQUESTS = 300


async def test_300_concurrent_generations_spend_exactly_the_balance(runtime_with: Callable[..., Runtime]) -> None:
    tuned = runtime_with(rate_limit_content=1000)
    core = tuned.core
    tenant = await make_tenant(core, credits=5000)
    body = {"prompt": "Morning latte art", "businessId": tenant.business_id, "suggestionCount": 1}

    async with in_process_client(tuned) as client:
        responses = await asyncio.gather(
            *(client.post("/api/v1/content", json=body, headers=tenant.headers) for _ in range(REQUESTS))
        )

    statuses = Counter(response.status_code for response in responses)
    assert statuses == {200: 250, 402: 50}

    ok = [response.json() for response in responses if response.status_code == 200]
    assert all(result["creditsUsed"] == 20 for result in ok)
    # Every success saw its own balance: 4980, 4960, ... 0, each exactly once.
    assert sorted(result["balanceAfter"] for result in ok) == list(range(0, 5000, 20))

    refused = [response.json() for response in responses if response.status_code == 402]
    for error in refused:
        assert set(error) == {"error"}
        assert set(error["error"]) == {"message", "status", "currentBalance"}
        assert error["error"]["status"] == 402
        assert 0 <= error["error"]["currentBalance"] < 20
        assert error["error"]["message"] == (
            f"Insufficient credits: this operation costs 20 credits, your balance is {error['error']['currentBalance']}"
        )

    assert await balance_of(core, tenant.user_id) == 0
    assert await ledger_total(core, tenant.user_id) == 0
    async with core.db.transaction() as session:
        debits = await session.scalar(
            select(func.count()).select_from(CreditLedgerEntry).where(
                CreditLedgerEntry.user_id == tenant.user_id, CreditLedgerEntry.amount == -20
            )
        )
        sessions = set(await session.scalars(select(GenerationSession.id)))
        suggestions = await session.scalar(select(func.count()).select_from(Suggestion))
        # Each debit's balance_after is distinct: no two requests spent the same credits.
        after = list(await session.scalars(
            select(CreditLedgerEntry.balance_after).where(CreditLedgerEntry.amount == -20)
        ))
    assert debits == 250
    assert sessions == {result["sessionId"] for result in ok}
    assert len(sessions) == 250
    assert suggestions == 250
    assert sorted(after) == list(range(0, 5000, 20))
