"""The storage paths that differ between backends, on PostgreSQL (asyncpg).

Skipped when no PostgreSQL answers (set ``FLUXSOCIAL_TEST_POSTGRES_URL`` to point elsewhere).
"""

from __future__ import annotations

import asyncio
from datetime import timezone

import pytest

from oauth import OAuthGrants

from .oauth_harness import READ_KEY, OAuthHarness


@pytest.mark.asyncio
async def test_flow_refresh_and_replay_on_postgres(postgres_server: OAuthHarness) -> None:
    server = postgres_server
    client, first = await server.connect()
    second = (await server.refresh(client["client_id"], first["refresh_token"])).json()

    reuse = await server.refresh(client["client_id"], first["refresh_token"])

    assert reuse.json()["error"] == "invalid_grant"
    assert await server.verifier.verify_token(second["access_token"]) is None


@pytest.mark.asyncio
async def test_a_raced_code_is_redeemed_once_on_postgres(postgres_server: OAuthHarness) -> None:
    server = postgres_server
    client = await server.register()
    code, verifier = await server.authorize(client["client_id"])

    results = await asyncio.gather(*(server.exchange(client["client_id"], code, verifier) for _ in range(4)))

    assert sorted(r.status_code for r in results) == [200, 400, 400, 400]


@pytest.mark.asyncio
async def test_grants_timestamps_and_purge_on_postgres(postgres_server: OAuthHarness) -> None:
    server = postgres_server
    grants = OAuthGrants(server.config, server.store, clock=server.clock)
    await server.connect(api_key=READ_KEY, client_name="Claude")

    apps = await grants.list_user_grants("usr_bob")
    assert [app.client_name for app in apps] == ["Claude"]
    assert apps[0].created_at.tzinfo == timezone.utc
    assert await grants.revoke_key_tokens("key_read") == 1
    server.clock.advance(server.config.refresh_token_ttl + 1)
    # one code, one access token, one refresh token, then the revoked grant itself
    assert await grants.purge_expired() == 4
