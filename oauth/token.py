"""The token endpoint (RFC 6749 §3.2): the authorization_code grant (§4.1.3, with
PKCE, RFC 7636 §4.5 and §4.6) and the refresh_token grant (§6) with rotation and replay
detection (OAuth 2.1 §4.3.1, RFC 9700 §4.14.2).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from authlib.oauth2.rfc7636 import create_s256_code_challenge
from starlette.requests import Request
from starlette.responses import Response

from .authority import KeyAuthority
from .client_auth import ClientAuthenticator
from .clock import Clock
from .config import OAuthConfig
from .crypto import Sealer, SealError, code_seal_context, generate_id, grant_seal_context, hash_secret, secrets_equal
from .errors import ClientAuthenticationError, TokenError
from .httputil import FormParameters, MalformedRequest, no_store_json, read_form
from .indicators import same_resource
from .models import OAuthAuthorizationCode, OAuthClient, OAuthGrant
from .redirect_uris import redirect_uri_matches
from .scopes import format_scope, in_canonical_order, parse_scope
from .store import OAuthStore
from .tokens import TokenBinding, TokenResponse, new_access_token, new_refresh_token

# RFC 7636 §4.1: 43 to 128 unreserved characters.
CODE_VERIFIER = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")
MAX_TOKEN_LENGTH = 512


def error_response(error: TokenError | ClientAuthenticationError) -> Response:
    """RFC 6749 §5.2. A failed client authentication is a 401, and when the client
    tried HTTP Basic the response challenges it the same way."""
    if isinstance(error, ClientAuthenticationError):
        headers = {"WWW-Authenticate": 'Basic realm="oauth"'} if error.challenge_basic else None
        return no_store_json(error.to_body(), 401, headers)
    return no_store_json(error.to_body(), 400)


@dataclass
class TokenHandler:
    config: OAuthConfig
    store: OAuthStore
    authenticator: ClientAuthenticator
    keys: KeyAuthority
    sealer: Sealer
    clock: Clock

    async def handle(self, request: Request) -> Response:
        try:
            params = await read_form(request)
        except MalformedRequest as exc:
            return no_store_json(TokenError("invalid_request", str(exc)).to_body(), exc.status_code)
        try:
            client = await self.authenticator.authenticate(request, params)
            grant_type = params.get("grant_type")
            if grant_type is None:
                raise TokenError("invalid_request", "grant_type is required")
            if grant_type not in ("authorization_code", "refresh_token"):
                raise TokenError("unsupported_grant_type", f"grant_type {grant_type} is not supported")
            if grant_type not in client.grant_types:
                raise TokenError("unauthorized_client", f"this client is not registered for {grant_type}")
            if grant_type == "authorization_code":
                tokens = await self._authorization_code(client, params)
            else:
                tokens = await self._refresh_token(client, params)
        except (TokenError, ClientAuthenticationError) as exc:
            return error_response(exc)
        except MalformedRequest as exc:
            return error_response(TokenError("invalid_request", str(exc)))
        return no_store_json(tokens.to_body())

    async def _authorization_code(self, client: OAuthClient, params: FormParameters) -> TokenResponse:
        code = params.get("code")
        verifier = params.get("code_verifier")
        if code is None:
            raise TokenError("invalid_request", "code is required")
        if verifier is None:
            raise TokenError("invalid_request", "code_verifier is required (PKCE, RFC 7636)")
        if not CODE_VERIFIER.match(verifier):
            raise TokenError("invalid_request", "code_verifier must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~")
        now = self.clock()
        record = await self.store.get_authorization_code(hash_secret(code)) if len(code) <= MAX_TOKEN_LENGTH else None
        if record is None:
            raise TokenError("invalid_grant", "the authorization code is invalid")
        if record.consumed_at is not None:
            await self._revoke_tokens_of(record, now)
            raise TokenError("invalid_grant", "the authorization code was already used")
        if record.client_id != client.client_id:
            raise TokenError("invalid_grant", "the authorization code is invalid")
        if record.expires_at <= now:
            raise TokenError("invalid_grant", "the authorization code has expired")
        self._check_redirect_uri(record, params.get("redirect_uri"))
        resource = params.get("resource")
        if resource is not None and not same_resource(resource, record.resource):
            raise TokenError("invalid_target", "resource does not match the authorization request")
        # RFC 7636 §4.6, compared in constant time.
        if not secrets_equal(create_s256_code_challenge(verifier), record.code_challenge):
            raise TokenError("invalid_grant", "code_verifier does not match the code_challenge")
        if not await self.keys.key_is_active(record.key_id):
            raise TokenError("invalid_grant", "the API key behind this authorization is no longer active")

        try:
            api_key = self.sealer.unseal(record.sealed_api_key, context=code_seal_context(record.id))
        except SealError:
            raise TokenError("invalid_grant", "the authorization code is invalid") from None
        grant_id = generate_id("ogr_")
        grant = OAuthGrant(
            id=grant_id,
            client_id=record.client_id,
            user_id=record.user_id,
            key_id=record.key_id,
            scope=record.scope,
            resource=record.resource,
            sealed_api_key=self.sealer.seal(api_key, context=grant_seal_context(grant_id)),
            created_at=now,
            last_used_at=now,
        )
        binding = _binding(grant)
        access_token, access_row = new_access_token(self.config, binding, record.scope, now)
        refresh_token, refresh_row = None, None
        if "refresh_token" in client.grant_types:
            refresh_token, refresh_row = new_refresh_token(self.config, binding, record.scope, now)
        if not await self.store.redeem_authorization_code(record.id, grant, access_row, refresh_row, now):
            # Lost a race with another exchange of the same code: that is a replay too.
            replayed = await self.store.get_authorization_code(record.code_hash)
            if replayed is not None:
                await self._revoke_tokens_of(replayed, now)
            raise TokenError("invalid_grant", "the authorization code was already used")
        return TokenResponse(access_token, self.config.access_token_ttl, record.scope, refresh_token)

    async def _refresh_token(self, client: OAuthClient, params: FormParameters) -> TokenResponse:
        token = params.get("refresh_token")
        if token is None:
            raise TokenError("invalid_request", "refresh_token is required")
        now = self.clock()
        record = await self.store.get_refresh_token(hash_secret(token)) if len(token) <= MAX_TOKEN_LENGTH else None
        if record is None or record.client_id != client.client_id:
            raise TokenError("invalid_grant", "the refresh token is invalid")
        if record.revoked_at is not None:
            raise TokenError("invalid_grant", "the refresh token was revoked")
        if record.rotated_at is not None:
            # RFC 9700 §4.14.2: a rotated token coming back means it leaked; whoever
            # holds the family (attacker or client) loses it.
            await self.store.revoke_family(record.family_id, now)
            raise TokenError("invalid_grant", "the refresh token was already used; the authorization is revoked")
        if record.expires_at <= now:
            raise TokenError("invalid_grant", "the refresh token has expired")
        resource = params.get("resource")
        if resource is not None and not same_resource(resource, record.resource):
            raise TokenError("invalid_target", "resource does not match the authorization")

        granted = parse_scope(record.scope)
        scope_param = params.get("scope")
        requested = parse_scope(scope_param) if scope_param is not None else granted
        # RFC 6749 §6: a refresh may narrow the scope, never widen it.
        wider = [scope for scope in requested if scope not in granted]
        if wider:
            raise TokenError("invalid_scope", f"the authorization does not include {' '.join(wider)}")

        grant = await self.store.get_grant(record.family_id)
        if grant is None or grant.revoked_at is not None:
            raise TokenError("invalid_grant", "the authorization was revoked")
        if not await self.keys.key_is_active(grant.key_id):
            raise TokenError("invalid_grant", "the API key behind this authorization is no longer active")
        # The sealed key is re-derived and checked again, so scopes removed from the key
        # since the consent leave new access tokens too.
        try:
            api_key = self.sealer.unseal(grant.sealed_api_key, context=grant_seal_context(grant.id))
        except SealError:
            raise TokenError("invalid_grant", "the authorization is no longer valid") from None
        key = await self.keys.verify_api_key(api_key)
        if key is None or key.key_id != grant.key_id:
            raise TokenError("invalid_grant", "the API key behind this authorization is no longer active")
        scopes = in_canonical_order(set(requested) & key.scopes, self.config.scopes_supported)
        if not scopes:
            raise TokenError("invalid_scope", "the API key no longer holds any of these scopes")

        binding = _binding(grant)
        access_token, access_row = new_access_token(self.config, binding, format_scope(scopes), now)
        refresh_token, refresh_row = new_refresh_token(self.config, binding, record.scope, now)
        if not await self.store.rotate_refresh_token(record.id, access_row, refresh_row, now):
            await self.store.revoke_family(record.family_id, now)
            raise TokenError("invalid_grant", "the refresh token was already used; the authorization is revoked")
        return TokenResponse(access_token, self.config.access_token_ttl, format_scope(scopes), refresh_token)

    def _check_redirect_uri(self, record: OAuthAuthorizationCode, redirect_uri: str | None) -> None:
        """RFC 6749 §4.1.3: required, and identical, when the authorization request had it."""
        if record.redirect_uri_provided:
            if redirect_uri is None:
                raise TokenError("invalid_request", "redirect_uri is required")
            if redirect_uri != record.redirect_uri:
                raise TokenError("invalid_grant", "redirect_uri does not match the authorization request")
        elif redirect_uri is not None and not redirect_uri_matches(record.redirect_uri, redirect_uri):
            raise TokenError("invalid_grant", "redirect_uri does not match the authorization request")

    async def _revoke_tokens_of(self, record: OAuthAuthorizationCode, now: datetime) -> None:
        """OAuth 2.1 §4.1.3: a code used twice revokes the tokens issued from it."""
        if record.grant_id is not None:
            await self.store.revoke_family(record.grant_id, now)


def _binding(grant: OAuthGrant) -> TokenBinding:
    return TokenBinding(
        family_id=grant.id,
        client_id=grant.client_id,
        user_id=grant.user_id,
        key_id=grant.key_id,
        resource=grant.resource,
    )
