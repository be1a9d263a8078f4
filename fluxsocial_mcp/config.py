"""One ``Settings`` object, read once at the entry point and passed down.

Every field is read from a ``FLUXSOCIAL_*`` environment variable (or a ``.env``
file in the working folder); the README lists them all. Nothing deeper in the
code reads the environment.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from typing_extensions import Annotated

SECRET_KEY_FILE = "secret.key"


def _comma_list(value: object) -> object:
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FLUXSOCIAL_", env_file=".env", extra="ignore")

    data_dir: Path = Path("./data")
    database_url: str | None = None
    public_url: str = "http://127.0.0.1:8000"
    secret_key: str | None = None
    redis_url: str | None = None

    signup_credits: int = Field(5000, ge=0)

    # Hourly budgets per API key (SPEC §4) and per web session.
    rate_limit_content: int = Field(10, ge=1)
    rate_limit_media: int = Field(5, ge=1)
    rate_limit_general: int = Field(60, ge=1)
    web_rate_limit_content: int = Field(20, ge=1)
    web_rate_limit_media: int = Field(10, ge=1)
    web_rate_limit_general: int = Field(100, ge=1)
    # Failed authentications tolerated per client address per minute.
    rate_limit_auth_failures: int = Field(20, ge=1)

    scheduler_enabled: bool = True
    scheduler_interval_seconds: float = Field(1.0, gt=0)
    # A target left PUBLISHING this long (its worker died) is reconciled.
    publish_claim_timeout_seconds: float = Field(300.0, gt=0)

    media_max_image_bytes: int = Field(8 * 1024 * 1024, gt=0)
    media_max_video_bytes: int = Field(100 * 1024 * 1024, gt=0)
    media_fetch_timeout_seconds: float = Field(30.0, gt=0)
    # Lets media fetches reach loopback and private hosts. For tests and closed labs only:
    # it disables the SSRF protection of upload-media.
    media_fetch_allow_private: bool = False
    # Extra CA bundle (PEM) trusted by media fetches, e.g. a lab's own certificate authority.
    media_fetch_ca_bundle: Path | None = None

    # Browser origins allowed at /api/mcp besides the public URL's own.
    allowed_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: [
            "https://claude.ai",
            "https://claude.com",
            "http://localhost",
            "http://127.0.0.1",
        ]
    )

    log_level: str = "INFO"

    @field_validator("allowed_origins", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        return _comma_list(value)

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("must be an absolute http(s) URL such as https://social.example.com")
        return value.rstrip("/")

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            url = self.database_url
            # Accept the URLs people paste from their hosting provider.
            for plain in ("postgres://", "postgresql://"):
                if url.startswith(plain):
                    return "postgresql+asyncpg://" + url[len(plain):]
            if url.startswith("sqlite:///"):
                return "sqlite+aiosqlite:///" + url[len("sqlite:///"):]
            return url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'fluxsocial.db').resolve()}"

    @property
    def media_dir(self) -> Path:
        return self.data_dir / "media"

    @property
    def mcp_url(self) -> str:
        return f"{self.public_url}/api/mcp"

    @property
    def api_base_url(self) -> str:
        return f"{self.public_url}/api/v1"

    def server_secret(self) -> bytes:
        """The server key (32 bytes): from the setting, else made once into the data folder."""
        if self.secret_key:
            return _derive(self.secret_key)
        path = self.data_dir / SECRET_KEY_FILE
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(48))
        return _derive(path.read_text().strip())


def _derive(text: str) -> bytes:
    import hashlib

    # Any length of configured secret becomes one 256-bit key.
    return hashlib.sha256(b"fluxsocial-server-key\x00" + text.encode()).digest()
