"""The one place a ``FluxError`` becomes an HTTP response."""

from __future__ import annotations

import logging

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ..errors import FluxError, MethodNotAllowed, NotFound

log = logging.getLogger(__name__)


def error_response(exc: FluxError) -> JSONResponse:
    headers = exc.headers()
    if exc.rate_limit is not None:
        headers.update(exc.rate_limit.headers())
    return JSONResponse(exc.to_body(), status_code=exc.status, headers=headers)


async def handle_http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        error: FluxError = NotFound(f"No such endpoint: {request.method} {request.url.path}")
    elif exc.status_code == 405:
        error = MethodNotAllowed(f"Method {request.method} is not allowed on {request.url.path}")
    else:
        error = FluxError(exc.detail)
        error.status = exc.status_code
    response = error_response(error)
    if exc.headers:
        response.headers.update(exc.headers)
    return response


async def handle_flux_error(request: Request, exc: Exception) -> Response:
    """A domain error that escaped an edge's own handling (a web form, the OAuth endpoints)."""
    assert isinstance(exc, FluxError)
    return error_response(exc)


async def handle_unexpected(request: Request, exc: Exception) -> Response:
    # The traceback goes to the log, never to the client.
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return error_response(FluxError())
