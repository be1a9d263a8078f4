"""Who is calling: the identity every core operation receives explicitly."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ..errors import MissingScope, NotFound

CREDITS_READ = "credits:read"
CONTENT_READ = "content:read"
CONTENT_WRITE = "content:write"
POST_WRITE = "post:write"
ACCOUNTS_READ = "accounts:read"
BUSINESSES_READ = "businesses:read"
ALL_SCOPES: tuple[str, ...] = (
    CREDITS_READ, CONTENT_READ, CONTENT_WRITE, POST_WRITE, ACCOUNTS_READ, BUSINESSES_READ,
)

Channel = Literal["api", "web"]


@dataclass(frozen=True)
class Caller:
    user_id: str
    scopes: frozenset[str]
    # The API key behind the call (also for OAuth tokens, which derive from one).
    api_key_id: str | None = None
    # None: all the user's businesses; otherwise the key is restricted to these.
    business_ids: frozenset[str] | None = None
    # "test" keys publish to the sandbox and spend no credits (SPEC §9).
    mode: Literal["live", "test"] = "live"
    channel: Channel = "api"

    @property
    def rate_limit_identity(self) -> str:
        return f"key:{self.api_key_id}" if self.api_key_id else f"user:{self.user_id}"

    def require_scope(self, scope: str) -> None:
        if scope not in self.scopes:
            raise MissingScope(scope)

    def require_business(self, business_id: str) -> None:
        """A business outside the key's restriction is reported as absent, like another user's."""
        if self.business_ids is not None and business_id not in self.business_ids:
            raise NotFound(f"Business {business_id} not found")
