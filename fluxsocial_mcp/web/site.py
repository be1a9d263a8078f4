"""What every web page shares: who is signed in, the CSRF check, rendering and error pages.

A page handler receives a `Visit` (the request, the signed-in user, the posted form)
and returns a response. `Site.page` wraps it so that no handler can forget the
checks: signed-out visitors are sent to sign in, every POST is refused (403)
without this session's CSRF token, and a domain error becomes an HTML page with
its status, never a stack trace.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.datastructures import FormData
from starlette.formparsers import MultiPartException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from ..core.schemas import format_time
from ..errors import BadRequest, FluxError, NotFound, RateLimited
from ..models import User
from .security import (
    CSRF_FIELD,
    csrf_matches,
    csrf_token,
    end_session,
    login_url,
    pop_flash,
    session_middleware,
    session_user_id,
)

if TYPE_CHECKING:
    from ..app import Runtime

log = logging.getLogger(__name__)

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"
# Our forms are a few short fields; anything bigger is not one of them.
MAX_FORM_FIELDS = 64
MAX_FORM_PART_BYTES = 16 * 1024
MAX_FORM_BODY_BYTES = 64 * 1024

Handler = Callable[["Visit"], Awaitable[Response]]


@dataclass(frozen=True)
class Visit:
    """One request to a web page."""

    request: Request
    user: User | None
    # The posted fields (POST only), already checked for the CSRF token.
    form: FormData | None

    @property
    def signed_in_user(self) -> User:
        assert self.user is not None, "the page requires a signed-in user"
        return self.user

    def field(self, name: str) -> str:
        """A posted text field, "" when absent (a file where text belongs counts as absent)."""
        value = self.form.get(name) if self.form is not None else None
        return value if isinstance(value, str) else ""

    def fields(self, name: str) -> list[str]:
        if self.form is None:
            return []
        return [value for value in self.form.getlist(name) if isinstance(value, str)]


def when(value: datetime | None, empty: str = "Never") -> str:
    """A time as people read it, in UTC: "6 Apr 2026, 12:00 UTC"."""
    if value is None:
        return empty
    value = value.astimezone(timezone.utc)
    return f"{value.day} {value:%b %Y, %H:%M} UTC"


def day(value: datetime | None, empty: str = "Never") -> str:
    if value is None:
        return empty
    value = value.astimezone(timezone.utc)
    return f"{value.day} {value:%b %Y}"


def clock(value: datetime | None) -> str:
    return f"{value.astimezone(timezone.utc):%H:%M} UTC" if value is not None else ""


def iso_time(value: datetime | None) -> str:
    return format_time(value) if value is not None else ""


def thousands(value: int) -> str:
    return f"{value:,}"


def signed_amount(value: int) -> str:
    return f"+{value:,}" if value > 0 else f"−{abs(value):,}" if value < 0 else "0"


class Site:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.core = runtime.core
        self.settings = runtime.core.settings
        self.templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
        self.templates.env.filters.update(
            when=when, day=day, clock=clock, iso_time=iso_time, thousands=thousands, signed_amount=signed_amount
        )
        self.middleware = session_middleware(self.settings)

    # -- routes ---------------------------------------------------------------------------

    def page(
        self, path: str, handler: Handler, *, methods: Collection[str] = ("GET",), signed_in: bool = True
    ) -> Route:
        """A route whose every request passes the sign-in and CSRF checks before ``handler``."""

        async def endpoint(request: Request) -> Response:
            user = None
            try:
                user = await self.current_user(request)
                return await self._serve(request, handler, user, signed_in)
            except FluxError as exc:
                return self.error_page(request, exc, user)

        endpoint.__name__ = handler.__name__
        return Route(
            path,
            endpoint,
            methods=list(methods),
            middleware=self.middleware,
            max_body_size=MAX_FORM_BODY_BYTES if "POST" in methods else None,
        )

    async def _serve(self, request: Request, handler: Handler, user: User | None, signed_in: bool) -> Response:
        if signed_in and user is None:
            # Only a GET can be repeated after sign-in; a POST's form is gone, so no way back.
            return RedirectResponse(login_url(request) if request.method == "GET" else "/login", status_code=303)
        form = None
        if request.method == "POST":
            try:
                form = await request.form(max_files=0, max_fields=MAX_FORM_FIELDS, max_part_size=MAX_FORM_PART_BYTES)
            except (MultiPartException, ClientDisconnect, UnicodeDecodeError, ValueError):
                unreadable = BadRequest("The form could not be read. Reload the page and try again.")
                return self.error_page(request, unreadable, user)
            if not csrf_matches(request, form.get(CSRF_FIELD)):
                return self.csrf_refused(request, user)
        return await handler(Visit(request, user, form))

    async def current_user(self, request: Request) -> User | None:
        user_id = session_user_id(request)
        if user_id is None:
            return None
        async with self.core.db.transaction() as session:
            user = await session.get(User, user_id)
        if user is None:
            # The account is gone: so is the session.
            end_session(request)
        return user

    # -- rendering ------------------------------------------------------------------------

    def render(
        self,
        visit: Visit,
        template: str,
        context: Mapping[str, Any] | None = None,
        *,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        return self._render(visit.request, visit.user, template, context, status_code, headers)

    def _render(
        self,
        request: Request,
        user: User | None,
        template: str,
        context: Mapping[str, Any] | None,
        status_code: int,
        headers: Mapping[str, str] | None,
    ) -> Response:
        page_context = {
            "user": user,
            "csrf_field": CSRF_FIELD,
            "csrf_token": csrf_token(request),
            "flash": pop_flash(request),
            "api_base_url": self.settings.api_base_url,
            "mcp_url": self.settings.mcp_url,
            **(context or {}),
        }
        return self.templates.TemplateResponse(
            request, template, page_context, status_code=status_code, headers=dict(headers or {})
        )

    def error_page(self, request: Request, error: FluxError, user: User | None = None) -> Response:
        titles = {400: "Something in the request was not right", 404: "Not found", 429: "Too many attempts"}
        if error.status >= 500:
            log.error("web page error on %s %s: %s", request.method, request.url.path, error.message)
        return self._render(
            request,
            user,
            "error.html",
            {"title": titles.get(error.status, "Something went wrong"), "message": error.message},
            error.status,
            error.headers() if isinstance(error, RateLimited) else None,
        )

    def csrf_refused(self, request: Request, user: User | None) -> Response:
        return self._render(
            request,
            user,
            "error.html",
            {
                "title": "This form can't be accepted",
                "message": (
                    "The form was missing its security token, or it came from an old or different page. "
                    "Nothing was changed. Go back, reload the page and try again."
                ),
            },
            403,
            None,
        )

    @staticmethod
    def redirect(url: str) -> Response:
        # 303: after a POST the browser GETs the next page, so reloading never re-posts.
        return RedirectResponse(url, status_code=303)


def not_found(what: str) -> NotFound:
    return NotFound(f"{what} was not found, or it belongs to another account.")
