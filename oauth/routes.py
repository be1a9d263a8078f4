"""The authorization server's routes, ready to add to the service's Starlette app."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, request_response

from .authority import ClientMetadataFetcher, KeyAuthority
from .authorize import AuthorizationHandler
from .client_auth import ClientAuthenticator
from .clients import ClientRegistry
from .clock import Clock, utcnow
from .config import OAuthConfig
from .consent import ConsentForm, ConsentPages
from .cors import CorsPolicy
from .crypto import Sealer
from .metadata import (
    MetadataHandler,
    build_authorization_server_metadata,
    build_protected_resource_metadata,
    metadata_document,
)
from .paths import (
    AUTHORIZATION_PATH,
    AUTHORIZATION_SERVER_METADATA_PATH,
    PROTECTED_RESOURCE_METADATA_PATH,
    REGISTRATION_PATH,
    REVOCATION_PATH,
    TOKEN_PATH,
    well_known_path,
)
from .ratelimit import FailureLimiter, FixedWindowFailureLimiter
from .registration import RegistrationHandler
from .revocation import RevocationHandler
from .store import OAuthStore
from .token import TokenHandler


def create_oauth_routes(
    config: OAuthConfig,
    store: OAuthStore,
    keys: KeyAuthority,
    fetch_client_metadata: ClientMetadataFetcher,
    templates_dir: str | Path | None = None,
    *,
    failure_limiter: FailureLimiter | None = None,
    clock: Clock = utcnow,
) -> list[Route]:
    """Routes of the metadata, registration, authorization, token and revocation endpoints.

    Args:
        config: The server's settings.
        store: Where clients, codes, grants and tokens live.
        keys: Checks the API keys people paste on the consent page.
        fetch_client_metadata: The SSRF-safe fetcher of Client ID Metadata Documents.
        templates_dir: A folder whose ``consent.html`` / ``error.html`` override the
            package's own templates.
        failure_limiter: Limits wrong API keys per client address (default: 10 per 10
            minutes, in process memory).
        clock: The current time, aware UTC.
    """
    cors = CorsPolicy.from_config(config)
    sealer = Sealer(config.sealing_key)
    clients = ClientRegistry(config, store, fetch_client_metadata, clock)
    authenticator = ClientAuthenticator(clients)

    server_metadata = MetadataHandler(metadata_document(build_authorization_server_metadata(config)))
    resource_metadata = MetadataHandler(metadata_document(build_protected_resource_metadata(config)))
    authorization = AuthorizationHandler(
        config=config,
        store=store,
        clients=clients,
        keys=keys,
        sealer=sealer,
        form=ConsentForm(config),
        pages=ConsentPages(config, templates_dir),
        limiter=failure_limiter or FixedWindowFailureLimiter(),
        clock=clock,
    )
    registration = RegistrationHandler(config, store, clock)
    token = TokenHandler(config, store, authenticator, keys, sealer, clock)
    revocation = RevocationHandler(store, authenticator, clock)

    def get(handler: MetadataHandler, path: str) -> Route:
        return Route(path, cors.wrap(request_response(handler.handle), ["GET"]), methods=["GET", "OPTIONS"])

    def post(endpoint: Callable[[Request], Awaitable[Response]], path: str) -> Route:
        app = cors.wrap(request_response(endpoint), ["POST"], refuse_disallowed=True)
        return Route(path, app, methods=["POST", "OPTIONS"])

    resource_metadata_path = well_known_path(PROTECTED_RESOURCE_METADATA_PATH, config.resource)
    routes = [
        get(server_metadata, well_known_path(AUTHORIZATION_SERVER_METADATA_PATH, config.issuer)),
        get(resource_metadata, resource_metadata_path),
        Route(AUTHORIZATION_PATH, authorization.handle, methods=["GET", "POST"]),
        post(registration.handle, REGISTRATION_PATH),
        post(token.handle, TOKEN_PATH),
        post(revocation.handle, REVOCATION_PATH),
    ]
    if resource_metadata_path != PROTECTED_RESOURCE_METADATA_PATH:
        # Clients that look the document up at the root (before RFC 9728 §3.1's path
        # insertion was settled, or with the origin only) find it there too.
        routes.insert(2, get(resource_metadata, PROTECTED_RESOURCE_METADATA_PATH))
    return routes
