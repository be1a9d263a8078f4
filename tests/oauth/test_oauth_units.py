"""Small pieces with rules of their own: redirect URI matching, resource indicators,
the failure limiter, template overrides, configuration checks."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from oauth import FixedWindowFailureLimiter, create_oauth_routes
from oauth.indicators import same_resource
from oauth.redirect_uris import redirect_host, redirect_uri_matches

from .oauth_harness import (
    FULL_KEY,
    ISSUER,
    FakeFetcher,
    FakeKeys,
    OAuthHarness,
    make_config,
    redirect_params,
    signed_request,
)


@pytest.mark.parametrize(
    ("registered", "requested", "matches"),
    [
        ("https://claude.ai/api/mcp/auth_callback", "https://claude.ai/api/mcp/auth_callback", True),
        ("https://claude.ai/api/mcp/auth_callback", "https://claude.ai/api/mcp/auth_callback/", False),
        ("https://claude.ai/api/mcp/auth_callback", "https://CLAUDE.ai/api/mcp/auth_callback", False),
        ("https://app.example:8443/cb", "https://app.example:9443/cb", False),
        ("http://127.0.0.1:33418/", "http://127.0.0.1:50000/", True),
        ("http://127.0.0.1/", "http://127.0.0.1:50000/", True),
        ("http://localhost:3000/callback", "http://localhost:1234/callback", True),
        ("http://[::1]:3000/cb", "http://[::1]:4000/cb", True),
        ("http://localhost:3000/callback", "http://127.0.0.1:3000/callback", False),
        ("http://localhost:3000/callback", "http://localhost:3000/callback?x=1", False),
        ("http://localhost:3000/callback", "http://localhost:bad/callback", False),
        ("cursor://anysphere.cursor-mcp/oauth/callback", "cursor://anysphere.cursor-mcp/oauth/callback", True),
        ("cursor://anysphere.cursor-mcp/oauth/callback", "cursor://anysphere.cursor-mcp/oauth/other", False),
    ],
)
def test_redirect_uris_match_exactly_except_for_loopback_ports(registered: str, requested: str, matches: bool) -> None:
    assert redirect_uri_matches(registered, requested) is matches


@pytest.mark.parametrize(
    ("uri", "host"),
    [
        ("https://claude.ai/api/mcp/auth_callback", "claude.ai"),
        ("http://127.0.0.1:33418/", "127.0.0.1"),
        ("cursor://anysphere.cursor-mcp/oauth/callback", "cursor://anysphere.cursor-mcp"),
        ("com.example.app:/oauth2redirect", "com.example.app:"),
    ],
)
def test_the_consent_page_names_the_redirect_destination(uri: str, host: str) -> None:
    assert redirect_host(uri) == host


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("https://flux.example/api/mcp", "https://flux.example/api/mcp/", True),
        ("https://flux.example/api/mcp", "HTTPS://Flux.Example:443/api/mcp", True),
        ("http://127.0.0.1:8000/api/mcp", "http://127.0.0.1:8000/api/mcp", True),
        ("https://flux.example/api/mcp", "https://flux.example/api/mcp2", False),
        ("https://flux.example/api/mcp", "https://flux.example:8443/api/mcp", False),
        ("https://flux.example/api/mcp", "https://flux.example/api/mcp#frag", False),
        ("https://flux.example/api/mcp", "not a url", False),
    ],
)
def test_resource_indicators_compare_as_urls(a: str, b: str, same: bool) -> None:
    assert same_resource(a, b) is same


@pytest.mark.asyncio
async def test_the_failure_limiter_blocks_within_a_window_and_forgets_after_it() -> None:
    now = [0.0]
    limiter = FixedWindowFailureLimiter(2, 600, clock=lambda: now[0])

    await limiter.record_failure("1.2.3.4")
    assert await limiter.retry_after("1.2.3.4") is None
    await limiter.record_failure("1.2.3.4")
    now[0] = 100
    assert await limiter.retry_after("1.2.3.4") == 500
    assert await limiter.retry_after("5.6.7.8") is None
    now[0] = 600
    assert await limiter.retry_after("1.2.3.4") is None


@pytest.mark.asyncio
async def test_templates_can_be_overridden(server: OAuthHarness, tmp_path: Path) -> None:
    (tmp_path / "consent.html").write_text(
        "Custom consent for {{ client_name }} <input name=request value='{{ signed_request }}'>"
    )
    app = Starlette(routes=create_oauth_routes(server.config, server.store, FakeKeys(), FakeFetcher(), tmp_path))
    client = await server.register(client_name="<Claude>")

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=ISSUER) as http:
        page = await http.get(
            "/oauth/authorize",
            params={
                "response_type": "code",
                "client_id": client["client_id"],
                "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
                "code_challenge_method": "S256",
            },
        )

    assert page.status_code == 200
    assert page.text.startswith("Custom consent for &lt;Claude&gt;")
    assert FULL_KEY not in page.text


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"issuer": "https://flux.example/"}, "issuer must not end with a slash"),
        ({"issuer": "http://flux.example"}, "issuer must use https unless it is a loopback address"),
        ({"issuer": "https://flux.example?x=1"}, "issuer must not have a query or a fragment"),
        ({"issuer": "https://Flux.example"}, "issuer must be written in canonical form"),
        ({"resource": "https://flux.example/api/mcp#x"}, "resource must not have a fragment"),
        ({"sealing_key": b"short"}, "sealing_key must be exactly 32 bytes"),
        ({"access_token_ttl": 0}, "access_token_ttl must be positive"),
    ],
)
def test_configuration_mistakes_fail_at_startup(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make_config(**overrides)


def test_a_loopback_http_issuer_is_allowed_for_local_use() -> None:
    config = make_config(issuer="http://127.0.0.1:8000", resource="http://127.0.0.1:8000/api/mcp")

    assert config.resource_metadata_url == "http://127.0.0.1:8000/.well-known/oauth-protected-resource/api/mcp"
    assert not config.is_https


@pytest.mark.asyncio
async def test_on_a_local_http_issuer_the_csrf_cookie_is_not_secure_and_the_flow_works(server: OAuthHarness) -> None:
    local = make_config(issuer="http://127.0.0.1:8000", resource="http://127.0.0.1:8000/api/mcp")
    app = Starlette(routes=create_oauth_routes(local, server.store, FakeKeys(), FakeFetcher()))
    client = await server.register(redirect_uris=["http://localhost:6274/oauth/callback"])

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:8000") as http:
        page = await http.get(
            "/oauth/authorize",
            params={
                "response_type": "code",
                "client_id": client["client_id"],
                "redirect_uri": "http://localhost:6274/oauth/callback",
                "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
                "code_challenge_method": "S256",
                "resource": "http://127.0.0.1:8000/api/mcp",
            },
        )
        decision = await http.post(
            "/oauth/authorize", data={"request": signed_request(page), "action": "approve", "api_key": FULL_KEY}
        )

    cookie = page.headers["set-cookie"]
    assert cookie.startswith("fsx_oauth_csrf=")
    assert "secure" not in cookie.lower()
    assert decision.status_code == 303
    assert redirect_params(decision)["iss"] == "http://127.0.0.1:8000"
