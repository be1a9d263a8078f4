"""The web app in a real browser: Debian's Chromium driven by Playwright against the
whole app on uvicorn (the ``live_server`` fixture).

Skipped, with the reason, where /usr/bin/chromium or the ``playwright`` package is
missing (``apt-get install chromium``; ``pip install -e '.[test]'``). No browser is
downloaded: Playwright drives the system Chromium. Each test saves screenshots under
test-artifacts/screenshots/ (see the README).
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import httpx2
import pytest
from mcp import ClientSession
from mcp.client.auth import AuthorizationCodeResult, OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import OAuthClientInformationFull, OAuthClientMetadata, OAuthToken
from sqlalchemy import select

from fluxsocial_mcp.models import ApiKey

from ..factories import make_tenant
from .support import PASSWORD

CHROMIUM = Path("/usr/bin/chromium")
# Headless, and nothing that reaches out to the internet or needs a sandbox this
# container cannot give (the container is the sandbox).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-dev-shm-usage",
]
DESKTOP = {"width": 1280, "height": 860}
PHONE = {"width": 390, "height": 844}
EXPECTED_TOOLS = {
    "get_credit_balance",
    "preview_cost",
    "generate_content",
    "get_content",
    "generate_image",
    "generate_video",
    "check_video_status",
    "post_content",
    "schedule_content",
    "get_optimal_time",
    "cancel_scheduled_post",
    "check_post_status",
    "upload_media",
    "list_accounts",
    "list_businesses",
}

# Checks run inside the page: every control has a label, and nothing is wider than the screen.
UNLABELLED_CONTROLS_JS = """
() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea, button')]
  .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                && !el.getAttribute('aria-labelledby') && !(el.tagName === 'BUTTON' && el.innerText.trim()))
  .map(el => el.outerHTML)
"""
OVERFLOW_JS = "() => document.documentElement.scrollWidth - window.innerWidth"


@pytest.fixture
async def browser(tmp_path: Path) -> AsyncIterator[Any]:
    """A Chromium context with a fresh profile (its own --user-data-dir)."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's Chromium (apt-get install chromium)")
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        pytest.skip("the playwright package is missing: pip install -e '.[test]'")
    profile = tmp_path / "chromium-profile"
    async with async_playwright() as playwright:
        context = await playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport=DESKTOP,
            locale="en-US",
            timezone_id="UTC",
        )
        context.set_default_timeout(15_000)
        try:
            yield context
        finally:
            await context.close()
            shutil.rmtree(profile, ignore_errors=True)


async def shoot(page: Any, directory: Path, name: str) -> None:
    """Save ``name``.png (desktop) and ``name``-390.png (phone), asserting the phone
    layout needs no sideways scrolling."""
    await page.set_viewport_size(DESKTOP)
    await page.screenshot(path=str(directory / f"{name}.png"), full_page=True)
    await page.set_viewport_size(PHONE)
    assert await page.evaluate(OVERFLOW_JS) <= 0, f"{name} scrolls sideways at 390px"
    await page.screenshot(path=str(directory / f"{name}-390.png"), full_page=True)
    await page.set_viewport_size(DESKTOP)


async def assert_labelled(page: Any) -> None:
    assert await page.evaluate(UNLABELLED_CONTROLS_JS) == []


async def balance_with(url: str, key: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=url) as http:
        return await http.get("/api/v1/credits/balance", headers={"Authorization": f"Bearer {key}"})


async def test_sign_up_create_a_key_read_it_once_use_it_and_revoke_it(live_server, browser, screenshots_dir) -> None:
    page = browser.pages[0] if browser.pages else await browser.new_page()
    await browser.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)

    # Settings sends a signed-out visitor to sign in; from there, to sign up.
    await page.goto(f"{live_server.url}/settings/api-keys")
    assert urlsplit(page.url).path == "/login"
    await page.get_by_role("link", name="Create an account").click()
    await assert_labelled(page)
    await page.get_by_label("Email address").fill("grace@example.com")
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Create account").click()
    await page.wait_for_url("**/settings/api-keys")
    assert "Welcome to FluxSocial!" in await page.get_by_role("status").inner_text()

    await page.get_by_role("link", name="Create API key").click()
    await assert_labelled(page)
    for checkbox in await page.get_by_role("checkbox").all():
        assert await checkbox.is_checked()  # every scope by default
    await page.get_by_label("Name").fill("Laptop scripts")
    await shoot(page, screenshots_dir, "api-key-new")
    await page.get_by_role("button", name="Create key").click()

    secret_field = page.get_by_role("textbox", name="API key")
    secret = await secret_field.input_value()
    assert secret.startswith("fsx_live_")
    assert "It will not be shown again" in await page.locator("#key-warning").inner_text()
    await page.get_by_role("button", name="Copy key").click()
    await page.get_by_text("Copied to the clipboard.").wait_for()
    assert await page.evaluate("navigator.clipboard.readText()") == secret
    await shoot(page, screenshots_dir, "api-key-created")

    balance = await balance_with(live_server.url, secret)
    assert balance.status_code == 200 and balance.json() == {"balance": 5000}

    # Once left, the page never shows the secret again.
    await page.get_by_role("link", name="Done, back to API keys").click()
    await page.wait_for_url("**/settings/api-keys")
    assert secret not in await page.content()
    row = page.locator("tr", has_text="Laptop scripts")
    assert secret[-4:] in await row.inner_text() and "Active" in await row.inner_text()
    await shoot(page, screenshots_dir, "api-keys")

    await row.get_by_role("link", name="Revoke Laptop scripts").click()
    await shoot(page, screenshots_dir, "api-key-revoke")
    await page.get_by_role("button", name="Revoke key").click()
    await page.wait_for_url("**/settings/api-keys")
    assert "was revoked" in await page.get_by_role("status").inner_text()
    assert "Revoked" in await page.locator("tr", has_text="Laptop scripts").inner_text()

    refused = await balance_with(live_server.url, secret)
    assert refused.status_code == 401


async def test_a_wrong_password_is_refused(live_server, browser, screenshots_dir) -> None:
    await make_tenant(live_server.runtime.core, email="ada@example.com")
    page = browser.pages[0] if browser.pages else await browser.new_page()
    await page.goto(f"{live_server.url}/login")

    # Keyboard only: the skip link comes first, then the form in order; Enter submits.
    await page.keyboard.press("Tab")
    assert await page.evaluate("document.activeElement.textContent") == "Skip to main content"
    await page.keyboard.press("Tab")
    await page.keyboard.press("Tab")
    assert await page.evaluate("document.activeElement.id") == "email"
    await page.keyboard.type("ada@example.com")
    await page.keyboard.press("Tab")
    await page.keyboard.type("not my password")
    await page.keyboard.press("Enter")

    alert = page.get_by_role("alert")
    assert await alert.inner_text() == "The email address or password is not correct."
    assert urlsplit(page.url).path == "/login"
    assert await page.get_by_label("Email address").input_value() == "ada@example.com"
    assert await page.get_by_label("Password").input_value() == ""
    await shoot(page, screenshots_dir, "login-wrong-password")

    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url("**/settings/api-keys")


async def test_a_form_missing_its_csrf_token_is_refused(live_server, browser, screenshots_dir) -> None:
    await make_tenant(live_server.runtime.core, email="ada@example.com")
    page = browser.pages[0] if browser.pages else await browser.new_page()
    await page.goto(f"{live_server.url}/login")
    await page.get_by_label("Email address").fill("ada@example.com")
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url("**/settings/api-keys")

    await page.goto(f"{live_server.url}/settings/api-keys/new")
    await page.get_by_label("Name").fill("Forged")
    await page.locator('form[action="/settings/api-keys"] input[name="csrf_token"]').evaluate("el => el.remove()")
    response_status: list[int] = []
    page.on(
        "response",
        lambda response: response_status.append(response.status) if response.request.method == "POST" else None,
    )
    await page.get_by_role("button", name="Create key").click()
    await page.get_by_role("heading", name="This form can't be accepted").wait_for()

    assert response_status == [403]
    assert await page.locator("#new-key").count() == 0
    await shoot(page, screenshots_dir, "csrf-refused")
    async with live_server.runtime.core.db.transaction() as session:
        assert list(await session.scalars(select(ApiKey.name).where(ApiKey.name == "Forged"))) == []


class MemoryTokenStorage:
    """The MCP SDK's TokenStorage, in memory."""

    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client_info: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client_info

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client_info = client_info


class LoopbackCallback:
    """The loopback redirect URI a desktop MCP client listens on (RFC 8252 §7.3)."""

    async def __aenter__(self) -> LoopbackCallback:
        self.params: asyncio.Future[dict[str, list[str]]] = asyncio.get_running_loop().create_future()
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.redirect_uri = f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}/callback"
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.server.close()
        await self.server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request_line = await reader.readline()
        while (await reader.readline()) not in (b"\r\n", b"\n", b""):
            pass
        target = urlsplit(request_line.split()[1].decode() if request_line.split()[1:] else "/")
        if target.path == "/callback" and not self.params.done():
            self.params.set_result(parse_qs(target.query))
        body = b"<!doctype html><title>Connected</title><p>You can close this window.</p>"
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nConnection: close\r\n")
        writer.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        await writer.drain()
        writer.close()

    async def code(self) -> AuthorizationCodeResult:
        params = await self.params
        first = {name: values[0] for name, values in params.items()}
        return AuthorizationCodeResult(code=first["code"], state=first.get("state"), iss=first.get("iss"))


async def test_the_consent_flow_started_by_a_real_mcp_client(live_server, browser, screenshots_dir) -> None:
    tenant = await make_tenant(live_server.runtime.core, email="ada@example.com")
    page = browser.pages[0] if browser.pages else await browser.new_page()
    mcp_url = f"{live_server.url}/api/mcp"

    async with LoopbackCallback() as callback:
        authorization_url: asyncio.Future[str] = asyncio.get_running_loop().create_future()

        async def hand_to_browser(url: str) -> None:
            authorization_url.set_result(url)

        storage = MemoryTokenStorage()
        provider = OAuthClientProvider(
            server_url=mcp_url,
            client_metadata=OAuthClientMetadata(
                client_name="Playwright MCP client",
                redirect_uris=[callback.redirect_uri],
                grant_types=["authorization_code", "refresh_token"],
                response_types=["code"],
                token_endpoint_auth_method="none",
            ),
            storage=storage,
            redirect_handler=hand_to_browser,
            callback_handler=callback.code,
        )

        async def list_tools() -> set[str]:
            async with httpx2.AsyncClient(auth=provider, timeout=30) as http:
                async with streamable_http_client(mcp_url, http_client=http) as streams:
                    async with ClientSession(*streams[:2]) as session:
                        await session.initialize()
                        return {tool.name for tool in (await session.list_tools()).tools}

        client = asyncio.create_task(list_tools())
        done, _ = await asyncio.wait({client, authorization_url}, timeout=30, return_when=asyncio.FIRST_COMPLETED)
        assert authorization_url in done, client.result() if client in done else "the client never asked to authorize"

        # The person's side: the consent page, in the browser.
        await page.goto(authorization_url.result())
        assert (
            await page.get_by_role("heading", level=1).inner_text()
            == "Connect Playwright MCP client to your FluxSocial account?"
        )
        assert "127.0.0.1" in await page.locator("strong.host").first.inner_text()
        permissions = page.get_by_role("region", name="Playwright MCP client will be able to")
        assert "See your credit balance and what actions cost" in await permissions.inner_text()  # plain words
        create_key = page.get_by_role("link", name="Create an API key in Settings")
        assert (await create_key.get_attribute("href")).startswith("/settings/api-keys/new?name=Playwright+MCP+client")
        await assert_labelled(page)
        styled = await page.evaluate("getComputedStyle(document.querySelector('.panel')).borderRadius")
        assert styled == "14px", "the consent page must load the shared stylesheet"
        await shoot(page, screenshots_dir, "consent")

        await page.get_by_label("Your FluxSocial API key").fill(tenant.key)
        await page.get_by_role("button", name="Approve").click()
        await page.get_by_text("You can close this window.").wait_for()

        tools = await asyncio.wait_for(client, 30)

    assert tools == EXPECTED_TOOLS
    params = await callback.params
    assert params["iss"] == [live_server.url]

    # The grant is listed under Connected AI apps.
    await page.goto(f"{live_server.url}/login?next=/settings/connected-apps")
    await page.get_by_label("Email address").fill("ada@example.com")
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url("**/settings/connected-apps")
    row = page.locator("tr", has_text="Playwright MCP client")
    assert "test" in await row.inner_text()  # through the tenant's key named "test"
    await shoot(page, screenshots_dir, "connected-apps")

    # Revoking the key in the web app ends the app's MCP access at once.
    assert storage.tokens is not None
    assert (await mcp_list_tools(mcp_url, storage.tokens.access_token)).status_code == 200
    await page.goto(f"{live_server.url}/settings/api-keys")
    await page.get_by_role("link", name="Revoke test").click()
    assert "Playwright MCP client" in await page.get_by_role("main").inner_text()  # named as disconnected
    await page.get_by_role("button", name="Revoke key").click()
    await page.wait_for_url("**/settings/api-keys")
    refused = await mcp_list_tools(mcp_url, storage.tokens.access_token)
    assert refused.status_code == 401 and refused.headers["www-authenticate"].startswith("Bearer")
    await page.goto(f"{live_server.url}/settings/connected-apps")
    assert "No connected apps" in await page.get_by_role("main").inner_text()


async def mcp_list_tools(mcp_url: str, access_token: str) -> httpx.Response:
    """One stateless JSON-RPC call at the MCP endpoint with a bearer token."""
    async with httpx.AsyncClient(timeout=30) as http:
        return await http.post(
            mcp_url,
            json={"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}},
            headers={
                "Authorization": f"Bearer {access_token}",
                "Accept": "application/json, text/event-stream",
                "MCP-Protocol-Version": "2025-06-18",
            },
        )


async def test_every_settings_page_is_labelled_and_fits_a_phone(live_server, browser, screenshots_dir) -> None:
    tenant = await make_tenant(live_server.runtime.core, email="ada@example.com")
    async with httpx.AsyncClient(base_url=live_server.url, headers=tenant.headers, timeout=30) as http:
        generated = await http.post("/api/v1/content", json={"prompt": "Autumn menu", "businessId": tenant.business_id})
        assert generated.status_code == 200
    page = browser.pages[0] if browser.pages else await browser.new_page()
    await page.goto(f"{live_server.url}/login")
    await page.get_by_label("Email address").fill("ada@example.com")
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url("**/settings/api-keys")

    for path, name in [
        ("/settings/credits", "credits"),
        ("/settings/businesses", "businesses"),
        (f"/settings/businesses/{tenant.business_id}", "business-edit"),
        ("/settings/businesses/new", "business-new"),
    ]:
        await page.goto(f"{live_server.url}{path}")
        await assert_labelled(page)
        await shoot(page, screenshots_dir, name)

    await page.goto(f"{live_server.url}/settings/businesses/new")
    await page.get_by_role("button", name="Create business").click()
    assert "Name is required." in await page.get_by_role("alert").inner_text()
    await shoot(page, screenshots_dir, "business-new-error")

    # The dark palette (prefers-color-scheme) keeps the same layout and contrast.
    await page.emulate_media(color_scheme="dark")
    await page.goto(f"{live_server.url}/settings/api-keys")
    await page.screenshot(path=str(screenshots_dir / "api-keys-dark.png"), full_page=True)
