"""RFC 7591 OAuth 2.0 Dynamic Client Registration.

`parse_client_metadata` is also how a Client ID Metadata Document is read, so both
ways of becoming a client obey one policy.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, get_args
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response

from .config import OAuthConfig
from .crypto import CLIENT_ID_PREFIX, CLIENT_SECRET_PREFIX, generate_secret, hash_secret
from .errors import RegistrationError
from .httputil import MalformedRequest, no_store_json, read_body
from .models import OAuthClient
from .redirect_uris import check_redirect_uris
from .scopes import format_scope, in_canonical_order, parse_scope
from .store import OAuthStore

TokenEndpointAuthMethod = Literal["none", "client_secret_post", "client_secret_basic"]
TOKEN_ENDPOINT_AUTH_METHODS: tuple[str, ...] = get_args(TokenEndpointAuthMethod)
GRANT_TYPES = ("authorization_code", "refresh_token")
RESPONSE_TYPES = ("code",)

# What an MCP client means when it omits grant_types: it expects refresh tokens.
DEFAULT_GRANT_TYPES = ["authorization_code", "refresh_token"]
DEFAULT_CLIENT_NAME = "Unnamed app"

MAX_REGISTRATION_BYTES = 32 * 1024
MAX_STRING_LENGTH = 2000
MAX_NAME_LENGTH = 200
MAX_CONTACTS = 10
_URL_MEMBERS = ("client_uri", "logo_uri", "tos_uri", "policy_uri")
_TEXT_MEMBERS = ("software_id", "software_version")


@dataclass(frozen=True)
class ClientMetadata:
    """Validated client metadata (RFC 7591 §2), normalised and ready to store."""

    redirect_uris: list[str]
    token_endpoint_auth_method: TokenEndpointAuthMethod
    grant_types: list[str]
    response_types: list[str]
    client_name: str
    scope: str | None
    extras: dict[str, Any]

    def to_document(self) -> dict[str, Any]:
        """The metadata as echoed in a registration response (RFC 7591 §3.2.1)."""
        document: dict[str, Any] = {
            "redirect_uris": self.redirect_uris,
            "token_endpoint_auth_method": self.token_endpoint_auth_method,
            "grant_types": self.grant_types,
            "response_types": self.response_types,
            "client_name": self.client_name,
        }
        if self.scope:
            document["scope"] = self.scope
        document.update(self.extras)
        return document


def parse_client_metadata(
    document: Mapping[str, Any],
    config: OAuthConfig,
    *,
    default_auth_method: TokenEndpointAuthMethod,
    default_client_name: str = DEFAULT_CLIENT_NAME,
) -> ClientMetadata:
    """Validate client metadata. Unknown members are ignored (RFC 7591 §2).

    Raises:
        RegistrationError: ``invalid_redirect_uri`` for a redirect URI this server
            refuses, ``invalid_client_metadata`` for anything else it cannot accept.
    """
    redirect_uris = check_redirect_uris(document.get("redirect_uris"), limit=config.max_redirect_uris)

    auth_method = document.get("token_endpoint_auth_method", default_auth_method)
    if auth_method is None:
        auth_method = default_auth_method
    if auth_method not in TOKEN_ENDPOINT_AUTH_METHODS:
        raise RegistrationError(
            "invalid_client_metadata",
            f"token_endpoint_auth_method must be one of {', '.join(TOKEN_ENDPOINT_AUTH_METHODS)}",
        )

    grant_types = _string_list(document, "grant_types", DEFAULT_GRANT_TYPES)
    unsupported = [grant for grant in grant_types if grant not in GRANT_TYPES]
    if unsupported:
        raise RegistrationError(
            "invalid_client_metadata",
            f"grant_types may only contain {', '.join(GRANT_TYPES)}; unsupported: {', '.join(unsupported)}",
        )
    if "authorization_code" not in grant_types:
        raise RegistrationError("invalid_client_metadata", "grant_types must include authorization_code")

    response_types = _string_list(document, "response_types", list(RESPONSE_TYPES))
    if response_types != ["code"]:
        # RFC 7591 §2.1: response type "code" goes with the authorization_code grant;
        # OAuth 2.1 has no other.
        raise RegistrationError("invalid_client_metadata", "response_types must contain only code")

    client_name = document.get("client_name")
    if client_name is None or (isinstance(client_name, str) and not client_name.strip()):
        client_name = default_client_name
    if not isinstance(client_name, str):
        raise RegistrationError("invalid_client_metadata", "client_name must be a string")
    client_name = " ".join(client_name.split())
    if len(client_name) > MAX_NAME_LENGTH:
        raise RegistrationError("invalid_client_metadata", f"client_name must be at most {MAX_NAME_LENGTH} characters")

    scope_value = document.get("scope")
    if scope_value is not None and not isinstance(scope_value, str):
        raise RegistrationError("invalid_client_metadata", "scope must be a space-separated string")
    # RFC 7591 §2: the server may narrow the requested scope; unknown scopes are dropped.
    scope = format_scope(in_canonical_order(parse_scope(scope_value), config.scopes_supported)) or None

    return ClientMetadata(
        redirect_uris=redirect_uris,
        token_endpoint_auth_method=auth_method,
        grant_types=list(dict.fromkeys(grant_types)),
        response_types=response_types,
        client_name=client_name,
        scope=scope,
        extras=_optional_members(document),
    )


def _string_list(document: Mapping[str, Any], name: str, default: list[str]) -> list[str]:
    value = document.get(name)
    if value is None:
        return list(default)
    if not isinstance(value, list) or not value or not all(isinstance(item, str) for item in value):
        raise RegistrationError("invalid_client_metadata", f"{name} must be a non-empty array of strings")
    return value


def _optional_members(document: Mapping[str, Any]) -> dict[str, Any]:
    """Informational members worth keeping. A malformed one is dropped rather than
    failing the registration (RFC 7591 §3.2.1 lets the server replace values); none
    of them is ever rendered as a link or an image."""
    extras: dict[str, Any] = {}
    for name in _URL_MEMBERS:
        value = document.get(name)
        if isinstance(value, str) and len(value) <= MAX_STRING_LENGTH and _is_web_url(value):
            extras[name] = value
    for name in _TEXT_MEMBERS:
        value = document.get(name)
        if isinstance(value, str) and 0 < len(value) <= MAX_NAME_LENGTH:
            extras[name] = value
    contacts = document.get("contacts")
    if isinstance(contacts, list) and all(isinstance(c, str) and len(c) <= MAX_NAME_LENGTH for c in contacts):
        extras["contacts"] = contacts[:MAX_CONTACTS]
    if document.get("application_type") in ("web", "native"):
        extras["application_type"] = document["application_type"]
    return extras


def _is_web_url(value: str) -> bool:
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme in ("https", "http") and bool(parts.hostname)


@dataclass
class RegistrationHandler:
    """``POST /oauth/register`` (RFC 7591 §3)."""

    config: OAuthConfig
    store: OAuthStore
    clock: Callable[[], datetime]

    async def handle(self, request: Request) -> Response:
        try:
            body = await read_body(request, MAX_REGISTRATION_BYTES)
        except MalformedRequest as exc:
            return _error(RegistrationError("invalid_client_metadata", str(exc)), exc.status_code)
        try:
            document = json.loads(body)
        except (ValueError, RecursionError):
            return _error(RegistrationError("invalid_client_metadata", "the request body is not valid JSON"))
        if not isinstance(document, dict):
            return _error(RegistrationError("invalid_client_metadata", "the request body must be a JSON object"))
        try:
            metadata = parse_client_metadata(document, self.config, default_auth_method="client_secret_basic")
        except RegistrationError as exc:
            return _error(exc)

        now = self.clock()
        client_id = generate_secret(CLIENT_ID_PREFIX, 16)
        client_secret = None
        if metadata.token_endpoint_auth_method != "none":
            client_secret = generate_secret(CLIENT_SECRET_PREFIX)
        await self.store.save_client(
            OAuthClient(
                client_id=client_id,
                client_secret_hash=hash_secret(client_secret) if client_secret else None,
                token_endpoint_auth_method=metadata.token_endpoint_auth_method,
                redirect_uris=metadata.redirect_uris,
                grant_types=metadata.grant_types,
                response_types=metadata.response_types,
                client_name=metadata.client_name,
                scope=metadata.scope,
                registered_metadata=metadata.to_document(),
                issued_at=now,
            )
        )

        response: dict[str, Any] = {"client_id": client_id, "client_id_issued_at": int(now.timestamp())}
        if client_secret:
            # RFC 7591 §3.2.1: REQUIRED with a secret; 0 means it does not expire.
            response["client_secret"] = client_secret
            response["client_secret_expires_at"] = 0
        response.update(metadata.to_document())
        return no_store_json(response, 201)


def _error(error: RegistrationError, status_code: int = 400) -> Response:
    return no_store_json(error.to_body(), status_code)
