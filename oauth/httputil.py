"""Reading request bodies safely and writing the JSON responses the OAuth RFCs expect."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

MAX_FORM_BYTES = 64 * 1024
MAX_FORM_FIELDS = 64

# RFC 6749 §5.1: responses carrying tokens or credentials must not be cached.
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class MalformedRequest(Exception):
    """The body cannot be read as the endpoint expects; the message says why."""

    def __init__(self, message: str, *, status_code: int = 400) -> None:
        super().__init__(message)
        self.status_code = status_code


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refusing more than ``limit`` bytes without reading them all."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            too_large = int(declared) > limit
        except ValueError:
            raise MalformedRequest("Content-Length is not a number") from None
        if too_large:
            raise MalformedRequest(f"the request body exceeds {limit} bytes", status_code=413)
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            raise MalformedRequest(f"the request body exceeds {limit} bytes", status_code=413)
    return bytes(body)


class FormParameters:
    """``application/x-www-form-urlencoded`` parameters (RFC 6749 Appendix B).

    RFC 6749 §3.1/§3.2: a parameter sent without a value is treated as omitted, and
    a parameter must not appear more than once.
    """

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self._values: dict[str, list[str]] = {}
        for name, value in pairs:
            self._values.setdefault(name, []).append(value)

    def get(self, name: str) -> str | None:
        """The parameter's value, None when absent or empty; `MalformedRequest` when repeated."""
        values = [value for value in self._values.get(name, []) if value != ""]
        if len(values) > 1:
            raise MalformedRequest(f"the {name} parameter must not be repeated")
        return values[0] if values else None

    def __contains__(self, name: object) -> bool:
        return name in self._values


async def read_form(request: Request, *, limit: int = MAX_FORM_BYTES) -> FormParameters:
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise MalformedRequest("the request body must be application/x-www-form-urlencoded")
    body = await read_body(request, limit)
    try:
        pairs = parse_qsl(
            body.decode("utf-8"),
            keep_blank_values=True,
            errors="strict",
            max_num_fields=MAX_FORM_FIELDS,
        )
    except (UnicodeDecodeError, ValueError):
        raise MalformedRequest("the request body is not valid form data") from None
    return FormParameters(pairs)


def json_response(
    body: Mapping[str, Any], status_code: int = 200, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(dict(body), status_code=status_code, headers=dict(headers or {}))


def no_store_json(
    body: Mapping[str, Any], status_code: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    return json_response(body, status_code, {**NO_STORE, **(headers or {})})


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"
