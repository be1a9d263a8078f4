"""What every fake platform shares: request parsing, recording, routing and injected faults.

A fake is a small in-memory model of one platform's public HTTP API. It checks each
request the way the platform does (paths, fields, headers, tokens) and answers with the
platform's own response and error shapes; ``calls`` records every request for
assertions, and ``fail(operation, response)`` makes the next such call fail.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any
from urllib.parse import parse_qsl

import httpx


@dataclass
class Call:
    """One request as the fake saw it."""

    operation: str
    method: str
    host: str
    path: str
    query: dict[str, str]
    headers: httpx.Headers
    form: dict[str, str] = field(default_factory=dict)
    files: dict[str, tuple[str | None, bytes]] = field(default_factory=dict)
    json: Any = None
    content: bytes = b""

    @property
    def params(self) -> dict[str, str]:
        """Query and form fields together, as the Graph API reads them."""
        return {**self.query, **self.form}

    @property
    def bearer(self) -> str | None:
        value = self.headers.get("authorization", "")
        return value[7:] if value.lower().startswith("bearer ") else None


def parse(request: httpx.Request) -> Call:
    content = request.read()
    call = Call(
        operation="",
        method=request.method,
        host=request.url.host,
        path=request.url.path,
        query=dict(request.url.params.multi_items()),
        headers=request.headers,
        content=content,
    )
    kind = request.headers.get("content-type", "")
    if kind.startswith("application/x-www-form-urlencoded"):
        call.form = dict(parse_qsl(content.decode(), keep_blank_values=True))
    elif kind.startswith("application/json") and content:
        call.json = json.loads(content)
    elif kind.startswith("multipart/form-data"):
        message = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + kind.encode() + b"\r\n\r\n" + content)
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            payload = part.get_payload(decode=True) or b""
            filename = part.get_filename()
            if filename is None:
                call.form[name] = payload.decode()
            else:
                call.files[name] = (filename, payload)
    return call


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, json=body, headers=headers)


Handler = Callable[[Call, re.Match[str]], httpx.Response]


class FakePlatform:
    hosts: tuple[str, ...] = ()

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.faults: dict[str, list[httpx.Response]] = defaultdict(list)
        self.routes: list[tuple[str, re.Pattern[str], str, Handler]] = []

    def route(self, method: str, pattern: str, operation: str, handler: Handler) -> None:
        self.routes.append((method, re.compile(f"^{pattern}$"), operation, handler))

    def fail(self, operation: str, response: httpx.Response, times: int = 1) -> None:
        self.faults[operation].extend([response] * times)

    def handle(self, request: httpx.Request) -> httpx.Response:
        call = parse(request)
        for method, pattern, operation, handler in self.routes:
            match = pattern.match(call.path)
            if match and method == call.method:
                call.operation = operation
                self.calls.append(call)
                if self.faults[operation]:
                    return self.faults[operation].pop(0)
                return handler(call, match)
        call.operation = "unknown"
        self.calls.append(call)
        return self.unknown(call)

    def unknown(self, call: Call) -> httpx.Response:
        return json_response(404, {"error": f"no route {call.method} {call.path}"})

    def ops(self) -> list[str]:
        return [call.operation for call in self.calls]

    def called(self, operation: str) -> list[Call]:
        return [call for call in self.calls if call.operation == operation]


class FakePlatforms:
    """Every fake, behind one transport that routes by host."""

    def __init__(self, *fakes: FakePlatform) -> None:
        self.by_host = {host: fake for fake in fakes for host in fake.hosts}

    def handle(self, request: httpx.Request) -> httpx.Response:
        fake = self.by_host.get(request.url.host)
        if fake is None:
            return httpx.Response(502, text=f"no fake for {request.url.host}")
        return fake.handle(request)

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)
