"""Minting authorization codes and tokens (RFC 6749 §4.1.2, §5.1).

Each value is returned once, in the clear, together with the row that stores only
its SHA-256 digest.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from .config import OAuthConfig
from .crypto import (
    ACCESS_TOKEN_PREFIX,
    AUTHORIZATION_CODE_PREFIX,
    REFRESH_TOKEN_PREFIX,
    generate_id,
    generate_secret,
    hash_secret,
)
from .models import OAuthAccessToken, OAuthRefreshToken


@dataclass(frozen=True)
class TokenBinding:
    """What every token of one grant is bound to."""

    family_id: str
    client_id: str
    user_id: str
    key_id: str
    resource: str


def new_authorization_code() -> tuple[str, str, str]:
    """``(code, row id, digest)`` of a fresh authorization code."""
    code = generate_secret(AUTHORIZATION_CODE_PREFIX)
    return code, generate_id("oac_"), hash_secret(code)


def new_access_token(
    config: OAuthConfig, binding: TokenBinding, scope: str, now: datetime
) -> tuple[str, OAuthAccessToken]:
    token = generate_secret(ACCESS_TOKEN_PREFIX)
    row = OAuthAccessToken(
        id=generate_id("oat_"),
        token_hash=hash_secret(token),
        family_id=binding.family_id,
        client_id=binding.client_id,
        user_id=binding.user_id,
        key_id=binding.key_id,
        scope=scope,
        resource=binding.resource,
        created_at=now,
        expires_at=now + timedelta(seconds=config.access_token_ttl),
    )
    return token, row


def new_refresh_token(
    config: OAuthConfig, binding: TokenBinding, scope: str, now: datetime
) -> tuple[str, OAuthRefreshToken]:
    token = generate_secret(REFRESH_TOKEN_PREFIX)
    row = OAuthRefreshToken(
        id=generate_id("ort_"),
        token_hash=hash_secret(token),
        family_id=binding.family_id,
        client_id=binding.client_id,
        user_id=binding.user_id,
        key_id=binding.key_id,
        scope=scope,
        resource=binding.resource,
        created_at=now,
        expires_at=now + timedelta(seconds=config.refresh_token_ttl),
    )
    return token, row


@dataclass(frozen=True)
class TokenResponse:
    """RFC 6749 §5.1 successful response."""

    access_token: str
    expires_in: int
    scope: str
    refresh_token: str | None = None

    def to_body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "access_token": self.access_token,
            "token_type": "Bearer",
            "expires_in": self.expires_in,
            "scope": self.scope,
        }
        if self.refresh_token is not None:
            body["refresh_token"] = self.refresh_token
        return body
