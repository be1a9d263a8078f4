"""Browser sessions, CSRF tokens and the headers every web page carries.

The session is Starlette's signed cookie (itsdangerous, HMAC) under a key derived
from the server secret for this one purpose, so it can never sign or open anything
else the server secret protects. It holds only the user id, the CSRF token and a
one-shot flash message; it is ``HttpOnly``, ``SameSite=Lax``, and ``Secure`` with
the ``__Host-`` prefix when the public URL is https.

CSRF: a random per-session token goes into every form and is compared in constant
time on every POST (the OWASP "synchronizer token" pattern); ``SameSite=Lax`` is a
second layer, not the defence.
"""

from __future__ import annotations

import hmac
import secrets
import time
from urllib.parse import quote, urlsplit

from starlette.datastructures import MutableHeaders
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from oauth.crypto import derive_key

from ..config import Settings

# A session ends 12 hours after sign-in, however busy: the cookie's own max-age
# restarts whenever the session is written, so the sign-in time is kept and checked too.
SESSION_MAX_AGE = 12 * 3600
SESSION_USER = "uid"
SESSION_SIGNED_IN_AT = "at"
SESSION_CSRF = "csrf"
SESSION_FLASH = "flash"
CSRF_FIELD = "csrf_token"
MAX_NEXT_LENGTH = 2000

# Pages and their assets come from this origin only; nothing inline runs, no
# page can be framed (clickjacking), and forms post only back here.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    # Settings pages show account data: never keep them in a shared or back-button cache.
    "Cache-Control": "no-store",
}


def wall_clock() -> float:
    # Real time, like the cookie signer's timestamps (the core's clock may be a test's).
    return time.time()


def session_cookie_name(settings: Settings) -> str:
    # __Host- makes browsers refuse the cookie unless Secure, host-only and path=/.
    return "__Host-fsx_session" if settings.public_url.startswith("https://") else "fsx_session"


def session_middleware(settings: Settings) -> list[Middleware]:
    """The middleware of every web route (and of those only: /api/* never sees a session)."""
    return [
        Middleware(PageHeaders),
        Middleware(
            SessionMiddleware,
            secret_key=derive_key(settings.server_secret(), "fluxsocial/web/session").hex(),
            session_cookie=session_cookie_name(settings),
            max_age=SESSION_MAX_AGE,
            same_site="lax",
            https_only=settings.public_url.startswith("https://"),
        ),
    ]


class PageHeaders:
    """Adds `PAGE_HEADERS` to a response that does not set them itself."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in PAGE_HEADERS.items():
                    if name not in headers:
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)


def csrf_token(request: Request) -> str:
    """This session's CSRF token, made on first use."""
    token = request.session.get(SESSION_CSRF)
    if not isinstance(token, str) or len(token) < 32:
        token = secrets.token_urlsafe(32)
        request.session[SESSION_CSRF] = token
    return token


def csrf_matches(request: Request, submitted: object) -> bool:
    expected = request.session.get(SESSION_CSRF)
    if not isinstance(expected, str) or not isinstance(submitted, str) or not submitted:
        return False
    return hmac.compare_digest(expected.encode(), submitted.encode())


def start_session(request: Request, user_id: str) -> None:
    """Sign in: a fresh session (new CSRF token), so nothing from before sign-in carries over."""
    request.session.clear()
    request.session[SESSION_USER] = user_id
    request.session[SESSION_SIGNED_IN_AT] = int(wall_clock())
    request.session[SESSION_CSRF] = secrets.token_urlsafe(32)


def session_user_id(request: Request) -> str | None:
    """The signed-in user's id, or None (never signed in, signed out, or signed in too long ago)."""
    user_id = request.session.get(SESSION_USER)
    signed_in_at = request.session.get(SESSION_SIGNED_IN_AT)
    if not isinstance(user_id, str) or not isinstance(signed_in_at, int):
        return None
    if not 0 <= wall_clock() - signed_in_at <= SESSION_MAX_AGE:
        end_session(request)
        return None
    return user_id


def end_session(request: Request) -> None:
    request.session.clear()


def flash(request: Request, text: str, kind: str = "success") -> None:
    request.session[SESSION_FLASH] = {"text": text, "kind": kind}


def pop_flash(request: Request) -> dict[str, str] | None:
    message = request.session.pop(SESSION_FLASH, None)
    return message if isinstance(message, dict) else None


def safe_next(value: str | None) -> str | None:
    """``value`` if it is a path on this site, else None (no open redirect).

    Only ``/path?query`` is honoured: ``//host``, ``/\\host`` (browsers read a
    backslash as a slash), schemes, hosts and control characters are all refused.
    """
    if not value or len(value) > MAX_NEXT_LENGTH or not value.startswith("/"):
        return None
    if value.startswith("//") or "\\" in value or any(ord(c) < 0x21 or c == "\x7f" for c in value):
        return None
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return None
    return value


def login_url(request: Request) -> str:
    """Where a signed-out visitor of this page is sent, coming back here after sign-in."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if safe_next(target) is None:
        return "/login"
    return "/login?next=" + quote(target, safe="/")
