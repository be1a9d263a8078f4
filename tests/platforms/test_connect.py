"""Connecting accounts: each platform's OAuth flow from the web app, and what it stores."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from html import unescape
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import select, update

from fluxsocial_mcp.app import Runtime, build_runtime, create_app
from fluxsocial_mcp.models import SocialAccount
from fluxsocial_mcp.platforms.connect import ConnectFlow
from fluxsocial_mcp.platforms.credentials import PlatformCredentials
from fluxsocial_mcp.platforms.http import PlatformHttp
from fluxsocial_mcp.platforms.registry import build_connect_flows
from fluxsocial_mcp.web.connect import connect_routes

from ..factories import Clock, Tenant, make_tenant
from ..web.support import PASSWORD, WebSession
from .conftest import Fakes
from .support import connect_account, stored_credentials

CALLBACK = "http://127.0.0.1:8000/connect/{}/callback"


@pytest.fixture
async def tenant(runtime: Runtime) -> Tenant:
    return await make_tenant(runtime.core, email="owner@example.com", platforms=())


async def signed_in(runtime: Runtime, flows: dict[str, ConnectFlow], email: str = "owner@example.com") -> WebSession:
    app = create_app(runtime=runtime)
    # Ahead of the real flows create_app mounts: these talk to the fakes.
    app.router.routes[0:0] = connect_routes(runtime, flows)
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=("203.0.113.7", 40000)),
                             base_url="http://127.0.0.1:8000")
    web = WebSession(http)
    response = await web.sign_in(email, PASSWORD)
    assert response.status_code == 303, response.text
    return web


@pytest.fixture
async def web(runtime: Runtime, tenant: Tenant, flows: dict[str, ConnectFlow]) -> AsyncIterator[WebSession]:
    session = await signed_in(runtime, flows)
    try:
        yield session
    finally:
        await session.http.aclose()


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


async def accounts_of(runtime: Runtime, business_id: str) -> list[SocialAccount]:
    async with runtime.core.db.transaction() as session:
        return list(await session.scalars(select(SocialAccount).where(SocialAccount.business_id == business_id)))


async def test_x_connects_with_state_and_pkce_and_stores_the_tokens_sealed(
    web: WebSession, runtime: Runtime, tenant: Tenant, fakes: Fakes, clock: Clock
) -> None:
    start = await web.get(f"/connect/x?businessId={tenant.business_id}")

    assert start.status_code == 302
    location = start.headers["location"]
    assert location.startswith("https://x.com/i/oauth2/authorize?")
    params = query_of(location)
    assert {k: params[k] for k in ("response_type", "client_id", "redirect_uri", "code_challenge_method")} == {
        "response_type": "code", "client_id": "x-client", "redirect_uri": CALLBACK.format("x"),
        "code_challenge_method": "S256",
    }
    assert params["scope"] == "tweet.read tweet.write users.read media.write offline.access"
    assert len(params["state"]) >= 40 and len(params["code_challenge"]) == 43

    # The person approves on x.com, which sends the browser back with a code.
    code = fakes.x.authorize(params["code_challenge"], params["redirect_uri"])
    back = await web.get(f"/connect/x/callback?code={code}&state={params['state']}")

    assert back.status_code == 303
    assert back.headers["location"] == f"/settings/businesses/{tenant.business_id}#accounts"
    page = await web.get(back.headers["location"])
    assert "X @morningcup is connected." in unescape(page.text)
    account, = await accounts_of(runtime, tenant.business_id)
    assert (account.platform, account.connection, account.username, account.followers, account.status) == (
        "x", "x", "@morningcup", 4200, "active"
    )
    _, credentials = await stored_credentials(runtime.core, account.id)
    assert credentials == PlatformCredentials(
        access_token="xat-2", refresh_token="xrt-2", expires_at=clock.now + timedelta(seconds=7200),
        platform_user_id="1460000000000000001", scope="tweet.read tweet.write users.read media.write offline.access",
    )
    token = fakes.x.called("token")[0]
    assert token.form["grant_type"] == "authorization_code" and token.form["redirect_uri"] == CALLBACK.format("x")


async def test_a_callback_whose_state_does_not_match_stores_nothing(
    web: WebSession, runtime: Runtime, tenant: Tenant, fakes: Fakes
) -> None:
    start = await web.get(f"/connect/x?businessId={tenant.business_id}")
    params = query_of(start.headers["location"])
    code = fakes.x.authorize(params["code_challenge"], params["redirect_uri"])

    back = await web.get(f"/connect/x/callback?code={code}&state=forged-state")

    page = await web.get(back.headers["location"])
    assert "This connection was not started from this browser" in unescape(page.text)
    assert await accounts_of(runtime, tenant.business_id) == []
    assert fakes.x.called("token") == []


async def test_a_declined_authorization_says_so(web: WebSession, runtime: Runtime, tenant: Tenant) -> None:
    start = await web.get(f"/connect/linkedin?businessId={tenant.business_id}")
    state = query_of(start.headers["location"])["state"]

    back = await web.get(
        f"/connect/linkedin/callback?error=user_cancelled_authorize&error_description=The+user+cancelled&state={state}"
    )

    page = await web.get(back.headers["location"])
    assert "LinkedIn did not connect the account: The user cancelled" in unescape(page.text)


async def test_facebook_connects_each_page_the_person_can_post_to_with_its_page_token(
    web: WebSession, runtime: Runtime, tenant: Tenant, fakes: Fakes
) -> None:
    start = await web.get(f"/connect/facebook?businessId={tenant.business_id}")
    location = start.headers["location"]
    assert location.startswith("https://www.facebook.com/v25.0/dialog/oauth?")
    params = query_of(location)
    assert params["scope"] == "pages_show_list,pages_manage_posts,pages_read_engagement"
    assert "code_challenge" not in params

    await web.get(f"/connect/facebook/callback?code=fb-code-ok&state={params['state']}")

    assert fakes.facebook.ops() == ["token", "token", "accounts"]
    exchange = fakes.facebook.calls[1]
    assert (exchange.query["grant_type"], exchange.query["fb_exchange_token"]) == ("fb_exchange_token", "EAAshort-1")
    page, = await accounts_of(runtime, tenant.business_id)
    assert (page.platform, page.username, page.followers) == ("facebook", "The Morning Cup", 5400)
    _, credentials = await stored_credentials(runtime.core, page.id)
    assert (credentials.access_token, credentials.platform_user_id, credentials.expires_at) == (
        "EAAPage-1", "104000000000001", None
    )


async def test_reconnecting_renews_the_same_account(
    web: WebSession, runtime: Runtime, tenant: Tenant, fakes: Fakes, clock: Clock
) -> None:
    stale = PlatformCredentials(access_token="IGlong-0", expires_at=clock.now - timedelta(days=1),
                                platform_user_id="17841400000000001")
    account_id = await connect_account(runtime.core, tenant, "instagram", stale, username="@old_name",
                                       status="needs_reauth")

    start = await web.get(f"/connect/instagram?businessId={tenant.business_id}")
    params = query_of(start.headers["location"])
    assert start.headers["location"].startswith("https://www.instagram.com/oauth/authorize?")
    assert params["scope"] == "instagram_business_basic,instagram_business_content_publish"
    await web.get(f"/connect/instagram/callback?code=ig-code-ok&state={params['state']}")

    account, = await accounts_of(runtime, tenant.business_id)
    assert (account.id, account.username, account.status, account.followers) == (
        account_id, "@morningcup", "active", 2000
    )
    _, credentials = await stored_credentials(runtime.core, account_id)
    assert (credentials.access_token, credentials.expires_at) == ("IGlong-1", clock.now + timedelta(seconds=5183944))
    assert fakes.instagram.ops() == ["token", "exchange", "me"]
    token = fakes.instagram.calls[0]
    assert (token.host, token.form["grant_type"], token.form["redirect_uri"]) == (
        "api.instagram.com", "authorization_code", CALLBACK.format("instagram")
    )


async def test_a_platform_without_app_credentials_says_which_setting_is_missing(
    runtime: Runtime, tenant: Tenant, http: PlatformHttp
) -> None:
    settings = runtime.core.settings.model_copy(update={"tiktok_client_key": None})
    web = await signed_in(runtime, build_connect_flows(settings, http))
    page = await web.get(f"/connect/tiktok?businessId={tenant.business_id}")
    await web.http.aclose()

    assert page.status_code == 400
    assert "TikTok is not set up on this server: set FLUXSOCIAL_TIKTOK_CLIENT_KEY" in unescape(page.text)


async def test_another_persons_business_is_not_found(
    runtime: Runtime, tenant: Tenant, flows: dict[str, ConnectFlow]
) -> None:
    await make_tenant(runtime.core, email="other@example.com", platforms=())
    web = await signed_in(runtime, flows, "other@example.com")
    page = await web.get(f"/connect/x?businessId={tenant.business_id}")
    await web.http.aclose()

    assert page.status_code == 404


async def test_signed_out_visitors_are_sent_to_sign_in(runtime: Runtime, flows: dict[str, ConnectFlow]) -> None:
    app = create_app(runtime=runtime)
    # Ahead of the real flows create_app mounts: these talk to the fakes.
    app.router.routes[0:0] = connect_routes(runtime, flows)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:8000") as http:
        response = await http.get("/connect/x?businessId=biz_1")

    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/connect/x%3FbusinessId%3Dbiz_1"


@pytest.mark.parametrize("platform", ["tiktok", "linkedin", "threads"])
async def test_the_other_flows_exchange_a_code_and_name_the_account(
    platform: str, flows: dict[str, ConnectFlow], fakes: Fakes, clock: Clock
) -> None:
    code = {"tiktok": "tt-code-ok", "linkedin": "li-code-ok", "threads": "th-code-ok"}[platform]
    flow = flows[platform]

    credentials = await flow.exchange_code(
        code=code, redirect_uri=CALLBACK.format(platform), code_verifier=None, now=clock.now
    )
    identity, = await flow.identities(credentials, clock.now)

    expected = {
        "tiktok": ("-000AbCdEfGhIjKlMnOp", "@morningcup", 15300),
        "linkedin": ("urn:li:person:782bbtaQ", "Ada Lovelace", 0),
        "threads": ("25000000000000001", "@morningcup", 812),
    }[platform]
    assert (identity.platform_user_id, identity.username, identity.followers) == expected
    assert credentials.expires_at is not None and credentials.expires_at > clock.now
    if platform == "tiktok":
        assert (credentials.refresh_token, credentials.refresh_expires_at) == (
            "rft.valid-2", clock.now + timedelta(seconds=31536000)
        )


async def test_the_business_page_offers_configured_platforms_and_flags_accounts_to_reconnect(
    settings, database, clock
) -> None:
    configured = settings.model_copy(update={
        "x_client_id": "x-client", "x_client_secret": SecretStr("x-secret"), "instagram_client_id": None,
    })
    runtime = build_runtime(configured, database)
    runtime.core.clock = clock
    tenant = await make_tenant(runtime.core, email="owner@example.com", platforms=("x",))
    async with runtime.core.db.transaction() as session:
        await session.execute(update(SocialAccount).values(connection="x", status="needs_reauth"))
    web = await signed_in(runtime, {})
    try:
        page = await web.get(f"/settings/businesses/{tenant.business_id}")
    finally:
        await web.http.aclose()
    assert page.status_code == 200
    assert f'href="/connect/x?businessId={tenant.business_id}">Connect X</a>' in page.text
    assert "Connect Instagram" not in page.text  # this server holds no Instagram app credentials
    assert "Needs reconnecting" in page.text
