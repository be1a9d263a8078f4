"""Credits: one balance per user, moved only together with an append-only ledger entry."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Literal

import anyio

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ..db import Database
from ..errors import InsufficientCredits, NotFound
from ..models import CreditLedgerEntry, User
from .caller import Caller

GenerationKind = Literal["text", "image", "video"]
COSTS: dict[GenerationKind, int] = {"text": 20, "image": 50, "video": 500}


async def get_balance(session: AsyncSession, user_id: str) -> int:
    balance = await session.scalar(select(User.credit_balance).where(User.id == user_id))
    if balance is None:
        raise NotFound("User not found")
    return balance


async def debit_credits(
    session: AsyncSession, user_id: str, amount: int, reason: str, related_id: str | None = None
) -> int:
    """Take ``amount`` credits, or raise ``InsufficientCredits``; return the balance after.

    A single conditional UPDATE is the whole guard: the database applies it
    atomically, so concurrent debits can never spend the same credits and the
    balance never goes below zero, on SQLite and PostgreSQL alike.
    """
    if amount <= 0:
        raise ValueError("a debit takes a positive amount")
    balance_after = await session.scalar(
        update(User)
        .where(User.id == user_id, User.credit_balance >= amount)
        .values(credit_balance=User.credit_balance - amount)
        .returning(User.credit_balance)
    )
    if balance_after is None:
        raise InsufficientCredits(current_balance=await get_balance(session, user_id), required=amount)
    session.add(
        CreditLedgerEntry(
            user_id=user_id, amount=-amount, balance_after=balance_after, reason=reason, related_id=related_id
        )
    )
    await session.flush()
    return balance_after


async def add_credits(
    session: AsyncSession, user_id: str, amount: int, reason: str, related_id: str | None = None
) -> int:
    """Grant or refund ``amount`` credits; return the balance after."""
    if amount <= 0:
        raise ValueError("a credit takes a positive amount")
    balance_after = await session.scalar(
        update(User)
        .where(User.id == user_id)
        .values(credit_balance=User.credit_balance + amount)
        .returning(User.credit_balance)
    )
    if balance_after is None:
        raise NotFound("User not found")
    session.add(
        CreditLedgerEntry(
            user_id=user_id, amount=amount, balance_after=balance_after, reason=reason, related_id=related_id
        )
    )
    await session.flush()
    return balance_after


async def ledger_sum(session: AsyncSession, user_id: str) -> int:
    return int(await session.scalar(
        select(func.coalesce(func.sum(CreditLedgerEntry.amount), 0)).where(CreditLedgerEntry.user_id == user_id)
    ))


async def ledger(session: AsyncSession, user_id: str, limit: int = 100) -> list[CreditLedgerEntry]:
    rows = await session.scalars(
        select(CreditLedgerEntry)
        .where(CreditLedgerEntry.user_id == user_id)
        .order_by(CreditLedgerEntry.id.desc())
        .limit(limit)
    )
    return list(rows)


@dataclass(frozen=True)
class Charge:
    cost: int
    balance_after: int


@asynccontextmanager
async def charged(db: Database, caller: Caller, kind: GenerationKind, related_id: str) -> AsyncIterator[Charge]:
    """Debit before the work starts (its own committed transaction) and refund if the work fails.

    The debit is committed before the generation so that a slow AI call holds no
    transaction open; the refund is shielded from cancellation, so a client that
    hangs up mid-generation still gets its credits back. Test keys spend nothing.
    """
    cost = 0 if caller.mode == "test" else COSTS[kind]
    async with db.transaction() as session:
        if cost:
            balance = await debit_credits(session, caller.user_id, cost, f"{kind}_generation", related_id)
        else:
            balance = await get_balance(session, caller.user_id)
    try:
        yield Charge(cost=cost, balance_after=balance)
    except BaseException:
        if cost:
            with anyio.CancelScope(shield=True):
                async with db.transaction() as session:
                    await add_credits(session, caller.user_id, cost, f"{kind}_refund", related_id)
        raise


async def refund(db: Database, user_id: str, kind: GenerationKind, amount: int, related_id: str) -> None:
    if amount:
        async with db.transaction() as session:
            await add_credits(session, user_id, amount, f"{kind}_refund", related_id)
