"""Data access of the authorization server, behind one small Protocol.

Each method is one transaction. The operations that must not happen twice — redeeming
a code, rotating a refresh token — are conditional updates that report whether they
won, so two concurrent requests can never both succeed (SQLite serialises writers;
on PostgreSQL the second ``UPDATE … WHERE consumed_at IS NULL`` re-checks after the
first commits and matches nothing).
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col

from .models import OAuthAccessToken, OAuthAuthorizationCode, OAuthClient, OAuthGrant, OAuthRefreshToken


class OAuthStore(Protocol):
    async def get_client(self, client_id: str) -> OAuthClient | None:
        """The client with this id, registered or cached from a metadata document."""
        ...

    async def save_client(self, client: OAuthClient) -> None:
        """Insert the client, or replace the stored one with the same id (a refreshed metadata document)."""
        ...

    async def save_authorization_code(self, code: OAuthAuthorizationCode) -> None: ...

    async def get_authorization_code(self, code_hash: str) -> OAuthAuthorizationCode | None: ...

    async def redeem_authorization_code(
        self,
        code_id: str,
        grant: OAuthGrant,
        access_token: OAuthAccessToken,
        refresh_token: OAuthRefreshToken | None,
        now: datetime,
    ) -> bool:
        """Mark the code used and store the grant it created with its first tokens, atomically.

        Returns:
            False, storing nothing, when the code was already used.
        """
        ...

    async def get_grant(self, grant_id: str) -> OAuthGrant | None: ...

    async def get_access_token(self, token_hash: str) -> OAuthAccessToken | None: ...

    async def get_refresh_token(self, token_hash: str) -> OAuthRefreshToken | None: ...

    async def rotate_refresh_token(
        self,
        refresh_token_id: str,
        access_token: OAuthAccessToken,
        refresh_token: OAuthRefreshToken,
        now: datetime,
    ) -> bool:
        """Mark a refresh token used and store its successors, atomically.

        Returns:
            False, storing nothing, when the token was already used or revoked.
        """
        ...

    async def revoke_access_token(self, token_id: str, now: datetime) -> None: ...

    async def revoke_family(self, family_id: str, now: datetime) -> None:
        """Revoke a grant and every token issued from it."""
        ...

    async def revoke_key_grants(self, key_id: str, now: datetime) -> int:
        """Revoke every grant made with an API key, and their tokens; returns how many grants."""
        ...

    async def list_user_grants(self, user_id: str) -> list[OAuthGrant]:
        """The user's grants that are not revoked, newest first."""
        ...

    async def delete_expired(self, now: datetime) -> int:
        """Delete expired codes and tokens; returns how many rows went."""
        ...


class SqlOAuthStore:
    """`OAuthStore` on SQLAlchemy: SQLite (aiosqlite) and PostgreSQL (asyncpg)."""

    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self._session_factory = session_factory

    def _session(self) -> AsyncSession:
        # Rows are handed back to callers after the session closes.
        return self._session_factory(expire_on_commit=False)

    async def get_client(self, client_id: str) -> OAuthClient | None:
        async with self._session() as session:
            return await session.get(OAuthClient, client_id)

    async def save_client(self, client: OAuthClient) -> None:
        try:
            async with self._session() as session, session.begin():
                await session.merge(client)
        except IntegrityError:
            # A concurrent request inserted the same metadata document first; merge
            # now finds that row and replaces it.
            async with self._session() as session, session.begin():
                await session.merge(client)

    async def save_authorization_code(self, code: OAuthAuthorizationCode) -> None:
        async with self._session() as session, session.begin():
            session.add(code)

    async def get_authorization_code(self, code_hash: str) -> OAuthAuthorizationCode | None:
        async with self._session() as session:
            return await session.scalar(
                select(OAuthAuthorizationCode).where(col(OAuthAuthorizationCode.code_hash) == code_hash)
            )

    async def redeem_authorization_code(
        self,
        code_id: str,
        grant: OAuthGrant,
        access_token: OAuthAccessToken,
        refresh_token: OAuthRefreshToken | None,
        now: datetime,
    ) -> bool:
        async with self._session() as session, session.begin():
            claimed = await session.execute(
                update(OAuthAuthorizationCode)
                .where(col(OAuthAuthorizationCode.id) == code_id, col(OAuthAuthorizationCode.consumed_at).is_(None))
                .values(consumed_at=now, grant_id=grant.id)
            )
            if claimed.rowcount != 1:  # type: ignore[attr-defined]
                return False
            session.add(grant)
            await session.flush()
            session.add(access_token)
            if refresh_token is not None:
                session.add(refresh_token)
        return True

    async def get_grant(self, grant_id: str) -> OAuthGrant | None:
        async with self._session() as session:
            return await session.get(OAuthGrant, grant_id)

    async def get_access_token(self, token_hash: str) -> OAuthAccessToken | None:
        async with self._session() as session:
            return await session.scalar(select(OAuthAccessToken).where(col(OAuthAccessToken.token_hash) == token_hash))

    async def get_refresh_token(self, token_hash: str) -> OAuthRefreshToken | None:
        async with self._session() as session:
            return await session.scalar(
                select(OAuthRefreshToken).where(col(OAuthRefreshToken.token_hash) == token_hash)
            )

    async def rotate_refresh_token(
        self,
        refresh_token_id: str,
        access_token: OAuthAccessToken,
        refresh_token: OAuthRefreshToken,
        now: datetime,
    ) -> bool:
        async with self._session() as session, session.begin():
            claimed = await session.execute(
                update(OAuthRefreshToken)
                .where(
                    col(OAuthRefreshToken.id) == refresh_token_id,
                    col(OAuthRefreshToken.rotated_at).is_(None),
                    col(OAuthRefreshToken.revoked_at).is_(None),
                )
                .values(rotated_at=now)
            )
            if claimed.rowcount != 1:  # type: ignore[attr-defined]
                return False
            session.add(access_token)
            session.add(refresh_token)
            await session.execute(
                update(OAuthGrant).where(col(OAuthGrant.id) == refresh_token.family_id).values(last_used_at=now)
            )
        return True

    async def revoke_access_token(self, token_id: str, now: datetime) -> None:
        async with self._session() as session, session.begin():
            await session.execute(
                update(OAuthAccessToken)
                .where(col(OAuthAccessToken.id) == token_id, col(OAuthAccessToken.revoked_at).is_(None))
                .values(revoked_at=now)
            )

    async def revoke_family(self, family_id: str, now: datetime) -> None:
        async with self._session() as session, session.begin():
            await _revoke_families(session, [family_id], now)

    async def revoke_key_grants(self, key_id: str, now: datetime) -> int:
        async with self._session() as session, session.begin():
            family_ids = list(
                await session.scalars(
                    select(col(OAuthGrant.id)).where(
                        col(OAuthGrant.key_id) == key_id, col(OAuthGrant.revoked_at).is_(None)
                    )
                )
            )
            await _revoke_families(session, family_ids, now)
            # Tokens whose grant was already revoked are revoked too; this also
            # covers rows written by a concurrent exchange that lost no race.
            for table in (OAuthAccessToken, OAuthRefreshToken):
                await session.execute(
                    update(table)
                    .where(col(table.key_id) == key_id, col(table.revoked_at).is_(None))
                    .values(revoked_at=now)
                )
            # A code not yet exchanged would otherwise outlive the key until it expires.
            await session.execute(
                update(OAuthAuthorizationCode)
                .where(col(OAuthAuthorizationCode.key_id) == key_id, col(OAuthAuthorizationCode.consumed_at).is_(None))
                .values(consumed_at=now)
            )
        return len(family_ids)

    async def list_user_grants(self, user_id: str) -> list[OAuthGrant]:
        async with self._session() as session:
            rows = await session.scalars(
                select(OAuthGrant)
                .where(col(OAuthGrant.user_id) == user_id, col(OAuthGrant.revoked_at).is_(None))
                .order_by(col(OAuthGrant.created_at).desc())
            )
            return list(rows)

    async def delete_expired(self, now: datetime) -> int:
        async with self._session() as session, session.begin():
            removed: int = 0
            for table in (OAuthAccessToken, OAuthRefreshToken, OAuthAuthorizationCode):
                result = await session.execute(delete(table).where(col(table.expires_at) < now))
                removed += int(result.rowcount)  # type: ignore[attr-defined]
            # A revoked grant whose tokens are all gone has nothing left to protect.
            live_access = select(col(OAuthAccessToken.id)).where(col(OAuthAccessToken.family_id) == OAuthGrant.id)
            live_refresh = select(col(OAuthRefreshToken.id)).where(col(OAuthRefreshToken.family_id) == OAuthGrant.id)
            result = await session.execute(
                delete(OAuthGrant).where(
                    col(OAuthGrant.revoked_at).is_not(None),
                    ~live_access.exists(),
                    ~live_refresh.exists(),
                )
            )
            removed += int(result.rowcount)  # type: ignore[attr-defined]
        return removed


async def _revoke_families(session: AsyncSession, family_ids: list[str], now: datetime) -> None:
    if not family_ids:
        return
    await session.execute(
        update(OAuthGrant)
        .where(col(OAuthGrant.id).in_(family_ids), col(OAuthGrant.revoked_at).is_(None))
        .values(revoked_at=now)
    )
    for table in (OAuthAccessToken, OAuthRefreshToken):
        await session.execute(
            update(table)
            .where(col(table.family_id).in_(family_ids), col(table.revoked_at).is_(None))
            .values(revoked_at=now)
        )
