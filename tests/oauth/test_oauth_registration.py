"""RFC 7591 dynamic client registration and the redirect URI policy."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from oauth import OAuthClient

from .oauth_harness import OAuthHarness


async def register(server: OAuthHarness, **metadata: Any) -> Any:
    return await server.http.post("/oauth/register", json=metadata)


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("client_name", "redirect_uris"),
    [
        ("Claude", ["https://claude.ai/api/mcp/auth_callback", "https://claude.com/api/mcp/auth_callback"]),
        (
            "Cursor",
            [
                "cursor://anysphere.cursor-mcp/oauth/callback",
                "https://cursor.com/oauth/callback",
                "http://localhost:3000/callback",
            ],
        ),
        ("Visual Studio Code", ["https://vscode.dev/redirect", "http://127.0.0.1:33418/"]),
        ("MCP Inspector", ["http://localhost:6274/oauth/callback"]),
        ("mcp-remote", ["http://localhost:5555/oauth/callback"]),
        ("IPv6 loopback", ["http://[::1]:8080/callback"]),
    ],
)
async def test_real_clients_register_as_public_clients(
    server: OAuthHarness, client_name: str, redirect_uris: list[str]
) -> None:
    response = await register(
        server,
        client_name=client_name,
        redirect_uris=redirect_uris,
        token_endpoint_auth_method="none",
        grant_types=["authorization_code", "refresh_token"],
        response_types=["code"],
    )

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["client_id"].startswith("fsc_")
    assert isinstance(body["client_id_issued_at"], int)
    assert "client_secret" not in body
    assert body["redirect_uris"] == redirect_uris
    assert body["token_endpoint_auth_method"] == "none"
    assert body["grant_types"] == ["authorization_code", "refresh_token"]
    assert body["response_types"] == ["code"]
    assert body["client_name"] == client_name
    assert response.headers["cache-control"] == "no-store"
    stored = await server.store.get_client(body["client_id"])
    assert isinstance(stored, OAuthClient) and stored.redirect_uris == redirect_uris


@pytest.mark.asyncio
async def test_confidential_client_gets_a_secret_that_is_stored_only_as_a_hash(server: OAuthHarness) -> None:
    response = await register(server, redirect_uris=["https://app.example/cb"], client_name="Backend")

    body = response.json()
    assert response.status_code == 201
    # RFC 7591 §2: client_secret_basic is the default method.
    assert body["token_endpoint_auth_method"] == "client_secret_basic"
    assert body["client_secret"].startswith("fsx_cs_")
    assert body["client_secret_expires_at"] == 0
    stored = await server.store.get_client(body["client_id"])
    assert stored is not None
    assert stored.client_secret_hash == hashlib.sha256(body["client_secret"].encode()).hexdigest()
    assert body["client_secret"] not in str(stored.registered_metadata)


@pytest.mark.asyncio
async def test_defaults_apply_and_unknown_scopes_and_members_are_dropped(server: OAuthHarness) -> None:
    response = await register(
        server,
        redirect_uris=["https://app.example/cb"],
        token_endpoint_auth_method="none",
        scope="content:read openid content:write",
        logo_uri="javascript:alert(1)",
        client_uri="https://app.example",
        software_statement="ignored",
    )

    body = response.json()
    assert response.status_code == 201
    assert body["client_name"] == "Unnamed app"
    assert body["grant_types"] == ["authorization_code", "refresh_token"]
    assert body["response_types"] == ["code"]
    assert body["scope"] == "content:read content:write"
    assert body["client_uri"] == "https://app.example"
    assert "logo_uri" not in body and "software_statement" not in body


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("redirect_uri", "description"),
    [
        (
            "javascript:alert(1)",
            "'javascript:alert(1)' uses the javascript: scheme, which is not allowed for redirects",
        ),
        (
            "data:text/html,<script>x</script>",
            "'data:text/html,<script>x</script>' uses the data: scheme, which is not allowed for redirects",
        ),
        ("file:///etc/passwd", "'file:///etc/passwd' uses the file: scheme, which is not allowed for redirects"),
        ("vbscript:msgbox", "'vbscript:msgbox' uses the vbscript: scheme, which is not allowed for redirects"),
        (
            "http://example.com/cb",
            "'http://example.com/cb' uses http on a non-loopback host; "
            "use https, or http on localhost, 127.0.0.1 or [::1]",
        ),
        (
            "http://localhost.evil.example/cb",
            "'http://localhost.evil.example/cb' uses http on a non-loopback host; "
            "use https, or http on localhost, 127.0.0.1 or [::1]",
        ),
        ("https://claude.ai/cb#fragment", "'https://claude.ai/cb#fragment' must not contain a fragment"),
        ("https://user:pw@claude.ai/cb", "'https://user:pw@claude.ai/cb' must not contain a user name or password"),
        ("/relative/callback", "'/relative/callback' is not an absolute URI"),
    ],
)
async def test_dangerous_redirect_uris_are_refused_with_the_reason(
    server: OAuthHarness, redirect_uri: str, description: str
) -> None:
    response = await register(
        server,
        redirect_uris=["https://claude.ai/api/mcp/auth_callback", redirect_uri],
        token_endpoint_auth_method="none",
    )

    assert response.status_code == 400
    assert response.json() == {"error": "invalid_redirect_uri", "error_description": description}


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("metadata", "body"),
    [
        (
            {"redirect_uris": []},
            {
                "error": "invalid_redirect_uri",
                "error_description": "redirect_uris must be a non-empty array of strings",
            },
        ),
        (
            {"redirect_uris": [f"https://app.example/{i}" for i in range(21)]},
            {"error": "invalid_redirect_uri", "error_description": "redirect_uris may list at most 20 URIs"},
        ),
        (
            {"redirect_uris": ["https://app.example/cb"], "grant_types": ["client_credentials"]},
            {
                "error": "invalid_client_metadata",
                "error_description": (
                    "grant_types may only contain authorization_code, refresh_token; unsupported: client_credentials"
                ),
            },
        ),
        (
            {"redirect_uris": ["https://app.example/cb"], "grant_types": ["refresh_token"]},
            {"error": "invalid_client_metadata", "error_description": "grant_types must include authorization_code"},
        ),
        (
            {"redirect_uris": ["https://app.example/cb"], "response_types": ["token"]},
            {"error": "invalid_client_metadata", "error_description": "response_types must contain only code"},
        ),
        (
            {"redirect_uris": ["https://app.example/cb"], "token_endpoint_auth_method": "private_key_jwt"},
            {
                "error": "invalid_client_metadata",
                "error_description": (
                    "token_endpoint_auth_method must be one of none, client_secret_post, client_secret_basic"
                ),
            },
        ),
        (
            {"redirect_uris": ["https://app.example/cb"], "client_name": "x" * 201},
            {"error": "invalid_client_metadata", "error_description": "client_name must be at most 200 characters"},
        ),
        (
            {"redirect_uris": ["https://app.example/" + "a" * 2000]},
            {"error": "invalid_redirect_uri", "error_description": "redirect URIs must be at most 2000 characters"},
        ),
    ],
)
async def test_invalid_metadata_is_refused_with_rfc7591_errors(
    server: OAuthHarness, metadata: dict[str, Any], body: dict[str, str]
) -> None:
    response = await register(server, **metadata)

    assert response.status_code == 400
    assert response.json() == body


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("content", "description"),
    [(b"{not json", "the request body is not valid JSON"), (b"[1, 2]", "the request body must be a JSON object")],
)
async def test_a_malformed_body_is_a_400_not_a_500(server: OAuthHarness, content: bytes, description: str) -> None:
    response = await server.http.post("/oauth/register", content=content, headers={"content-type": "application/json"})

    assert response.status_code == 400
    assert response.json() == {"error": "invalid_client_metadata", "error_description": description}


@pytest.mark.asyncio
async def test_an_oversized_body_is_refused(server: OAuthHarness) -> None:
    response = await server.http.post(
        "/oauth/register", content=b"{" + b" " * 40_000 + b"}", headers={"content-type": "application/json"}
    )

    assert response.status_code == 413
    assert response.json()["error"] == "invalid_client_metadata"


@pytest.mark.asyncio
async def test_error_descriptions_stay_within_the_rfc_character_set(server: OAuthHarness) -> None:
    response = await register(server, redirect_uris=['https://app.example/"é"#x'])

    assert response.json() == {
        "error": "invalid_redirect_uri",
        "error_description": "'https://app.example/'?'#x' must not contain a fragment",
    }
