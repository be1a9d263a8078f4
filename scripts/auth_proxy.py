"""A loopback proxy that adds ``Authorization: Bearer <key>`` to every request.

The official MCP conformance suite sends no credentials; put this in front of a
running server to run it against the real, authenticated endpoint::

    python scripts/auth_proxy.py --upstream http://127.0.0.1:8000 --key fsx_live_… --port 8100
    ../shared/tools/mcp-conformance http://127.0.0.1:8100/api/mcp

Host and Origin pass through untouched, so the DNS-rebinding checks still see
what the suite sent.
"""

from __future__ import annotations

import argparse

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "content-length"}


def build(upstream: str, key: str) -> Starlette:
    client = httpx.AsyncClient(base_url=upstream, timeout=60)

    async def forward(request: Request) -> Response:
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        headers["authorization"] = f"Bearer {key}"
        answer = await client.request(
            request.method, request.url.path, params=request.query_params, headers=headers, content=await request.body()
        )
        kept = {k: v for k, v in answer.headers.items() if k.lower() not in HOP_BY_HOP | {"content-encoding"}}
        return Response(answer.content, status_code=answer.status_code, headers=kept)

    return Starlette(routes=[Route("/{path:path}", forward, methods=["GET", "POST", "DELETE", "OPTIONS"])])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--upstream", default="http://127.0.0.1:8000")
    parser.add_argument("--key", required=True)
    parser.add_argument("--port", type=int, default=8100)
    args = parser.parse_args()
    uvicorn.run(build(args.upstream, args.key), host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
