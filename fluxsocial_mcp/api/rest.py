"""REST API v1 (``/api/v1``): each route is a method, a path and an operation name."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..core import keys
from ..core.caller import Caller
from ..core.ratelimit import RateLimiter
from ..core.service import Core
from ..errors import BadRequest, FluxError, MediaTooLarge, Unauthorized
from ..operations import OPERATIONS, REST_ONLY_OPERATIONS, Operation, invoke
from .rendering import error_response

MAX_BODY_BYTES = 1024 * 1024
# Where people put keys by mistake; a key there is refused, never used.
KEY_QUERY_PARAMS = ("api_key", "apikey", "key", "access_token", "token")

ROUTES: list[tuple[str, str, str]] = [
    ("GET", "/credits/balance", "get_credit_balance"),
    ("GET", "/credits/cost-preview", "preview_cost"),
    ("GET", "/businesses", "list_businesses"),
    ("GET", "/accounts", "list_accounts"),
    ("POST", "/content", "generate_content"),
    ("POST", "/content/upload-media", "upload_media"),
    ("GET", "/content/{suggestionId}", "get_content"),
    ("POST", "/content/{suggestionId}/image", "generate_image"),
    ("POST", "/content/{suggestionId}/post", "post_content"),
    ("POST", "/content/{suggestionId}/retry", "retry_failed_targets"),
    ("DELETE", "/content/{suggestionId}/post", "cancel_scheduled_post"),
    ("POST", "/content/{suggestionId}/schedule", "schedule_content"),
    ("GET", "/content/{suggestionId}/status", "check_post_status"),
    ("GET", "/schedule/optimal-time", "get_optimal_time"),
    ("POST", "/video", "generate_video"),
    ("GET", "/video/{operationId}", "check_video_status"),
]


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def authenticate(core: Core, limiter: RateLimiter, request: Request) -> Caller:
    """The caller behind ``Authorization: Bearer <key>``; 401 for anything else."""
    address = client_address(request)
    await limiter.check_auth_allowed(address)
    if any(name in request.query_params for name in KEY_QUERY_PARAMS):
        raise Unauthorized("API keys are accepted only in the Authorization header (Bearer), never in the URL")
    scheme, _, secret = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise Unauthorized("Missing API key: send Authorization: Bearer fsx_live_…")
    async with core.db.transaction() as session:
        record = await keys.find_active_key(session, secret.strip(), core.now())
        caller = keys.caller_for_key(record) if record is not None else None
    if caller is None:
        await limiter.record_auth_failure(address)
        raise Unauthorized("Invalid, revoked or expired API key")
    return caller


async def read_json_body(request: Request) -> Any:
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise MediaTooLarge(f"The request body exceeds {MAX_BODY_BYTES} bytes")
    if not body.strip():
        return {}
    try:
        return json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BadRequest(f"Malformed JSON body: {exc}") from None
    except RecursionError:
        raise BadRequest("Malformed JSON body: nested too deeply") from None


def endpoint(core: Core, limiter: RateLimiter, operation: Operation, method: str):  # type: ignore[no-untyped-def]
    async def handle(request: Request) -> Response:
        try:
            caller = await authenticate(core, limiter, request)
            if method in ("GET", "DELETE"):
                arguments: Any = dict(request.query_params)
            else:
                arguments = await read_json_body(request)
                if not isinstance(arguments, dict):
                    raise BadRequest("The request body must be a JSON object")
            # The path names the resource; it wins over any body field of the same name.
            arguments = {**arguments, **request.path_params}
            result, status = await invoke(core, limiter, operation, caller, arguments)
        except FluxError as exc:
            return error_response(exc)
        return JSONResponse(result.render(), headers=status.headers())

    handle.__name__ = operation.name
    return handle


def rest_routes(core: Core, limiter: RateLimiter) -> list[Route]:
    operations = {**OPERATIONS, **REST_ONLY_OPERATIONS}
    return [
        Route(path, endpoint(core, limiter, operations[name], method), methods=[method], name=name)
        for method, path, name in ROUTES
    ]
