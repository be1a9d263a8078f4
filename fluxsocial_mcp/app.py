"""``create_app``: composes the REST API, MCP, OAuth, web pages, media and health on one core."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import anyio
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.routing import Mount

from .api.rendering import handle_http_exception, handle_unexpected
from .api.rest import rest_routes
from .config import Settings
from .core.mediastore import MediaStore
from .core.ratelimit import RateLimiter
from .core.service import Core
from .db import Database
from .migrations import upgrade_database
from .platforms.sandbox import SandboxPublisher
from .providers.offline_image import OfflineImageGenerator
from .providers.offline_text import OfflineTextGenerator
from .providers.offline_video import OfflineVideoGenerator
from .scheduler import run_background_loops
from .web.pages import page_routes

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    """Everything a running server holds: the core and the per-process helpers around it."""

    core: Core
    limiter: RateLimiter
    sandbox: SandboxPublisher


def build_runtime(settings: Settings, db: Database | None = None) -> Runtime:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = db or Database(settings.resolved_database_url)
    sandbox = SandboxPublisher(db, settings.public_url)
    core = Core(
        settings=settings,
        db=db,
        text=OfflineTextGenerator(),
        images=OfflineImageGenerator(),
        video=OfflineVideoGenerator(),
        publishers={"sandbox": sandbox},
        media=MediaStore(settings.media_dir, settings.public_url),
    )
    return Runtime(core=core, limiter=RateLimiter(settings), sandbox=sandbox)


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> Starlette:
    settings = settings or (runtime.core.settings if runtime else Settings())
    # A runtime handed in (tests, embedding) is its owner's to close.
    owns_runtime = runtime is None
    runtime = runtime or build_runtime(settings)
    core = runtime.core

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await upgrade_database(core.db)
        async with anyio.create_task_group() as group:
            if settings.scheduler_enabled:
                group.start_soon(run_background_loops, core)
            try:
                yield
            finally:
                group.cancel_scope.cancel()
        if owns_runtime:
            await core.db.dispose()

    routes = [
        Mount("/api/v1", routes=rest_routes(core, runtime.limiter)),
        *page_routes(core.media, runtime.sandbox),
    ]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={HTTPException: handle_http_exception, Exception: handle_unexpected},
    )
    app.state.runtime = runtime
    return app
