"""What the ``oauth`` package needs from the service: our API keys, and a safe fetcher."""

from __future__ import annotations

from urllib.parse import urlsplit

from oauth import FetchedClientMetadata, KeyGrant, OAuthConfig, max_age_from_cache_control
from oauth.crypto import derive_key

from .config import Settings
from .core import keys
from .core.caller import ALL_SCOPES
from .core.service import Core
from .media.fetch import FetchPolicy, fetch_json
from .models import ApiKey

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")
# Client ID Metadata Documents are small; anything larger is not one.
MAX_CLIENT_METADATA_BYTES = 32 * 1024


class ApiKeyAuthority:
    """``oauth.KeyAuthority`` over FluxSocial's API keys."""

    def __init__(self, core: Core) -> None:
        self.core = core

    async def verify_api_key(self, secret: str) -> KeyGrant | None:
        async with self.core.db.transaction() as session:
            record = await keys.find_active_key(session, secret.strip(), self.core.now())
            if record is None:
                return None
            return KeyGrant(key_id=record.id, user_id=record.user_id, scopes=frozenset(record.scopes))

    async def key_is_active(self, key_id: str) -> bool:
        async with self.core.db.transaction() as session:
            record = await session.get(ApiKey, key_id)
            return record is not None and keys.key_is_live(record, self.core.now())


class ClientMetadataFetcher:
    """Fetches Client ID Metadata Documents with the SSRF protection of media uploads."""

    def __init__(self, settings: Settings) -> None:
        policy = FetchPolicy.from_settings(settings)
        # A metadata document should answer fast; it gates an interactive sign-in.
        self.policy = FetchPolicy(
            max_image_bytes=policy.max_image_bytes,
            max_video_bytes=policy.max_video_bytes,
            timeout_seconds=min(policy.timeout_seconds, 10.0),
            allow_private=policy.allow_private,
            ca_bundle=policy.ca_bundle,
        )

    async def __call__(self, url: str) -> FetchedClientMetadata:
        document, headers = await fetch_json(url, self.policy, max_bytes=MAX_CLIENT_METADATA_BYTES, field="client_id")
        if not isinstance(document, dict):
            raise ValueError("a client metadata document must be a JSON object")
        return FetchedClientMetadata(document=document, max_age=max_age_from_cache_control(headers.get("cache-control")))


def oauth_config(settings: Settings) -> OAuthConfig:
    return OAuthConfig(
        issuer=settings.public_url,
        resource=settings.mcp_url,
        sealing_key=derive_key(settings.server_secret(), "oauth"),
        scopes_supported=ALL_SCOPES,
        access_token_ttl=settings.oauth_access_token_ttl_seconds,
        refresh_token_ttl=settings.oauth_refresh_token_ttl_seconds,
        cors_origins=tuple(settings.allowed_origins),
    )


def allowed_hosts(settings: Settings) -> list[str]:
    """Host headers ``/api/mcp`` answers: the public URL's, and loopback when it is local."""
    host = urlsplit(settings.public_url).netloc
    hosts = [host]
    if urlsplit(settings.public_url).hostname in ("127.0.0.1", "localhost", "::1"):
        hosts += [f"{loopback}:*" for loopback in LOOPBACK_HOSTS] + list(LOOPBACK_HOSTS)
    return hosts


def allowed_origins(settings: Settings) -> list[str]:
    """Browser origins ``/api/mcp`` answers; a loopback origin matches any port."""
    parts = urlsplit(settings.public_url)
    origins = [f"{parts.scheme}://{parts.netloc}"]
    for origin in settings.allowed_origins:
        origin = origin.rstrip("/")
        origins.append(origin)
        if urlsplit(origin).hostname in ("127.0.0.1", "localhost", "::1") and urlsplit(origin).port is None:
            origins.append(f"{origin}:*")
    return origins
