"""Which redirect URIs a client may register, and which request matches a registration.

- RFC 6749 §3.1.2: an absolute URI without a fragment.
- OAuth 2.1 §1.5 / RFC 9700 §4.1: https, except for native apps.
- RFC 8252 §7.3: native apps may use loopback ``http``; the port is chosen when the
  app starts, so any port matches the registered one. Like the MCP clients that
  register ``http://localhost:…``, this server treats ``localhost`` as loopback too.
- RFC 8252 §7.1: native apps may use a private-use scheme (``cursor://``, ``vscode://``).
- Schemes that run code or read local data in a browser are always refused.
"""

from __future__ import annotations

import re
from urllib.parse import SplitResult, urlsplit

from .config import LOOPBACK_HOSTS
from .errors import RegistrationError

MAX_REDIRECT_URI_LENGTH = 2000

# Schemes a browser would execute, render or hand to something other than an app.
FORBIDDEN_SCHEMES = frozenset(
    {
        "javascript",
        "data",
        "file",
        "vbscript",
        "blob",
        "about",
        "filesystem",
        "view-source",
        "mailto",
        "tel",
        "sms",
        "ftp",
        "ws",
        "wss",
    }
)

# RFC 3986 §3.1.
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*$")
_CONTROL_OR_SPACE = re.compile(r"[\x00-\x20\x7f]")


class InvalidRedirectUri(ValueError):
    """A redirect URI this server will not register; the message says why."""


def check_redirect_uri(uri: str) -> None:
    """Raise `InvalidRedirectUri` unless ``uri`` may be registered as a redirect URI."""
    if not uri:
        raise InvalidRedirectUri("redirect URIs must not be empty")
    if len(uri) > MAX_REDIRECT_URI_LENGTH:
        raise InvalidRedirectUri(f"redirect URIs must be at most {MAX_REDIRECT_URI_LENGTH} characters")
    if _CONTROL_OR_SPACE.search(uri):
        raise InvalidRedirectUri(f"{uri!r} contains spaces or control characters")
    if "#" in uri:
        raise InvalidRedirectUri(f"{uri!r} must not contain a fragment")
    scheme, _, _ = uri.partition(":")
    if not _SCHEME.match(scheme) or ":" not in uri:
        raise InvalidRedirectUri(f"{uri!r} is not an absolute URI")
    scheme = scheme.lower()
    if scheme in FORBIDDEN_SCHEMES:
        raise InvalidRedirectUri(f"{uri!r} uses the {scheme}: scheme, which is not allowed for redirects")
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError as exc:
        raise InvalidRedirectUri(f"{uri!r} is not a valid URI") from exc
    if scheme in ("http", "https"):
        if not parts.hostname:
            raise InvalidRedirectUri(f"{uri!r} has no host")
        if parts.username is not None or parts.password is not None:
            raise InvalidRedirectUri(f"{uri!r} must not contain a user name or password")
        if scheme == "http" and parts.hostname not in LOOPBACK_HOSTS:
            raise InvalidRedirectUri(
                f"{uri!r} uses http on a non-loopback host; use https, or http on localhost, 127.0.0.1 or [::1]"
            )
        return
    # A private-use scheme (RFC 8252 §7.1): anything after the scheme is the app's business.
    if uri[len(scheme) + 1 :] in ("", "/", "//"):
        raise InvalidRedirectUri(f"{uri!r} has nothing after its scheme")


def is_loopback_redirect(uri: str) -> bool:
    parts = urlsplit(uri)
    return parts.scheme.lower() == "http" and parts.hostname in LOOPBACK_HOSTS


def redirect_uri_matches(registered: str, requested: str) -> bool:
    """Whether ``requested`` is the ``registered`` redirect URI.

    Simple string comparison (RFC 6749 §3.1.2.3, OAuth 2.1 §2.3.1), except that a
    loopback http URI matches on any port (RFC 8252 §7.3).
    """
    if requested == registered:
        return True
    if not (is_loopback_redirect(registered) and is_loopback_redirect(requested)):
        return False
    a, b = urlsplit(registered), urlsplit(requested)
    try:
        a.port, b.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        return False
    return _without_port(a) == _without_port(b)


def registered_redirect_uri(registered: list[str], requested: str) -> bool:
    return any(redirect_uri_matches(uri, requested) for uri in registered)


def redirect_host(uri: str) -> str:
    """What the consent page shows as the destination: the host, or the app scheme."""
    parts = urlsplit(uri)
    if parts.scheme.lower() in ("http", "https"):
        return parts.hostname or uri
    return f"{parts.scheme}://{parts.netloc}" if parts.netloc else f"{parts.scheme}:"


def check_redirect_uris(uris: object, *, limit: int) -> list[str]:
    """Validate the ``redirect_uris`` member of client metadata (RFC 7591 §2)."""
    if not isinstance(uris, list) or not uris:
        raise RegistrationError("invalid_redirect_uri", "redirect_uris must be a non-empty array of strings")
    if len(uris) > limit:
        raise RegistrationError("invalid_redirect_uri", f"redirect_uris may list at most {limit} URIs")
    checked: list[str] = []
    for uri in uris:
        if not isinstance(uri, str):
            raise RegistrationError("invalid_redirect_uri", "redirect_uris must be a non-empty array of strings")
        try:
            check_redirect_uri(uri)
        except InvalidRedirectUri as exc:
            raise RegistrationError("invalid_redirect_uri", str(exc)) from exc
        if uri not in checked:
            checked.append(uri)
    return checked


def _without_port(parts: SplitResult) -> tuple[str, str | None, str, str]:
    return (parts.scheme.lower(), parts.hostname, parts.path, parts.query)
