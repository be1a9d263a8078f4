"""FluxSocial's OAuth 2.1 authorization server, for the MCP endpoint.

One module per concern, named after what it implements::

    metadata        RFC 8414 server metadata, RFC 9728 protected resource metadata
    registration    RFC 7591 dynamic client registration
    cimd            Client ID Metadata Documents (https URLs as client_id)
    clients         which client a client_id names (registered, or a metadata document)
    redirect_uris   RFC 6749 §3.1.2 / RFC 8252 redirect URI policy
    authorize       RFC 6749 §4.1 + RFC 7636 PKCE + RFC 8707 + RFC 9207
    consent         the consent page and its signed, CSRF-bound form
    token           RFC 6749 §4.1.3 / §6 grants, refresh rotation and replay detection
    revocation      RFC 7009
    client_auth     RFC 6749 §2.3 client authentication
    verifier        bearer tokens at the MCP endpoint (the SDK's TokenVerifier)
    bearer          RFC 6750 / RFC 9728 WWW-Authenticate challenges
    indicators      RFC 8707 resource comparison
    grants          revoking a key's tokens, Connected AI apps, gateway mode, purging
    cors            the CORS allow-list for browser clients
    crypto          digests of codes and tokens, AES-GCM sealing of the API key
    store, models   storage behind the OAuthStore Protocol

The service wires it with `create_oauth_routes`, passing an `OAuthStore`, a
`KeyAuthority` over its API keys and its SSRF-safe metadata fetcher.
"""

from .authority import ClientMetadataFetcher, FetchedClientMetadata, KeyAuthority, KeyGrant
from .bearer import insufficient_scope_challenge, invalid_token_challenge, missing_token_challenge
from .cimd import max_age_from_cache_control
from .config import DEFAULT_CORS_ORIGINS, OAuthConfig
from .cors import CorsPolicy
from .grants import ConnectedApp, OAuthGrants
from .metadata import build_authorization_server_metadata, build_protected_resource_metadata
from .models import (
    OAUTH_TABLES,
    OAuthAccessToken,
    OAuthAuthorizationCode,
    OAuthClient,
    OAuthGrant,
    OAuthRefreshToken,
)
from .paths import (
    AUTHORIZATION_PATH,
    AUTHORIZATION_SERVER_METADATA_PATH,
    PROTECTED_RESOURCE_METADATA_PATH,
    REGISTRATION_PATH,
    REVOCATION_PATH,
    TOKEN_PATH,
)
from .ratelimit import FailureLimiter, FixedWindowFailureLimiter
from .routes import create_oauth_routes
from .scopes import ALL_SCOPES
from .store import OAuthStore, SqlOAuthStore
from .verifier import OAuthTokenVerifier

__all__ = [
    "ALL_SCOPES",
    "AUTHORIZATION_PATH",
    "AUTHORIZATION_SERVER_METADATA_PATH",
    "DEFAULT_CORS_ORIGINS",
    "OAUTH_TABLES",
    "PROTECTED_RESOURCE_METADATA_PATH",
    "REGISTRATION_PATH",
    "REVOCATION_PATH",
    "TOKEN_PATH",
    "ClientMetadataFetcher",
    "ConnectedApp",
    "CorsPolicy",
    "FailureLimiter",
    "FetchedClientMetadata",
    "FixedWindowFailureLimiter",
    "KeyAuthority",
    "KeyGrant",
    "OAuthAccessToken",
    "OAuthAuthorizationCode",
    "OAuthClient",
    "OAuthConfig",
    "OAuthGrant",
    "OAuthGrants",
    "OAuthRefreshToken",
    "OAuthStore",
    "OAuthTokenVerifier",
    "SqlOAuthStore",
    "build_authorization_server_metadata",
    "build_protected_resource_metadata",
    "create_oauth_routes",
    "insufficient_scope_challenge",
    "invalid_token_challenge",
    "max_age_from_cache_control",
    "missing_token_challenge",
]
