"""Storage of the authorization server: SQLModel tables on the global metadata.

No column holds a usable secret: codes, tokens and client secrets are SHA-256
digests, and the API key behind a grant is AES-GCM sealed. Every timestamp is an
aware UTC datetime on SQLite and PostgreSQL alike.

A *grant* is one consent: a person approved a client with an API key. Exchanging
the authorization code creates it; every access and refresh token issued from it
carries its id as ``family_id``, so a replayed code or refresh token, a revoked key
or a "disconnect" on the Connected AI apps page revokes the whole family at once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, LargeBinary, Table
from sqlmodel import Field, SQLModel

# The service's own column type: one definition of "aware UTC on every backend".
from fluxsocial_mcp.db import UTCDateTime


class OAuthClient(SQLModel, table=True):
    """A client: registered through RFC 7591, or a cached Client ID Metadata Document."""

    __tablename__ = "oauth_clients"

    client_id: str = Field(primary_key=True, max_length=2048)
    client_secret_hash: str | None = Field(default=None, max_length=64)
    token_endpoint_auth_method: str = Field(max_length=32)
    redirect_uris: list[str] = Field(sa_type=JSON)
    grant_types: list[str] = Field(sa_type=JSON)
    response_types: list[str] = Field(sa_type=JSON)
    client_name: str = Field(max_length=200)
    scope: str | None = Field(default=None, max_length=1000)
    # The metadata as registered (RFC 7591 §3.2.1), without credentials.
    registered_metadata: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    # True when client_id is the https URL of a Client ID Metadata Document.
    is_metadata_document: bool = False
    issued_at: datetime = Field(sa_type=UTCDateTime)
    # For a metadata document: when the cached copy must be fetched again.
    metadata_expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class OAuthAuthorizationCode(SQLModel, table=True):
    """A single-use authorization code (RFC 6749 §4.1.2) and everything bound to it."""

    __tablename__ = "oauth_authorization_codes"

    id: str = Field(primary_key=True, max_length=40)
    code_hash: str = Field(max_length=64, unique=True, index=True)
    client_id: str = Field(max_length=2048, foreign_key="oauth_clients.client_id", ondelete="CASCADE", index=True)
    redirect_uri: str = Field(max_length=2048)
    # RFC 6749 §4.1.3: the token request must repeat redirect_uri only if authorize had it.
    redirect_uri_provided: bool
    code_challenge: str = Field(max_length=128)
    resource: str = Field(max_length=2048)
    scope: str = Field(max_length=1000)
    user_id: str = Field(max_length=64, index=True)
    key_id: str = Field(max_length=64, index=True)
    sealed_api_key: bytes = Field(sa_type=LargeBinary)
    created_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    consumed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The grant the code was exchanged for, so a replay can revoke it (RFC 6749 §4.1.2).
    grant_id: str | None = Field(default=None, max_length=40)


class OAuthGrant(SQLModel, table=True):
    """One consent, and the family of tokens issued from it."""

    __tablename__ = "oauth_grants"

    id: str = Field(primary_key=True, max_length=40)
    client_id: str = Field(max_length=2048, foreign_key="oauth_clients.client_id", ondelete="CASCADE", index=True)
    user_id: str = Field(max_length=64, index=True)
    key_id: str = Field(max_length=64, index=True)
    scope: str = Field(max_length=1000)
    resource: str = Field(max_length=2048)
    sealed_api_key: bytes = Field(sa_type=LargeBinary)
    created_at: datetime = Field(sa_type=UTCDateTime)
    last_used_at: datetime = Field(sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class OAuthAccessToken(SQLModel, table=True):
    """An opaque access token, bound to its resource (audience), client and API key."""

    __tablename__ = "oauth_access_tokens"

    id: str = Field(primary_key=True, max_length=40)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    family_id: str = Field(max_length=40, foreign_key="oauth_grants.id", ondelete="CASCADE", index=True)
    client_id: str = Field(max_length=2048)
    user_id: str = Field(max_length=64)
    key_id: str = Field(max_length=64, index=True)
    scope: str = Field(max_length=1000)
    resource: str = Field(max_length=2048)
    created_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class OAuthRefreshToken(SQLModel, table=True):
    """A refresh token; every use rotates it (OAuth 2.1 §4.3.1), ``rotated_at`` marks a used one."""

    __tablename__ = "oauth_refresh_tokens"

    id: str = Field(primary_key=True, max_length=40)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    family_id: str = Field(max_length=40, foreign_key="oauth_grants.id", ondelete="CASCADE", index=True)
    client_id: str = Field(max_length=2048)
    user_id: str = Field(max_length=64)
    key_id: str = Field(max_length=64, index=True)
    scope: str = Field(max_length=1000)
    resource: str = Field(max_length=2048)
    created_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    rotated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


# The tables of this package, for ``create_all(tables=...)`` in tests and tooling.
OAUTH_TABLES: tuple[Table, ...] = tuple(
    SQLModel.metadata.tables[name]
    for name in (
        "oauth_clients",
        "oauth_authorization_codes",
        "oauth_grants",
        "oauth_access_tokens",
        "oauth_refresh_tokens",
    )
)
