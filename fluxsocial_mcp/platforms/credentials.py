"""Platform credentials: sealed at rest, opened for a publish, renewed before they lapse.

Tokens are sealed with AES-256-GCM (``oauth.crypto.Sealer``) under a key derived from
the server secret for this one purpose (HKDF, info ``platform-credentials``), with the
account id as associated data: a sealed blob copied onto another account does not open.

``AccountTokens`` hands an adapter a usable token. A token about to expire is renewed
first (where the platform can renew one); a renewal the platform refuses marks the
account ``needs_reauth``, and the post fails with ``auth_expired`` and a message saying
to reconnect — never silently. Renewals of one account take turns in this process, and
one that lost a race with another worker (rotating refresh tokens are single-use) adopts
the winner's tokens instead of giving up.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from functools import lru_cache, partial
from typing import Any, Protocol, TypeVar

import anyio
from sqlalchemy import select, update

from oauth.crypto import SealError, Sealer, derive_key

from ..config import Settings
from ..db import Database
from ..models import SocialAccount
from ..core.content_dna import PastPostInput
from .base import PublishRequest, PublishResult
from .http import PlatformError

log = logging.getLogger(__name__)
T = TypeVar("T")

PURPOSE = "platform-credentials"
ACTIVE, NEEDS_REAUTH = "active", "needs_reauth"
# Renew this long before expiry, so a token never lapses between the check and the call.
REFRESH_MARGIN = timedelta(minutes=10)
RECONNECT_HINT = "Reconnect it in Settings → Businesses"


def _utc(value: datetime | None) -> datetime | None:
    return value.astimezone(timezone.utc) if value is not None else None


def expiry(now: datetime, expires_in: Any) -> datetime | None:
    """``now + expires_in`` seconds, for a token response's ``expires_in``; None when absent."""
    try:
        seconds = int(expires_in)
    except (TypeError, ValueError):
        return None
    return now + timedelta(seconds=seconds) if seconds > 0 else None


@dataclass(frozen=True)
class PlatformCredentials:
    """What an account needs to post: its token(s) and the platform's id for it."""

    access_token: str
    refresh_token: str | None = None
    expires_at: datetime | None = None
    refresh_expires_at: datetime | None = None
    # The id the platform's API addresses the account by: IG user, Page, open_id, member, …
    platform_user_id: str | None = None
    scope: str | None = None
    extra: Mapping[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
            "refresh_expires_at": self.refresh_expires_at.isoformat() if self.refresh_expires_at else None,
            "platform_user_id": self.platform_user_id,
            "scope": self.scope,
            "extra": dict(self.extra),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PlatformCredentials:
        token = data.get("access_token")
        if not isinstance(token, str) or not token:
            raise ValueError("credentials without an access token")

        def when(name: str) -> datetime | None:
            value = data.get(name)
            return _utc(datetime.fromisoformat(value)) if isinstance(value, str) and value else None

        return cls(
            access_token=token,
            refresh_token=data.get("refresh_token") or None,
            expires_at=when("expires_at"),
            refresh_expires_at=when("refresh_expires_at"),
            platform_user_id=data.get("platform_user_id") or None,
            scope=data.get("scope") or None,
            extra={str(k): str(v) for k, v in (data.get("extra") or {}).items()},
        )

    def expires_soon(self, now: datetime, margin: timedelta = REFRESH_MARGIN) -> bool:
        return self.expires_at is not None and self.expires_at - margin <= now

    def expired(self, now: datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= now

    def renewed(self, **changes: Any) -> PlatformCredentials:
        return replace(self, **changes)


def seal_context(account_id: str) -> str:
    return f"fluxsocial/platform-credentials/{account_id}"


@lru_cache(maxsize=8)
def _sealer(key: bytes) -> Sealer:
    return Sealer(key)


class CredentialVault:
    """Seals and opens an account's credentials under the server key."""

    def __init__(self, settings: Settings) -> None:
        self._sealer = _sealer(derive_key(settings.server_secret(), PURPOSE))

    def seal(self, account_id: str, credentials: PlatformCredentials) -> str:
        sealed = self._sealer.seal(json.dumps(credentials.as_dict()), context=seal_context(account_id))
        return base64.urlsafe_b64encode(sealed).decode("ascii")

    def open(self, account_id: str, sealed: str) -> PlatformCredentials:
        """Raises ``SealError`` for anything that is not this account's sealed credentials."""
        try:
            raw = base64.urlsafe_b64decode(sealed.encode("ascii"))
        except (ValueError, UnicodeEncodeError) as exc:
            raise SealError("not a sealed value") from exc
        plain = self._sealer.unseal(raw, context=seal_context(account_id))
        try:
            return PlatformCredentials.from_dict(json.loads(plain))
        except (ValueError, TypeError, AttributeError) as exc:
            raise SealError("sealed credentials are malformed") from exc


def open_credentials(settings: Settings, account: SocialAccount) -> dict[str, Any]:
    """The account's credentials as a plain dict for a ``PublishRequest``; {} when there are none
    (sandbox accounts) or they cannot be opened (the adapter then asks for a reconnect)."""
    if account.connection == "sandbox" or not account.credentials_sealed:
        return {}
    try:
        return CredentialVault(settings).open(account.id, account.credentials_sealed).as_dict()
    except SealError:
        log.warning("credentials of account %s do not open (server secret changed?)", account.id)
        return {}


class RefreshRejected(Exception):
    """The platform refused to renew the grant: only the account's owner can fix it, by reconnecting."""


class TokenRefresher(Protocol):
    def can_refresh(self, credentials: PlatformCredentials, now: datetime) -> bool:
        """Whether these credentials can be renewed without the account's owner."""
        ...

    async def refresh(self, credentials: PlatformCredentials, now: datetime) -> PlatformCredentials:
        """Renewed credentials.

        Raises:
            RefreshRejected: the platform refused the grant (revoked, expired, reused).
            PlatformError: the platform could not be asked (retry later).
        """
        ...


class AccountTokens:
    """Hands one platform's adapter a usable token for an account, renewing it when due."""

    def __init__(
        self,
        db: Database,
        vault: CredentialVault,
        refresher: TokenRefresher | None,
        *,
        label: str,
        clock: Callable[[], datetime],
    ) -> None:
        self.db = db
        self.vault = vault
        self.refresher = refresher
        self.label = label
        self.clock = clock
        self._locks: dict[str, anyio.Lock] = {}

    async def current(
        self,
        account_id: str,
        username: str,
        *,
        fallback: Mapping[str, Any] | None = None,
        force_refresh: bool = False,
    ) -> PlatformCredentials:
        """The account's credentials, renewed first when they are about to expire (or ``force_refresh``).

        ``fallback`` (the request's credentials) serves when the account is not stored.

        Raises:
            PlatformError: ``auth_expired`` (the account now needs reconnecting), or
                ``platform_down`` when a renewal could not reach the platform.
        """
        stored = await self._load(account_id)
        if stored is None:
            if not fallback:
                raise PlatformError(f"No {self.label} credentials are stored for {username}", "auth_expired")
            return PlatformCredentials.from_dict(fallback)
        status, sealed = stored
        if status == NEEDS_REAUTH:
            raise self._reconnect(username, "its authorization expired or was revoked")
        if not sealed:
            raise await self.needs_reconnect(account_id, username, "no credentials are stored for it")
        try:
            credentials = self.vault.open(account_id, sealed)
        except SealError:
            raise await self.needs_reconnect(account_id, username, "its stored credentials could not be opened") from None
        now = self.clock()
        if not force_refresh and not credentials.expires_soon(now):
            return credentials
        if self.refresher is None or not self.refresher.can_refresh(credentials, now):
            if force_refresh or credentials.expired(now):
                raise await self.needs_reconnect(
                    account_id, username, f"its access token expired and {self.label} cannot renew it without you"
                )
            return credentials
        async with self._lock(account_id):
            return await self._renew(account_id, username, sealed, credentials, now)

    async def _renew(
        self, account_id: str, username: str, sealed: str, credentials: PlatformCredentials, now: datetime
    ) -> PlatformCredentials:
        # Someone (a turn ahead of us, or another worker) may have renewed it already.
        newer = await self._newer(account_id, sealed, credentials)
        if newer is not None and not newer.expires_soon(now):
            return newer
        assert self.refresher is not None
        try:
            renewed = await self.refresher.refresh(credentials, now)
        except RefreshRejected as exc:
            newer = await self._newer(account_id, sealed, credentials)
            if newer is not None:
                return newer
            raise await self.needs_reconnect(
                account_id, username, f"{self.label} refused to renew its authorization ({exc})"
            ) from None
        await self._save(account_id, sealed, renewed)
        return renewed

    async def needs_reconnect(self, account_id: str, username: str, reason: str) -> PlatformError:
        """Mark the account ``needs_reauth`` and return the error its posts fail with."""
        async with self.db.transaction() as session:
            await session.execute(
                update(SocialAccount).where(SocialAccount.id == account_id).values(status=NEEDS_REAUTH)
            )
        log.info("%s account %s needs reconnecting: %s", self.label, account_id, reason)
        return self._reconnect(username, reason)

    def _reconnect(self, username: str, reason: str) -> PlatformError:
        return PlatformError(
            f"The {self.label} account {username} needs to be reconnected: {reason}. {RECONNECT_HINT}.",
            "auth_expired",
        )

    def _lock(self, account_id: str) -> anyio.Lock:
        lock = self._locks.get(account_id)
        if lock is None:
            lock = self._locks[account_id] = anyio.Lock()
        return lock

    async def _load(self, account_id: str) -> tuple[str, str | None] | None:
        async with self.db.transaction() as session:
            row = (await session.execute(
                select(SocialAccount.status, SocialAccount.credentials_sealed).where(SocialAccount.id == account_id)
            )).first()
        return (row[0], row[1]) if row is not None else None

    async def _newer(self, account_id: str, sealed: str, credentials: PlatformCredentials) -> PlatformCredentials | None:
        stored = await self._load(account_id)
        if stored is None or stored[0] != ACTIVE or not stored[1] or stored[1] == sealed:
            return None
        try:
            other = self.vault.open(account_id, stored[1])
        except SealError:
            return None
        return other if other.access_token != credentials.access_token else None

    async def _save(self, account_id: str, old_sealed: str, credentials: PlatformCredentials) -> None:
        # Only over what we renewed: a concurrent reconnect's fresh tokens win.
        async with self.db.transaction() as session:
            await session.execute(
                update(SocialAccount)
                .where(SocialAccount.id == account_id, SocialAccount.credentials_sealed == old_sealed)
                .values(credentials_sealed=self.vault.seal(account_id, credentials))
            )


async def with_fresh_token(
    tokens: AccountTokens,
    account_id: str,
    username: str,
    action: Callable[[PlatformCredentials], Awaitable[T]],
    *,
    fallback: Mapping[str, Any] | None = None,
) -> T:
    """Run ``action`` with the account's token.

    When the platform refuses the token itself, it is renewed once and ``action`` runs
    again; an ``auth_expired`` that remains marks the account ``needs_reauth``, and the
    error says to reconnect it.
    """
    credentials = await tokens.current(account_id, username, fallback=fallback)
    try:
        return await action(credentials)
    except PlatformError as exc:
        if exc.category != "auth_expired":
            raise
        failure = exc
    if failure.token_rejected and tokens.refresher is not None and tokens.refresher.can_refresh(
        credentials, tokens.clock()
    ):
        credentials = await tokens.current(account_id, username, fallback=fallback, force_refresh=True)
        try:
            return await action(credentials)
        except PlatformError as again:
            if again.category != "auth_expired":
                raise
            failure = again
    raise await tokens.needs_reconnect(account_id, username, failure.message)


class AccountPublisher:
    """What every real adapter shares: each call runs with the account's token, renewed
    once if the platform refuses it (see ``with_fresh_token``).

    Subclasses implement ``_publish`` and, where the platform can look a post up,
    ``_find``; both receive the account's current credentials.
    """

    name: str
    confirms_absence = False

    def __init__(self, endpoints: Any, http: Any, tokens: AccountTokens, clock: Callable[[], datetime]) -> None:
        self.endpoints = endpoints
        self.http = http
        self.tokens = tokens
        self.clock = clock

    async def publish(self, request: PublishRequest) -> PublishResult:
        return await with_fresh_token(
            self.tokens, request.account_id, request.username, partial(self._publish, request),
            fallback=request.credentials,
        )

    async def find_published(self, request: PublishRequest) -> PublishResult | None:
        return await with_fresh_token(
            self.tokens, request.account_id, request.username, partial(self._find, request),
            fallback=request.credentials,
        )

    async def _publish(self, request: PublishRequest, credentials: PlatformCredentials) -> PublishResult:
        raise NotImplementedError

    async def _find(self, request: PublishRequest, credentials: PlatformCredentials) -> PublishResult | None:
        return None


class ReadsPostHistory:
    """For adapters whose platform lists an account's recent posts with their interactions."""

    tokens: AccountTokens

    async def recent_posts(self, account_id: str, username: str) -> list[PastPostInput]:
        """The account's recent posts and their interactions (Content DNA, optimal time)."""
        return await with_fresh_token(self.tokens, account_id, username, self._recent_posts)

    async def _recent_posts(self, credentials: PlatformCredentials) -> list[PastPostInput]:
        raise NotImplementedError
