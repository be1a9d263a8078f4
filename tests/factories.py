"""Plain factory functions for test data, and a clock tests can move."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from fluxsocial_mcp import ids
from fluxsocial_mcp.core import keys, users
from fluxsocial_mcp.core.service import Core
from fluxsocial_mcp.models import Business, SocialAccount


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@dataclass
class Tenant:
    user_id: str
    business_id: str
    key: str
    key_id: str
    accounts: dict[str, str]

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


async def make_tenant(
    core: Core,
    *,
    email: str | None = None,
    credits: int = 5000,
    scopes: list[str] | None = None,
    platforms: tuple[str, ...] = ("instagram", "tiktok", "linkedin", "x"),
    timezone: str = "America/New_York",
    mode: str = "live",
) -> Tenant:
    email = email or f"{ids.new_id('u')}@example.com"
    async with core.db.transaction() as session:
        user = await users.create_user(session, email, "correct horse battery", credits)
        business = Business(
            id=ids.new_id(ids.BUSINESS), user_id=user.id, name="The Morning Cup", type="cafe",
            industry="food", timezone=timezone, language="en",
        )
        session.add(business)
        await session.flush()
        accounts = {}
        for platform in platforms:
            account = SocialAccount(
                id=ids.new_id(ids.ACCOUNT), user_id=user.id, business_id=business.id, platform=platform,
                connection="sandbox", username=f"@morningcup_{platform}", followers=1000,
            )
            session.add(account)
            accounts[platform] = account.id
        await session.flush()
        key = await keys.create_api_key(session, user.id, "test", scopes, mode=mode, now=core.now())
    return Tenant(user.id, business.id, key.secret, key.record.id, accounts)
