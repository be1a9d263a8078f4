"""Client authentication at the token and revocation endpoints (RFC 6749 §2.3).

A client authenticates the way it registered (RFC 7591 ``token_endpoint_auth_method``):

- ``none``: a public client names itself with ``client_id`` and proves nothing;
  PKCE binds its code instead (RFC 7636).
- ``client_secret_basic``: HTTP Basic with the form-urlencoded id and secret (§2.3.1).
- ``client_secret_post``: ``client_id`` and ``client_secret`` in the body (§2.3.1).

A request must not use more than one method (§2.3).
"""

from __future__ import annotations

import binascii
from dataclasses import dataclass

from authlib.oauth2.rfc6749.util import extract_basic_authorization
from starlette.requests import Request

from .clients import ClientRegistry, UnknownClient
from .crypto import hash_secret, secrets_equal
from .errors import ClientAuthenticationError
from .httputil import FormParameters
from .models import OAuthClient


@dataclass
class ClientAuthenticator:
    clients: ClientRegistry

    async def authenticate(self, request: Request, params: FormParameters) -> OAuthClient:
        """The client making the request.

        Raises:
            ClientAuthenticationError: Unknown client, wrong or missing credentials,
                or credentials presented in a way the client did not register.
            MalformedRequest: A repeated parameter.
        """
        # Only HTTP Basic carries client credentials; other schemes are not ours to judge.
        uses_basic = request.headers.get("authorization", "")[:6].lower() == "basic "
        basic_id, basic_secret = _basic_credentials(request) if uses_basic else (None, None)
        if uses_basic and basic_id is None:
            raise ClientAuthenticationError("the Authorization header is not valid HTTP Basic", True)

        form_id = params.get("client_id")
        form_secret = params.get("client_secret")
        if basic_id is not None and form_id is not None and form_id != basic_id:
            raise ClientAuthenticationError("client_id does not match the Authorization header", True)
        if basic_id is not None and form_secret is not None:
            raise ClientAuthenticationError("use only one client authentication method", True)
        client_id = basic_id if basic_id is not None else form_id
        if not client_id:
            raise ClientAuthenticationError("client_id is required", uses_basic)

        try:
            client = await self.clients.resolve(client_id)
        except UnknownClient:
            raise ClientAuthenticationError("unknown client", uses_basic) from None

        method = client.token_endpoint_auth_method
        if method == "none":
            if basic_secret or form_secret:
                raise ClientAuthenticationError("this client is public and must not send a client secret", uses_basic)
            return client
        if method == "client_secret_basic":
            if basic_id is None:
                raise ClientAuthenticationError("this client must authenticate with HTTP Basic", True)
            presented = basic_secret
        elif method == "client_secret_post":
            if uses_basic:
                raise ClientAuthenticationError("this client must send client_secret in the request body", True)
            presented = form_secret
        else:  # a stored method this server no longer supports
            raise ClientAuthenticationError("unsupported client authentication method", uses_basic)

        challenge = method == "client_secret_basic"
        if not presented or client.client_secret_hash is None:
            raise ClientAuthenticationError("client authentication failed", challenge)
        if not secrets_equal(hash_secret(presented), client.client_secret_hash):
            raise ClientAuthenticationError("client authentication failed", challenge)
        return client


def _basic_credentials(request: Request) -> tuple[str | None, str | None]:
    try:
        client_id, secret = extract_basic_authorization(request.headers)
    except (UnicodeDecodeError, binascii.Error, ValueError):
        return None, None
    return client_id or None, secret
