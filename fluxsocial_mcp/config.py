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

from pydantic import Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from typing_extensions import Annotated

SECRET_KEY_FILE = "secret.key"


def _comma_list(value: object) -> object:
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


# Which AI providers each kind of generation can use (registry: providers/registry.py).
AI_PROVIDERS = {
    "text": ("offline", "openai", "anthropic", "gemini"),
    "image": ("offline", "openai", "gemini"),
    "video": ("offline", "veo"),
}
# Names people reach for: every OpenAI-compatible server is "openai", Google's are "gemini"/"veo".
_PROVIDER_ALIASES = {
    "openai-compatible": "openai", "openai_compatible": "openai", "ollama": "openai", "vllm": "openai",
    "llamacpp": "openai", "llama.cpp": "openai", "openrouter": "openai", "claude": "anthropic",
    "google": "gemini", "imagen": "gemini",
}


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
    # Publishes in flight per process, in all and per platform.
    publish_concurrency: int = Field(256, ge=1)
    publish_concurrency_per_platform: int = Field(128, ge=1)
    # Simulated round trip of the sandbox platform (half before it records a post, half
    # after), for benchmarks and crash tests; 0 in normal use.
    sandbox_latency_ms: int = Field(0, ge=0)

    media_max_image_bytes: int = Field(8 * 1024 * 1024, gt=0)
    media_max_video_bytes: int = Field(100 * 1024 * 1024, gt=0)
    media_fetch_timeout_seconds: float = Field(30.0, gt=0)
    # Lets media fetches reach loopback and private hosts. For tests and closed labs only:
    # it disables the SSRF protection of upload-media.
    media_fetch_allow_private: bool = False
    # Extra CA bundle (PEM) trusted by media fetches, e.g. a lab's own certificate authority.
    media_fetch_ca_bundle: Path | None = None

    # Lifetimes of what the OAuth server issues to MCP clients.
    oauth_access_token_ttl_seconds: int = Field(3600, ge=60)
    oauth_refresh_token_ttl_seconds: int = Field(30 * 24 * 3600, ge=3600)

    # Browser origins allowed at /api/mcp besides the public URL's own.
    allowed_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: [
            "https://claude.ai",
            "https://claude.com",
            "http://localhost",
            "http://127.0.0.1",
        ]
    )

    # Publishing to real platforms (README "Publishing to real platforms"). Each platform's
    # OAuth app credentials; an unset client id leaves that platform's connect flow off.
    # ``*_api_url`` sends every server-side call for that platform (API, token, refresh)
    # to another base URL instead of the platform's own hosts: tests and local fakes.
    instagram_client_id: str | None = None
    instagram_client_secret: SecretStr | None = None
    instagram_api_url: str | None = None
    facebook_client_id: str | None = None
    facebook_client_secret: SecretStr | None = None
    facebook_api_url: str | None = None
    threads_client_id: str | None = None
    threads_client_secret: SecretStr | None = None
    threads_api_url: str | None = None
    # Graph API version of Instagram and Facebook Pages; Threads has its own.
    meta_graph_version: str = "v25.0"
    threads_api_version: str = "v1.0"
    tiktok_client_key: str | None = None
    tiktok_client_secret: SecretStr | None = None
    tiktok_api_url: str | None = None
    # The most public level a TikTok post may take, within what the creator allows.
    tiktok_privacy_level: str = "PUBLIC_TO_EVERYONE"
    linkedin_client_id: str | None = None
    linkedin_client_secret: SecretStr | None = None
    linkedin_api_url: str | None = None
    # The LinkedIn-Version header (YYYYMM) of the versioned /rest APIs.
    linkedin_version: str = Field("202605", pattern=r"^\d{6}(\.\d{2})?$")
    x_client_id: str | None = None
    x_client_secret: SecretStr | None = None
    x_api_url: str | None = None
    platform_http_timeout_seconds: float = Field(30.0, gt=0)
    # How long publishing waits for a platform to process media (containers, uploads).
    platform_poll_interval_seconds: float = Field(2.0, gt=0)
    platform_poll_timeout_seconds: float = Field(120.0, gt=0)

    # AI providers (README "AI providers"). "offline" (the default) needs no key and no
    # network. Unset models and base URLs take each provider's defaults; an image or video
    # key left unset reuses the text key when both are the same vendor.
    text_provider: str = "offline"  # offline | openai (also Ollama, vLLM, llama.cpp …) | anthropic | gemini
    text_model: str | None = None
    text_base_url: str | None = None
    text_api_key: SecretStr | None = None
    image_provider: str = "offline"  # offline | openai | gemini (Imagen, Gemini image models)
    image_model: str | None = None
    image_base_url: str | None = None
    image_api_key: SecretStr | None = None
    video_provider: str = "offline"  # offline | veo
    video_model: str | None = None
    video_base_url: str | None = None
    video_api_key: SecretStr | None = None
    ai_timeout_seconds: float = Field(120.0, gt=0)
    # Tries per provider call on 429/5xx/connection errors, with exponential backoff.
    ai_max_attempts: int = Field(3, ge=1, le=10)

    # Addresses of reverse proxies whose X-Forwarded-For/-Proto are believed (comma list,
    # e.g. 127.0.0.1). Empty: none, so no client can pose as another address.
    forwarded_allow_ips: str = ""

    log_level: str = "INFO"

    @field_validator("allowed_origins", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        return _comma_list(value)

    @field_validator("text_provider", "image_provider", "video_provider", mode="before")
    @classmethod
    def _ai_provider(cls, value: object, info: ValidationInfo) -> object:
        if not isinstance(value, str):
            return value
        kind = info.field_name.split("_")[0]
        name = value.strip().lower()
        name = _PROVIDER_ALIASES.get(name, name)
        if kind == "video" and name == "gemini":
            name = "veo"  # Google's video model
        if name not in AI_PROVIDERS[kind]:
            raise ValueError(f"must be one of {', '.join(AI_PROVIDERS[kind])} (got {value!r})")
        return name

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
