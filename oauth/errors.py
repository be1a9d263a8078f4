"""RFC error codes, and the exceptions that carry them to an endpoint's response.

::

    OAuthError
    ├── RegistrationError        RFC 7591 §3.2.2   → 400 JSON
    ├── AuthorizeError           RFC 6749 §4.1.2.1 → redirect to the client
    ├── TokenError               RFC 6749 §5.2     → 400 JSON
    ├── RevocationError          RFC 7009 §2.2.1   → 400 JSON
    ├── ClientAuthenticationError RFC 6749 §5.2 invalid_client → 401 JSON
    └── InvalidClient            client_id or redirect_uri unusable → an error page,
                                 never a redirect (RFC 6749 §4.1.2.1)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

RegistrationErrorCode = Literal[
    "invalid_redirect_uri",
    "invalid_client_metadata",
]

AuthorizationErrorCode = Literal[
    "invalid_request",
    "unauthorized_client",
    "access_denied",
    "unsupported_response_type",
    "invalid_scope",
    "server_error",
    "temporarily_unavailable",
    # RFC 8707 §2: the requested resource is not one this server issues tokens for.
    "invalid_target",
]

TokenErrorCode = Literal[
    "invalid_request",
    "invalid_client",
    "invalid_grant",
    "unauthorized_client",
    "unsupported_grant_type",
    "invalid_scope",
    "invalid_target",
]

RevocationErrorCode = Literal[
    "invalid_request",
    "invalid_client",
    "unsupported_token_type",
]

# RFC 6750 §3.1: error codes of a protected resource's Bearer challenge.
BearerErrorCode = Literal[
    "invalid_request",
    "invalid_token",
    "insufficient_scope",
]


class OAuthError(Exception):
    """Base of the errors this package reports to a client."""

    error: str
    error_description: str | None

    def to_body(self) -> dict[str, str]:
        body = {"error": self.error}
        if self.error_description:
            body["error_description"] = printable_description(self.error_description)
        return body


def printable_description(text: str) -> str:
    """RFC 6749 §5.2 / RFC 7591 §3.2.2: ``error_description`` is ASCII from %x20-21 / %x23-5B /
    %x5D-7E. Client-supplied values (a redirect URI, a method name) may appear in a
    description, so anything outside that set is replaced."""
    return "".join(
        char if char not in '"\\' and 0x20 <= ord(char) <= 0x7E else ("'" if char == '"' else "?") for char in text
    )


@dataclass(frozen=True)
class RegistrationError(OAuthError):
    error: RegistrationErrorCode
    error_description: str | None = None


@dataclass(frozen=True)
class AuthorizeError(OAuthError):
    error: AuthorizationErrorCode
    error_description: str | None = None


@dataclass(frozen=True)
class TokenError(OAuthError):
    error: TokenErrorCode
    error_description: str | None = None


@dataclass(frozen=True)
class RevocationError(OAuthError):
    error: RevocationErrorCode
    error_description: str | None = None


@dataclass(frozen=True)
class ClientAuthenticationError(OAuthError):
    """The client could not be authenticated (RFC 6749 §5.2 ``invalid_client``).

    ``challenge_basic`` is set when the client tried HTTP Basic, or is registered
    for it: the 401 then carries a ``WWW-Authenticate: Basic`` challenge.
    """

    error_description: str | None = None
    challenge_basic: bool = False
    error: Literal["invalid_client"] = "invalid_client"


@dataclass(frozen=True)
class InvalidClient(OAuthError):
    """The ``client_id`` is unknown or its metadata unusable, or the ``redirect_uri`` is not
    one of its own: the authorization server must not redirect (RFC 6749 §4.1.2.1)."""

    error_description: str
    error: Literal["invalid_request"] = "invalid_request"
