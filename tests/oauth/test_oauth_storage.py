"""What the database holds: no usable secret, aware UTC times, sealed keys bound to their row."""

from __future__ import annotations

import asyncio
from datetime import timezone

import pytest

from oauth.crypto import Sealer, SealError, grant_seal_context

from .oauth_harness import FULL_KEY, OAuthHarness


@pytest.mark.asyncio
async def test_the_database_file_holds_no_api_key_token_code_or_secret_in_plaintext(server: OAuthHarness) -> None:
    confidential = await server.register(token_endpoint_auth_method="client_secret_post")
    code, verifier = await server.authorize(confidential["client_id"], api_key=FULL_KEY)
    tokens = (
        await server.exchange(confidential["client_id"], code, verifier, client_secret=confidential["client_secret"])
    ).json()
    rotated = (
        await server.refresh(
            confidential["client_id"], tokens["refresh_token"], client_secret=confidential["client_secret"]
        )
    ).json()

    assert server.database is not None
    stored = server.database.read_bytes()
    for wal in server.database.parent.glob(server.database.name + "-*"):
        stored += wal.read_bytes()

    secrets = {
        "api key": FULL_KEY,
        "code": code,
        "access token": tokens["access_token"],
        "refresh token": tokens["refresh_token"],
        "rotated access token": rotated["access_token"],
        "rotated refresh token": rotated["refresh_token"],
        "client secret": confidential["client_secret"],
        "code verifier": verifier,
    }
    for name, value in secrets.items():
        assert value.encode() not in stored, f"the {name} is stored in plaintext"
        # Not even a piece of its random part.
        assert value[-20:].encode() not in stored, f"part of the {name} is stored in plaintext"
    # The rows are there, as digests.
    assert confidential["client_id"].encode() in stored


@pytest.mark.asyncio
async def test_timestamps_come_back_aware_and_in_utc(server: OAuthHarness) -> None:
    client, _ = await server.connect()

    stored_client = await server.store.get_client(client["client_id"])
    grants = await server.store.list_user_grants("usr_alice")

    assert stored_client is not None and stored_client.issued_at.tzinfo == timezone.utc
    assert grants[0].created_at.tzinfo == timezone.utc
    assert grants[0].last_used_at.tzinfo == timezone.utc


def test_a_sealed_key_only_opens_for_the_row_it_was_sealed_for() -> None:
    sealer = Sealer(b"k" * 32)
    sealed = sealer.seal(FULL_KEY, context=grant_seal_context("ogr_one"))

    assert sealer.unseal(sealed, context=grant_seal_context("ogr_one")) == FULL_KEY
    assert sealer.seal(FULL_KEY, context=grant_seal_context("ogr_one")) != sealed  # fresh nonce
    with pytest.raises(SealError):
        sealer.unseal(sealed, context=grant_seal_context("ogr_two"))
    with pytest.raises(SealError):
        Sealer(b"x" * 32).unseal(sealed, context=grant_seal_context("ogr_one"))
    with pytest.raises(SealError):
        sealer.unseal(sealed[:-1] + bytes([sealed[-1] ^ 1]), context=grant_seal_context("ogr_one"))


@pytest.mark.asyncio
async def test_a_code_can_be_redeemed_only_once_even_when_raced(server: OAuthHarness) -> None:
    client = await server.register()
    code, verifier = await server.authorize(client["client_id"])

    results = await asyncio.gather(*(server.exchange(client["client_id"], code, verifier) for _ in range(4)))

    assert sorted(r.status_code for r in results) == [200, 400, 400, 400]
    winner = next(r for r in results if r.status_code == 200).json()
    # Every loser is a replay, so the winner's tokens are revoked too.
    assert await server.verifier.verify_token(winner["access_token"]) is None
