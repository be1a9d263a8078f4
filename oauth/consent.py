"""The consent step: the page a person sees, and the form it posts back.

The authorization request travels through the page in one hidden field, signed
(itsdangerous, HMAC-SHA256 under a key derived from the server secret), time-limited
and bound to a CSRF cookie: the field holds the digest of the cookie's random value,
so a form posted from anywhere but the page this browser was shown is refused (the
OWASP "signed double-submit cookie"). The cookie is ``HttpOnly``, ``SameSite=Lax``
and, on https, ``Secure`` with the ``__Host-`` prefix.
"""

from __future__ import annotations

import functools
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from itsdangerous import BadData, SignatureExpired, URLSafeTimedSerializer
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from .config import OAuthConfig
from .crypto import derive_key, hash_secret, secrets_equal
from .models import OAuthClient
from .redirect_uris import is_loopback_redirect, redirect_host
from .scopes import describe

TEMPLATES_DIR = Path(__file__).parent / "templates"

_CSRF_TOKEN = re.compile(r"^[A-Za-z0-9_-]{43}$")

# Where the consent page sends someone who has no API key yet (the web app's
# Settings → API Keys; a signed-out visitor is asked to sign in first).
CREATE_KEY_URL = "/settings/api-keys/new"

# Pages that hold a consent form must never be framed (clickjacking), cached, or leak a referrer.
# They run no script; their stylesheet and icon are the web app's, from this origin.
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Pragma": "no-cache",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self' data:; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


@dataclass(frozen=True)
class AuthorizationRequest:
    """A validated authorization request (RFC 6749 §4.1.1, RFC 7636 §4.3, RFC 8707 §2)."""

    client_id: str
    redirect_uri: str
    redirect_uri_provided: bool
    # The known scopes asked for, in canonical order; None when none was asked for.
    scopes: tuple[str, ...] | None
    state: str | None
    code_challenge: str
    resource: str


class ConsentFormError(Exception):
    """The posted consent form cannot be trusted; ``status_code`` is 400 or 403."""

    def __init__(self, message: str, status_code: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code


class ConsentForm:
    def __init__(self, config: OAuthConfig) -> None:
        self._serializer = URLSafeTimedSerializer(
            derive_key(config.sealing_key, "fluxsocial/oauth/consent-form"),
            salt="fluxsocial.oauth.consent",
        )
        self._max_age = config.consent_ttl
        self._secure = config.is_https
        self.cookie_name = "__Host-fsx_oauth_csrf" if config.is_https else "fsx_oauth_csrf"

    @staticmethod
    def new_csrf_token() -> str:
        return secrets.token_urlsafe(32)

    def csrf_token(self, request: Request) -> str | None:
        """This browser's CSRF token, if it sent a well-formed one."""
        value = request.cookies.get(self.cookie_name)
        return value if value and _CSRF_TOKEN.match(value) else None

    def set_csrf_cookie(self, response: Response, csrf_token: str) -> None:
        response.set_cookie(
            self.cookie_name,
            csrf_token,
            max_age=self._max_age,
            path="/",
            secure=self._secure,
            httponly=True,
            samesite="lax",
        )

    def sign(self, request: AuthorizationRequest, csrf_token: str) -> str:
        return self._serializer.dumps(
            {
                "client_id": request.client_id,
                "redirect_uri": request.redirect_uri,
                "redirect_uri_provided": request.redirect_uri_provided,
                "scopes": list(request.scopes) if request.scopes is not None else None,
                "state": request.state,
                "code_challenge": request.code_challenge,
                "resource": request.resource,
                "csrf": hash_secret(csrf_token),
            }
        )

    def open(self, signed: str, csrf_token: str) -> AuthorizationRequest:
        """The request a consent form carries, if it is genuine, fresh and this browser's.

        Raises:
            ConsentFormError: expired or altered (400), or not bound to this browser's cookie (403).
        """
        try:
            payload = self._serializer.loads(signed, max_age=self._max_age)
        except SignatureExpired:
            raise ConsentFormError(
                "This approval page has expired. Start the connection again from your app."
            ) from None
        except BadData:
            raise ConsentFormError(
                "This approval form is not valid. Start the connection again from your app."
            ) from None
        if not isinstance(payload, dict) or not secrets_equal(str(payload.get("csrf", "")), hash_secret(csrf_token)):
            raise ConsentFormError(
                "This approval form was not opened in this browser. Start the connection again from your app.", 403
            )
        scopes = payload["scopes"]
        return AuthorizationRequest(
            client_id=payload["client_id"],
            redirect_uri=payload["redirect_uri"],
            redirect_uri_provided=payload["redirect_uri_provided"],
            scopes=tuple(scopes) if scopes is not None else None,
            state=payload["state"],
            code_challenge=payload["code_challenge"],
            resource=payload["resource"],
        )


class ConsentPages:
    """Renders the consent and error pages (Jinja2, autoescaped)."""

    def __init__(self, config: OAuthConfig, templates_dir: str | Path | None = None) -> None:
        self._env = _environment(str(templates_dir) if templates_dir is not None else None)
        self._config = config

    def consent(
        self,
        *,
        client: OAuthClient,
        request: AuthorizationRequest,
        signed_request: str,
        action: str,
        error: str | None = None,
        status_code: int = 200,
        headers: dict[str, str] | None = None,
    ) -> HTMLResponse:
        return self._render(
            "consent.html",
            {
                "client_name": client.client_name,
                "client_id_host": _client_id_host(client),
                "redirect_host": redirect_host(request.redirect_uri),
                "redirect_is_local": is_loopback_redirect(request.redirect_uri)
                or not request.redirect_uri.lower().startswith(("http://", "https://")),
                "scopes": [{"name": s, "description": describe(s)} for s in request.scopes or ()],
                "asks_for_everything": request.scopes is None,
                "signed_request": signed_request,
                "action": action,
                "error": error,
            },
            status_code,
            headers,
        )

    def error(
        self, message: str, *, title: str = "This connection can't continue", status_code: int = 400
    ) -> HTMLResponse:
        return self._render("error.html", {"title": title, "message": message}, status_code)

    def _render(
        self, name: str, context: dict[str, Any], status_code: int, headers: dict[str, str] | None = None
    ) -> HTMLResponse:
        html = self._env.get_template(name).render(
            resource_name=self._config.resource_name, create_key_url=CREATE_KEY_URL, **context
        )
        return HTMLResponse(html, status_code=status_code, headers={**PAGE_HEADERS, **(headers or {})})


@functools.lru_cache(maxsize=8)
def _environment(templates_dir: str | None) -> Environment:
    """One environment per template folder, so templates compile once per process."""
    search_path = [FileSystemLoader(templates_dir)] if templates_dir is not None else []
    return Environment(
        loader=ChoiceLoader([*search_path, FileSystemLoader(str(TEMPLATES_DIR))]),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _client_id_host(client: OAuthClient) -> str | None:
    """For a metadata document client, the domain that vouches for it."""
    if not client.is_metadata_document:
        return None
    return redirect_host(client.client_id)
