"""Bearer tokens at the MCP endpoint, their challenges, and grant management."""

from __future__ import annotations

import pytest

from oauth import (
    OAuthGrants,
    OAuthTokenVerifier,
    insufficient_scope_challenge,
    invalid_token_challenge,
    missing_token_challenge,
)

from .oauth_harness import FULL_KEY, READ_KEY, OAuthHarness, make_config


@pytest.mark.asyncio
async def test_revoking_the_api_key_stops_its_tokens_at_once(server: OAuthHarness) -> None:
    _, tokens = await server.connect()
    assert await server.verifier.verify_token(tokens["access_token"]) is not None

    server.keys.revoke("key_full")

    assert await server.verifier.verify_token(tokens["access_token"]) is None


@pytest.mark.asyncio
async def test_expired_tokens_are_refused(server: OAuthHarness) -> None:
    _, tokens = await server.connect()

    server.clock.advance(server.config.access_token_ttl + 1)

    assert await server.verifier.verify_token(tokens["access_token"]) is None


@pytest.mark.asyncio
async def test_tokens_for_another_resource_are_refused(server: OAuthHarness) -> None:
    _, tokens = await server.connect()
    elsewhere = OAuthTokenVerifier(
        make_config(resource="https://flux.example/api/other"), server.store, server.keys, clock=server.clock
    )

    assert await elsewhere.verify_token(tokens["access_token"]) is None


@pytest.mark.asyncio
@pytest.mark.parametrize("token", ["", "fsx_at_unknown", FULL_KEY, "fsx_at_" + "x" * 1000])
async def test_unknown_tokens_and_api_keys_are_not_access_tokens(server: OAuthHarness, token: str) -> None:
    await server.connect()

    assert await server.verifier.verify_token(token) is None


@pytest.mark.asyncio
async def test_the_refresh_token_is_not_an_access_token(server: OAuthHarness) -> None:
    _, tokens = await server.connect()

    assert await server.verifier.verify_token(tokens["refresh_token"]) is None


def test_challenges_point_to_the_resource_metadata_and_name_scopes() -> None:
    config = make_config()
    metadata = "https://flux.example/.well-known/oauth-protected-resource/api/mcp"
    every_scope = "credits:read content:read content:write post:write accounts:read businesses:read"

    assert missing_token_challenge(config) == f'Bearer resource_metadata="{metadata}", scope="{every_scope}"'
    assert invalid_token_challenge(config) == (
        f'Bearer error="invalid_token", resource_metadata="{metadata}", scope="{every_scope}"'
    )
    assert insufficient_scope_challenge(config, "post:write") == (
        f'Bearer error="insufficient_scope", scope="post:write", resource_metadata="{metadata}"'
    )
    assert insufficient_scope_challenge(config, ["post:write"], description='needs "post:write"') == (
        f'Bearer error="insufficient_scope", scope="post:write", resource_metadata="{metadata}", '
        'error_description="needs \\"post:write\\""'
    )


@pytest.mark.asyncio
async def test_revoke_key_tokens_revokes_every_grant_of_the_key_for_good(server: OAuthHarness) -> None:
    grants = OAuthGrants(server.config, server.store, clock=server.clock)
    client, first = await server.connect()
    _, second = await server.connect()
    _, other_key = await server.connect(api_key=READ_KEY)

    assert await grants.revoke_key_tokens("key_full") == 2

    # Permanent: even if the key came back, its tokens stay dead.
    assert await server.verifier.verify_token(first["access_token"]) is None
    assert await server.verifier.verify_token(second["access_token"]) is None
    assert (await server.refresh(client["client_id"], first["refresh_token"])).json()["error"] == "invalid_grant"
    assert await server.verifier.verify_token(other_key["access_token"]) is not None


@pytest.mark.asyncio
async def test_users_can_list_and_disconnect_their_apps(server: OAuthHarness) -> None:
    grants = OAuthGrants(server.config, server.store, clock=server.clock)
    cursor, tokens = await server.connect(
        client_name="Cursor", redirect_uris=["https://claude.ai/api/mcp/auth_callback"]
    )
    await server.connect(api_key=READ_KEY, client_name="Claude")

    apps = await grants.list_user_grants("usr_alice")

    assert [(app.client_name, app.client_id, app.key_id) for app in apps] == [
        ("Cursor", cursor["client_id"], "key_full")
    ]
    assert apps[0].scopes == [
        "credits:read",
        "content:read",
        "content:write",
        "post:write",
        "accounts:read",
        "businesses:read",
    ]
    assert apps[0].created_at.tzinfo is not None
    assert await grants.revoke_user_grant("usr_bob", apps[0].grant_id) is False
    assert await grants.revoke_user_grant("usr_alice", apps[0].grant_id) is True
    assert await grants.list_user_grants("usr_alice") == []
    assert await server.verifier.verify_token(tokens["access_token"]) is None


@pytest.mark.asyncio
async def test_the_api_key_behind_a_token_can_be_recovered_for_gateway_mode(server: OAuthHarness) -> None:
    grants = OAuthGrants(server.config, server.store, clock=server.clock)
    client, tokens = await server.connect(api_key=READ_KEY)

    assert await grants.api_key_for_access_token(tokens["access_token"]) == READ_KEY
    # The key survives refresh: it is re-sealed in the grant, not in the code.
    refreshed = (await server.refresh(client["client_id"], tokens["refresh_token"])).json()
    assert await grants.api_key_for_access_token(refreshed["access_token"]) == READ_KEY
    assert await grants.api_key_for_access_token("fsx_at_unknown") is None


@pytest.mark.asyncio
async def test_purge_removes_expired_codes_and_tokens(server: OAuthHarness) -> None:
    grants = OAuthGrants(server.config, server.store, clock=server.clock)
    client, tokens = await server.connect()
    await server.authorize(client["client_id"])  # a code never exchanged

    server.clock.advance(server.config.refresh_token_ttl + 1)
    removed = await grants.purge_expired()

    # two codes (one used, one not), one access token, one refresh token
    assert removed == 4
    assert await server.store.get_refresh_token("x") is None
    assert await server.verifier.verify_token(tokens["access_token"]) is None
