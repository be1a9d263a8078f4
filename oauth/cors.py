"""Cross-origin access for browser-based clients (the Fetch standard's CORS protocol).

Browser clients such as MCP Inspector read the metadata, register, exchange codes
and revoke tokens from another origin. Origins are checked against an allow-list
(the issuer's own origin, the configured origins, and loopback on any port) rather
than ``*``: the spec of this product asks for it, and no legitimate client runs in
a page elsewhere. No credentials (cookies) are ever allowed cross-origin.

Requests from an origin that is not allowed get no CORS headers, so the browser
hides the response; state-changing endpoints refuse them outright with 403, since
such a request can only come from a page this server does not trust.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .config import LOOPBACK_HOSTS, OAuthConfig

ALLOW_HEADERS: tuple[str, ...] = (
    "Authorization",
    "Content-Type",
    "MCP-Protocol-Version",
    "Mcp-Session-Id",
    "Last-Event-ID",
)
EXPOSE_HEADERS: tuple[str, ...] = ("WWW-Authenticate", "Mcp-Session-Id")


def _origin_key(origin: str) -> str:
    return origin.strip().rstrip("/").lower()


@dataclass(frozen=True)
class CorsPolicy:
    allowed_origins: frozenset[str]
    allow_any_origin: bool = False
    allow_loopback: bool = True
    allow_headers: tuple[str, ...] = ALLOW_HEADERS
    expose_headers: tuple[str, ...] = EXPOSE_HEADERS
    max_age: int = 600

    @classmethod
    def from_config(cls, config: OAuthConfig) -> CorsPolicy:
        origins = {_origin_key(config.issuer_origin), *(_origin_key(o) for o in config.cors_origins)}
        return cls(
            allowed_origins=frozenset(origins - {"*"}),
            allow_any_origin="*" in origins,
            allow_loopback=config.cors_allow_loopback,
        )

    def is_allowed(self, origin: str) -> bool:
        if self.allow_any_origin:
            return origin != "null"
        key = _origin_key(origin)
        if key in self.allowed_origins:
            return True
        if not self.allow_loopback:
            return False
        try:
            parts = urlsplit(key)
            parts.port  # noqa: B018 - raises ValueError on a malformed port
        except ValueError:
            return False
        return parts.scheme in ("http", "https") and parts.hostname in LOOPBACK_HOSTS and not parts.path

    def wrap(self, app: ASGIApp, methods: Sequence[str], *, refuse_disallowed: bool = False) -> ASGIApp:
        """``app`` behind this policy, answering preflight requests for ``methods``."""
        return _CorsApp(self, app, tuple(methods), refuse_disallowed)

    def response_headers(self, origin: str) -> dict[str, str]:
        return {
            "Access-Control-Allow-Origin": origin,
            "Access-Control-Expose-Headers": ", ".join(self.expose_headers),
            "Vary": "Origin",
        }


class _CorsApp:
    def __init__(self, policy: CorsPolicy, app: ASGIApp, methods: tuple[str, ...], refuse_disallowed: bool) -> None:
        self.policy = policy
        self.app = app
        self.methods = methods
        self.refuse_disallowed = refuse_disallowed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        method = scope["method"]

        if method == "OPTIONS":
            await self._preflight(origin, headers)(scope, receive, send)
            return
        if origin is None:
            await self.app(scope, receive, send)
            return
        if not self.policy.is_allowed(origin):
            if self.refuse_disallowed:
                response = JSONResponse(
                    {"error": "invalid_request", "error_description": "requests from this origin are not allowed"},
                    status_code=403,
                    headers={"Vary": "Origin"},
                )
                await response(scope, receive, send)
            else:
                await self.app(scope, receive, send)
            return

        cors_headers = self.policy.response_headers(origin)

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                response_headers = MutableHeaders(scope=message)
                for name, value in cors_headers.items():
                    if name == "Vary":
                        response_headers.add_vary_header(value)
                    else:
                        response_headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_cors)

    def _preflight(self, origin: str | None, headers: Headers) -> Response:
        allow = ", ".join((*self.methods, "OPTIONS"))
        if origin is None or "access-control-request-method" not in headers:
            return Response(status_code=204, headers={"Allow": allow})
        if not self.policy.is_allowed(origin):
            return Response(status_code=403, headers={"Vary": "Origin"})
        requested = headers["access-control-request-method"].upper()
        if requested not in self.methods:
            return Response(status_code=405, headers={"Allow": allow, "Vary": "Origin"})
        return Response(
            status_code=204,
            headers={
                "Access-Control-Allow-Origin": origin,
                "Access-Control-Allow-Methods": allow,
                "Access-Control-Allow-Headers": ", ".join(self.policy.allow_headers),
                "Access-Control-Max-Age": str(self.policy.max_age),
                "Vary": "Origin",
            },
        )
