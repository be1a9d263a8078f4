"""RFC 8414 and RFC 9728 discovery documents."""

from __future__ import annotations

import pytest
from mcp.shared.auth import OAuthMetadata, ProtectedResourceMetadata

from .oauth_harness import ISSUER, RESOURCE, OAuthHarness

SCOPES = ["credits:read", "content:read", "content:write", "post:write", "accounts:read", "businesses:read"]


@pytest.mark.asyncio
async def test_authorization_server_metadata_advertises_endpoints_s256_and_auth_methods(server: OAuthHarness) -> None:
    response = await server.http.get("/.well-known/oauth-authorization-server")

    assert response.status_code == 200
    assert response.json() == {
        "issuer": ISSUER,
        "authorization_endpoint": f"{ISSUER}/oauth/authorize",
        "token_endpoint": f"{ISSUER}/oauth/token",
        "registration_endpoint": f"{ISSUER}/oauth/register",
        "revocation_endpoint": f"{ISSUER}/oauth/revoke",
        "scopes_supported": SCOPES,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "token_endpoint_auth_methods_supported": ["none", "client_secret_post", "client_secret_basic"],
        "revocation_endpoint_auth_methods_supported": ["none", "client_secret_post", "client_secret_basic"],
        "code_challenge_methods_supported": ["S256"],
        "client_id_metadata_document_supported": True,
        "authorization_response_iss_parameter_supported": True,
    }
    assert response.headers["cache-control"] == "public, max-age=3600"


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "path", ["/.well-known/oauth-protected-resource/api/mcp", "/.well-known/oauth-protected-resource"]
)
async def test_protected_resource_metadata_names_the_issuer_byte_for_byte(server: OAuthHarness, path: str) -> None:
    resource = (await server.http.get(path)).json()
    metadata = (await server.http.get("/.well-known/oauth-authorization-server")).json()

    assert resource == {
        "resource": RESOURCE,
        "authorization_servers": [ISSUER],
        "scopes_supported": SCOPES,
        "bearer_methods_supported": ["header"],
        "resource_name": "FluxSocial MCP",
    }
    assert resource["authorization_servers"][0] == metadata["issuer"]


@pytest.mark.asyncio
async def test_metadata_parses_with_the_mcp_sdk_models_without_changing_the_issuer(server: OAuthHarness) -> None:
    metadata = OAuthMetadata.model_validate((await server.http.get("/.well-known/oauth-authorization-server")).json())
    resource = ProtectedResourceMetadata.model_validate(
        (await server.http.get("/.well-known/oauth-protected-resource/api/mcp")).json()
    )

    # The SDK client compares these as plain strings (RFC 8414 §3.3, RFC 9207 §2.4).
    assert str(metadata.issuer) == ISSUER
    assert str(resource.authorization_servers[0]) == ISSUER


@pytest.mark.asyncio
async def test_openid_configuration_is_not_served(server: OAuthHarness) -> None:
    # This server issues no ID tokens; advertising OIDC would mislead clients.
    assert (await server.http.get("/.well-known/openid-configuration")).status_code == 404
