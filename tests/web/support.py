"""Helpers of the web app tests: a cookie-keeping client that fills forms the way a
browser does (with the page's CSRF token), and an MCP-style OAuth connection."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

CSRF_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
NEW_KEY = re.compile(r'id="new-key" type="text" value="([^"]+)"')
PASSWORD = "correct horse battery"


def csrf_of(page: httpx.Response) -> str:
    match = CSRF_TOKEN.search(page.text)
    assert match, f"no CSRF token on {page.request.url}"
    return match.group(1)


def secret_of(page: httpx.Response) -> str:
    match = NEW_KEY.search(page.text)
    assert match, "the page shows no new key"
    return match.group(1)


@dataclass
class WebSession:
    """One browser's worth of cookies against the app."""

    http: httpx.AsyncClient

    async def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.http.get(path, **kwargs)

    async def submit(self, form_page: str, action: str, data: dict[str, Any] | None = None) -> httpx.Response:
        """Open ``form_page`` and post ``data`` to ``action`` with the page's CSRF token."""
        page = await self.http.get(form_page)
        assert page.status_code == 200, page.text
        return await self.http.post(action, data={**(data or {}), "csrf_token": csrf_of(page)})

    async def sign_up(self, email: str, password: str = PASSWORD) -> httpx.Response:
        response = await self.submit("/signup", "/signup", {"email": email, "password": password})
        assert response.status_code == 303, response.text
        return response

    async def sign_in(self, email: str, password: str = PASSWORD) -> httpx.Response:
        return await self.submit("/login", "/login", {"email": email, "password": password})

    async def create_key(self, name: str = "Test key", **fields: Any) -> str:
        data = {"name": name, "scopes": fields.pop("scopes", ["credits:read", "content:read"]), **fields}
        page = await self.submit("/settings/api-keys/new", "/settings/api-keys", data)
        assert page.status_code == 200, page.text
        return secret_of(page)


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


async def connect_ai_app(
    http: httpx.AsyncClient, api_key: str, client_name: str = "Claude", resource: str | None = None
) -> dict[str, Any]:
    """Register a public client, approve it on the consent page with ``api_key`` and
    exchange the code: what an MCP client does. Returns the token response."""
    callback = "http://127.0.0.1:33418/callback"
    registered = await http.post(
        "/oauth/register",
        json={"client_name": client_name, "redirect_uris": [callback], "token_endpoint_auth_method": "none"},
    )
    assert registered.status_code == 201, registered.text
    client_id = registered.json()["client_id"]
    verifier, challenge = pkce_pair()
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": callback,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "state": "s1",
    }
    if resource:
        params["resource"] = resource
    page = await http.get("/oauth/authorize", params=params)
    assert page.status_code == 200, page.text
    signed = re.search(r'name="request" value="([^"]+)"', page.text)
    assert signed
    decision = await http.post(
        "/oauth/authorize", data={"request": signed.group(1), "action": "approve", "api_key": api_key}
    )
    assert decision.status_code == 303, decision.text
    code = parse_qs(urlsplit(decision.headers["location"]).query)["code"][0]
    token = await http.post(
        "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "code_verifier": verifier,
            "redirect_uri": callback,
            "client_id": client_id,
        },
    )
    assert token.status_code == 200, token.text
    return token.json()
