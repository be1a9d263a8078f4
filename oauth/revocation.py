"""The revocation endpoint (RFC 7009).

Revoking a refresh token revokes its whole family (the grant and every token issued
from it, §2.1 "SHOULD also invalidate all access tokens based on the same
authorization grant"); revoking an access token revokes that token. An unknown
token, or one issued to another client, gets the same 200 (§2.2), so the endpoint
reveals nothing about tokens a client does not own.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from .client_auth import ClientAuthenticator
from .clock import Clock
from .crypto import ACCESS_TOKEN_PREFIX, REFRESH_TOKEN_PREFIX, hash_secret
from .errors import ClientAuthenticationError, RevocationError
from .httputil import NO_STORE, MalformedRequest, no_store_json, read_form
from .models import OAuthClient
from .store import OAuthStore

MAX_TOKEN_LENGTH = 512


@dataclass
class RevocationHandler:
    store: OAuthStore
    authenticator: ClientAuthenticator
    clock: Clock

    async def handle(self, request: Request) -> Response:
        try:
            params = await read_form(request)
        except MalformedRequest as exc:
            return no_store_json(RevocationError("invalid_request", str(exc)).to_body(), exc.status_code)
        try:
            client = await self.authenticator.authenticate(request, params)
            token = params.get("token")
            hint = params.get("token_type_hint")
        except ClientAuthenticationError as exc:
            headers = {"WWW-Authenticate": 'Basic realm="oauth"'} if exc.challenge_basic else None
            return no_store_json(exc.to_body(), 401, headers)
        except MalformedRequest as exc:
            return no_store_json(RevocationError("invalid_request", str(exc)).to_body(), 400)
        if token is None:
            return no_store_json(RevocationError("invalid_request", "token is required").to_body(), 400)
        if len(token) <= MAX_TOKEN_LENGTH:
            await self._revoke(client, token, hint)
        return Response(status_code=200, headers=NO_STORE)

    async def _revoke(self, client: OAuthClient, token: str, hint: str | None) -> None:
        # §2.1: the hint only orders the lookups; an unknown hint is ignored. The
        # token's prefix says what it is anyway.
        refresh_first = hint == "refresh_token" or token.startswith(REFRESH_TOKEN_PREFIX)
        if token.startswith(ACCESS_TOKEN_PREFIX):
            refresh_first = False
        lookups = (self._revoke_refresh, self._revoke_access)
        for revoke in lookups if refresh_first else reversed(lookups):
            if await revoke(client, token):
                return

    async def _revoke_access(self, client: OAuthClient, token: str) -> bool:
        record = await self.store.get_access_token(hash_secret(token))
        if record is None:
            return False
        if record.client_id == client.client_id:
            await self.store.revoke_access_token(record.id, self.clock())
        return True

    async def _revoke_refresh(self, client: OAuthClient, token: str) -> bool:
        record = await self.store.get_refresh_token(hash_secret(token))
        if record is None:
            return False
        if record.client_id == client.client_id:
            await self.store.revoke_family(record.family_id, self.clock())
        return True
