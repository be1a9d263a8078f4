"""Client ID Metadata Documents: https URLs as client_id."""

from __future__ import annotations

from typing import Any

import pytest

from oauth import FetchedClientMetadata, max_age_from_cache_control

from .oauth_harness import OAuthHarness, redirect_params

CLIENT_URL = "https://app.example/oauth/client-metadata.json"
CALLBACK = "https://app.example/callback"


def document(**overrides: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "client_id": CLIENT_URL,
        "client_name": "Example Agent",
        "redirect_uris": [CALLBACK, "http://127.0.0.1:7777/callback"],
        "token_endpoint_auth_method": "none",
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
    }
    doc.update(overrides)
    return {k: v for k, v in doc.items() if v is not None}


@pytest.mark.asyncio
async def test_a_metadata_document_client_completes_the_flow(server: OAuthHarness) -> None:
    server.fetcher.documents[CLIENT_URL] = document()

    page = await server.open_consent(CLIENT_URL, redirect_uri=CALLBACK)
    assert page.status_code == 200
    assert "Connect <strong>Example Agent</strong>" in page.text
    assert 'identified by the website <strong class="host">app.example</strong>' in page.text

    code, verifier = await server.authorize(CLIENT_URL, redirect_uri=CALLBACK)
    response = await server.exchange(CLIENT_URL, code, verifier, redirect_uri=CALLBACK)

    assert response.status_code == 200
    token = await server.verifier.verify_token(response.json()["access_token"])
    assert token is not None and token.client_id == CLIENT_URL
    refreshed = await server.refresh(CLIENT_URL, response.json()["refresh_token"])
    assert refreshed.status_code == 200


@pytest.mark.asyncio
async def test_the_document_is_cached_then_fetched_again(server: OAuthHarness) -> None:
    server.fetcher.documents[CLIENT_URL] = FetchedClientMetadata(document(), max_age=120)

    await server.open_consent(CLIENT_URL, redirect_uri=CALLBACK)
    await server.open_consent(CLIENT_URL, redirect_uri=CALLBACK)
    assert server.fetcher.fetched == [CLIENT_URL]

    server.fetcher.documents[CLIENT_URL] = document(client_name="Renamed Agent")
    server.clock.advance(121)
    page = await server.open_consent(CLIENT_URL, redirect_uri=CALLBACK)

    assert server.fetcher.fetched == [CLIENT_URL, CLIENT_URL]
    assert "Renamed Agent" in page.text


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("doc", "reason"),
    [
        (
            document(client_id="https://attacker.example/oauth/client-metadata.json"),
            "the client_id in the client metadata document does not match its URL",
        ),
        (
            document(token_endpoint_auth_method="client_secret_post"),
            "a client metadata document must not use client_secret_post",
        ),
        (
            document(token_endpoint_auth_method="private_key_jwt"),
            "token_endpoint_auth_method private_key_jwt is not supported; metadata document clients must use none",
        ),
        (document(client_secret="s3cret"), "a client metadata document must not contain client_secret"),
        (
            document(redirect_uris=["javascript:alert(1)"]),
            "&#39;javascript:alert(1)&#39; uses the javascript: scheme, which is not allowed for redirects",
        ),
        (["not", "an", "object"], "the client metadata document is not a JSON object"),
    ],
)
async def test_an_invalid_document_is_refused_on_an_error_page(server: OAuthHarness, doc: Any, reason: str) -> None:
    server.fetcher.documents[CLIENT_URL] = doc

    response = await server.open_consent(CLIENT_URL, redirect_uri=CALLBACK)

    assert response.status_code == 400
    assert "location" not in response.headers
    assert reason in response.text


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("client_id", "reason"),
    [
        ("https://app.example", "a URL client_id must contain a path"),
        ("https://app.example/", "a URL client_id must contain a path"),
        ("https://app.example/a/../client.json", "must not contain . or .. path segments"),
        ("https://user@app.example/client.json", "must not contain a user name or password"),
        ("https://app.example/missing.json", "the client metadata document could not be fetched"),
    ],
)
async def test_unusable_client_id_urls_are_refused(server: OAuthHarness, client_id: str, reason: str) -> None:
    response = await server.open_consent(client_id, redirect_uri=CALLBACK)

    assert response.status_code == 400
    assert reason in response.text


@pytest.mark.asyncio
async def test_the_redirect_uri_must_be_one_the_document_lists(server: OAuthHarness) -> None:
    server.fetcher.documents[CLIENT_URL] = document()

    response = await server.open_consent(CLIENT_URL, redirect_uri="https://claude.ai/api/mcp/auth_callback")

    assert response.status_code == 400
    assert "location" not in response.headers


@pytest.mark.asyncio
async def test_a_metadata_document_client_cannot_use_a_secret(server: OAuthHarness) -> None:
    server.fetcher.documents[CLIENT_URL] = document()
    code, verifier = await server.authorize(CLIENT_URL, redirect_uri=CALLBACK)

    response = await server.exchange(CLIENT_URL, code, verifier, redirect_uri=CALLBACK, client_secret="guess")

    assert response.status_code == 401


@pytest.mark.asyncio
async def test_an_unknown_metadata_client_at_the_token_endpoint_is_invalid_client(server: OAuthHarness) -> None:
    response = await server.refresh("https://app.example/nobody.json", "fsx_rt_x")

    assert response.status_code == 401
    assert response.json() == {"error": "invalid_client", "error_description": "unknown client"}


@pytest.mark.asyncio
async def test_a_document_without_a_name_is_named_after_its_host(server: OAuthHarness) -> None:
    server.fetcher.documents[CLIENT_URL] = document(client_name=None)

    page = await server.open_consent(CLIENT_URL, redirect_uri=CALLBACK)
    params = redirect_params(await server.decide(page))

    assert "Connect <strong>app.example</strong>" in page.text
    assert "code" in params


@pytest.mark.parametrize(
    ("header", "max_age"),
    [
        (None, None),
        ("public", None),
        ("public, max-age=300", 300),
        ('max-age="60"', 60),
        ("s-maxage=10, max-age=20", 20),
        ("no-store", 0),
        ("no-cache, max-age=500", 0),
    ],
)
def test_max_age_from_cache_control(header: str | None, max_age: int | None) -> None:
    assert max_age_from_cache_control(header) == max_age


@pytest.mark.asyncio
async def test_a_document_with_wrongly_typed_members_is_refused_not_crashed(server: OAuthHarness) -> None:
    server.fetcher.documents[CLIENT_URL] = document(token_endpoint_auth_method=["none"], grant_types="code")

    response = await server.open_consent(CLIENT_URL, redirect_uri=CALLBACK)

    assert response.status_code == 400
    assert "token_endpoint_auth_method must be a string" in response.text
