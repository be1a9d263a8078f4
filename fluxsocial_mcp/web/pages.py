"""Public pages: health, stored media, and the sandbox platform's post page."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from ..core.mediastore import MEDIA_PATH, MediaStore
from ..core.schemas import format_time
from ..errors import NotFound
from ..platforms.rules import RULES
from ..platforms.sandbox import SANDBOX_POST_PATH, SandboxPublisher
from ..api.rendering import error_response

templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
# A post page shows user text and our own media, and nothing else: no scripts, no framing.
SANDBOX_PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; img-src 'self'; media-src 'self'; style-src 'unsafe-inline'; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def page_routes(media: MediaStore, sandbox: SandboxPublisher) -> list[Route]:
    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def media_file(request: Request) -> Response:
        path = media.path_for(request.path_params["name"])
        if path is None:
            return error_response(NotFound("No such media"))
        # Names are unguessable and content never changes under a name.
        return FileResponse(path, headers={"Cache-Control": "public, max-age=31536000, immutable",
                                           "X-Content-Type-Options": "nosniff"})

    async def sandbox_post(request: Request) -> Response:
        post = await sandbox.get_post(request.path_params["post_id"])
        if post is None:
            return error_response(NotFound("No such sandbox post"))
        return templates.TemplateResponse(
            request,
            "sandbox_post.html",
            {"post": post, "platform_name": RULES[post.platform].name, "published": format_time(post.created_at)},
            headers=SANDBOX_PAGE_HEADERS,
        )

    return [
        Route("/healthz", healthz, methods=["GET"]),
        Route(f"{MEDIA_PATH}/{{name}}", media_file, methods=["GET", "HEAD"]),
        Route(f"{SANDBOX_POST_PATH}/{{post_id}}", sandbox_post, methods=["GET"]),
    ]
