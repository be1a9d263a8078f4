"""The fifteen tools over real Streamable HTTP, with an API key as the bearer."""

from __future__ import annotations

import httpx
import httpx2
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

from fluxsocial_mcp.core import credits

from ..factories import make_tenant

EXPECTED_TOOLS = {
    "get_credit_balance", "preview_cost", "generate_content", "get_content", "generate_image",
    "generate_video", "check_video_status", "post_content", "schedule_content", "get_optimal_time",
    "cancel_scheduled_post", "check_post_status", "upload_media", "list_accounts", "list_businesses",
}


async def test_tools_run_the_same_operations_as_rest(live_server) -> None:
    tenant = await make_tenant(live_server.runtime.core)
    async with httpx2.AsyncClient(headers=tenant.headers, timeout=30) as http:
        async with streamable_http_client(f"{live_server.url}/api/mcp", http_client=http) as streams:
            async with ClientSession(*streams[:2]) as session:
                await session.initialize()
                listed = await session.list_tools()
                assert {t.name for t in listed.tools} == EXPECTED_TOOLS
                post = next(t for t in listed.tools if t.name == "post_content")
                assert post.annotations.destructive_hint is True
                assert post.output_schema["required"] == ["suggestionId", "results"]

                result = await session.call_tool("list_businesses", {})
                assert result.is_error is False
                assert result.structured_content == {"businesses": [
                    {"id": tenant.business_id, "name": "The Morning Cup", "type": "cafe", "industry": "food"}
                ]}

                generated = await session.call_tool(
                    "generate_content", {"prompt": "Latte art", "businessId": tenant.business_id, "suggestionCount": 2}
                )
                assert generated.structured_content["creditsUsed"] == 20
                assert generated.structured_content["balanceAfter"] == 4980
                assert len(generated.structured_content["suggestions"]) == 2

                bad = await session.call_tool("generate_content", {"prompt": "x", "businessId": tenant.business_id, "suggestionCount": 9})
                assert bad.is_error is True
                assert bad.structured_content == {"error": {
                    "message": "Invalid request: 'suggestionCount' input should be less than or equal to 6",
                    "status": 400,
                }}
    async with live_server.runtime.core.db.transaction() as session:
        assert await credits.get_balance(session, tenant.user_id) == 4980


async def _session_call(url: str, headers: dict[str, str], name: str, arguments: dict):  # type: ignore[no-untyped-def]
    async with httpx2.AsyncClient(headers=headers, timeout=30) as http:
        async with streamable_http_client(f"{url}/api/mcp", http_client=http) as streams:
            async with ClientSession(*streams[:2]) as session:
                await session.initialize()
                return await session.call_tool(name, arguments)


async def test_a_domain_failure_is_an_error_result_with_the_rest_body(live_server) -> None:
    tenant = await make_tenant(live_server.runtime.core, credits=10)
    result = await _session_call(
        live_server.url, tenant.headers, "generate_content", {"prompt": "Latte art", "businessId": tenant.business_id}
    )
    assert result.is_error is True
    assert result.structured_content == {"error": {
        "message": "Insufficient credits: this operation costs 20 credits, your balance is 10",
        "status": 402,
        "currentBalance": 10,
    }}
    assert result.content[0].text == (
        "Error 402: Insufficient credits: this operation costs 20 credits, your balance is 10 (currentBalance: 10)"
    )

    missing = await _session_call(live_server.url, tenant.headers, "get_content", {"suggestionId": "sug_nope"})
    assert missing.structured_content == {"error": {"message": "Content sug_nope not found", "status": 404}}


async def test_tools_and_rest_share_one_rate_limit_budget(live_server) -> None:
    tenant = await make_tenant(live_server.runtime.core)
    limiter = live_server.runtime.limiter
    budget = limiter.budgets[("api", "general")].amount
    async with httpx.AsyncClient(base_url=live_server.url, headers=tenant.headers) as http:
        for _ in range(budget - 1):
            assert (await http.get("/api/v1/credits/balance")).status_code == 200
    result = await _session_call(live_server.url, tenant.headers, "get_credit_balance", {})
    assert result.structured_content == {"balance": 5000}
    refused = await _session_call(live_server.url, tenant.headers, "get_credit_balance", {})
    assert refused.is_error is True
    assert refused.structured_content["error"]["status"] == 429
    assert refused.structured_content["error"]["retryAfter"] > 0


async def test_the_endpoint_challenges_without_a_token_and_refuses_get(live_server) -> None:
    tenant = await make_tenant(live_server.runtime.core)
    async with httpx.AsyncClient(base_url=live_server.url) as http:
        anonymous = await http.post("/api/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "ping"})
        assert anonymous.status_code == 401
        assert anonymous.headers["www-authenticate"] == (
            f'Bearer resource_metadata="{live_server.url}/.well-known/oauth-protected-resource/api/mcp", '
            'scope="credits:read content:read content:write post:write accounts:read businesses:read"'
        )
        bogus = await http.post("/api/mcp", json={}, headers={"Authorization": "Bearer fsx_at_nope"})
        assert bogus.status_code == 401
        assert bogus.headers["www-authenticate"].startswith('Bearer error="invalid_token", resource_metadata=')
        stream = await http.get("/api/mcp", headers={**tenant.headers, "Accept": "text/event-stream"})
        assert (stream.status_code, stream.headers["allow"]) == (405, "POST")
        # The canonical path never redirects; the trailing-slash variant points back to it.
        slash = await http.post("/api/mcp/", json={}, headers=tenant.headers)
        assert (slash.status_code, slash.headers["location"]) == (307, f"{live_server.url}/api/mcp")


async def test_a_tool_outside_the_key_scopes_is_refused_with_403_insufficient_scope(live_server) -> None:
    tenant = await make_tenant(live_server.runtime.core, scopes=["content:read", "businesses:read"])
    call = {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "post_content", "arguments": {}}}
    async with httpx.AsyncClient(base_url=live_server.url) as http:
        response = await http.post(
            "/api/mcp", json=call,
            headers={**tenant.headers, "Accept": "application/json, text/event-stream", "MCP-Protocol-Version": "2025-11-25"},
        )
    assert response.status_code == 403
    assert response.headers["www-authenticate"] == (
        'Bearer error="insufficient_scope", scope="post:write", '
        f'resource_metadata="{live_server.url}/.well-known/oauth-protected-resource/api/mcp", '
        'error_description="This tool needs the post:write scope"'
    )
    allowed = await _session_call(live_server.url, tenant.headers, "list_businesses", {})
    assert allowed.is_error is False


async def test_tool_responses_carry_the_budget_of_the_bucket_they_used(live_server) -> None:
    tenant = await make_tenant(live_server.runtime.core)
    headers = {**tenant.headers, "Accept": "application/json, text/event-stream", "MCP-Protocol-Version": "2025-11-25"}
    call = {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": {"name": "generate_content", "arguments": {"prompt": "Latte art", "businessId": tenant.business_id}}}
    listing = {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}
    async with httpx.AsyncClient(base_url=live_server.url) as http:
        generated = await http.post("/api/mcp", json=call, headers=headers)
        listed = await http.post("/api/mcp", json=listing, headers=headers)
        nested = await http.post("/api/mcp", content="[" * 5000 + "]" * 5000,
                                 headers={**headers, "Content-Type": "application/json"})
    assert generated.status_code == 200
    assert (generated.headers["x-ratelimit-limit"], generated.headers["x-ratelimit-remaining"]) == ("10", "9")
    # Listing tools spends nothing; it reports the general budget.
    assert (listed.headers["x-ratelimit-limit"], listed.headers["x-ratelimit-remaining"]) == ("60", "60")
    assert int(listed.headers["x-ratelimit-reset"]) > 0
    assert nested.status_code == 400


async def test_an_unexpected_failure_is_a_500_result_without_internals(live_server) -> None:
    tenant = await make_tenant(live_server.runtime.core)

    class Broken:
        name = "broken"
        languages = None

        async def generate(self, request):  # type: ignore[no-untyped-def]
            raise RuntimeError("SELECT secret FROM internals")

    live_server.runtime.core.text = Broken()
    result = await _session_call(
        live_server.url, tenant.headers, "generate_content", {"prompt": "Latte art", "businessId": tenant.business_id}
    )
    assert result.is_error is True
    assert result.structured_content == {"error": {"message": "Internal server error", "status": 500}}
    assert "SELECT" not in result.content[0].text
    async with live_server.runtime.core.db.transaction() as session:
        assert await credits.get_balance(session, tenant.user_id) == 5000
