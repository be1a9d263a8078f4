"""OAuth Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document).

A client may use an https URL as its ``client_id``; the document at that URL is its
metadata. The server fetches it with the service's SSRF-safe fetcher, checks it
(§3 for the URL, §4.1 for the document), and caches it for a bounded time (§4.2).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import urlsplit

from .config import OAuthConfig
from .errors import RegistrationError
from .registration import ClientMetadata, parse_client_metadata

MAX_CLIENT_ID_URL_LENGTH = 2000
# §4.1: no shared secret can exist with a client identified by a public document.
_SECRET_AUTH_METHODS = frozenset({"client_secret_post", "client_secret_basic", "client_secret_jwt"})
_MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*\"?(\d+)\"?\s*(?:,|$)", re.IGNORECASE)
_NO_CACHE = re.compile(r"(?:^|,)\s*(?:no-store|no-cache)\s*(?:,|=|$)", re.IGNORECASE)


class ClientMetadataError(Exception):
    """The client's metadata document cannot be used; the message says why."""


def is_client_metadata_url(client_id: str) -> bool:
    """Whether ``client_id`` names a metadata document rather than a registered client."""
    return client_id[:8].lower() == "https://"


def check_client_id_url(client_id: str) -> None:
    """§3: https, with a path, no fragment, no credentials, no dot segments."""
    if len(client_id) > MAX_CLIENT_ID_URL_LENGTH:
        raise ClientMetadataError(f"client_id URLs must be at most {MAX_CLIENT_ID_URL_LENGTH} characters")
    try:
        parts = urlsplit(client_id)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        raise ClientMetadataError("client_id is not a valid URL") from None
    if parts.scheme != "https" or not parts.hostname:
        raise ClientMetadataError("a URL client_id must be an https URL")
    if "#" in client_id:
        raise ClientMetadataError("a URL client_id must not contain a fragment")
    if parts.username is not None or parts.password is not None:
        raise ClientMetadataError("a URL client_id must not contain a user name or password")
    if parts.path in ("", "/"):
        raise ClientMetadataError("a URL client_id must contain a path")
    if any(segment in (".", "..") for segment in parts.path.split("/")):
        raise ClientMetadataError("a URL client_id must not contain . or .. path segments")
    if re.search(r"[\x00-\x20\x7f]", client_id):
        raise ClientMetadataError("a URL client_id must not contain spaces or control characters")


def parse_client_metadata_document(client_id: str, document: object, config: OAuthConfig) -> ClientMetadata:
    """Validate the document fetched from ``client_id`` (§4.1)."""
    if not isinstance(document, Mapping):
        raise ClientMetadataError("the client metadata document is not a JSON object")
    # §4.1: simple string comparison (RFC 3986 §6.2.1) with the URL it was fetched from.
    if document.get("client_id") != client_id:
        raise ClientMetadataError("the client_id in the client metadata document does not match its URL")
    for member in ("client_secret", "client_secret_expires_at"):
        if member in document:
            raise ClientMetadataError(f"a client metadata document must not contain {member}")
    auth_method = document.get("token_endpoint_auth_method")
    if auth_method is not None and not isinstance(auth_method, str):
        raise ClientMetadataError("token_endpoint_auth_method must be a string")
    if auth_method in _SECRET_AUTH_METHODS:
        raise ClientMetadataError(f"a client metadata document must not use {auth_method}")
    if auth_method not in (None, "none"):
        raise ClientMetadataError(
            f"token_endpoint_auth_method {auth_method} is not supported; metadata document clients must use none"
        )
    try:
        return parse_client_metadata(
            document,
            config,
            default_auth_method="none",
            default_client_name=urlsplit(client_id).hostname or client_id,
        )
    except RegistrationError as exc:
        raise ClientMetadataError(exc.error_description or exc.error) from exc


def max_age_from_cache_control(header: str | None) -> int | None:
    """The freshness a ``Cache-Control`` header grants, for fetchers that build
    `oauth.authority.FetchedClientMetadata`: 0 for ``no-store``/``no-cache``, None when silent."""
    if not header:
        return None
    if _NO_CACHE.search(header):
        return 0
    match = _MAX_AGE.search(header)
    return int(match.group(1)) if match else None


def cache_lifetime(config: OAuthConfig, max_age: int | None) -> int:
    """§4.2: respect the document's caching headers, within this server's bounds."""
    if max_age is None:
        return config.client_metadata_ttl
    return max(config.client_metadata_min_ttl, min(max_age, config.client_metadata_max_ttl))
