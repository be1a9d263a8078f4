"""Checking bearer tokens at the MCP endpoint (RFC 6750), for the MCP SDK."""

from __future__ import annotations

from mcp.server.auth.provider import AccessToken

from .authority import KeyAuthority
from .clock import Clock, utcnow
from .config import OAuthConfig
from .crypto import ACCESS_TOKEN_PREFIX, hash_secret
from .indicators import same_resource
from .scopes import parse_scope
from .store import OAuthStore

MAX_TOKEN_LENGTH = 512


class OAuthTokenVerifier:
    """The MCP SDK's ``TokenVerifier`` for this server's access tokens.

    A token is accepted only if it is known, unexpired, unrevoked, issued for this
    resource (RFC 8707 audience) and its API key is still active, so revoking or
    deleting the key stops every token derived from it at once.
    """

    def __init__(self, config: OAuthConfig, store: OAuthStore, keys: KeyAuthority, *, clock: Clock = utcnow) -> None:
        self._config = config
        self._store = store
        self._keys = keys
        self._clock = clock

    async def verify_token(self, token: str) -> AccessToken | None:
        if not token.startswith(ACCESS_TOKEN_PREFIX) or len(token) > MAX_TOKEN_LENGTH:
            return None
        record = await self._store.get_access_token(hash_secret(token))
        if record is None or record.revoked_at is not None or record.expires_at <= self._clock():
            return None
        if not same_resource(record.resource, self._config.resource):
            return None
        if not await self._keys.key_is_active(record.key_id):
            return None
        return AccessToken(
            token=token,
            client_id=record.client_id,
            scopes=parse_scope(record.scope),
            expires_at=int(record.expires_at.timestamp()),
            resource=record.resource,
            subject=record.user_id,
            claims={"key_id": record.key_id, "user_id": record.user_id},
        )
