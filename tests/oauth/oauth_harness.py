"""What the OAuth tests share: fake API keys, a fake metadata fetcher, a movable clock,
and a harness that walks the flow the way an MCP client does."""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from starlette.applications import Starlette

from oauth import (
    ALL_SCOPES,
    FetchedClientMetadata,
    KeyGrant,
    OAuthConfig,
    OAuthTokenVerifier,
    SqlOAuthStore,
)

ISSUER = "https://flux.example"
RESOURCE = f"{ISSUER}/api/mcp"
FULL_KEY = "fsx_live_" + "F" * 40
READ_KEY = "fsx_live_" + "R" * 40
READ_KEY_SCOPES = frozenset({"credits:read", "content:read"})
CLAUDE_CALLBACK = "https://claude.ai/api/mcp/auth_callback"


class FakeKeys:
    """Two API keys: one with every scope, one read-only; either can be revoked."""

    def __init__(self) -> None:
        self.keys = {
            FULL_KEY: KeyGrant("key_full", "usr_alice", frozenset(ALL_SCOPES)),
            READ_KEY: KeyGrant("key_read", "usr_bob", READ_KEY_SCOPES),
        }
        self.revoked: set[str] = set()

    async def verify_api_key(self, secret: str) -> KeyGrant | None:
        grant = self.keys.get(secret)
        return grant if grant is not None and grant.key_id not in self.revoked else None

    async def key_is_active(self, key_id: str) -> bool:
        return key_id not in self.revoked and any(g.key_id == key_id for g in self.keys.values())

    def revoke(self, key_id: str) -> None:
        self.revoked.add(key_id)

    def narrow(self, secret: str, scopes: set[str]) -> None:
        grant = self.keys[secret]
        self.keys[secret] = KeyGrant(grant.key_id, grant.user_id, frozenset(scopes))


@dataclass
class FakeFetcher:
    """Client ID Metadata Documents by URL; counts fetches."""

    documents: dict[str, Mapping[str, Any] | FetchedClientMetadata] = field(default_factory=dict)
    fetched: list[str] = field(default_factory=list)

    async def __call__(self, url: str) -> Mapping[str, Any] | FetchedClientMetadata:
        self.fetched.append(url)
        if url not in self.documents:
            raise LookupError(f"no document at {url}")
        return self.documents[url]


@dataclass
class Clock:
    """A clock tests can move."""

    offset_seconds: float = 0

    def __call__(self) -> datetime:
        return datetime.now(timezone.utc) + timedelta(seconds=self.offset_seconds)

    def advance(self, seconds: float) -> None:
        self.offset_seconds += seconds


def make_config(**overrides: Any) -> OAuthConfig:
    settings: dict[str, Any] = {
        "issuer": ISSUER,
        "resource": RESOURCE,
        "resource_name": "FluxSocial MCP",
        "sealing_key": b"k" * 32,
    }
    settings.update(overrides)
    return OAuthConfig(**settings)


@dataclass
class OAuthHarness:
    """Everything a test needs, with helpers that walk the flow the way a client does."""

    http: httpx.AsyncClient
    app: Starlette
    config: OAuthConfig
    store: SqlOAuthStore
    keys: FakeKeys
    fetcher: FakeFetcher
    clock: Clock
    verifier: OAuthTokenVerifier
    database: Path | None

    async def register(self, **metadata: Any) -> dict[str, Any]:
        metadata.setdefault("redirect_uris", [CLAUDE_CALLBACK])
        metadata.setdefault("token_endpoint_auth_method", "none")
        metadata.setdefault("client_name", "Claude")
        response = await self.http.post("/oauth/register", json=metadata)
        assert response.status_code == 201, response.text
        return response.json()

    async def open_consent(self, client_id: str, **params: str | None) -> httpx.Response:
        query = authorize_params(client_id, **params)
        return await self.http.get("/oauth/authorize", params=query)

    async def decide(
        self, page: httpx.Response, *, action: str = "approve", api_key: str | None = FULL_KEY
    ) -> httpx.Response:
        form = {"request": signed_request(page), "action": action}
        if api_key is not None:
            form["api_key"] = api_key
        return await self.http.post("/oauth/authorize", data=form)

    async def authorize(
        self, client_id: str, *, api_key: str = FULL_KEY, verifier: str | None = None, **params: str | None
    ) -> tuple[str, str]:
        """Consent with ``api_key``; returns (code, code_verifier)."""
        verifier = verifier or new_verifier()
        params.setdefault("code_challenge", create_s256_code_challenge(verifier))
        page = await self.open_consent(client_id, **params)
        assert page.status_code == 200, page.text
        decision = await self.decide(page, api_key=api_key)
        assert decision.status_code == 303, decision.text
        return redirect_params(decision)["code"], verifier

    async def exchange(self, client_id: str, code: str, verifier: str | None, **extra: str | None) -> httpx.Response:
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "code_verifier": verifier,
            "redirect_uri": CLAUDE_CALLBACK,
            "client_id": client_id,
            **extra,
        }
        return await self.http.post("/oauth/token", data={k: v for k, v in form.items() if v is not None})

    async def refresh(self, client_id: str, refresh_token: str, **extra: str) -> httpx.Response:
        form = {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": client_id, **extra}
        return await self.http.post("/oauth/token", data=form)

    async def connect(self, *, api_key: str = FULL_KEY, **metadata: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        """Register a public client and run the whole flow; returns (client, token response)."""
        client = await self.register(**metadata)
        code, verifier = await self.authorize(client["client_id"], api_key=api_key)
        response = await self.exchange(client["client_id"], code, verifier)
        assert response.status_code == 200, response.text
        return client, response.json()


def new_verifier() -> str:
    return secrets.token_urlsafe(48)


def authorize_params(client_id: str, **params: str | None) -> dict[str, str]:
    query: dict[str, str | None] = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": CLAUDE_CALLBACK,
        "code_challenge": create_s256_code_challenge(new_verifier()),
        "code_challenge_method": "S256",
        "state": "state-123",
        "scope": None,
        "resource": RESOURCE,
    }
    query.update(params)
    return {k: v for k, v in query.items() if v is not None}


def signed_request(page: httpx.Response) -> str:
    match = re.search(r'name="request" value="([^"]+)"', page.text)
    assert match, "the consent page has no signed request"
    return match.group(1)


def redirect_params(response: httpx.Response) -> dict[str, str]:
    location = response.headers["location"]
    return {name: values[0] for name, values in parse_qs(urlsplit(location).query).items()}
