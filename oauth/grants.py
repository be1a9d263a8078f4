"""Managing grants from the rest of the product: a revoked API key, the
"Connected AI apps" page, gateway mode and housekeeping."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .clock import Clock, utcnow
from .config import OAuthConfig
from .crypto import ACCESS_TOKEN_PREFIX, Sealer, SealError, grant_seal_context, hash_secret
from .indicators import same_resource
from .scopes import parse_scope
from .store import OAuthStore


@dataclass(frozen=True)
class ConnectedApp:
    """One grant as its owner sees it."""

    grant_id: str
    client_id: str
    client_name: str
    scopes: list[str]
    key_id: str
    created_at: datetime
    last_used_at: datetime


class OAuthGrants:
    def __init__(self, config: OAuthConfig, store: OAuthStore, *, clock: Clock = utcnow) -> None:
        self._config = config
        self._store = store
        self._sealer = Sealer(config.sealing_key)
        self._clock = clock

    async def revoke_key_tokens(self, key_id: str) -> int:
        """Revoke every grant, token and pending code made with an API key; returns how many grants.

        The token verifier already refuses tokens of an inactive key; this makes the
        revocation permanent even if the key were ever reactivated.
        """
        return await self._store.revoke_key_grants(key_id, self._clock())

    async def list_user_grants(self, user_id: str) -> list[ConnectedApp]:
        grants = await self._store.list_user_grants(user_id)
        names: dict[str, str] = {}
        for grant in grants:
            if grant.client_id not in names:
                client = await self._store.get_client(grant.client_id)
                names[grant.client_id] = client.client_name if client is not None else grant.client_id
        return [
            ConnectedApp(
                grant_id=grant.id,
                client_id=grant.client_id,
                client_name=names[grant.client_id],
                scopes=parse_scope(grant.scope),
                key_id=grant.key_id,
                created_at=grant.created_at,
                last_used_at=grant.last_used_at,
            )
            for grant in grants
        ]

    async def revoke_user_grant(self, user_id: str, grant_id: str) -> bool:
        """Disconnect one app; False when the user has no such active grant."""
        grant = await self._store.get_grant(grant_id)
        if grant is None or grant.user_id != user_id or grant.revoked_at is not None:
            return False
        await self._store.revoke_family(grant_id, self._clock())
        return True

    async def api_key_for_access_token(self, token: str) -> str | None:
        """The API key behind a valid access token, for gateway mode; None otherwise.

        The caller must still check the key itself is active (``OAuthTokenVerifier`` does).
        """
        if not token.startswith(ACCESS_TOKEN_PREFIX):
            return None
        record = await self._store.get_access_token(hash_secret(token))
        now = self._clock()
        if record is None or record.revoked_at is not None or record.expires_at <= now:
            return None
        if not same_resource(record.resource, self._config.resource):
            return None
        grant = await self._store.get_grant(record.family_id)
        if grant is None or grant.revoked_at is not None:
            return None
        try:
            return self._sealer.unseal(grant.sealed_api_key, context=grant_seal_context(grant.id))
        except SealError:
            return None

    async def purge_expired(self) -> int:
        """Delete expired codes and tokens, and revoked grants with nothing left; returns rows deleted."""
        return await self._store.delete_expired(self._clock())
