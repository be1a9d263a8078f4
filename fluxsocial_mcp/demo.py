"""The demo: a user, "The Morning Cup" with sandbox accounts and a plausible engagement history."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from . import ids
from .core import keys, users
from .core.service import Core
from .models import Business, EngagementSample, SocialAccount

DEMO_EMAIL = "demo@fluxsocial.local"
DEMO_BUSINESS = "The Morning Cup"
DEMO_ACCOUNTS = (
    ("instagram", "@themorningcup", 12500),
    ("tiktok", "@themorningcup", 8400),
    ("linkedin", "The Morning Cup", 1900),
)
DEMO_CREDITS = 5000


@dataclass(frozen=True)
class Demo:
    user_id: str
    business_id: str
    api_key: str
    created: bool


async def ensure_demo(core: Core, key_name: str = "Demo key") -> Demo:
    """Create the demo user and business once; issue a new all-scopes key every time."""
    now = core.now()
    async with core.db.transaction() as session:
        user = await users.find_user_by_email(session, DEMO_EMAIL)
        created = user is None
        if user is None:
            user = await users.create_user(session, DEMO_EMAIL, None, DEMO_CREDITS)
            business = Business(
                id=ids.new_id(ids.BUSINESS), user_id=user.id, name=DEMO_BUSINESS, type="cafe",
                industry="food", timezone="America/New_York", language="en", created_at=now,
            )
            session.add(business)
            await session.flush()
            rng = random.Random(20260409)
            for platform, username, followers in DEMO_ACCOUNTS:
                account = SocialAccount(
                    id=ids.new_id(ids.ACCOUNT), user_id=user.id, business_id=business.id, platform=platform,
                    connection="sandbox", username=username, followers=followers, created_at=now,
                )
                session.add(account)
                await session.flush()
                session.add_all(_engagement_history(rng, account.id, platform, now, ZoneInfo(business.timezone)))
        else:
            business = await session.scalar(
                select(Business).where(Business.user_id == user.id, Business.name == DEMO_BUSINESS)
            )
            assert business is not None
        key = await keys.create_api_key(session, user.id, key_name, now=now)
    return Demo(user_id=user.id, business_id=business.id, api_key=key.secret, created=created)


def _engagement_history(
    rng: random.Random, account_id: str, platform: str, now: datetime, zone: ZoneInfo
) -> list[EngagementSample]:
    """Ninety days of posts: a café's audience engages most on weekday mornings, Wednesday best."""
    samples = []
    today = now.astimezone(zone).date()
    for day in range(1, 91):
        if rng.random() < 0.35:
            continue
        local_day = today - timedelta(days=day)
        hour = rng.choice([7, 8, 9, 9, 12, 13, 17, 19, 20])
        posted = datetime.combine(local_day, time(hour, rng.choice([0, 15, 30])), tzinfo=zone)
        rate = 0.02 + rng.random() * 0.01
        if hour in (8, 9) and local_day.weekday() < 5:
            rate += 0.03
        if hour == 9 and local_day.weekday() == 2:
            rate += 0.03
        if platform == "tiktok" and hour >= 19:
            rate += 0.02
        samples.append(EngagementSample(account_id=account_id, posted_at=posted, engagement_rate=round(rate, 4)))
    return samples
