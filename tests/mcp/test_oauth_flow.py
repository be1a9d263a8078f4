"""The main job, end to end over real HTTP: an MCP client discovers the authorization server,
registers, sends the user to the consent page where they paste an API key, exchanges the code,
uses the tools, and refreshes its token once the first one expires."""

from __future__ import annotations

import logging
import re
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import anyio
import httpx
import httpx2
import pytest
from mcp import ClientSession
from mcp.client.auth import OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import AuthorizationCodeResult, OAuthClientInformationFull, OAuthClientMetadata, OAuthToken
from pydantic import AnyUrl
from sqlalchemy import select

from fluxsocial_mcp.core import credits, keys
from fluxsocial_mcp.models import SandboxPost

from ..factories import make_tenant
from .test_tools import EXPECTED_TOOLS

CALLBACK = "http://127.0.0.1:33418/callback"
# Access tokens live this long here, so the client's refresh can be seen without waiting an hour.
SHORT_TTL = 3


@pytest.fixture
def settings(settings):  # type: ignore[no-untyped-def]
    return settings.model_copy(update={"oauth_access_token_ttl_seconds": SHORT_TTL})


class MemoryStorage:
    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client: OAuthClientInformationFull | None = None
        self.stored_at = 0.0

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens
        self.stored_at = time.monotonic()

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client = client_info


class Browser:
    """A person at the consent page: reads it, pastes the key, approves; records what they saw."""

    def __init__(self, base_url: str, api_key: str) -> None:
        self.http = httpx.AsyncClient(base_url=base_url)
        self.api_key = api_key
        self.pages: list[str] = []
        self.result: AuthorizationCodeResult | None = None

    async def open(self, url: str) -> None:
        page = await self.http.get(url)
        assert page.status_code == 200, page.text
        self.pages.append(page.text)
        signed = re.search(r'name="request" value="([^"]+)"', page.text)
        assert signed is not None
        decision = await self.http.post(
            "/oauth/authorize", data={"request": signed.group(1), "action": "approve", "api_key": self.api_key}
        )
        assert decision.status_code == 303, decision.text
        location = decision.headers["location"]
        assert location.startswith(CALLBACK + "?")
        params = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
        self.result = AuthorizationCodeResult(code=params["code"], state=params.get("state"), iss=params.get("iss"))

    async def callback(self) -> AuthorizationCodeResult:
        assert self.result is not None
        return self.result


def oauth_client(url: str, browser: Browser, storage: MemoryStorage, scope: str | None = None) -> OAuthClientProvider:
    return OAuthClientProvider(
        server_url=f"{url}/api/mcp",
        client_metadata=OAuthClientMetadata(
            client_name="Test Assistant",
            redirect_uris=[AnyUrl(CALLBACK)],
            grant_types=["authorization_code", "refresh_token"],
            response_types=["code"],
            token_endpoint_auth_method="none",
            scope=scope,
        ),
        storage=storage,
        redirect_handler=browser.open,
        callback_handler=browser.callback,
    )


async def test_an_mcp_client_connects_through_oauth_and_publishes(live_server, clock, caplog, database_url) -> None:
    caplog.set_level(logging.DEBUG)
    core = live_server.runtime.core
    tenant = await make_tenant(core)
    browser = Browser(live_server.url, tenant.key)
    storage = MemoryStorage()
    auth = oauth_client(live_server.url, browser, storage)

    async with httpx2.AsyncClient(auth=auth, timeout=30) as http:
        async with streamable_http_client(f"{live_server.url}/api/mcp", http_client=http) as streams:
            async with ClientSession(*streams[:2]) as session:
                await session.initialize()
                assert {t.name for t in (await session.list_tools()).tools} == EXPECTED_TOOLS

                businesses = await session.call_tool("list_businesses", {})
                assert businesses.structured_content["businesses"][0]["id"] == tenant.business_id
                generated = await session.call_tool(
                    "generate_content", {"prompt": "Latte art", "businessId": tenant.business_id, "suggestionCount": 1}
                )
                suggestion_id = generated.structured_content["suggestions"][0]["id"]
                image = await session.call_tool("generate_image", {"suggestionId": suggestion_id})
                assert image.structured_content["creditsUsed"] == 50
                posted = await session.call_tool("post_content", {
                    "suggestionId": suggestion_id,
                    "targets": [{"accountId": tenant.accounts["instagram"], "platform": "instagram"}],
                })
                assert posted.structured_content["results"][0]["status"] == "success"
                status = await session.call_tool("check_post_status", {"suggestionId": suggestion_id})
                assert status.structured_content["status"] == "POSTED"

    # The consent page named the client, its redirect host and the scopes in words.
    assert "Test Assistant" in browser.pages[0] and "127.0.0.1" in browser.pages[0]
    assert "Publish, schedule and cancel posts on your social accounts" in browser.pages[0]
    async with core.db.transaction() as db:
        assert await credits.get_balance(db, tenant.user_id) == 5000 - 70
        assert await credits.ledger_sum(db, tenant.user_id) == 5000 - 70
        assert len(list(await db.scalars(select(SandboxPost)))) == 1
    first = storage.tokens
    assert first is not None and first.refresh_token and first.expires_in == SHORT_TTL

    # The access token expires (on the client's clock and the server's): the client refreshes.
    # The SDK counts the lifetime from when it stored the token.
    await anyio.sleep(max(0.0, first.expires_in - (time.monotonic() - storage.stored_at)) + 0.2)
    clock.advance(seconds=SHORT_TTL + 1)
    async with httpx2.AsyncClient(auth=auth, timeout=30) as http:
        async with streamable_http_client(f"{live_server.url}/api/mcp", http_client=http) as streams:
            async with ClientSession(*streams[:2]) as session:
                await session.initialize()
                balance = await session.call_tool("get_credit_balance", {})
                assert balance.structured_content == {"balance": 4930}
    assert storage.tokens is not None
    assert storage.tokens.access_token != first.access_token
    assert storage.tokens.refresh_token != first.refresh_token
    assert len(browser.pages) == 1  # refreshed, not re-authorised

    # No secret in plaintext: not in the logs, not in the database file.
    secrets = [tenant.key, first.access_token, first.refresh_token, storage.tokens.access_token,
               storage.tokens.refresh_token]
    assert not [s for s in secrets if s and s in caplog.text]
    if database_url.startswith("sqlite"):
        assert await secrets_in_files(Path(database_url.split("///", 1)[1]), secrets) == []


async def secrets_in_files(database: Path, secrets: list[str | None]) -> list[str]:
    """Which secrets appear in the SQLite file (and its WAL), read by another process.

    Not in this one: closing any descriptor of a file drops every POSIX lock this
    process holds on it, including SQLite's, and another connection (a worker) could
    then checkpoint the WAL from under the test's own connections.
    """
    script = (
        "import sys, pathlib\n"
        "db = pathlib.Path(sys.argv[1])\n"
        "raw = b''.join(p.read_bytes() for p in db.parent.glob(db.name + '*'))\n"
        "print('\\n'.join(s for s in sys.stdin.read().split() if s.encode() in raw))\n"
    )
    found = await anyio.run_process(
        [sys.executable, "-c", script, str(database)], input="\n".join(s for s in secrets if s).encode()
    )
    return found.stdout.decode().split()


async def test_revoking_the_api_key_kills_its_oauth_tokens_at_once(live_server) -> None:
    core = live_server.runtime.core
    tenant = await make_tenant(core)
    browser = Browser(live_server.url, tenant.key)
    storage = MemoryStorage()
    async with httpx2.AsyncClient(auth=oauth_client(live_server.url, browser, storage), timeout=30) as http:
        async with streamable_http_client(f"{live_server.url}/api/mcp", http_client=http) as streams:
            async with ClientSession(*streams[:2]) as session:
                await session.initialize()
    token = storage.tokens.access_token  # type: ignore[union-attr]
    call = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json, text/event-stream",
               "MCP-Protocol-Version": "2025-11-25"}
    async with httpx.AsyncClient(base_url=live_server.url) as http:
        assert (await http.post("/api/mcp", json=call, headers=headers)).status_code == 200
        async with core.db.transaction() as db:
            await keys.revoke_api_key(db, tenant.key_id, core.now())
        refused = await http.post("/api/mcp", json=call, headers=headers)
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"].startswith('Bearer error="invalid_token"')


async def test_a_grant_never_widens_the_key_it_was_made_with(live_server) -> None:
    core = live_server.runtime.core
    tenant = await make_tenant(core, scopes=["content:read", "businesses:read", "credits:read"])
    browser = Browser(live_server.url, tenant.key)
    storage = MemoryStorage()
    # The SDK client asks for the scopes the 401 challenge names: all six.
    auth = oauth_client(live_server.url, browser, storage)
    async with httpx2.AsyncClient(auth=auth, timeout=30) as http:
        async with streamable_http_client(f"{live_server.url}/api/mcp", http_client=http) as streams:
            async with ClientSession(*streams[:2]) as session:
                await session.initialize()
                listed = await session.call_tool("list_businesses", {})
                assert listed.is_error is False
    assert storage.tokens is not None and storage.tokens.scope == "credits:read content:read businesses:read"
    token = storage.tokens.access_token
    call = {"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "post_content", "arguments": {}}}
    async with httpx.AsyncClient(base_url=live_server.url) as http:
        refused = await http.post("/api/mcp", json=call, headers={
            "Authorization": f"Bearer {token}", "Accept": "application/json, text/event-stream",
            "MCP-Protocol-Version": "2025-11-25",
        })
    assert refused.status_code == 403
    assert 'error="insufficient_scope", scope="post:write"' in refused.headers["www-authenticate"]
