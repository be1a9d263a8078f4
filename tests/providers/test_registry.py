"""Choosing the generators by configuration."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from fluxsocial_mcp.config import Settings
from fluxsocial_mcp.providers.anthropic import AnthropicTextGenerator
from fluxsocial_mcp.providers.gemini import GeminiImageGenerator, GeminiTextGenerator
from fluxsocial_mcp.providers.offline_image import OfflineImageGenerator
from fluxsocial_mcp.providers.offline_text import OfflineTextGenerator
from fluxsocial_mcp.providers.offline_video import OfflineVideoGenerator
from fluxsocial_mcp.providers.openai_compat import OpenAICompatTextGenerator, OpenAIImageGenerator
from fluxsocial_mcp.providers.registry import ProviderConfigError, build_generators
from fluxsocial_mcp.providers.veo import VeoVideoGenerator


def settings(**values) -> Settings:  # type: ignore[no-untyped-def]
    return Settings(_env_file=None, **values)


def test_offline_is_the_default_of_all_three() -> None:
    text, images, video = build_generators(settings())
    assert isinstance(text, OfflineTextGenerator)
    assert isinstance(images, OfflineImageGenerator)
    assert isinstance(video, OfflineVideoGenerator)


def test_each_kind_takes_its_provider_model_and_base_url() -> None:
    text, images, video = build_generators(settings(
        text_provider="anthropic", text_api_key="sk-ant", text_model="claude-haiku-4-5",
        image_provider="openai", image_api_key="sk-img", image_base_url="https://images.example/v1",
        video_provider="veo", video_api_key="AIza",
    ))
    assert isinstance(text, AnthropicTextGenerator) and text.model == "claude-haiku-4-5"
    assert text.http.base_url == "https://api.anthropic.com/v1"
    assert isinstance(images, OpenAIImageGenerator) and images.model == "gpt-image-1"
    assert images.http.base_url == "https://images.example/v1"
    assert isinstance(video, VeoVideoGenerator) and video.model == "veo-3.0-generate-001"


def test_one_google_key_serves_gemini_imagen_and_veo() -> None:
    text, images, video = build_generators(settings(
        text_provider="gemini", text_api_key="AIza-one", image_provider="imagen", video_provider="google",
    ))
    assert isinstance(text, GeminiTextGenerator) and isinstance(images, GeminiImageGenerator)
    assert isinstance(video, VeoVideoGenerator)
    assert video.http.auth_headers == {"x-goog-api-key": "AIza-one"}
    assert images.http.auth_headers == {"x-goog-api-key": "AIza-one"}


def test_a_local_text_server_does_not_lend_its_key_to_openai_images() -> None:
    with pytest.raises(ProviderConfigError, match="FLUXSOCIAL_IMAGE_API_KEY is required"):
        build_generators(settings(text_provider="ollama", text_base_url="http://127.0.0.1:11434/v1",
                                  text_api_key="ollama", image_provider="openai"))


@pytest.mark.parametrize("provider", ["openai", "anthropic", "gemini"])
def test_a_cloud_provider_without_its_key_stops_the_start(provider: str) -> None:
    with pytest.raises(ProviderConfigError, match="FLUXSOCIAL_TEXT_API_KEY is required"):
        build_generators(settings(text_provider=provider))


def test_aliases_and_unknown_names() -> None:
    assert settings(text_provider="Ollama").text_provider == "openai"
    assert settings(text_provider="claude").text_provider == "anthropic"
    with pytest.raises(ValidationError, match="must be one of offline, veo"):
        settings(video_provider="sora")


def test_keys_are_secrets() -> None:
    configured = settings(text_provider="openai", text_api_key="sk-live-very-secret")
    assert "sk-live-very-secret" not in repr(configured)
    assert "sk-live-very-secret" not in str(configured.model_dump())
    text, _, _ = build_generators(configured)
    assert "sk-live-very-secret" not in repr(text)


def test_the_environment_configures_providers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLUXSOCIAL_TEXT_PROVIDER", "openai")
    monkeypatch.setenv("FLUXSOCIAL_TEXT_BASE_URL", "http://127.0.0.1:8080/v1")
    monkeypatch.setenv("FLUXSOCIAL_TEXT_MODEL", "qwen2.5")
    text, _, _ = build_generators(Settings(_env_file=None))
    assert isinstance(text, OpenAICompatTextGenerator)
    assert (text.http.base_url, text.model, text.http.auth_headers) == ("http://127.0.0.1:8080/v1", "qwen2.5", {})
