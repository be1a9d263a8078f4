"""``create_app``: composes the REST API, MCP, OAuth, web pages, media and health on one core."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import anyio
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.routing import Mount, Route

from oauth import CorsPolicy, OAuthConfig, OAuthGrants, OAuthTokenVerifier, SqlOAuthStore, create_oauth_routes

from .api.rendering import handle_flux_error, handle_http_exception, handle_unexpected
from .api.rest import rest_routes
from .authorization import ApiKeyAuthority, ClientMetadataFetcher, allowed_hosts, allowed_origins, oauth_config
from .config import Settings
from .core.mediastore import MediaStore
from .core.ratelimit import RateLimiter
from .core.service import Core
from .db import Database
from .errors import FluxError
from .mcp_http import McpGate
from .migrations import upgrade_database
from .platforms.registry import build_publishers
from .platforms.sandbox import SandboxPublisher
from .providers.registry import build_generators
from .scheduler import run_background_loops
from .tools import build_mcp_server
from .web.app import web_routes
from .web.connect import connect_routes
from .web.pages import page_routes

log = logging.getLogger(__name__)
MCP_PATH = "/api/mcp"


@dataclass
class Runtime:
    """Everything a running server holds: the core and the per-process services around it."""

    core: Core
    limiter: RateLimiter
    sandbox: SandboxPublisher
    oauth: OAuthConfig
    oauth_store: SqlOAuthStore
    grants: OAuthGrants
    keys: ApiKeyAuthority


def build_runtime(settings: Settings, db: Database | None = None) -> Runtime:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = db or Database(settings.resolved_database_url)
    sandbox = SandboxPublisher(db, settings.public_url, settings.sandbox_latency_ms)
    text, images, video = build_generators(settings)
    core = Core(
        settings=settings,
        db=db,
        text=text,
        images=images,
        video=video,
        publishers={"sandbox": sandbox},
        media=MediaStore(settings.media_dir, settings.public_url),
    )
    # Real platform adapters read the core's clock, so they are made once it exists.
    core.publishers = build_publishers(settings, db, sandbox, clock=lambda: core.now())
    config = oauth_config(settings)
    store = SqlOAuthStore(db.sessions)
    return Runtime(
        core=core,
        limiter=RateLimiter(settings),
        sandbox=sandbox,
        oauth=config,
        oauth_store=store,
        grants=OAuthGrants(config, store, clock=lambda: core.now()),
        keys=ApiKeyAuthority(core),
    )


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> Starlette:
    settings = settings or (runtime.core.settings if runtime else Settings())
    # A runtime handed in (tests, embedding) is its owner's to close.
    owns_runtime = runtime is None
    runtime = runtime or build_runtime(settings)
    core = runtime.core

    session_manager = StreamableHTTPSessionManager(
        app=build_mcp_server(core, runtime.limiter),
        # Stateless: any replica answers any request, nothing to pin or resume.
        stateless=True,
        json_response=True,
        security_settings=TransportSecuritySettings(
            enable_dns_rebinding_protection=True,
            allowed_hosts=allowed_hosts(settings),
            allowed_origins=allowed_origins(settings),
        ),
    )
    verifier = OAuthTokenVerifier(runtime.oauth, runtime.oauth_store, runtime.keys, clock=lambda: core.now())
    gate = McpGate(core, runtime.limiter, session_manager, verifier, runtime.oauth)
    mcp_endpoint = CorsPolicy.from_config(runtime.oauth).wrap(gate, ["GET", "POST", "DELETE"])

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await upgrade_database(core.db)
        async with session_manager.run(), anyio.create_task_group() as group:
            if settings.scheduler_enabled:
                group.start_soon(run_background_loops, core)
            try:
                yield
            finally:
                group.cancel_scope.cancel()
        if owns_runtime:
            await core.db.dispose()

    routes = [
        Route(MCP_PATH, mcp_endpoint, methods=["GET", "POST", "DELETE", "OPTIONS"]),
        Mount("/api/v1", routes=rest_routes(core, runtime.limiter)),
        *create_oauth_routes(
            runtime.oauth,
            runtime.oauth_store,
            runtime.keys,
            ClientMetadataFetcher(settings),
            clock=lambda: core.now(),
        ),
        *page_routes(core.media, runtime.sandbox),
        *web_routes(runtime),
        *connect_routes(runtime),
    ]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={
            HTTPException: handle_http_exception, FluxError: handle_flux_error, Exception: handle_unexpected,
        },
    )
    app.state.runtime = runtime
    return app
