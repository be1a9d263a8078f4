"""RFC 7009 token revocation."""

from __future__ import annotations

import pytest

from .oauth_harness import OAuthHarness


@pytest.mark.asyncio
async def test_revoking_an_access_token_leaves_the_refresh_token(server: OAuthHarness) -> None:
    client, tokens = await server.connect()

    response = await server.http.post(
        "/oauth/revoke",
        data={"token": tokens["access_token"], "token_type_hint": "access_token", "client_id": client["client_id"]},
    )

    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["cache-control"] == "no-store"
    assert await server.verifier.verify_token(tokens["access_token"]) is None
    assert (await server.refresh(client["client_id"], tokens["refresh_token"])).status_code == 200


@pytest.mark.asyncio
@pytest.mark.parametrize("hint", [None, "refresh_token", "access_token", "something_else"])
async def test_revoking_a_refresh_token_revokes_its_family(server: OAuthHarness, hint: str | None) -> None:
    client, tokens = await server.connect()
    form = {"token": tokens["refresh_token"], "client_id": client["client_id"]}
    if hint:
        form["token_type_hint"] = hint

    response = await server.http.post("/oauth/revoke", data=form)

    assert response.status_code == 200
    assert await server.verifier.verify_token(tokens["access_token"]) is None
    refreshed = await server.refresh(client["client_id"], tokens["refresh_token"])
    assert refreshed.json() == {"error": "invalid_grant", "error_description": "the refresh token was revoked"}


@pytest.mark.asyncio
async def test_unknown_tokens_and_other_clients_tokens_get_200_and_nothing_happens(server: OAuthHarness) -> None:
    _, tokens = await server.connect()
    stranger = await server.register()

    unknown = await server.http.post("/oauth/revoke", data={"token": "fsx_at_nope", "client_id": stranger["client_id"]})
    foreign = await server.http.post(
        "/oauth/revoke", data={"token": tokens["access_token"], "client_id": stranger["client_id"]}
    )

    assert unknown.status_code == 200
    assert foreign.status_code == 200
    assert await server.verifier.verify_token(tokens["access_token"]) is not None


@pytest.mark.asyncio
async def test_revocation_requires_a_token_and_an_authenticated_client(server: OAuthHarness) -> None:
    client = await server.register(token_endpoint_auth_method="client_secret_post")

    missing = await server.http.post(
        "/oauth/revoke", data={"client_id": client["client_id"], "client_secret": client["client_secret"]}
    )
    unauthenticated = await server.http.post("/oauth/revoke", data={"token": "x", "client_id": client["client_id"]})

    assert missing.status_code == 400
    assert missing.json() == {"error": "invalid_request", "error_description": "token is required"}
    assert unauthenticated.status_code == 401
    assert unauthenticated.json() == {"error": "invalid_client", "error_description": "client authentication failed"}
