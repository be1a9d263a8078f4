"""CORS for browser clients (MCP Inspector): an allow-list, never credentials."""

from __future__ import annotations

import pytest

from .oauth_harness import OAuthHarness

INSPECTOR = "http://localhost:6274"


@pytest.mark.asyncio
@pytest.mark.parametrize("path", ["/oauth/token", "/oauth/register", "/oauth/revoke"])
@pytest.mark.parametrize("origin", [INSPECTOR, "http://127.0.0.1:6274", "https://claude.ai", "https://flux.example"])
async def test_preflight_from_an_allowed_origin(server: OAuthHarness, path: str, origin: str) -> None:
    response = await server.http.options(
        path,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type, mcp-protocol-version",
        },
    )

    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == origin
    assert response.headers["access-control-allow-methods"] == "POST, OPTIONS"
    assert "MCP-Protocol-Version" in response.headers["access-control-allow-headers"]
    assert "Authorization" in response.headers["access-control-allow-headers"]
    assert "access-control-allow-credentials" not in response.headers


@pytest.mark.asyncio
async def test_responses_expose_www_authenticate_and_session_id(server: OAuthHarness) -> None:
    metadata = await server.http.get("/.well-known/oauth-protected-resource/api/mcp", headers={"Origin": INSPECTOR})
    registered = await server.http.post(
        "/oauth/register",
        json={"redirect_uris": [f"{INSPECTOR}/oauth/callback"], "token_endpoint_auth_method": "none"},
        headers={"Origin": INSPECTOR},
    )

    for response in (metadata, registered):
        assert response.headers["access-control-allow-origin"] == INSPECTOR
        assert response.headers["access-control-expose-headers"] == "WWW-Authenticate, Mcp-Session-Id"
        assert "Origin" in response.headers["vary"]
    assert registered.status_code == 201


@pytest.mark.asyncio
async def test_other_origins_get_no_cors_and_cannot_post(server: OAuthHarness) -> None:
    evil = "https://evil.example"

    preflight = await server.http.options(
        "/oauth/token", headers={"Origin": evil, "Access-Control-Request-Method": "POST"}
    )
    metadata = await server.http.get("/.well-known/oauth-authorization-server", headers={"Origin": evil})
    register = await server.http.post(
        "/oauth/register", json={"redirect_uris": ["https://evil.example/cb"]}, headers={"Origin": evil}
    )

    assert preflight.status_code == 403
    assert "access-control-allow-origin" not in preflight.headers
    # Public metadata is still served; the browser just cannot read it cross-origin.
    assert metadata.status_code == 200
    assert "access-control-allow-origin" not in metadata.headers
    assert register.status_code == 403
    assert register.json() == {
        "error": "invalid_request",
        "error_description": "requests from this origin are not allowed",
    }


@pytest.mark.asyncio
async def test_options_without_cors_headers_lists_the_methods(server: OAuthHarness) -> None:
    response = await server.http.options("/oauth/token")

    assert response.status_code == 204
    assert response.headers["allow"] == "POST, OPTIONS"
