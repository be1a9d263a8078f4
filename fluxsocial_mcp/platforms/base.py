"""What a publishing adapter is, and the errors it may raise."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Protocol

Platform = Literal["instagram", "facebook", "tiktok", "linkedin", "x", "threads"]
PLATFORMS: tuple[Platform, ...] = ("instagram", "facebook", "tiktok", "linkedin", "x", "threads")

ErrorCategory = Literal["auth_expired", "rate_limited", "rejected_content", "media_error", "platform_down"]


@dataclass(frozen=True)
class MediaItem:
    kind: Literal["image", "video"]
    url: str
    content_type: str


@dataclass(frozen=True)
class PublishRequest:
    # Our target id: the idempotency key a platform adapter uses to recognise a retry.
    target_id: str
    platform: Platform
    account_id: str
    username: str
    credentials: dict[str, Any]
    content_format: str
    title: str
    caption: str
    media: list[MediaItem]


@dataclass(frozen=True)
class PublishResult:
    platform_post_id: str
    post_url: str


class PublishError(Exception):
    """A platform refused or failed a post; ``retryable`` says whether trying again may help."""

    def __init__(self, message: str, category: ErrorCategory, retryable: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.category = category
        self.retryable = retryable


class Publisher(Protocol):
    name: str
    # True when find_published's None proves the post does not exist, so an
    # interrupted attempt may be retried; False leaves it "unconfirmed".
    confirms_absence: bool

    async def publish(self, request: PublishRequest) -> PublishResult:
        """Publish and return the platform's id and URL for the post.

        Raises:
            PublishError: the platform refused or failed.
        """
        ...

    async def find_published(self, request: PublishRequest) -> PublishResult | None:
        """Look up a post an earlier, interrupted attempt may have made (None if none)."""
        ...
