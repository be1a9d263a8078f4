"""The fifteen MCP tools: the same operations as REST, rendered as MCP tool results.

A tool call parses nothing itself: ``invoke`` validates the arguments with the
operation's input model, exactly as the REST edge does, so a bad argument gets
the same message in both. A domain failure is a tool result with ``isError``
whose structured content is the REST error body, never a protocol error.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import mcp_types as types
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel.server import Server
from mcp.shared.exceptions import MCPError

from . import __version__
from .core.caller import Caller
from .core.ratelimit import RateLimiter, RateLimitStatus
from .core.service import Core
from .errors import FluxError
from .operations import OPERATIONS, Operation, invoke

CALLER_SCOPE_KEY = "fluxsocial.caller"
RATE_LIMIT_SCOPE_KEY = "fluxsocial.rate_limit"
log = logging.getLogger(__name__)
INSTRUCTIONS = (
    "FluxSocial creates and publishes social media posts for the user's businesses. "
    "Typical flow: list_businesses → generate_content (20 credits) → generate_image (50 credits) → "
    "list_accounts → post_content or get_optimal_time + schedule_content → check_post_status. "
    "Check get_credit_balance or preview_cost before spending credits, and confirm with the user "
    "before publishing: posts are public."
)


def _input_schema(operation: Operation) -> dict[str, Any]:
    schema = operation.input.model_json_schema(by_alias=True)
    schema.pop("title", None)
    schema.setdefault("properties", {})
    return schema


def _output_schema(operation: Operation) -> dict[str, Any]:
    schema = operation.output.model_json_schema(by_alias=True, mode="serialization")
    schema.pop("title", None)
    return schema


def tool_definitions() -> list[types.Tool]:
    return [
        types.Tool(
            name=op.name,
            title=op.title,
            description=op.description,
            input_schema=_input_schema(op),
            output_schema=_output_schema(op),
            annotations=types.ToolAnnotations(
                title=op.title,
                read_only_hint=op.read_only,
                destructive_hint=op.destructive,
                idempotent_hint=op.idempotent,
                open_world_hint=op.open_world,
            ),
        )
        for op in OPERATIONS.values()
    ]


def error_result(error: FluxError) -> types.CallToolResult:
    body = error.to_body()
    extras = "".join(f" ({name}: {value})" for name, value in error.extras().items())
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=f"Error {error.status}: {error.message}{extras}")],
        structured_content=body,
        is_error=True,
    )


def success_result(data: dict[str, Any]) -> types.CallToolResult:
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=json.dumps(data, ensure_ascii=False, indent=2))],
        structured_content=data,
    )


def build_mcp_server(core: Core, limiter: RateLimiter) -> Server[Any]:
    tools = tool_definitions()

    async def list_tools(ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None) -> types.ListToolsResult:
        return types.ListToolsResult(tools=tools)

    async def call_tool(ctx: ServerRequestContext[Any], params: types.CallToolRequestParams) -> types.CallToolResult:
        operation = OPERATIONS.get(params.name)
        if operation is None:
            raise MCPError(code=types.INVALID_PARAMS, message=f"Unknown tool: {params.name}")
        caller = _caller(ctx)
        try:
            result, status = await invoke(core, limiter, operation, caller, params.arguments or {})
        except FluxError as error:
            _report_budget(ctx, error.rate_limit)
            return error_result(error)
        except Exception:
            # Whatever went wrong stays in our log; the client gets the REST 500, no internals.
            log.exception("tool %s failed", params.name)
            return error_result(FluxError())
        _report_budget(ctx, status)
        return success_result(result.render())

    return Server(
        "fluxsocial",
        version=__version__,
        title="FluxSocial",
        instructions=INSTRUCTIONS,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
    )


def _report_budget(ctx: ServerRequestContext[Any], status: RateLimitStatus | None) -> None:
    """Hand the call's rate-limit budget to the HTTP gate, which puts it in the response headers."""
    request = ctx.request
    if request is not None and status is not None:
        request.scope[RATE_LIMIT_SCOPE_KEY] = status


def _caller(ctx: ServerRequestContext[Any]) -> Caller:
    request = ctx.request
    caller = request.scope.get(CALLER_SCOPE_KEY) if request is not None else None
    if not isinstance(caller, Caller):
        # The HTTP gate authenticates every request before the transport sees it.
        raise MCPError(code=types.INTERNAL_ERROR, message="Unauthenticated tool call")
    return caller
