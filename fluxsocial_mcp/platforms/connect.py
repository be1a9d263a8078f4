"""Connecting social accounts: each platform's OAuth flow, and storing what it grants.

Every platform is a ``ConnectFlow`` (its module implements it next to its publisher):
the authorize URL with ``state`` and, where the platform supports it, PKCE S256
(RFC 7636); the code exchange; the identities the grant covers (a Facebook grant covers
each Page the person manages); and renewal (``TokenRefresher``). ``start_connect`` and
``finish_connect`` are the platform-agnostic halves the web routes call, and
``store_account`` upserts the ``SocialAccount`` with its tokens sealed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Protocol
from urllib.parse import urlencode

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from oauth.crypto import SealError

from .. import ids
from ..core import businesses
from ..db import Database
from ..errors import BadRequest
from ..models import SocialAccount
from .credentials import ACTIVE, CredentialVault, PlatformCredentials, TokenRefresher

# How long a started connect may take before its callback is refused.
PENDING_TTL_SECONDS = 15 * 60


class ConnectError(Exception):
    """A connect that cannot complete; the message is shown to the person connecting."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class AccountIdentity:
    """One account a grant lets us post as."""

    platform_user_id: str
    username: str
    followers: int
    credentials: PlatformCredentials


class ConnectFlow(TokenRefresher, Protocol):
    platform: str
    label: str
    # PKCE S256 on the authorize request and the code exchange (RFC 7636).
    uses_pkce: bool

    def configured(self) -> bool:
        """Whether the client id and secret of this platform are set."""
        ...

    def authorize_url(self, *, redirect_uri: str, state: str, code_challenge: str | None) -> str: ...

    async def exchange_code(
        self, *, code: str, redirect_uri: str, code_verifier: str | None, now: datetime
    ) -> PlatformCredentials:
        """Raises ``ConnectError`` when the platform refuses the code."""
        ...

    async def identities(self, credentials: PlatformCredentials, now: datetime) -> list[AccountIdentity]:
        """The accounts these credentials post as (username, followers, per-account credentials)."""
        ...


def authorize_url(base: str, params: Mapping[str, str | None]) -> str:
    return f"{base}?{urlencode({k: v for k, v in params.items() if v is not None})}"


def pkce_pair() -> tuple[str, str]:
    """A code verifier (43 chars, 256 bits) and its S256 challenge (RFC 7636 §4.1, §4.2)."""
    verifier = secrets.token_urlsafe(32)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


@dataclass(frozen=True)
class PendingConnect:
    """What the browser session keeps between the redirect to the platform and its callback."""

    platform: str
    business_id: str
    state: str
    code_verifier: str | None
    started_at: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: object) -> PendingConnect | None:
        if not isinstance(data, dict):
            return None
        try:
            return cls(
                platform=str(data["platform"]),
                business_id=str(data["business_id"]),
                state=str(data["state"]),
                code_verifier=data.get("code_verifier"),
                started_at=float(data["started_at"]),
            )
        except (KeyError, TypeError, ValueError):
            return None


def start_connect(flow: ConnectFlow, *, redirect_uri: str, business_id: str, now: float) -> tuple[str, PendingConnect]:
    """The platform's authorize URL and what to keep until its callback."""
    if not flow.configured():
        raise ConnectError(
            f"{flow.label} is not set up on this server: set FLUXSOCIAL_{flow.platform.upper()}_CLIENT_"
            f"{'KEY' if flow.platform == 'tiktok' else 'ID'} and its secret (see the README)"
        )
    state = secrets.token_urlsafe(32)
    verifier, challenge = pkce_pair() if flow.uses_pkce else (None, None)
    pending = PendingConnect(flow.platform, business_id, state, verifier, now)
    return flow.authorize_url(redirect_uri=redirect_uri, state=state, code_challenge=challenge), pending


def check_callback(pending: PendingConnect | None, platform: str, state: str | None, now: float) -> PendingConnect:
    """The pending connect this callback completes, or ``ConnectError`` (RFC 6749 §10.12: state binds it)."""
    if (
        pending is None
        or pending.platform != platform
        or not state
        or not hmac.compare_digest(pending.state.encode(), state.encode())
    ):
        raise ConnectError("This connection was not started from this browser, or it was already used. Start again.")
    if now - pending.started_at > PENDING_TTL_SECONDS:
        raise ConnectError("This connection took too long. Start again.")
    return pending


async def finish_connect(
    db: Database,
    vault: CredentialVault,
    flow: ConnectFlow,
    *,
    pending: PendingConnect,
    code: str,
    redirect_uri: str,
    user_id: str,
    now: datetime,
) -> list[SocialAccount]:
    """Exchange the code, look up the accounts it covers, and store them under the business."""
    async with db.transaction() as session:
        await businesses.get_user_business(session, user_id, pending.business_id)
    credentials = await flow.exchange_code(
        code=code, redirect_uri=redirect_uri, code_verifier=pending.code_verifier, now=now
    )
    found = await flow.identities(credentials, now)
    if not found:
        raise ConnectError(f"{flow.label} did not grant access to any account that can publish")
    async with db.transaction() as session:
        return [
            await store_account(
                session, vault, user_id=user_id, business_id=pending.business_id, platform=flow.platform, identity=identity,
                now=now,
            )
            for identity in found
        ]


async def store_account(
    session: AsyncSession,
    vault: CredentialVault,
    *,
    user_id: str,
    business_id: str,
    platform: str,
    identity: AccountIdentity,
    now: datetime,
) -> SocialAccount:
    """Create the account, or renew the one already connected for this platform user."""
    credentials = identity.credentials.renewed(platform_user_id=identity.platform_user_id)
    existing = await _connected_account(session, vault, business_id, platform, identity.platform_user_id)
    account = existing or SocialAccount(
        id=ids.new_id(ids.ACCOUNT),
        user_id=user_id,
        business_id=business_id,
        platform=platform,
        connection=platform,
        username=identity.username,
        created_at=now,
    )
    account.username = identity.username[:200]
    account.followers = max(0, int(identity.followers))
    account.credentials_sealed = vault.seal(account.id, credentials)
    account.status = ACTIVE
    if existing is None:
        session.add(account)
    await session.flush()
    return account


async def _connected_account(
    session: AsyncSession, vault: CredentialVault, business_id: str, platform: str, platform_user_id: str
) -> SocialAccount | None:
    rows = await session.scalars(
        select(SocialAccount).where(
            SocialAccount.business_id == business_id,
            SocialAccount.platform == platform,
            SocialAccount.connection == platform,
        )
    )
    for account in rows:
        if not account.credentials_sealed:
            continue
        try:
            stored = vault.open(account.id, account.credentials_sealed)
        except SealError:
            continue
        if stored.platform_user_id == platform_user_id:
            return account
    return None


async def add_account_from_token(
    db: Database,
    vault: CredentialVault,
    flows: Mapping[str, ConnectFlow],
    *,
    user_id: str,
    business_id: str,
    platform: str,
    username: str,
    access_token: str,
    refresh_token: str | None,
    platform_user_id: str | None,
    now: datetime,
) -> SocialAccount:
    """Store an account from a token obtained elsewhere (the CLI's ``accounts add``).

    Without ``platform_user_id`` the platform is asked who the token belongs to.
    """
    if platform not in flows:
        raise BadRequest(f"'platform' must be one of {', '.join(sorted(flows))}")
    async with db.transaction() as session:
        await businesses.get_user_business(session, user_id, business_id)
    credentials = PlatformCredentials(access_token=access_token, refresh_token=refresh_token)
    if platform_user_id:
        identity = AccountIdentity(platform_user_id, username, 0, credentials)
    else:
        identity = _pick(await flows[platform].identities(credentials, now), username, flows[platform].label)
    async with db.transaction() as session:
        return await store_account(
            session, vault, user_id=user_id, business_id=business_id, platform=platform, identity=identity, now=now
        )


def _pick(found: Sequence[AccountIdentity], username: str, label: str) -> AccountIdentity:
    wanted = username.lstrip("@").lower()
    for identity in found:
        if identity.username.lstrip("@").lower() == wanted:
            return identity
    if len(found) == 1:
        return found[0]
    names = ", ".join(identity.username for identity in found) or "none"
    raise BadRequest(f"The {label} token does not belong to {username} (it covers: {names})")
