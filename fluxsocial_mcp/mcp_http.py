"""``/api/mcp``: the HTTP gate in front of the MCP SDK's Streamable HTTP transport.

The gate authenticates every request (an OAuth access token from our
authorization server, or an API key pasted straight into a client's headers),
answers 401 with the RFC 9728 discovery challenge, refuses a ``tools/call``
whose scope the token lacks with 403 ``insufficient_scope`` (MCP step-up
authorization, which must be an HTTP status, not a tool result), answers GET
with 405 since the stateless transport offers no stream, and hands the caller
to the tools through the ASGI scope.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from mcp.server.auth.provider import TokenVerifier
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Message, Receive, Scope, Send

from oauth.bearer import insufficient_scope_challenge, invalid_token_challenge, missing_token_challenge
from oauth.config import OAuthConfig

from .core import keys
from .core.caller import Caller
from .core.ratelimit import RateLimiter
from .core.service import Core
from .errors import RateLimited
from .models import ApiKey
from .api.rendering import error_response
from .operations import OPERATIONS
from .tools import CALLER_SCOPE_KEY, RATE_LIMIT_SCOPE_KEY

MAX_BODY_BYTES = 4 * 1024 * 1024


class McpGate:
    def __init__(
        self,
        core: Core,
        limiter: RateLimiter,
        session_manager: StreamableHTTPSessionManager,
        token_verifier: TokenVerifier,
        oauth_config: OAuthConfig,
    ) -> None:
        self.core = core
        self.limiter = limiter
        self.session_manager = session_manager
        self.token_verifier = token_verifier
        self.oauth = oauth_config

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        address = request.client.host if request.client else "unknown"
        try:
            await self.limiter.check_auth_allowed(address)
        except RateLimited as exc:
            await error_response(exc)(scope, receive, send)
            return
        token = _bearer_token(request)
        if token is None:
            response = self._challenge(missing_token_challenge(self.oauth), "unauthorized", "Authorization required")
            await response(scope, receive, send)
            return
        caller = await self.authenticate(token)
        if caller is None:
            await self.limiter.record_auth_failure(address)
            response = self._challenge(
                invalid_token_challenge(self.oauth), "invalid_token", "Invalid, expired or revoked access token"
            )
            await response(scope, receive, send)
            return
        if request.method == "GET":
            await Response(status_code=405, headers={"Allow": "POST"})(scope, receive, send)
            return
        if request.method == "POST":
            body = await _read_body(request)
            if body is None:
                await Response("Request body too large", status_code=413)(scope, receive, send)
                return
            missing = _missing_scope(body, caller)
            if missing is not None:
                challenge = insufficient_scope_challenge(
                    self.oauth, missing, description=f"This tool needs the {missing} scope"
                )
                await JSONResponse(
                    {"error": "insufficient_scope", "error_description": f"This tool needs the {missing} scope"},
                    status_code=403,
                    headers={"WWW-Authenticate": challenge},
                )(scope, receive, send)
                return
            receive = _replay(body, receive)
        scope[CALLER_SCOPE_KEY] = caller
        await self.session_manager.handle_request(scope, receive, self._with_budget(scope, caller, send))

    def _with_budget(self, scope: Scope, caller: Caller, send: Send) -> Send:
        """Add the X-RateLimit-* headers of the bucket the request used (a tool call's, else general)."""

        async def send_with_budget(message: Message) -> None:
            if message["type"] == "http.response.start":
                status = scope.get(RATE_LIMIT_SCOPE_KEY) or await self.limiter.peek(caller, "general")
                headers = MutableHeaders(scope=message)
                for name, value in status.headers().items():
                    headers[name] = value
            await send(message)

        return send_with_budget

    async def authenticate(self, token: str) -> Caller | None:
        """The caller behind an OAuth access token or a raw API key; None if neither is valid."""
        if token.startswith((keys.LIVE_PREFIX, keys.TEST_PREFIX)):
            async with self.core.db.transaction() as session:
                record = await keys.find_active_key(session, token, self.core.now())
                return keys.caller_for_key(record) if record is not None else None
        access = await self.token_verifier.verify_token(token)
        if access is None:
            return None
        key_id = (access.claims or {}).get("key_id")
        async with self.core.db.transaction() as session:
            record = await session.get(ApiKey, key_id) if key_id else None
            if record is None or not keys.key_is_live(record, self.core.now()):
                return None
            return keys.caller_for_key(record, frozenset(access.scopes))

    def _challenge(self, header: str, error: str, message: str) -> Response:
        return JSONResponse(
            {"error": error, "error_description": message},
            status_code=401,
            headers={"WWW-Authenticate": header},
        )


def _bearer_token(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


async def _read_body(request: Request) -> bytes | None:
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            return None
    return bytes(body)


def _tool_calls(message: Any) -> Iterable[str]:
    messages = message if isinstance(message, list) else [message]
    for item in messages:
        if isinstance(item, dict) and item.get("method") == "tools/call":
            params = item.get("params")
            if isinstance(params, dict) and isinstance(params.get("name"), str):
                yield params["name"]


def _missing_scope(body: bytes, caller: Caller) -> str | None:
    try:
        message = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        return None  # the transport answers malformed JSON-RPC itself
    for name in _tool_calls(message):
        operation = OPERATIONS.get(name)
        if operation is not None and operation.scope not in caller.scopes:
            return operation.scope
    return None


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands the already-read body to the transport, then defers to the client."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
