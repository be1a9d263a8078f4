"""Which generator serves text, images and video: chosen by configuration, once, at start.

Each kind has an explicit registry (a dict from the configured name to a
factory). ``offline`` is the default of all three: the embedded generators that
need no key and no network. A real provider without the key it needs is a
configuration error at start, not a 503 at the first request.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from ..config import Settings
from .anthropic import ANTHROPIC_BASE_URL, AnthropicTextGenerator, anthropic_headers
from .anthropic import DEFAULT_MODEL as ANTHROPIC_MODEL
from .base import ImageGenerator, TextGenerator, VideoGenerator
from .gemini import DEFAULT_IMAGE_MODEL as GEMINI_IMAGE_MODEL
from .gemini import DEFAULT_TEXT_MODEL as GEMINI_TEXT_MODEL
from .gemini import GEMINI_BASE_URL, GeminiImageGenerator, GeminiTextGenerator, google_key
from .http import ProviderClient, RetryPolicy, Sleep
from .offline_image import OfflineImageGenerator
from .offline_text import OfflineTextGenerator
from .offline_video import OfflineVideoGenerator
from .openai_compat import DEFAULT_IMAGE_MODEL as OPENAI_IMAGE_MODEL
from .openai_compat import DEFAULT_TEXT_MODEL as OPENAI_TEXT_MODEL
from .openai_compat import OPENAI_BASE_URL, OpenAICompatTextGenerator, OpenAIImageGenerator, bearer
from .veo import DEFAULT_MODEL as VEO_MODEL
from .veo import VeoVideoGenerator

# Which vendor's key a provider takes: a kind whose key is unset reuses another kind's
# key of the same vendor and server (one Gemini API key for text, Imagen and Veo).
VENDORS = {"openai": "openai", "anthropic": "anthropic", "gemini": "google", "veo": "google"}
KINDS = ("text", "image", "video")


class ProviderConfigError(ValueError):
    """The AI provider settings cannot work (an unknown name, a missing key)."""


@dataclass(frozen=True)
class ProviderConfig:
    """One kind's settings, resolved: what a factory needs to build its generator."""

    kind: str  # text | image | video
    provider: str
    model: str | None
    base_url: str | None
    api_key: str | None = field(repr=False)
    timeout: float
    attempts: int
    max_video_bytes: int
    # Tests hand a MockTransport and a sleep that returns at once.
    transport: httpx.AsyncBaseTransport | None = field(default=None, repr=False)
    sleep: Sleep | None = field(default=None, repr=False)

    @property
    def key_setting(self) -> str:
        return f"FLUXSOCIAL_{self.kind.upper()}_API_KEY"

    def client(self, label: str, default_base_url: str, auth: dict[str, str],
               headers: dict[str, str] | None = None) -> ProviderClient:
        extra = {"sleep": self.sleep} if self.sleep is not None else {}
        return ProviderClient(
            provider=label,
            base_url=self.base_url or default_base_url,
            auth_headers=auth,
            key_setting=self.key_setting,
            headers=headers or {},
            timeout=self.timeout,
            retry=RetryPolicy(attempts=self.attempts),
            transport=self.transport,
            **extra,
        )

    def require_key(self, why: str) -> str:
        if not self.api_key:
            raise ProviderConfigError(f"{self.key_setting} is required for {self.kind} provider "
                                      f"'{self.provider}' ({why})")
        return self.api_key


# -- factories -----------------------------------------------------------------------


def _openai_text(config: ProviderConfig) -> TextGenerator:
    if not config.base_url:
        config.require_key("OpenAI's own API needs a key; local servers set FLUXSOCIAL_TEXT_BASE_URL")
    http = config.client("OpenAI-compatible text provider", OPENAI_BASE_URL, bearer(config.api_key))
    return OpenAICompatTextGenerator(http, model=config.model or OPENAI_TEXT_MODEL)


def _anthropic_text(config: ProviderConfig) -> TextGenerator:
    secret, plain = anthropic_headers(config.require_key("Anthropic's API needs a key"))
    http = config.client("Anthropic", ANTHROPIC_BASE_URL, secret, plain)
    return AnthropicTextGenerator(http, model=config.model or ANTHROPIC_MODEL)


def _gemini_text(config: ProviderConfig) -> TextGenerator:
    http = config.client("Google Gemini", GEMINI_BASE_URL, google_key(config.require_key("the Gemini API needs a key")))
    return GeminiTextGenerator(http, model=config.model or GEMINI_TEXT_MODEL)


def _openai_image(config: ProviderConfig) -> ImageGenerator:
    if not config.base_url:
        config.require_key("OpenAI's own API needs a key")
    http = config.client("OpenAI-compatible image provider", OPENAI_BASE_URL, bearer(config.api_key))
    return OpenAIImageGenerator(http, model=config.model or OPENAI_IMAGE_MODEL)


def _gemini_image(config: ProviderConfig) -> ImageGenerator:
    http = config.client("Google Imagen/Gemini", GEMINI_BASE_URL,
                         google_key(config.require_key("the Gemini API needs a key")))
    return GeminiImageGenerator(http, model=config.model or GEMINI_IMAGE_MODEL)


def _veo_video(config: ProviderConfig) -> VideoGenerator:
    http = config.client("Google Veo", GEMINI_BASE_URL, google_key(config.require_key("the Gemini API needs a key")))
    return VeoVideoGenerator(http, model=config.model or VEO_MODEL, max_bytes=config.max_video_bytes)


TEXT_PROVIDERS: dict[str, Callable[[ProviderConfig], TextGenerator]] = {
    "offline": lambda config: OfflineTextGenerator(),
    "openai": _openai_text,
    "anthropic": _anthropic_text,
    "gemini": _gemini_text,
}
IMAGE_PROVIDERS: dict[str, Callable[[ProviderConfig], ImageGenerator]] = {
    "offline": lambda config: OfflineImageGenerator(),
    "openai": _openai_image,
    "gemini": _gemini_image,
}
VIDEO_PROVIDERS: dict[str, Callable[[ProviderConfig], VideoGenerator]] = {
    "offline": lambda config: OfflineVideoGenerator(),
    "veo": _veo_video,
}


def provider_config(settings: Settings, kind: str, **overrides: object) -> ProviderConfig:
    """The resolved settings of one kind: ``text``, ``image`` or ``video``."""
    provider = getattr(settings, f"{kind}_provider")
    key = getattr(settings, f"{kind}_api_key")
    api_key = key.get_secret_value() if key is not None else None
    base_url = getattr(settings, f"{kind}_base_url") or None
    for other in KINDS:
        if api_key or other == kind or VENDORS.get(provider) != VENDORS.get(getattr(settings, f"{other}_provider")):
            continue
        other_key = getattr(settings, f"{other}_api_key")
        # The same vendor's key from another kind, when both talk to the same server.
        if other_key is not None and (getattr(settings, f"{other}_base_url") or None) == base_url:
            api_key = other_key.get_secret_value()
    values: dict[str, object] = {
        "kind": kind,
        "provider": provider,
        "model": getattr(settings, f"{kind}_model") or None,
        "base_url": base_url,
        "api_key": api_key or None,
        "timeout": settings.ai_timeout_seconds,
        "attempts": settings.ai_max_attempts,
        "max_video_bytes": settings.media_max_video_bytes,
    }
    values.update(overrides)
    return ProviderConfig(**values)  # type: ignore[arg-type]


def build_generators(
    settings: Settings,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    sleep: Sleep | None = None,
) -> tuple[TextGenerator, ImageGenerator, VideoGenerator]:
    """The (text, images, video) generators the settings choose.

    Raises:
        ProviderConfigError: an unknown provider name, or a provider without its key.
    """
    extra = {"transport": transport, "sleep": sleep}
    generators = []
    for kind, registry in (("text", TEXT_PROVIDERS), ("image", IMAGE_PROVIDERS), ("video", VIDEO_PROVIDERS)):
        config = provider_config(settings, kind, **extra)
        factory = registry.get(config.provider)
        if factory is None:
            raise ProviderConfigError(
                f"FLUXSOCIAL_{kind.upper()}_PROVIDER must be one of {', '.join(registry)} (got {config.provider!r})"
            )
        generators.append(factory(config))
    text, images, video = generators
    return text, images, video  # type: ignore[return-value]
