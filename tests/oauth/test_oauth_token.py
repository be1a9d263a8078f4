"""The token endpoint: code exchange with PKCE, refresh rotation and replay detection,
client authentication."""

from __future__ import annotations

import base64

import pytest

from .oauth_harness import CLAUDE_CALLBACK, FULL_KEY, READ_KEY, RESOURCE, OAuthHarness, new_verifier


@pytest.mark.asyncio
async def test_the_full_flow_issues_bearer_tokens_bound_to_the_key(server: OAuthHarness) -> None:
    client = await server.register()
    code, verifier = await server.authorize(client["client_id"], scope="content:read content:write")

    response = await server.exchange(client["client_id"], code, verifier, resource=RESOURCE)

    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["pragma"] == "no-cache"
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "refresh_token", "scope"}
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert body["scope"] == "content:read content:write"
    assert body["access_token"].startswith("fsx_at_")
    assert body["refresh_token"].startswith("fsx_rt_")
    verified = await server.verifier.verify_token(body["access_token"])
    assert verified is not None
    assert verified.client_id == client["client_id"]
    assert verified.scopes == ["content:read", "content:write"]
    assert verified.resource == RESOURCE
    assert verified.subject == "usr_alice"
    assert verified.claims == {"key_id": "key_full", "user_id": "usr_alice"}


@pytest.mark.asyncio
async def test_refresh_rotates_and_a_reused_refresh_token_revokes_the_whole_family(server: OAuthHarness) -> None:
    client, first = await server.connect()

    rotated = await server.refresh(client["client_id"], first["refresh_token"])
    assert rotated.status_code == 200
    second = rotated.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert await server.verifier.verify_token(second["access_token"]) is not None

    reuse = await server.refresh(client["client_id"], first["refresh_token"])

    assert reuse.status_code == 400
    assert reuse.json() == {
        "error": "invalid_grant",
        "error_description": "the refresh token was already used; the authorization is revoked",
    }
    after = await server.refresh(client["client_id"], second["refresh_token"])
    assert after.json() == {"error": "invalid_grant", "error_description": "the refresh token was revoked"}
    assert await server.verifier.verify_token(second["access_token"]) is None
    assert await server.verifier.verify_token(first["access_token"]) is None


@pytest.mark.asyncio
async def test_refresh_may_narrow_the_scope_but_never_widen_it(server: OAuthHarness) -> None:
    client, tokens = await server.connect(api_key=READ_KEY)

    narrowed = await server.refresh(client["client_id"], tokens["refresh_token"], scope="content:read")
    widened = await server.refresh(client["client_id"], narrowed.json()["refresh_token"], scope="post:write")

    assert narrowed.json()["scope"] == "content:read"
    assert widened.status_code == 400
    assert widened.json() == {
        "error": "invalid_scope",
        "error_description": "the authorization does not include post:write",
    }
    # The refresh token keeps the original scope (RFC 6749 §6).
    again = await server.refresh(client["client_id"], narrowed.json()["refresh_token"])
    assert again.json()["scope"] == "credits:read content:read"


@pytest.mark.asyncio
async def test_refresh_fails_once_the_api_key_is_revoked(server: OAuthHarness) -> None:
    client, tokens = await server.connect()
    server.keys.revoke("key_full")

    response = await server.refresh(client["client_id"], tokens["refresh_token"])

    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_grant",
        "error_description": "the API key behind this authorization is no longer active",
    }


@pytest.mark.asyncio
async def test_refresh_follows_scopes_removed_from_the_key(server: OAuthHarness) -> None:
    client, tokens = await server.connect()
    server.keys.narrow(FULL_KEY, {"credits:read"})

    response = await server.refresh(client["client_id"], tokens["refresh_token"])

    assert response.json()["scope"] == "credits:read"


@pytest.mark.asyncio
async def test_an_expired_refresh_token_is_refused(server: OAuthHarness) -> None:
    client, tokens = await server.connect()
    server.clock.advance(server.config.refresh_token_ttl + 1)

    response = await server.refresh(client["client_id"], tokens["refresh_token"])

    assert response.json() == {"error": "invalid_grant", "error_description": "the refresh token has expired"}


@pytest.mark.asyncio
async def test_a_wrong_code_verifier_is_an_invalid_grant(server: OAuthHarness) -> None:
    client = await server.register()
    code, _ = await server.authorize(client["client_id"])

    response = await server.exchange(client["client_id"], code, new_verifier())

    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_grant",
        "error_description": "code_verifier does not match the code_challenge",
    }


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("verifier", "body"),
    [
        (None, {"error": "invalid_request", "error_description": "code_verifier is required (PKCE, RFC 7636)"}),
        (
            "too-short",
            {
                "error": "invalid_request",
                "error_description": "code_verifier must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~",
            },
        ),
    ],
)
async def test_the_code_verifier_is_required_and_well_formed(
    server: OAuthHarness, verifier: str | None, body: dict[str, str]
) -> None:
    client = await server.register()
    code, _ = await server.authorize(client["client_id"])

    response = await server.exchange(client["client_id"], code, verifier)

    assert response.status_code == 400
    assert response.json() == body


@pytest.mark.asyncio
async def test_a_code_used_twice_is_refused_and_revokes_the_tokens_it_gave(server: OAuthHarness) -> None:
    client = await server.register()
    code, verifier = await server.authorize(client["client_id"])
    first = (await server.exchange(client["client_id"], code, verifier)).json()
    assert await server.verifier.verify_token(first["access_token"]) is not None

    second = await server.exchange(client["client_id"], code, verifier)

    assert second.status_code == 400
    assert second.json() == {"error": "invalid_grant", "error_description": "the authorization code was already used"}
    assert await server.verifier.verify_token(first["access_token"]) is None
    refreshed = await server.refresh(client["client_id"], first["refresh_token"])
    assert refreshed.json()["error"] == "invalid_grant"


@pytest.mark.asyncio
async def test_an_expired_code_is_refused(server: OAuthHarness) -> None:
    client = await server.register()
    code, verifier = await server.authorize(client["client_id"])
    server.clock.advance(server.config.code_ttl + 1)

    response = await server.exchange(client["client_id"], code, verifier)

    assert response.json() == {"error": "invalid_grant", "error_description": "the authorization code has expired"}


@pytest.mark.asyncio
async def test_a_code_is_bound_to_its_client(server: OAuthHarness) -> None:
    client = await server.register()
    other = await server.register()
    code, verifier = await server.authorize(client["client_id"])

    response = await server.exchange(other["client_id"], code, verifier)

    assert response.json() == {"error": "invalid_grant", "error_description": "the authorization code is invalid"}


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("extra", "body"),
    [
        (
            {"redirect_uri": "https://claude.com/api/mcp/auth_callback"},
            {"error": "invalid_grant", "error_description": "redirect_uri does not match the authorization request"},
        ),
        ({"redirect_uri": None}, {"error": "invalid_request", "error_description": "redirect_uri is required"}),
        (
            {"resource": "https://other.example/api/mcp"},
            {"error": "invalid_target", "error_description": "resource does not match the authorization request"},
        ),
    ],
)
async def test_the_token_request_must_match_the_authorization_request(
    server: OAuthHarness, extra: dict[str, str | None], body: dict[str, str]
) -> None:
    client = await server.register(redirect_uris=[CLAUDE_CALLBACK, "https://claude.com/api/mcp/auth_callback"])
    code, verifier = await server.authorize(client["client_id"])

    response = await server.exchange(client["client_id"], code, verifier, **extra)

    assert response.status_code == 400
    assert response.json() == body


@pytest.mark.asyncio
async def test_the_code_exchange_fails_once_the_key_is_revoked(server: OAuthHarness) -> None:
    client = await server.register()
    code, verifier = await server.authorize(client["client_id"])
    server.keys.revoke("key_full")

    response = await server.exchange(client["client_id"], code, verifier)

    assert response.json()["error"] == "invalid_grant"


@pytest.mark.asyncio
async def test_confidential_client_with_client_secret_basic(server: OAuthHarness) -> None:
    client = await server.register(token_endpoint_auth_method="client_secret_basic")
    code, verifier = await server.authorize(client["client_id"])
    basic = base64.b64encode(f"{client['client_id']}:{client['client_secret']}".encode()).decode()
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "code_verifier": verifier,
        "redirect_uri": CLAUDE_CALLBACK,
    }

    without = await server.http.post("/oauth/token", data={**form, "client_id": client["client_id"]})
    wrong = await server.http.post(
        "/oauth/token",
        data=form,
        headers={"Authorization": "Basic " + base64.b64encode(f"{client['client_id']}:nope".encode()).decode()},
    )
    right = await server.http.post("/oauth/token", data=form, headers={"Authorization": f"Basic {basic}"})

    for refused in (without, wrong):
        assert refused.status_code == 401
        assert refused.json()["error"] == "invalid_client"
        assert refused.headers["www-authenticate"] == 'Basic realm="oauth"'
    assert right.status_code == 200
    refreshed = await server.http.post(
        "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": right.json()["refresh_token"]},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert refreshed.status_code == 200


@pytest.mark.asyncio
async def test_confidential_client_with_client_secret_post(server: OAuthHarness) -> None:
    client = await server.register(token_endpoint_auth_method="client_secret_post")
    code, verifier = await server.authorize(client["client_id"])

    wrong = await server.exchange(client["client_id"], code, verifier, client_secret="fsx_cs_wrong")
    right = await server.exchange(client["client_id"], code, verifier, client_secret=client["client_secret"])

    assert wrong.status_code == 401
    assert wrong.json() == {"error": "invalid_client", "error_description": "client authentication failed"}
    assert "www-authenticate" not in wrong.headers
    assert right.status_code == 200


@pytest.mark.asyncio
async def test_a_public_client_may_not_present_a_secret(server: OAuthHarness) -> None:
    client = await server.register()
    code, verifier = await server.authorize(client["client_id"])

    response = await server.exchange(client["client_id"], code, verifier, client_secret="anything")

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("content", "content_type", "status", "body"),
    [
        (
            b'{"grant_type": "authorization_code"}',
            "application/json",
            400,
            {
                "error": "invalid_request",
                "error_description": "the request body must be application/x-www-form-urlencoded",
            },
        ),
        (
            b"grant_type=%ff%fe",
            "application/x-www-form-urlencoded",
            400,
            {"error": "invalid_request", "error_description": "the request body is not valid form data"},
        ),
        (
            b"grant_type=refresh_token&client_id=fsc_nobody",
            "application/x-www-form-urlencoded",
            401,
            {"error": "invalid_client", "error_description": "unknown client"},
        ),
        (
            b"grant_type=refresh_token&client_id=a&client_id=b",
            "application/x-www-form-urlencoded",
            400,
            {"error": "invalid_request", "error_description": "the client_id parameter must not be repeated"},
        ),
        (
            b"x" * 70_000,
            "application/x-www-form-urlencoded",
            413,
            {"error": "invalid_request", "error_description": "the request body exceeds 65536 bytes"},
        ),
        (
            b"grant_type=authorization_code",
            "application/x-www-form-urlencoded",
            401,
            {"error": "invalid_client", "error_description": "client_id is required"},
        ),
    ],
)
async def test_malformed_token_requests_are_rfc_errors_never_500(
    server: OAuthHarness, content: bytes, content_type: str, status: int, body: dict[str, str]
) -> None:
    response = await server.http.post("/oauth/token", content=content, headers={"content-type": content_type})

    assert response.status_code == status
    assert response.json() == body
    assert response.headers["cache-control"] == "no-store"


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("form", "body"),
    [
        ({}, {"error": "invalid_request", "error_description": "grant_type is required"}),
        (
            {"grant_type": "password"},
            {"error": "unsupported_grant_type", "error_description": "grant_type password is not supported"},
        ),
        (
            {"grant_type": "authorization_code", "code_verifier": "v" * 43},
            {"error": "invalid_request", "error_description": "code is required"},
        ),
        (
            {"grant_type": "refresh_token"},
            {"error": "invalid_request", "error_description": "refresh_token is required"},
        ),
        (
            {"grant_type": "refresh_token", "refresh_token": "fsx_rt_unknown"},
            {"error": "invalid_grant", "error_description": "the refresh token is invalid"},
        ),
        (
            {"grant_type": "authorization_code", "code": "fsx_ac_unknown", "code_verifier": "v" * 43},
            {"error": "invalid_grant", "error_description": "the authorization code is invalid"},
        ),
    ],
)
async def test_grant_errors(server: OAuthHarness, form: dict[str, str], body: dict[str, str]) -> None:
    client = await server.register()

    response = await server.http.post("/oauth/token", data={"client_id": client["client_id"], **form})

    assert response.status_code == 400
    assert response.json() == body


@pytest.mark.asyncio
async def test_repeated_parameters_are_invalid_requests(server: OAuthHarness) -> None:
    client = await server.register()
    content = f"client_id={client['client_id']}&grant_type=refresh_token&refresh_token=a&refresh_token=b".encode()

    response = await server.http.post(
        "/oauth/token", content=content, headers={"content-type": "application/x-www-form-urlencoded"}
    )

    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_request",
        "error_description": "the refresh_token parameter must not be repeated",
    }


@pytest.mark.asyncio
async def test_a_client_registered_without_refresh_gets_no_refresh_token(server: OAuthHarness) -> None:
    client = await server.register(grant_types=["authorization_code"])
    code, verifier = await server.authorize(client["client_id"])

    body = (await server.exchange(client["client_id"], code, verifier)).json()

    assert "refresh_token" not in body
    assert body["access_token"].startswith("fsx_at_")
