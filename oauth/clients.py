"""Finding the client behind a ``client_id``: a registered one, or a metadata document."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from .authority import ClientMetadataFetcher, FetchedClientMetadata
from .cimd import (
    ClientMetadataError,
    cache_lifetime,
    check_client_id_url,
    is_client_metadata_url,
    parse_client_metadata_document,
)
from .config import OAuthConfig
from .models import OAuthClient
from .store import OAuthStore

MAX_CLIENT_ID_LENGTH = 2000


class UnknownClient(Exception):
    """No client has this ``client_id``, or its metadata document is unusable; the message says why."""


class ClientRegistry:
    def __init__(
        self,
        config: OAuthConfig,
        store: OAuthStore,
        fetch_client_metadata: ClientMetadataFetcher,
        clock: Callable[[], datetime],
    ) -> None:
        self._config = config
        self._store = store
        self._fetch = fetch_client_metadata
        self._clock = clock

    async def resolve(self, client_id: str) -> OAuthClient:
        """The client named ``client_id``.

        Raises:
            UnknownClient: Unknown id, or a metadata document that cannot be fetched or is invalid.
        """
        if len(client_id) > MAX_CLIENT_ID_LENGTH:
            raise UnknownClient("client_id is too long")
        if is_client_metadata_url(client_id):
            try:
                return await self._from_metadata_document(client_id)
            except ClientMetadataError as exc:
                raise UnknownClient(str(exc)) from exc
        client = await self._store.get_client(client_id)
        if client is None or client.is_metadata_document:
            raise UnknownClient("unknown client_id")
        return client

    async def _from_metadata_document(self, client_id: str) -> OAuthClient:
        check_client_id_url(client_id)
        now = self._clock()
        cached = await self._store.get_client(client_id)
        if cached is not None and cached.metadata_expires_at is not None and cached.metadata_expires_at > now:
            return cached
        try:
            fetched = await self._fetch(client_id)
        except Exception as exc:  # the fetcher's errors are its own; only the outcome matters here
            raise ClientMetadataError("the client metadata document could not be fetched") from exc
        if isinstance(fetched, FetchedClientMetadata):
            document, max_age = fetched.document, fetched.max_age
        else:
            document, max_age = fetched, None
        metadata = parse_client_metadata_document(client_id, document, self._config)
        client = OAuthClient(
            client_id=client_id,
            client_secret_hash=None,
            token_endpoint_auth_method="none",
            redirect_uris=metadata.redirect_uris,
            grant_types=metadata.grant_types,
            response_types=metadata.response_types,
            client_name=metadata.client_name,
            scope=metadata.scope,
            registered_metadata=metadata.to_document(),
            is_metadata_document=True,
            issued_at=cached.issued_at if cached is not None else now,
            metadata_expires_at=now + timedelta(seconds=cache_lifetime(self._config, max_age)),
        )
        await self._store.save_client(client)
        return client
