"""The tables. Every timestamp is timezone-aware UTC; every secret is a hash or sealed."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Optional

from sqlalchemy import JSON, BigInteger, Column, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from .db import UTCDateTime


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _ts(nullable: bool = False, index: bool = False) -> Any:
    column = Column(UTCDateTime(), nullable=nullable, index=index)
    if nullable:
        return Field(default=None, sa_column=column)
    return Field(default_factory=utcnow, sa_column=column)


def _fk(target: str, *, nullable: bool = False, index: bool = True) -> Any:
    return Field(
        default=None,
        sa_column=Column(String(64), ForeignKey(target, ondelete="CASCADE"), nullable=nullable, index=index),
    )


def _json(default: Any) -> Any:
    return Field(default_factory=default, sa_column=Column(JSON, nullable=False))


class User(SQLModel, table=True):
    __tablename__ = "users"

    id: str = Field(primary_key=True, max_length=64)
    email: str = Field(sa_column=Column(String(320), unique=True, nullable=False))
    password_hash: Optional[str] = Field(default=None, max_length=255)
    # Kept equal to the sum of the user's ledger entries, in the same transaction.
    credit_balance: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    created_at: datetime = _ts()


class ApiKey(SQLModel, table=True):
    __tablename__ = "api_keys"

    id: str = Field(primary_key=True, max_length=64)
    user_id: str = _fk("users.id")
    name: str = Field(max_length=100)
    # SHA-256 of the whole secret: keys carry 256 random bits, so a fast hash is enough.
    secret_hash: str = Field(sa_column=Column(String(64), unique=True, nullable=False))
    prefix: str = Field(max_length=32)
    last_four: str = Field(max_length=4)
    mode: str = Field(default="live", max_length=8)
    scopes: list[str] = _json(list)
    # None: every business of the user.
    business_ids: Optional[list[str]] = Field(default=None, sa_column=Column(JSON, nullable=True))
    created_at: datetime = _ts()
    expires_at: Optional[datetime] = _ts(nullable=True)
    revoked_at: Optional[datetime] = _ts(nullable=True)
    last_used_at: Optional[datetime] = _ts(nullable=True)


class Business(SQLModel, table=True):
    __tablename__ = "businesses"

    id: str = Field(primary_key=True, max_length=64)
    user_id: str = _fk("users.id")
    name: str = Field(max_length=200)
    type: str = Field(default="", max_length=100)
    industry: str = Field(default="", max_length=100)
    timezone: str = Field(default="UTC", max_length=64)
    language: Optional[str] = Field(default=None, max_length=8)
    created_at: datetime = _ts()


class SocialAccount(SQLModel, table=True):
    __tablename__ = "social_accounts"

    id: str = Field(primary_key=True, max_length=64)
    user_id: str = _fk("users.id")
    business_id: str = _fk("businesses.id")
    platform: str = Field(max_length=16)
    # Which adapter publishes for this account: "sandbox", or the platform's real API.
    connection: str = Field(default="sandbox", max_length=16)
    username: str = Field(max_length=200)
    followers: int = Field(default=0)
    # Platform tokens, sealed with AES-GCM under the server key.
    credentials_sealed: Optional[str] = Field(default=None, sa_column=Column(Text, nullable=True))
    status: str = Field(default="active", max_length=24)
    created_at: datetime = _ts()


class EngagementSample(SQLModel, table=True):
    """One past post of an account and how well it did: the input of optimal-time."""

    __tablename__ = "engagement_samples"

    id: Optional[int] = Field(default=None, sa_column=Column(Integer, primary_key=True, autoincrement=True))
    account_id: str = _fk("social_accounts.id")
    posted_at: datetime = _ts()
    # Interactions per follower.
    engagement_rate: float = Field(default=0.0)


class GenerationSession(SQLModel, table=True):
    __tablename__ = "generation_sessions"

    id: str = Field(primary_key=True, max_length=64)
    user_id: str = _fk("users.id")
    business_id: str = _fk("businesses.id")
    api_key_id: Optional[str] = Field(default=None, max_length=64)
    kind: str = Field(default="generate", max_length=16)
    prompt: str = Field(default="", sa_column=Column(Text, nullable=False))
    generator: str = Field(default="", max_length=64)
    created_at: datetime = _ts()


class Suggestion(SQLModel, table=True):
    __tablename__ = "suggestions"

    id: str = Field(primary_key=True, max_length=64)
    session_id: str = _fk("generation_sessions.id")
    user_id: str = _fk("users.id")
    business_id: str = _fk("businesses.id")
    title: str = Field(max_length=300)
    body: str = Field(sa_column=Column(Text, nullable=False))
    content_format: str = Field(max_length=16)
    tags: list[str] = _json(list)
    image_prompts: list[str] = _json(list)
    language: str = Field(default="en", max_length=8)
    status: str = Field(default="DRAFT", max_length=24, index=True)
    scheduled_for: Optional[datetime] = _ts(nullable=True)
    generator: str = Field(default="", max_length=64)
    created_at: datetime = _ts()
    updated_at: datetime = _ts()


class SuggestionMedia(SQLModel, table=True):
    """An image or video attached to a suggestion, one per slide (order_index)."""

    __tablename__ = "suggestion_media"
    __table_args__ = (UniqueConstraint("suggestion_id", "order_index", name="uq_suggestion_media_slide"),)

    id: str = Field(primary_key=True, max_length=64)
    suggestion_id: str = _fk("suggestions.id")
    order_index: int = Field(default=0)
    kind: str = Field(max_length=8)
    media_id: str = _fk("media.id", index=False)
    created_at: datetime = _ts()


class Media(SQLModel, table=True):
    __tablename__ = "media"

    id: str = Field(primary_key=True, max_length=64)
    user_id: str = _fk("users.id")
    kind: str = Field(max_length=8)
    content_type: str = Field(max_length=64)
    filename: str = Field(max_length=128)
    size: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    sha256: str = Field(max_length=64)
    origin: str = Field(default="", max_length=32)
    created_at: datetime = _ts()
    # Pixel size as displayed, when the file tells it: checked against platforms' aspect rules.
    width: Optional[int] = Field(default=None)
    height: Optional[int] = Field(default=None)


class PostTarget(SQLModel, table=True):
    """One suggestion going to one account: the unit the scheduler claims and publishes."""

    __tablename__ = "post_targets"
    __table_args__ = (
        Index("ix_post_targets_due", "status", "scheduled_for"),
        # One row per suggestion and account: a retry reuses it, so nothing can post twice.
        UniqueConstraint("suggestion_id", "account_id", name="uq_post_target_account"),
    )

    id: str = Field(primary_key=True, max_length=64)
    suggestion_id: str = _fk("suggestions.id")
    user_id: str = _fk("users.id")
    account_id: str = _fk("social_accounts.id")
    platform: str = Field(max_length=16)
    # The adapter that publishes it (fixed when requested: a test key's posts stay in the sandbox).
    publisher: str = Field(default="sandbox", max_length=16)
    # scheduled | publishing | success | failed | cancelled | unconfirmed
    status: str = Field(max_length=16)
    scheduled_for: Optional[datetime] = _ts(nullable=True)
    claimed_at: Optional[datetime] = _ts(nullable=True)
    claimed_by: Optional[str] = Field(default=None, max_length=64)
    attempts: int = Field(default=0)
    platform_post_id: Optional[str] = Field(default=None, max_length=255)
    post_url: Optional[str] = Field(default=None, sa_column=Column(Text, nullable=True))
    error: Optional[str] = Field(default=None, sa_column=Column(Text, nullable=True))
    error_category: Optional[str] = Field(default=None, max_length=32)
    published_at: Optional[datetime] = _ts(nullable=True)
    created_at: datetime = _ts()


class CreditLedgerEntry(SQLModel, table=True):
    """Append-only: a row is never updated or deleted."""

    __tablename__ = "credit_ledger"

    id: Optional[int] = Field(default=None, sa_column=Column(Integer, primary_key=True, autoincrement=True))
    user_id: str = _fk("users.id")
    amount: int = Field(sa_column=Column(BigInteger, nullable=False))
    balance_after: int = Field(sa_column=Column(BigInteger, nullable=False))
    reason: str = Field(max_length=32)
    related_id: Optional[str] = Field(default=None, max_length=64)
    created_at: datetime = _ts()


class VideoOperation(SQLModel, table=True):
    __tablename__ = "video_operations"

    id: str = Field(primary_key=True, max_length=64)
    user_id: str = _fk("users.id")
    api_key_id: Optional[str] = Field(default=None, max_length=64)
    prompt: str = Field(sa_column=Column(Text, nullable=False))
    duration: int = Field(default=8)
    aspect_ratio: str = Field(default="9:16", max_length=8)
    style: str = Field(default="social", max_length=16)
    # processing | completed | failed
    status: str = Field(default="processing", max_length=16, index=True)
    generator: str = Field(default="", max_length=64)
    provider_handle: Optional[str] = Field(default=None, sa_column=Column(Text, nullable=True))
    media_id: Optional[str] = Field(default=None, max_length=64)
    error: Optional[str] = Field(default=None, sa_column=Column(Text, nullable=True))
    credits_charged: int = Field(default=0)
    claimed_at: Optional[datetime] = _ts(nullable=True)
    created_at: datetime = _ts()
    completed_at: Optional[datetime] = _ts(nullable=True)


class SandboxPost(SQLModel, table=True):
    """A post the sandbox platform "published": what its public page shows."""

    __tablename__ = "sandbox_posts"

    id: str = Field(primary_key=True, max_length=64)
    # The target that published it: a retry of the same target finds this row instead of posting again.
    target_id: str = Field(sa_column=Column(String(64), unique=True, nullable=False))
    account_id: str = Field(max_length=64)
    platform: str = Field(max_length=16)
    username: str = Field(max_length=200)
    content_format: str = Field(max_length=16)
    title: str = Field(max_length=300)
    caption: str = Field(sa_column=Column(Text, nullable=False))
    media_urls: list[str] = _json(list)
    created_at: datetime = _ts()


class PastPost(SQLModel, table=True):
    """A post the business published before, with its engagement: the input of its content DNA.

    Imported from a file (``fluxsocial-mcp dna import``) or from a connected account
    whose platform offers its history. ``external_id`` keeps re-imports from duplicating.
    """

    __tablename__ = "past_posts"
    __table_args__ = (UniqueConstraint("business_id", "external_id", name="uq_past_posts_external"),)

    id: Optional[int] = Field(default=None, sa_column=Column(Integer, primary_key=True, autoincrement=True))
    business_id: str = _fk("businesses.id")
    account_id: Optional[str] = Field(default=None, max_length=64)
    # "file", or the platform the post was read from.
    source: str = Field(default="file", max_length=16)
    external_id: str = Field(max_length=128)
    text: str = Field(sa_column=Column(Text, nullable=False))
    # ISO 639-1, detected when imported; None when too short to tell.
    language: Optional[str] = Field(default=None, max_length=8)
    posted_at: Optional[datetime] = _ts(nullable=True)
    likes: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    comments: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    shares: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    # The weighted interaction count the profile ranks posts by (see core/content_dna.py).
    engagement: float = Field(default=0.0)
    imported_at: datetime = _ts()
