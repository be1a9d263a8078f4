"""``WWW-Authenticate`` challenges of the MCP endpoint (RFC 6750 §3, RFC 9728 §5.1).

A 401 tells a client where to discover the authorization server
(``resource_metadata``) and which scopes to ask for; a 403 names the scope a token
lacks so the client can ask for a wider grant (MCP step-up authorization).
"""

from __future__ import annotations

from collections.abc import Iterable

from .config import OAuthConfig
from .errors import BearerErrorCode


def _quoted(value: str) -> str:
    # RFC 9110 §5.6.4 quoted-string.
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def bearer_challenge(
    params: Iterable[tuple[str, str | None]],
) -> str:
    """``Bearer`` followed by the given auth-params, skipping those without a value."""
    rendered = [f"{name}={_quoted(value)}" for name, value in params if value is not None]
    return "Bearer " + ", ".join(rendered) if rendered else "Bearer"


def _scope_value(scopes: Iterable[str] | str) -> str:
    return scopes if isinstance(scopes, str) else " ".join(scopes)


def missing_token_challenge(config: OAuthConfig, scopes: Iterable[str] | str | None = None) -> str:
    """For a request without a token: no error code (RFC 6750 §3.1)."""
    return bearer_challenge(
        [
            ("resource_metadata", config.resource_metadata_url),
            ("scope", _scope_value(config.scopes_supported if scopes is None else scopes)),
        ]
    )


def invalid_token_challenge(
    config: OAuthConfig,
    scopes: Iterable[str] | str | None = None,
    *,
    description: str | None = None,
) -> str:
    """401: the token is missing, unknown, expired, revoked or for another resource."""
    error: BearerErrorCode = "invalid_token"
    return bearer_challenge(
        [
            ("error", error),
            ("resource_metadata", config.resource_metadata_url),
            ("scope", _scope_value(config.scopes_supported if scopes is None else scopes)),
            ("error_description", description),
        ]
    )


def insufficient_scope_challenge(
    config: OAuthConfig,
    scope: Iterable[str] | str,
    *,
    description: str | None = None,
) -> str:
    """403: the token is valid but lacks ``scope`` (RFC 6750 §3.1)."""
    error: BearerErrorCode = "insufficient_scope"
    return bearer_challenge(
        [
            ("error", error),
            ("scope", _scope_value(scope)),
            ("resource_metadata", config.resource_metadata_url),
            ("error_description", description),
        ]
    )
