"""Discovery documents.

- RFC 8414 OAuth 2.0 Authorization Server Metadata.
- RFC 9728 OAuth 2.0 Protected Resource Metadata, for the MCP endpoint.

Both are built with the MCP SDK's own models, from the path constants the routes use.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mcp.shared.auth import OAuthMetadata, ProtectedResourceMetadata
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from .config import OAuthConfig
from .paths import AUTHORIZATION_PATH, REGISTRATION_PATH, REVOCATION_PATH, TOKEN_PATH
from .registration import TOKEN_ENDPOINT_AUTH_METHODS

CODE_CHALLENGE_METHODS = ["S256"]
METADATA_CACHE_CONTROL = "public, max-age=3600"


def build_authorization_server_metadata(config: OAuthConfig) -> OAuthMetadata:
    """RFC 8414 §2."""
    # Validated from strings so the model's own URL settings apply: an issuer without
    # a path keeps it (no trailing slash is added), as RFC 8414 §3.3 comparisons need.
    return OAuthMetadata.model_validate(
        {
            "issuer": config.issuer,
            "authorization_endpoint": config.endpoint(AUTHORIZATION_PATH),
            "token_endpoint": config.endpoint(TOKEN_PATH),
            "registration_endpoint": config.endpoint(REGISTRATION_PATH),
            "revocation_endpoint": config.endpoint(REVOCATION_PATH),
            "scopes_supported": list(config.scopes_supported),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "token_endpoint_auth_methods_supported": list(TOKEN_ENDPOINT_AUTH_METHODS),
            "revocation_endpoint_auth_methods_supported": list(TOKEN_ENDPOINT_AUTH_METHODS),
            # OAuth 2.1 §7.5.2 / RFC 9700 §2.1.1: plain offers no protection; S256 only.
            "code_challenge_methods_supported": CODE_CHALLENGE_METHODS,
            "service_documentation": config.service_documentation,
            "client_id_metadata_document_supported": True,
            # RFC 9207 §3.
            "authorization_response_iss_parameter_supported": True,
        }
    )


def build_protected_resource_metadata(config: OAuthConfig) -> ProtectedResourceMetadata:
    """RFC 9728 §2. ``authorization_servers[0]`` is the issuer, byte for byte."""
    return ProtectedResourceMetadata.model_validate(
        {
            "resource": config.resource,
            "authorization_servers": [config.issuer],
            "scopes_supported": list(config.scopes_supported),
            "bearer_methods_supported": ["header"],
            "resource_name": config.resource_name,
        }
    )


def metadata_document(model: OAuthMetadata | ProtectedResourceMetadata) -> dict[str, Any]:
    return model.model_dump(mode="json", exclude_none=True)


@dataclass
class MetadataHandler:
    """Serves one metadata document; it changes only with the configuration."""

    document: dict[str, Any]

    async def handle(self, request: Request) -> Response:
        return JSONResponse(self.document, headers={"Cache-Control": METADATA_CACHE_CONTROL})
