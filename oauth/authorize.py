"""The authorization endpoint (RFC 6749 §4.1.1 to §4.1.2) with PKCE (RFC 7636),
resource indicators (RFC 8707) and the issuer in the response (RFC 9207).

``GET`` validates the request and shows the consent page; ``POST`` receives the
person's decision and the API key they pasted.

The client and its redirect URI are checked first: until both are known good,
errors are shown to the person, never sent to a redirect URI an attacker may have
chosen (RFC 6749 §4.1.2.1). Every later error goes back to the client.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from starlette.requests import Request
from starlette.responses import Response

from .authority import KeyAuthority
from .clients import ClientRegistry, UnknownClient
from .clock import Clock
from .config import OAuthConfig
from .consent import AuthorizationRequest, ConsentForm, ConsentFormError, ConsentPages
from .crypto import Sealer, code_seal_context
from .errors import AuthorizeError, InvalidClient
from .httputil import FormParameters, MalformedRequest, client_address, read_form
from .indicators import same_resource
from .models import OAuthAuthorizationCode, OAuthClient
from .ratelimit import FailureLimiter
from .redirect_uris import registered_redirect_uri
from .scopes import format_scope, grantable_scopes, in_canonical_order, parse_scope
from .store import OAuthStore
from .tokens import new_authorization_code

# RFC 7636 §4.2: BASE64URL(SHA256(verifier)) is always 43 characters.
S256_CHALLENGE = re.compile(r"^[A-Za-z0-9_-]{43}$")
MAX_STATE_LENGTH = 2000
MAX_API_KEY_LENGTH = 512


@dataclass
class AuthorizationHandler:
    config: OAuthConfig
    store: OAuthStore
    clients: ClientRegistry
    keys: KeyAuthority
    sealer: Sealer
    form: ConsentForm
    pages: ConsentPages
    limiter: FailureLimiter
    clock: Clock

    async def handle(self, request: Request) -> Response:
        if request.method == "POST":
            return await self.decide(request)
        return await self.ask(request)

    async def ask(self, request: Request) -> Response:
        """``GET``: validate the authorization request and show the consent page."""
        params = FormParameters(list(request.query_params.multi_items()))
        try:
            client, redirect_uri, provided = await self._client_and_redirect_uri(params)
        except InvalidClient as exc:
            return self.pages.error(exc.error_description)

        state = _best_effort_state(params)
        try:
            authorization = self._validate(params, client, redirect_uri, provided)
        except AuthorizeError as exc:
            return self._redirect(redirect_uri, exc.to_body(), state, 302)
        except MalformedRequest as exc:
            return self._redirect(redirect_uri, AuthorizeError("invalid_request", str(exc)).to_body(), state, 302)

        csrf_token = self.form.csrf_token(request) or self.form.new_csrf_token()
        response = self._consent_page(request, client, authorization, csrf_token)
        self.form.set_csrf_cookie(response, csrf_token)
        return response

    async def decide(self, request: Request) -> Response:
        """``POST``: the person approved (with an API key) or denied."""
        try:
            params = await read_form(request)
            signed = params.get("request")
            action = params.get("action")
            api_key = params.get("api_key")
        except MalformedRequest:
            return self.pages.error("The approval form could not be read.")
        csrf_token = self.form.csrf_token(request)
        if csrf_token is None:
            return self.pages.error(
                "Your browser did not send the security cookie of this page. Allow cookies for this site, "
                "then start the connection again from your app.",
                status_code=403,
            )
        if not signed:
            return self.pages.error("The approval form is incomplete.")
        try:
            authorization = self.form.open(signed, csrf_token)
        except ConsentFormError as exc:
            return self.pages.error(exc.message, status_code=exc.status_code)
        try:
            client = await self.clients.resolve(authorization.client_id)
        except UnknownClient as exc:
            return self.pages.error(f"The app can no longer be identified: {exc}.")
        if not registered_redirect_uri(client.redirect_uris, authorization.redirect_uri):
            return self.pages.error("The app no longer accepts this redirect URI.")

        if action == "deny":
            denied = AuthorizeError("access_denied", "The user denied the request")
            return self._redirect(authorization.redirect_uri, denied.to_body(), authorization.state)
        if action != "approve":
            return self.pages.error("Choose Approve or Deny.")

        def ask_again(error: str, status_code: int, headers: dict[str, str] | None = None) -> Response:
            page = self._consent_page(
                request, client, authorization, csrf_token, error=error, status_code=status_code, headers=headers
            )
            # The page carries a fresh form; keep the cookie it is bound to alive as long.
            self.form.set_csrf_cookie(page, csrf_token)
            return page

        address = client_address(request)
        retry_after = await self.limiter.retry_after(address)
        if retry_after is not None:
            minutes = math.ceil(retry_after / 60)
            return ask_again(
                f"Too many API keys were not accepted. Try again in {minutes} minute{'s' if minutes != 1 else ''}.",
                429,
                {"Retry-After": str(retry_after)},
            )
        if not api_key or not api_key.strip():
            return ask_again("Paste your FluxSocial API key to approve.", 400)
        api_key = api_key.strip()
        key = await self.keys.verify_api_key(api_key) if len(api_key) <= MAX_API_KEY_LENGTH else None
        if key is None:
            await self.limiter.record_failure(address)
            return ask_again(
                "That API key was not accepted. Check that you copied all of it and that it is not revoked or expired.",
                400,
            )

        scopes = grantable_scopes(authorization.scopes, key.scopes, self.config.scopes_supported)
        if not scopes:
            refused = AuthorizeError("invalid_scope", "The API key holds none of the requested scopes")
            return self._redirect(authorization.redirect_uri, refused.to_body(), authorization.state)

        now = self.clock()
        code, code_id, code_hash = new_authorization_code()
        await self.store.save_authorization_code(
            OAuthAuthorizationCode(
                id=code_id,
                code_hash=code_hash,
                client_id=client.client_id,
                redirect_uri=authorization.redirect_uri,
                redirect_uri_provided=authorization.redirect_uri_provided,
                code_challenge=authorization.code_challenge,
                resource=authorization.resource,
                scope=format_scope(scopes),
                user_id=key.user_id,
                key_id=key.key_id,
                sealed_api_key=self.sealer.seal(api_key, context=code_seal_context(code_id)),
                created_at=now,
                expires_at=now + timedelta(seconds=self.config.code_ttl),
            )
        )
        return self._redirect(authorization.redirect_uri, {"code": code}, authorization.state)

    async def _client_and_redirect_uri(self, params: FormParameters) -> tuple[OAuthClient, str, bool]:
        """Raises `InvalidClient` for anything that forbids redirecting back to the client."""
        try:
            client_id = params.get("client_id")
            redirect_uri = params.get("redirect_uri")
        except MalformedRequest as exc:
            raise InvalidClient(f"The request is malformed: {exc}.") from exc
        if client_id is None:
            raise InvalidClient("The request does not say which app is asking (client_id is missing).")
        try:
            client = await self.clients.resolve(client_id)
        except UnknownClient as exc:
            raise InvalidClient(f"The app asking for access is not known to this server: {exc}.") from exc
        if redirect_uri is None:
            # RFC 6749 §3.1.2.3: optional only when a single redirect URI is registered.
            if len(client.redirect_uris) != 1:
                raise InvalidClient("The request does not say where to return (redirect_uri is missing).")
            return client, client.redirect_uris[0], False
        if not registered_redirect_uri(client.redirect_uris, redirect_uri):
            raise InvalidClient("The app asked to return to an address it has not registered (redirect_uri).")
        return client, redirect_uri, True

    def _validate(
        self, params: FormParameters, client: OAuthClient, redirect_uri: str, provided: bool
    ) -> AuthorizationRequest:
        response_type = params.get("response_type")
        if response_type is None:
            raise AuthorizeError("invalid_request", "response_type is required")
        if response_type != "code":
            raise AuthorizeError("unsupported_response_type", "only response_type=code is supported")
        if "authorization_code" not in client.grant_types:
            raise AuthorizeError("unauthorized_client", "this client is not registered for authorization_code")

        code_challenge = params.get("code_challenge")
        method = params.get("code_challenge_method")
        if code_challenge is None:
            raise AuthorizeError("invalid_request", "code_challenge is required (PKCE, RFC 7636)")
        if method != "S256":
            raise AuthorizeError("invalid_request", "code_challenge_method must be S256")
        if not S256_CHALLENGE.match(code_challenge):
            raise AuthorizeError("invalid_request", "code_challenge must be the 43-character BASE64URL of a SHA-256")

        state = params.get("state")
        if state is not None and len(state) > MAX_STATE_LENGTH:
            raise AuthorizeError("invalid_request", f"state must be at most {MAX_STATE_LENGTH} characters")

        resource = params.get("resource")
        if resource is not None and not same_resource(resource, self.config.resource):
            raise AuthorizeError("invalid_target", f"this server only issues tokens for {self.config.resource}")

        requested = in_canonical_order(parse_scope(params.get("scope")), self.config.scopes_supported)
        return AuthorizationRequest(
            client_id=client.client_id,
            redirect_uri=redirect_uri,
            redirect_uri_provided=provided,
            scopes=tuple(requested) or None,
            state=state,
            code_challenge=code_challenge,
            resource=self.config.resource,
        )

    def _consent_page(
        self,
        request: Request,
        client: OAuthClient,
        authorization: AuthorizationRequest,
        csrf_token: str,
        *,
        error: str | None = None,
        status_code: int = 200,
        headers: dict[str, str] | None = None,
    ) -> Response:
        return self.pages.consent(
            client=client,
            request=authorization,
            signed_request=self.form.sign(authorization, csrf_token),
            action=request.url.path,
            error=error,
            status_code=status_code,
            headers=headers,
        )

    def _redirect(
        self, redirect_uri: str, params: dict[str, str], state: str | None, status_code: int = 303
    ) -> Response:
        """Back to the client, keeping the redirect URI's own query (RFC 6749 §3.1.2),
        with ``state`` and ``iss`` (RFC 9207 §2) on every response, errors included."""
        response_params = {**params, "state": state, "iss": self.config.issuer}
        return Response(
            status_code=status_code,
            headers={
                "Location": _with_query(redirect_uri, response_params),
                "Cache-Control": "no-store",
                "Referrer-Policy": "no-referrer",
            },
        )


def _with_query(uri: str, params: dict[str, str | None]) -> str:
    parts = urlsplit(uri)
    query = parse_qsl(parts.query, keep_blank_values=True)
    query.extend((name, value) for name, value in params.items() if value is not None)
    return urlunsplit(parts._replace(query=urlencode(query)))


def _best_effort_state(params: FormParameters) -> str | None:
    """The state to echo on an error redirect; a repeated or oversized one cannot be echoed."""
    try:
        state = params.get("state")
    except MalformedRequest:
        return None
    return state if state is not None and len(state) <= MAX_STATE_LENGTH else None
