"""The authorization endpoint: consent page, CSRF, PKCE, redirect URIs, scopes."""

from __future__ import annotations

import time

import itsdangerous
import pytest
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from .oauth_harness import (
    CLAUDE_CALLBACK,
    FULL_KEY,
    ISSUER,
    READ_KEY,
    OAuthHarness,
    authorize_params,
    new_verifier,
    redirect_params,
    signed_request,
)


@pytest.mark.asyncio
async def test_consent_page_names_the_client_its_redirect_host_and_the_scopes(server: OAuthHarness) -> None:
    client = await server.register(client_name="Claude")

    page = await server.open_consent(client["client_id"], scope="content:read post:write")

    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "Connect <strong>Claude</strong> to your FluxSocial account?" in page.text
    assert '<strong class="host">claude.ai</strong>' in page.text
    assert "Read your generated content and the status of videos and posts" in page.text
    assert "Publish, schedule and cancel posts on your social accounts" in page.text
    assert "See your credit balance" not in page.text
    assert 'type="password"' in page.text and 'name="api_key"' in page.text
    assert 'value="approve"' in page.text and 'value="deny"' in page.text
    assert '<form method="post" action="/oauth/authorize">' in page.text


@pytest.mark.asyncio
async def test_consent_page_is_protected_against_framing_caching_and_csrf(server: OAuthHarness) -> None:
    client = await server.register()

    page = await server.open_consent(client["client_id"])

    assert page.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-store"
    cookie = page.headers["set-cookie"]
    # https issuer: the __Host- prefix requires Secure and Path=/.
    assert cookie.startswith("__Host-fsx_oauth_csrf=")
    for attribute in ("HttpOnly", "Secure", "SameSite=lax", "Path=/"):
        assert attribute.lower() in cookie.lower()


@pytest.mark.asyncio
async def test_client_supplied_names_are_escaped(server: OAuthHarness) -> None:
    client = await server.register(client_name='<script>alert("x")</script>')

    page = await server.open_consent(client["client_id"])

    assert "<script>" not in page.text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page.text


@pytest.mark.asyncio
async def test_approval_redirects_with_code_state_and_issuer(server: OAuthHarness) -> None:
    client = await server.register()
    page = await server.open_consent(client["client_id"], state="xyz state")

    decision = await server.decide(page)

    assert decision.status_code == 303
    location = decision.headers["location"]
    assert location.startswith(CLAUDE_CALLBACK + "?")
    params = redirect_params(decision)
    assert params["code"].startswith("fsx_ac_")
    assert params["state"] == "xyz state"
    assert params["iss"] == ISSUER
    assert FULL_KEY not in location


@pytest.mark.asyncio
async def test_state_is_optional(server: OAuthHarness) -> None:
    client = await server.register()
    page = await server.open_consent(client["client_id"], state=None)

    params = redirect_params(await server.decide(page))

    assert "state" not in params and params["iss"] == ISSUER and "code" in params


@pytest.mark.asyncio
async def test_denial_redirects_with_access_denied(server: OAuthHarness) -> None:
    client = await server.register()
    page = await server.open_consent(client["client_id"])

    decision = await server.decide(page, action="deny", api_key=None)

    assert decision.status_code == 303
    assert redirect_params(decision) == {
        "error": "access_denied",
        "error_description": "The user denied the request",
        "state": "state-123",
        "iss": ISSUER,
    }


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("params", "description"),
    [
        ({"code_challenge": None}, "code_challenge is required (PKCE, RFC 7636)"),
        ({"code_challenge_method": None}, "code_challenge_method must be S256"),
        ({"code_challenge_method": "plain"}, "code_challenge_method must be S256"),
        ({"code_challenge": "short"}, "code_challenge must be the 43-character BASE64URL of a SHA-256"),
        ({"response_type": None}, "response_type is required"),
    ],
)
async def test_pkce_s256_is_required(server: OAuthHarness, params: dict[str, str | None], description: str) -> None:
    client = await server.register()

    response = await server.open_consent(client["client_id"], **params)

    assert response.status_code == 302
    assert redirect_params(response) == {
        "error": "invalid_request",
        "error_description": description,
        "state": "state-123",
        "iss": ISSUER,
    }


@pytest.mark.asyncio
async def test_other_response_types_are_unsupported(server: OAuthHarness) -> None:
    client = await server.register()

    response = await server.open_consent(client["client_id"], response_type="token")

    assert redirect_params(response)["error"] == "unsupported_response_type"


@pytest.mark.asyncio
async def test_a_resource_other_than_the_mcp_endpoint_is_an_invalid_target(server: OAuthHarness) -> None:
    client = await server.register()

    response = await server.open_consent(client["client_id"], resource="https://other.example/api/mcp")

    assert response.status_code == 302
    assert redirect_params(response) == {
        "error": "invalid_target",
        "error_description": "this server only issues tokens for https://flux.example/api/mcp",
        "state": "state-123",
        "iss": ISSUER,
    }


@pytest.mark.asyncio
@pytest.mark.parametrize("resource", ["https://flux.example/api/mcp/", "HTTPS://FLUX.example:443/api/mcp"])
async def test_equivalent_spellings_of_the_resource_are_accepted(server: OAuthHarness, resource: str) -> None:
    client = await server.register()

    assert (await server.open_consent(client["client_id"], resource=resource)).status_code == 200


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "redirect_uri",
    ["https://evil.example/callback", "https://claude.ai/api/mcp/auth_callback/../evil", CLAUDE_CALLBACK + "?x=1"],
)
async def test_an_unregistered_redirect_uri_gets_an_error_page_never_a_redirect(
    server: OAuthHarness, redirect_uri: str
) -> None:
    client = await server.register()

    response = await server.open_consent(client["client_id"], redirect_uri=redirect_uri, code_challenge=None)

    assert response.status_code == 400
    assert "location" not in response.headers
    assert "has not registered (redirect_uri)" in response.text


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("client_id", "message"),
    [
        (None, "client_id is missing"),
        ("fsc_unknown", "not known to this server: unknown client_id"),
    ],
)
async def test_an_unknown_client_gets_an_error_page(server: OAuthHarness, client_id: str | None, message: str) -> None:
    query = authorize_params("placeholder")
    query.pop("client_id")
    if client_id is not None:
        query["client_id"] = client_id

    response = await server.http.get("/oauth/authorize", params=query)

    assert response.status_code == 400
    assert "location" not in response.headers
    assert message in response.text


@pytest.mark.asyncio
async def test_loopback_redirects_match_on_any_port(server: OAuthHarness) -> None:
    client = await server.register(redirect_uris=["http://127.0.0.1:33418/", "http://localhost:3000/callback"])
    verifier = new_verifier()

    page = await server.open_consent(
        client["client_id"],
        redirect_uri="http://127.0.0.1:51234/",
        code_challenge=create_s256_code_challenge(verifier),
    )
    decision = await server.decide(page)
    tokens = await server.exchange(
        client["client_id"], redirect_params(decision)["code"], verifier, redirect_uri="http://127.0.0.1:51234/"
    )

    assert decision.headers["location"].startswith("http://127.0.0.1:51234/?code=")
    assert tokens.status_code == 200
    assert (
        await server.open_consent(client["client_id"], redirect_uri="http://localhost:61000/callback")
    ).status_code == 200
    # The port is free; the host and path are not.
    assert (
        await server.open_consent(client["client_id"], redirect_uri="http://localhost:3000/other")
    ).status_code == 400
    assert (await server.open_consent(client["client_id"], redirect_uri="http://127.0.0.2:33418/")).status_code == 400


@pytest.mark.asyncio
async def test_the_redirect_uri_keeps_its_own_query(server: OAuthHarness) -> None:
    client = await server.register(redirect_uris=["https://app.example/cb?tenant=7"])
    page = await server.open_consent(client["client_id"], redirect_uri="https://app.example/cb?tenant=7")

    decision = await server.decide(page)

    assert decision.headers["location"].startswith("https://app.example/cb?tenant=7&code=")


@pytest.mark.asyncio
async def test_redirect_uri_may_be_omitted_when_only_one_is_registered(server: OAuthHarness) -> None:
    client = await server.register()
    verifier = new_verifier()
    page = await server.open_consent(
        client["client_id"], redirect_uri=None, code_challenge=create_s256_code_challenge(verifier)
    )

    code = redirect_params(await server.decide(page))["code"]
    response = await server.exchange(client["client_id"], code, verifier, redirect_uri=None)

    assert response.status_code == 200


@pytest.mark.asyncio
async def test_posting_without_the_csrf_cookie_is_forbidden(server: OAuthHarness) -> None:
    client = await server.register()
    page = await server.open_consent(client["client_id"])
    server.http.cookies.clear()

    response = await server.decide(page)

    assert response.status_code == 403
    assert "location" not in response.headers
    assert "security cookie" in response.text


@pytest.mark.asyncio
async def test_a_form_from_another_browser_is_forbidden(server: OAuthHarness) -> None:
    client = await server.register()
    page = await server.open_consent(client["client_id"])
    # Another browser has its own cookie: the form is bound to the first one's.
    server.http.cookies.clear()
    server.http.cookies.set("__Host-fsx_oauth_csrf", "A" * 43, domain="flux.example")

    response = await server.decide(page)

    assert response.status_code == 403
    assert "not opened in this browser" in response.text


@pytest.mark.asyncio
async def test_a_tampered_form_is_refused(server: OAuthHarness) -> None:
    client = await server.register()
    page = await server.open_consent(client["client_id"])
    signed = signed_request(page)
    # Alter the signed payload itself (the signature's last character may only carry padding bits).
    tampered_request = signed[:10] + ("A" if signed[10] != "A" else "B") + signed[11:]
    form = {"request": tampered_request, "action": "approve", "api_key": FULL_KEY}

    tampered = await server.http.post("/oauth/authorize", data=form)

    assert tampered.status_code == 400
    assert "This approval form is not valid" in tampered.text
    assert "location" not in tampered.headers


@pytest.mark.asyncio
async def test_an_expired_form_is_refused(server: OAuthHarness, monkeypatch: pytest.MonkeyPatch) -> None:
    client = await server.register()
    page = await server.open_consent(client["client_id"])
    later = int(time.time()) + server.config.consent_ttl + 5
    monkeypatch.setattr(itsdangerous.TimestampSigner, "get_timestamp", lambda self: later)

    expired = await server.decide(page)

    assert expired.status_code == 400
    assert "This approval page has expired" in expired.text


@pytest.mark.asyncio
async def test_a_wrong_api_key_rerenders_the_page_and_failures_are_rate_limited(server: OAuthHarness) -> None:
    client = await server.register()
    page = await server.open_consent(client["client_id"])

    for _ in range(3):
        response = await server.decide(page, api_key="fsx_live_wrong")
        assert response.status_code == 400
        assert "That API key was not accepted" in response.text
        assert "fsx_live_wrong" not in response.text
        assert 'aria-invalid="true"' in response.text
    limited = await server.decide(page, api_key=FULL_KEY)

    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) > 0
    assert "Too many API keys were not accepted" in limited.text


@pytest.mark.asyncio
async def test_an_empty_api_key_asks_for_one(server: OAuthHarness) -> None:
    client = await server.register()
    page = await server.open_consent(client["client_id"])

    response = await server.decide(page, api_key="")

    assert response.status_code == 400
    assert "Paste your FluxSocial API key to approve." in response.text


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("api_key", "scope", "granted"),
    [
        (READ_KEY, "content:read post:write", "content:read"),
        (READ_KEY, None, "credits:read content:read"),
        (READ_KEY, "openid credits:read offline_access", "credits:read"),
        (READ_KEY, "openid", "credits:read content:read"),
        (FULL_KEY, "post:write content:read", "content:read post:write"),
        (FULL_KEY, None, "credits:read content:read content:write post:write accounts:read businesses:read"),
    ],
)
async def test_granted_scopes_are_the_requested_ones_the_key_holds(
    server: OAuthHarness, api_key: str, scope: str | None, granted: str
) -> None:
    client = await server.register()

    code, verifier = await server.authorize(client["client_id"], api_key=api_key, scope=scope)
    tokens = (await server.exchange(client["client_id"], code, verifier)).json()

    assert tokens["scope"] == granted
    verified = await server.verifier.verify_token(tokens["access_token"])
    assert verified is not None and verified.scopes == granted.split()


@pytest.mark.asyncio
async def test_a_key_with_none_of_the_requested_scopes_is_an_invalid_scope(server: OAuthHarness) -> None:
    client = await server.register()
    page = await server.open_consent(client["client_id"], scope="post:write")

    decision = await server.decide(page, api_key=READ_KEY)

    assert decision.status_code == 303
    assert redirect_params(decision) == {
        "error": "invalid_scope",
        "error_description": "The API key holds none of the requested scopes",
        "state": "state-123",
        "iss": ISSUER,
    }


@pytest.mark.asyncio
async def test_a_repeated_parameter_is_an_invalid_request(server: OAuthHarness) -> None:
    client = await server.register()
    query: list[tuple[str, str | int | float | bool | None]] = [
        *authorize_params(client["client_id"]).items(),
        ("scope", "a"),
        ("scope", "b"),
    ]

    response = await server.http.get("/oauth/authorize", params=query)

    assert redirect_params(response)["error"] == "invalid_request"
    assert redirect_params(response)["error_description"] == "the scope parameter must not be repeated"
