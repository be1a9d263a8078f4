"""API keys: the secret is shown once and stored only as a SHA-256 hash."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from .. import ids
from ..errors import BadRequest, NotFound
from ..models import ApiKey, Business
from .caller import ALL_SCOPES, Caller

LIVE_PREFIX, TEST_PREFIX = "fsx_live_", "fsx_test_"
# Writing last_used_at on every request would turn each read into a write.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class CreatedKey:
    record: ApiKey
    # The full secret: returned to its owner this once, never stored.
    secret: str


async def create_api_key(
    session: AsyncSession,
    user_id: str,
    name: str,
    scopes: list[str] | None = None,
    *,
    expires_at: datetime | None = None,
    business_ids: list[str] | None = None,
    mode: str = "live",
    now: datetime,
) -> CreatedKey:
    name = name.strip()
    if not name or len(name) > 100:
        raise BadRequest("'name' must be 1 to 100 characters")
    scopes = list(ALL_SCOPES) if scopes is None else scopes
    unknown = sorted(set(scopes) - set(ALL_SCOPES))
    if unknown:
        raise BadRequest(f"'scopes' has unknown scopes: {', '.join(unknown)}")
    if not scopes:
        raise BadRequest("'scopes' must name at least one scope")
    if expires_at is not None and expires_at <= now:
        raise BadRequest("'expiresAt' must be in the future")
    if mode not in ("live", "test"):
        raise BadRequest("'mode' must be live or test")
    if business_ids is not None:
        owned = set(await session.scalars(
            select(Business.id).where(Business.user_id == user_id, Business.id.in_(business_ids))
        ))
        missing = [b for b in business_ids if b not in owned]
        if missing:
            raise NotFound(f"Business {missing[0]} not found")
    secret = (LIVE_PREFIX if mode == "live" else TEST_PREFIX) + secrets.token_urlsafe(32)
    record = ApiKey(
        id=ids.new_id(ids.API_KEY),
        user_id=user_id,
        name=name,
        secret_hash=hash_secret(secret),
        prefix=secret[: len(LIVE_PREFIX) + 4],
        last_four=secret[-4:],
        mode=mode,
        scopes=[s for s in ALL_SCOPES if s in scopes],
        business_ids=sorted(set(business_ids)) if business_ids is not None else None,
        created_at=now,
        expires_at=expires_at,
    )
    session.add(record)
    await session.flush()
    return CreatedKey(record=record, secret=secret)


async def find_active_key(session: AsyncSession, secret: str, now: datetime) -> ApiKey | None:
    """The key a presented secret belongs to, if it is live (not revoked, not expired)."""
    if not secret.startswith((LIVE_PREFIX, TEST_PREFIX)) or len(secret) > 200:
        return None
    digest = hash_secret(secret)
    record = await session.scalar(select(ApiKey).where(ApiKey.secret_hash == digest))
    # The lookup is by hash, so timing reveals nothing of the secret; the
    # constant-time comparison keeps that true whatever the index does.
    if record is None or not hmac.compare_digest(record.secret_hash, digest):
        return None
    if not key_is_live(record, now):
        return None
    if record.last_used_at is None or now - record.last_used_at >= LAST_USED_RESOLUTION:
        record.last_used_at = now
    return record


def key_is_live(record: ApiKey, now: datetime) -> bool:
    return record.revoked_at is None and (record.expires_at is None or record.expires_at > now)


def caller_for_key(record: ApiKey, scopes: frozenset[str] | None = None) -> Caller:
    """The caller a key acts as; ``scopes`` narrows it (an OAuth grant never widens a key)."""
    key_scopes = frozenset(record.scopes)
    return Caller(
        user_id=record.user_id,
        scopes=key_scopes if scopes is None else key_scopes & scopes,
        api_key_id=record.id,
        business_ids=frozenset(record.business_ids) if record.business_ids is not None else None,
        mode="test" if record.mode == "test" else "live",
    )


async def list_api_keys(session: AsyncSession, user_id: str) -> list[ApiKey]:
    rows = await session.scalars(
        select(ApiKey).where(ApiKey.user_id == user_id).order_by(ApiKey.created_at.desc())
    )
    return list(rows)


async def revoke_api_key(session: AsyncSession, key_id: str, now: datetime, user_id: str | None = None) -> ApiKey:
    """Revoke at once; ``user_id`` given, a key of another user is reported as absent."""
    record = await session.get(ApiKey, key_id)
    if record is None or (user_id is not None and record.user_id != user_id):
        raise NotFound(f"API key {key_id} not found")
    if record.revoked_at is None:
        record.revoked_at = now
    await session.flush()
    return record
