"""Businesses, their social accounts, and the credit read-outs."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ..errors import NotFound
from ..models import Business, SocialAccount
from . import credits
from .caller import Caller
from .schemas import (
    AccountOut,
    AccountsResult,
    BalanceResult,
    BusinessesResult,
    BusinessOut,
    CostPreviewInput,
    CostPreviewResult,
    ListAccountsInput,
    NoInput,
)
from .service import Core


async def owned_business(session: AsyncSession, caller: Caller, business_id: str) -> Business:
    caller.require_business(business_id)
    business = await session.get(Business, business_id)
    if business is None or business.user_id != caller.user_id:
        raise NotFound(f"Business {business_id} not found")
    return business


async def owned_account(session: AsyncSession, caller: Caller, account_id: str) -> SocialAccount:
    account = await session.get(SocialAccount, account_id)
    if (
        account is None
        or account.user_id != caller.user_id
        or (caller.business_ids is not None and account.business_id not in caller.business_ids)
    ):
        raise NotFound(f"Account {account_id} not found")
    return account


async def get_credit_balance(core: Core, caller: Caller, _: NoInput) -> BalanceResult:
    async with core.db.transaction() as session:
        return BalanceResult(balance=await credits.get_balance(session, caller.user_id))


async def preview_cost(core: Core, caller: Caller, request: CostPreviewInput) -> CostPreviewResult:
    async with core.db.transaction() as session:
        balance = await credits.get_balance(session, caller.user_id)
    return CostPreviewResult(type=request.type, cost=credits.COSTS[request.type], current_balance=balance)


async def list_businesses(core: Core, caller: Caller, _: NoInput) -> BusinessesResult:
    query = select(Business).where(Business.user_id == caller.user_id).order_by(Business.created_at, Business.id)
    if caller.business_ids is not None:
        query = query.where(Business.id.in_(caller.business_ids))
    async with core.db.transaction() as session:
        rows = list(await session.scalars(query))
    return BusinessesResult(
        businesses=[BusinessOut(id=b.id, name=b.name, type=b.type, industry=b.industry) for b in rows]
    )


async def list_accounts(core: Core, caller: Caller, request: ListAccountsInput) -> AccountsResult:
    query = (
        select(SocialAccount)
        .where(SocialAccount.user_id == caller.user_id)
        .order_by(SocialAccount.created_at, SocialAccount.id)
    )
    async with core.db.transaction() as session:
        if request.business_id is not None:
            await owned_business(session, caller, request.business_id)
            query = query.where(SocialAccount.business_id == request.business_id)
        if caller.business_ids is not None:
            query = query.where(SocialAccount.business_id.in_(caller.business_ids))
        rows = list(await session.scalars(query))
    return AccountsResult(
        accounts=[AccountOut(id=a.id, platform=a.platform, username=a.username, followers=a.followers) for a in rows]
    )
