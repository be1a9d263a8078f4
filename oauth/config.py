"""The authorization server's configuration, read once by the service and passed in."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from pydantic import AnyHttpUrl, TypeAdapter, ValidationError
from pydantic import ConfigDict as PydanticConfig

from .paths import PROTECTED_RESOURCE_METADATA_PATH, well_known_url
from .scopes import ALL_SCOPES

LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "[::1]", "::1"})
DEFAULT_CORS_ORIGINS: tuple[str, ...] = ("https://claude.ai", "https://claude.com")

# The MCP SDK parses issuers with this adapter; an issuer that survives it unchanged
# compares equal, as a plain string, wherever a client meets it (RFC 8414 §3.3).
_URL = TypeAdapter(AnyHttpUrl, config=PydanticConfig(url_preserve_empty_path=True))


@dataclass(frozen=True, kw_only=True)
class OAuthConfig:
    """Settings of the authorization server.

    Attributes:
        issuer: The public URL of the service, without a trailing slash. It is the
            RFC 8414 ``issuer``, the RFC 9207 ``iss`` and ``authorization_servers[0]``
            of the resource metadata, byte for byte.
        resource: The protected resource (RFC 8707 / RFC 9728), e.g. ``{issuer}/api/mcp``;
            every access token is bound to it.
        sealing_key: 32 bytes; seals the API key inside grants with AES-256-GCM and,
            through HKDF, signs the consent form.
        resource_name: Human-readable name in the protected resource metadata.
        scopes_supported: The scopes this server knows.
        access_token_ttl / refresh_token_ttl / code_ttl: Lifetimes in seconds.
        consent_ttl: How long a consent page may stay open before its form expires.
        client_metadata_ttl: Cache lifetime of a Client ID Metadata Document when its
            fetcher reports no ``max-age``; ``client_metadata_min_ttl`` and
            ``client_metadata_max_ttl`` bound a reported one.
        cors_origins: Browser origins allowed to call the metadata, registration,
            token and revocation endpoints, besides the issuer's own origin (``"*"``
            allows every origin).
        cors_allow_loopback: Also allow ``http(s)://localhost|127.0.0.1|[::1]`` on any
            port (MCP Inspector and other local developer tools).
        max_redirect_uris: Cap on ``redirect_uris`` in one registration.
        service_documentation: Optional URL advertised in RFC 8414 metadata.
    """

    issuer: str
    resource: str
    sealing_key: bytes = field(repr=False)
    resource_name: str = "FluxSocial MCP"
    scopes_supported: tuple[str, ...] = ALL_SCOPES
    access_token_ttl: int = 3600
    refresh_token_ttl: int = 30 * 24 * 3600
    code_ttl: int = 300
    consent_ttl: int = 900
    client_metadata_ttl: int = 3600
    client_metadata_min_ttl: int = 60
    client_metadata_max_ttl: int = 24 * 3600
    cors_origins: tuple[str, ...] = DEFAULT_CORS_ORIGINS
    cors_allow_loopback: bool = True
    max_redirect_uris: int = 20
    service_documentation: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "scopes_supported", tuple(self.scopes_supported))
        object.__setattr__(self, "cors_origins", tuple(self.cors_origins))
        _check_issuer(self.issuer)
        _check_resource(self.resource)
        if not isinstance(self.sealing_key, bytes) or len(self.sealing_key) != 32:
            raise ValueError("sealing_key must be exactly 32 bytes (AES-256-GCM)")
        if not self.scopes_supported:
            raise ValueError("scopes_supported must name at least one scope")
        for name in ("access_token_ttl", "refresh_token_ttl", "code_ttl", "consent_ttl", "client_metadata_ttl"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")
        if not 0 < self.client_metadata_min_ttl <= self.client_metadata_max_ttl:
            raise ValueError("client_metadata_min_ttl must be positive and at most client_metadata_max_ttl")

    @property
    def is_https(self) -> bool:
        return self.issuer.startswith("https://")

    @property
    def issuer_origin(self) -> str:
        parts = urlsplit(self.issuer)
        return f"{parts.scheme}://{parts.netloc}"

    def endpoint(self, path: str) -> str:
        """The absolute URL of one of this server's endpoints."""
        return self.issuer + path

    @property
    def resource_metadata_url(self) -> str:
        """Where the protected resource metadata of `resource` lives (RFC 9728 §3.1)."""
        return well_known_url(PROTECTED_RESOURCE_METADATA_PATH, self.resource)


def _check_issuer(issuer: str) -> None:
    # RFC 8414 §2: https, no query, no fragment. Plain http is allowed on loopback
    # so the embedded default works on a laptop.
    parts = urlsplit(issuer)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValueError(f"issuer must be an absolute http(s) URL: {issuer!r}")
    if parts.scheme == "http" and parts.hostname not in LOOPBACK_HOSTS:
        raise ValueError(f"issuer must use https unless it is a loopback address: {issuer!r}")
    if parts.query or parts.fragment or "#" in issuer or "?" in issuer:
        raise ValueError(f"issuer must not have a query or a fragment: {issuer!r}")
    if issuer.endswith("/"):
        raise ValueError(f"issuer must not end with a slash: {issuer!r}")
    try:
        canonical = str(_URL.validate_python(issuer))
    except ValidationError as exc:
        raise ValueError(f"issuer is not a valid URL: {issuer!r}") from exc
    if canonical != issuer:
        raise ValueError(f"issuer must be written in canonical form ({canonical!r}), not {issuer!r}")


def _check_resource(resource: str) -> None:
    parts = urlsplit(resource)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValueError(f"resource must be an absolute http(s) URL: {resource!r}")
    # RFC 8707 §2: a resource indicator MUST NOT include a fragment.
    if "#" in resource:
        raise ValueError(f"resource must not have a fragment: {resource!r}")
