"""RFC 8707 Resource Indicators: which resource a token is for."""

from __future__ import annotations

from urllib.parse import urlsplit

_DEFAULT_PORTS = {"http": 80, "https": 443}


def canonical_resource(uri: str) -> str | None:
    """``uri`` with scheme and host lower-cased, the default port and a trailing slash
    dropped, so equivalent spellings compare equal; None if it is not an absolute URI
    without a fragment (RFC 8707 §2)."""
    try:
        parts = urlsplit(uri)
        port = parts.port
    except ValueError:
        return None
    if not parts.scheme or not parts.hostname or "#" in uri:
        return None
    scheme = parts.scheme.lower()
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port in (None, _DEFAULT_PORTS.get(scheme)) else f"{host}:{port}"
    path = parts.path.rstrip("/")
    query = f"?{parts.query}" if parts.query else ""
    return f"{scheme}://{netloc}{path}{query}"


def same_resource(a: str, b: str) -> bool:
    canonical_a = canonical_resource(a)
    return canonical_a is not None and canonical_a == canonical_resource(b)
