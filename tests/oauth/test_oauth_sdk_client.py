"""The MCP SDK's own OAuth client, end to end: discovery from a 401, registration (or a
metadata document), PKCE, the consent page, the RFC 9207 issuer check, the token exchange
and the authenticated retry."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx
import httpx2
import pytest
from mcp.client.auth import OAuthClientProvider
from mcp.shared.auth import AuthorizationCodeResult, OAuthClientInformationFull, OAuthClientMetadata, OAuthToken
from pydantic import AnyUrl
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from oauth import invalid_token_challenge, missing_token_challenge

from .oauth_harness import FULL_KEY, ISSUER, RESOURCE, OAuthHarness, redirect_params, signed_request

CALLBACK = "http://localhost:5555/oauth/callback"


class MemoryStorage:
    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client = client_info


def protected_app(server: OAuthHarness) -> Starlette:
    """The oauth routes plus a stand-in for /api/mcp guarded by the verifier."""

    async def mcp_endpoint(request: Request) -> Response:
        authorization = request.headers.get("authorization", "")
        if not authorization.lower().startswith("bearer "):
            return Response(status_code=401, headers={"WWW-Authenticate": missing_token_challenge(server.config)})
        token = await server.verifier.verify_token(authorization[7:])
        if token is None:
            return Response(status_code=401, headers={"WWW-Authenticate": invalid_token_challenge(server.config)})
        return JSONResponse({"client_id": token.client_id, "scopes": token.scopes, "user": token.subject})

    return Starlette(routes=[Route("/api/mcp", mcp_endpoint, methods=["GET", "POST"]), *server.app.routes])


def browser_consent(
    browser: httpx.AsyncClient, result: dict[str, AuthorizationCodeResult]
) -> tuple[Callable[[str], Awaitable[None]], Callable[[], Awaitable[AuthorizationCodeResult]]]:
    """A person in a browser: opens the page, pastes the key, approves."""

    async def redirect_handler(url: str) -> None:
        page = await browser.get(url)
        assert page.status_code == 200, page.text
        decision = await browser.post(
            "/oauth/authorize", data={"request": signed_request(page), "action": "approve", "api_key": FULL_KEY}
        )
        assert decision.status_code == 303, decision.text
        params = redirect_params(decision)
        result["callback"] = AuthorizationCodeResult(
            code=params["code"], state=params.get("state"), iss=params.get("iss")
        )

    async def callback_handler() -> AuthorizationCodeResult:
        return result["callback"]

    return redirect_handler, callback_handler


@pytest.mark.asyncio
async def test_the_sdk_client_discovers_registers_and_calls_the_resource(server: OAuthHarness) -> None:
    app = protected_app(server)
    result: dict[str, AuthorizationCodeResult] = {}
    storage = MemoryStorage()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=ISSUER) as browser:
        redirect_handler, callback_handler = browser_consent(browser, result)
        auth = OAuthClientProvider(
            server_url=RESOURCE,
            client_metadata=OAuthClientMetadata(
                client_name="SDK test client",
                redirect_uris=[AnyUrl(CALLBACK)],
                token_endpoint_auth_method="none",
                scope="content:read credits:read",
            ),
            storage=storage,
            redirect_handler=redirect_handler,
            callback_handler=callback_handler,
        )
        async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), auth=auth) as mcp_client:
            response = await mcp_client.get(RESOURCE)

    assert response.status_code == 200
    # The SDK asks for the scopes the 401 challenge names (SEP-835), here all of them.
    assert response.json()["scopes"] == list(server.config.scopes_supported)
    assert response.json()["user"] == "usr_alice"
    assert storage.client is not None and storage.client.client_id.startswith("fsc_")
    assert storage.tokens is not None and storage.tokens.refresh_token is not None
    assert result["callback"].iss == ISSUER


@pytest.mark.asyncio
async def test_the_sdk_client_uses_a_client_id_metadata_document(server: OAuthHarness) -> None:
    client_url = "https://sdk-client.example/oauth/metadata.json"
    server.fetcher.documents[client_url] = {
        "client_id": client_url,
        "client_name": "SDK CIMD client",
        "redirect_uris": [CALLBACK],
        "token_endpoint_auth_method": "none",
    }
    app = protected_app(server)
    result: dict[str, AuthorizationCodeResult] = {}
    storage = MemoryStorage()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=ISSUER) as browser:
        redirect_handler, callback_handler = browser_consent(browser, result)
        auth = OAuthClientProvider(
            server_url=RESOURCE,
            client_metadata=OAuthClientMetadata(
                redirect_uris=[AnyUrl(CALLBACK)],
                token_endpoint_auth_method="none",
            ),
            storage=storage,
            redirect_handler=redirect_handler,
            callback_handler=callback_handler,
            client_metadata_url=client_url,
        )
        async with httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), auth=auth) as mcp_client:
            response = await mcp_client.get(RESOURCE)

    assert response.status_code == 200
    assert response.json()["client_id"] == client_url
    assert server.fetcher.fetched == [client_url]
