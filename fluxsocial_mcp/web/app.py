"""The web app: sign up and sign in, and Settings (API keys, connected AI apps, credits,
businesses), server-rendered with Jinja2 and served by the API's own process.

Every asset is served from ``/static`` by this process: the pages work with no
internet. Each page route carries its own session middleware (`security`), so the
REST API and the MCP endpoint never read or set a session cookie.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

from .account import account_routes
from .auth import auth_routes
from .businesses import business_routes
from .keys import key_routes
from .site import STATIC_DIR, Site

if TYPE_CHECKING:
    from ..app import Runtime

STATIC_PATH = "/static"


def web_routes(runtime: Runtime) -> list[BaseRoute]:
    site = Site(runtime)
    return [
        *auth_routes(site),
        *key_routes(site),
        *account_routes(site),
        *business_routes(site),
        Mount(STATIC_PATH, app=StaticFiles(directory=str(STATIC_DIR)), name="static"),
    ]
