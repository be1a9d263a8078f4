"""Businesses and their social accounts, as their owner manages them (web app, CLI).

Every write checks ownership: a business of another user is reported as absent
(``NotFound``), like everywhere else. Each malformed field raises `InvalidField`,
a ``BadRequest`` that names the field, so an edge can put the message next to it.
"""

from __future__ import annotations

import zoneinfo
from functools import cache

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from .. import ids
from ..errors import BadRequest, NotFound
from ..models import Business, SocialAccount
from ..platforms.rules import RULES
from .languages import LANGUAGES

MAX_NAME = 200
MAX_TYPE = 100
MAX_INDUSTRY = 100
MAX_USERNAME = 200
MAX_FOLLOWERS = 10**10



class InvalidField(BadRequest):
    """A ``BadRequest`` about one field; ``problem`` is the message without the field's name."""

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        self.problem = problem
        super().__init__(f"'{field}' {problem}")


@cache
def timezones() -> frozenset[str]:
    """The IANA zone names this machine knows (tzdata)."""
    return frozenset(zoneinfo.available_timezones())


def check_timezone(value: str) -> str:
    value = value.strip()
    # Only names from the list: ZoneInfo() itself also opens odd files such as "posixrules".
    if value not in timezones():
        raise InvalidField("timezone", "must be an IANA time zone name such as America/New_York or UTC")
    return value


def check_language(value: str | None) -> str | None:
    """An ISO 639-1 code, lower-cased; empty means "none" (content follows the prompt's language)."""
    if value is None or not value.strip():
        return None
    code = value.strip().lower()
    if code not in LANGUAGES:
        raise InvalidField("language", "must be a two-letter ISO 639-1 language code such as en, es or fr")
    return code


def _text(field: str, value: str, maximum: int, *, required: bool = False) -> str:
    value = " ".join(value.split())
    if required and not value:
        raise InvalidField(field, "is required")
    if len(value) > maximum:
        raise InvalidField(field, f"must be at most {maximum} characters")
    return value


async def list_user_businesses(session: AsyncSession, user_id: str) -> list[Business]:
    rows = await session.scalars(
        select(Business).where(Business.user_id == user_id).order_by(Business.created_at, Business.id)
    )
    return list(rows)


async def get_user_business(session: AsyncSession, user_id: str, business_id: str) -> Business:
    business = await session.get(Business, business_id)
    if business is None or business.user_id != user_id:
        raise NotFound(f"Business {business_id} not found")
    return business


async def create_business(
    session: AsyncSession,
    user_id: str,
    *,
    name: str,
    type: str = "",
    industry: str = "",
    timezone: str = "UTC",
    language: str | None = None,
) -> Business:
    business = Business(
        id=ids.new_id(ids.BUSINESS),
        user_id=user_id,
        name=_text("name", name, MAX_NAME, required=True),
        type=_text("type", type, MAX_TYPE),
        industry=_text("industry", industry, MAX_INDUSTRY),
        timezone=check_timezone(timezone),
        language=check_language(language),
    )
    session.add(business)
    await session.flush()
    return business


async def update_business(
    session: AsyncSession,
    user_id: str,
    business_id: str,
    *,
    name: str,
    type: str,
    industry: str,
    timezone: str,
    language: str | None,
) -> Business:
    # Validate everything before touching the row: a bad field changes nothing.
    fields = {
        "name": _text("name", name, MAX_NAME, required=True),
        "type": _text("type", type, MAX_TYPE),
        "industry": _text("industry", industry, MAX_INDUSTRY),
        "timezone": check_timezone(timezone),
        "language": check_language(language),
    }
    business = await get_user_business(session, user_id, business_id)
    for name_, value in fields.items():
        setattr(business, name_, value)
    await session.flush()
    return business


async def list_user_accounts(
    session: AsyncSession, user_id: str, business_id: str | None = None
) -> list[SocialAccount]:
    query = select(SocialAccount).where(SocialAccount.user_id == user_id)
    if business_id is not None:
        query = query.where(SocialAccount.business_id == business_id)
    rows = await session.scalars(query.order_by(SocialAccount.created_at, SocialAccount.id))
    return list(rows)


async def connect_sandbox_account(
    session: AsyncSession,
    user_id: str,
    business_id: str,
    *,
    platform: str,
    username: str,
    followers: int = 0,
) -> SocialAccount:
    """Connect a sandbox account: posts to it are recorded and shown on a sandbox page, never sent out."""
    platform = platform.strip().lower()
    if platform not in RULES:
        raise InvalidField("platform", f"must be one of {', '.join(sorted(RULES))}")
    username = _text("username", username, MAX_USERNAME, required=True)
    if isinstance(followers, bool) or not isinstance(followers, int) or not 0 <= followers <= MAX_FOLLOWERS:
        raise InvalidField("followers", f"must be a whole number from 0 to {MAX_FOLLOWERS}")
    business = await get_user_business(session, user_id, business_id)
    duplicate = await session.scalar(
        select(func.count())
        .select_from(SocialAccount)
        .where(
            SocialAccount.business_id == business.id,
            SocialAccount.platform == platform,
            func.lower(SocialAccount.username) == username.lower(),
        )
    )
    if duplicate:
        raise InvalidField("username", f"is already connected to this business on {RULES[platform].name}")
    account = SocialAccount(
        id=ids.new_id(ids.ACCOUNT),
        user_id=user_id,
        business_id=business.id,
        platform=platform,
        connection="sandbox",
        username=username,
        followers=followers,
    )
    session.add(account)
    await session.flush()
    return account
