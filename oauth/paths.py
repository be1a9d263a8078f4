"""Where each endpoint lives.

The routes and the metadata documents are built from these same constants, so an
advertised endpoint can never name a route that does not exist.
"""

from __future__ import annotations

from urllib.parse import urlsplit

# RFC 8414 §3: the well-known suffix of authorization server metadata.
AUTHORIZATION_SERVER_METADATA_PATH = "/.well-known/oauth-authorization-server"
# RFC 9728 §3: the well-known suffix of protected resource metadata.
PROTECTED_RESOURCE_METADATA_PATH = "/.well-known/oauth-protected-resource"

AUTHORIZATION_PATH = "/oauth/authorize"
TOKEN_PATH = "/oauth/token"
REGISTRATION_PATH = "/oauth/register"
REVOCATION_PATH = "/oauth/revoke"


def well_known_path(suffix: str, url: str) -> str:
    """The path of a well-known document describing ``url``.

    RFC 8414 §3.1 and RFC 9728 §3.1 insert the well-known suffix between the host
    and the path of the identifier: ``https://h/api/mcp`` is described at
    ``https://h/.well-known/oauth-protected-resource/api/mcp``.
    """
    path = urlsplit(url).path.rstrip("/")
    return suffix + path


def well_known_url(suffix: str, url: str) -> str:
    """The absolute URL of the well-known document describing ``url`` (see `well_known_path`)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{well_known_path(suffix, url)}"
