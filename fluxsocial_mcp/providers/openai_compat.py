"""OpenAI Chat Completions and Images, and every server that speaks them.

The base URL picks the server: OpenAI itself (``https://api.openai.com/v1``), or
Ollama (``http://localhost:11434/v1``), vLLM, llama.cpp's ``llama-server``,
OpenRouter … so the whole of FluxSocial can run on a local model.

Text asks ``POST {base}/chat/completions`` for Structured Outputs
(``response_format: {"type": "json_schema", "json_schema": {..., "strict": true}}``)
and reads ``choices[0].message.content``. Images ask ``POST {base}/images/generations``
for base64 (``b64_json``: the only output of ``gpt-image-1``; DALL·E models are
asked for it with ``response_format``); a server that answers with a URL is
downloaded at once, so a provider's expiring link is never stored.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from typing import Any

import anyio.to_thread

from ..errors import BadRequest, ServiceUnavailable, UnsupportedMedia
from ..media.process import normalize_image
from .base import GeneratedImage, GeneratedText, ImageRequest, TextRequest
from .http import MalformedAnswer, ProviderClient
from .structured import SCHEMA_NAME, SUGGESTIONS_SCHEMA, Prompt, generate_with_retry

OPENAI_BASE_URL = "https://api.openai.com/v1"
DEFAULT_TEXT_MODEL = "gpt-4.1-mini"
DEFAULT_IMAGE_MODEL = "gpt-image-1"
IMAGE_SIZE = "1024x1024"
MAX_IMAGE_DOWNLOAD = 25 * 1024 * 1024


def bearer(api_key: str | None) -> dict[str, str]:
    # Local servers (Ollama, llama.cpp) need no key; sending none is what they expect.
    return {"Authorization": f"Bearer {api_key}"} if api_key else {}


@dataclass
class OpenAICompatTextGenerator:
    """Text through ``/chat/completions`` with a strict JSON schema."""

    http: ProviderClient
    model: str = DEFAULT_TEXT_MODEL
    # None: the server's default. OpenAI's reasoning models refuse any other temperature.
    temperature: float | None = None
    name: str = field(init=False)
    # Models write any language the prompt asks for.
    languages: frozenset[str] | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.name = f"openai:{self.model}"[:64]

    async def generate(self, request: TextRequest) -> GeneratedText:
        return await generate_with_retry(self.http.provider, request, self._ask, self.name)

    async def _ask(self, prompt: Prompt) -> str:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": [
                {"role": "system", "content": prompt.system},
                {"role": "user", "content": prompt.user},
            ],
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": SCHEMA_NAME, "strict": True, "schema": SUGGESTIONS_SCHEMA},
            },
        }
        if self.temperature is not None:
            body["temperature"] = self.temperature
        answer = await self.http.post_json("/chat/completions", body)
        try:
            choice = answer["choices"][0]
            message = choice["message"]
        except (KeyError, IndexError, TypeError):
            raise MalformedAnswer("the answer has no choices[0].message") from None
        if message.get("refusal"):
            raise BadRequest(f"The AI model declined this request: {str(message['refusal'])[:200]}")
        if choice.get("finish_reason") == "length":
            raise MalformedAnswer("the answer was cut off at the output token limit")
        if choice.get("finish_reason") == "content_filter":
            raise BadRequest("The AI provider's content filter blocked this request")
        content = message.get("content")
        if not isinstance(content, str) or not content.strip():
            raise MalformedAnswer("the answer has no message content")
        return content


@dataclass
class OpenAIImageGenerator:
    """Images through ``/images/generations``, normalised to our 1080×1080 JPEG."""

    http: ProviderClient
    model: str = DEFAULT_IMAGE_MODEL
    name: str = field(init=False)

    def __post_init__(self) -> None:
        self.name = f"openai:{self.model}"[:32]

    async def generate(self, request: ImageRequest) -> GeneratedImage:
        body: dict[str, Any] = {"model": self.model, "prompt": request.prompt, "n": 1, "size": IMAGE_SIZE}
        if self.model.startswith("dall-e"):
            # gpt-image-* always answer base64 and reject this parameter.
            body["response_format"] = "b64_json"
        answer = await self.http.post_json("/images/generations", body)
        try:
            item = answer["data"][0]
        except (KeyError, IndexError, TypeError):
            raise ServiceUnavailable(f"{self.http.provider} answered without an image") from None
        if isinstance(item.get("b64_json"), str):
            data = decode_base64(item["b64_json"], self.http.provider)
        elif isinstance(item.get("url"), str):
            data, _ = await self.http.download(item["url"], max_bytes=MAX_IMAGE_DOWNLOAD)
        else:
            raise ServiceUnavailable(f"{self.http.provider} answered without an image")
        return GeneratedImage(data=await normalized(data, self.http.provider), content_type="image/jpeg",
                              generator=self.name)


def decode_base64(value: str, provider: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ServiceUnavailable(f"{provider} answered with an image that is not valid base64") from None


async def normalized(data: bytes, provider: str) -> bytes:
    """The provider's image as our 1080×1080 metadata-free JPEG; garbage is a 503, never stored."""
    try:
        return await anyio.to_thread.run_sync(normalize_image, data)
    except UnsupportedMedia:
        raise ServiceUnavailable(f"{provider} answered with data that is not an image") from None
