"""What the authorization server needs from the rest of the product.

The service implements these with its own API keys and its SSRF-safe HTTP fetcher;
tests pass fakes. Nothing here imports the service.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class KeyGrant:
    """What a pasted API key grants: whose it is and what it may do."""

    key_id: str
    user_id: str
    scopes: frozenset[str]


class KeyAuthority(Protocol):
    async def verify_api_key(self, secret: str) -> KeyGrant | None:
        """Check an API key secret as pasted on the consent page.

        Args:
            secret: The full key secret (``fsx_live_…``).

        Returns:
            What the key grants, or None if it is unknown, revoked or expired.
        """
        ...

    async def key_is_active(self, key_id: str) -> bool:
        """Whether the key is still valid (not revoked, deleted nor expired).

        Asked on every bearer token check and every token grant, so revoking a key
        stops every token derived from it at once; it should be cheap.
        """
        ...


@dataclass(frozen=True)
class FetchedClientMetadata:
    """A Client ID Metadata Document and how long it may be cached.

    A fetcher may return this instead of a bare dict to pass on the ``max-age`` of the
    response's ``Cache-Control`` header (see `oauth.cimd.max_age_from_cache_control`).
    """

    document: Mapping[str, Any]
    max_age: int | None = None


ClientMetadataFetcher = Callable[[str], Awaitable[Mapping[str, Any] | FetchedClientMetadata]]
"""Fetches the JSON document at an https ``client_id`` URL.

It must refuse private, loopback, link-local and metadata addresses (directly, via DNS
or via redirects), bound size and time, and raise any exception on failure.
"""
