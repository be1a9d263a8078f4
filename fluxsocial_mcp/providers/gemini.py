"""Google's Gemini API: Gemini for text, Imagen or Gemini image models for images.

All calls go to ``{base}/models/{model}:{method}`` (base
``https://generativelanguage.googleapis.com/v1beta``) with the key in
``x-goog-api-key``.

* Text: ``:generateContent`` with ``generationConfig.responseMimeType =
  "application/json"`` and ``responseSchema`` (the OpenAPI subset Gemini takes),
  read from ``candidates[0].content.parts[].text``.
* Images: ``imagen-*`` models through ``:predict`` (``instances[].prompt``,
  ``predictions[].bytesBase64Encoded``); other models (``gemini-*-image``) through
  ``:generateContent`` with ``responseModalities: ["IMAGE"]``, read from a part's
  ``inlineData``. Either way the bytes are normalised and stored by us.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import BadRequest, ServiceUnavailable
from .base import GeneratedImage, GeneratedText, ImageRequest, TextRequest
from .http import MalformedAnswer, ProviderClient
from .openai_compat import decode_base64, normalized
from .structured import SUGGESTIONS_SCHEMA, Prompt, generate_with_retry

GEMINI_BASE_URL = "https://generativelanguage.googleapis.com/v1beta"
DEFAULT_TEXT_MODEL = "gemini-2.5-flash"
DEFAULT_IMAGE_MODEL = "imagen-4.0-generate-001"
# Finish reasons that mean the model would not write this, not that it failed.
_REFUSALS = frozenset({"SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY"})


def google_key(api_key: str | None) -> dict[str, str]:
    return {"x-goog-api-key": api_key} if api_key else {}


def gemini_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A JSON schema as Gemini's ``responseSchema`` (OpenAPI 3.0 subset: upper-case types,
    no ``additionalProperties``), with ``propertyOrdering`` so fields come out in order."""
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "type":
            out["type"] = str(value).upper()
        elif key == "properties":
            out["properties"] = {name: gemini_schema(sub) for name, sub in value.items()}
            out["propertyOrdering"] = list(value)
        elif key == "items":
            out["items"] = gemini_schema(value)
        elif key in ("required", "description", "enum", "nullable", "format"):
            out[key] = value
    return out


def _candidate_parts(answer: Any) -> list[dict[str, Any]]:
    """The first candidate's parts; a blocked prompt or a refusal is a 400 (retrying cannot help)."""
    if not isinstance(answer, dict):
        raise MalformedAnswer("the answer is not an object")
    feedback = answer.get("promptFeedback") or {}
    if feedback.get("blockReason"):
        raise BadRequest(f"The AI provider blocked this prompt ({feedback['blockReason']})")
    candidates = answer.get("candidates")
    if not isinstance(candidates, list) or not candidates or not isinstance(candidates[0], dict):
        raise MalformedAnswer("the answer has no candidates")
    candidate = candidates[0]
    reason = candidate.get("finishReason")
    if reason in _REFUSALS:
        raise BadRequest(f"The AI model declined this request ({reason})")
    if reason == "MAX_TOKENS":
        raise MalformedAnswer("the answer was cut off at the output token limit")
    parts = (candidate.get("content") or {}).get("parts")
    if not isinstance(parts, list):
        raise MalformedAnswer("the answer has no content parts")
    return [part for part in parts if isinstance(part, dict)]


@dataclass
class GeminiTextGenerator:
    http: ProviderClient
    model: str = DEFAULT_TEXT_MODEL
    temperature: float = 0.8
    name: str = field(init=False)
    # Models write any language the prompt asks for.
    languages: frozenset[str] | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.name = f"gemini:{self.model}"[:64]

    async def generate(self, request: TextRequest) -> GeneratedText:
        return await generate_with_retry(self.http.provider, request, self._ask, self.name)

    async def _ask(self, prompt: Prompt) -> str:
        body = {
            "systemInstruction": {"parts": [{"text": prompt.system}]},
            "contents": [{"role": "user", "parts": [{"text": prompt.user}]}],
            "generationConfig": {
                "temperature": self.temperature,
                "responseMimeType": "application/json",
                "responseSchema": gemini_schema(SUGGESTIONS_SCHEMA),
            },
        }
        answer = await self.http.post_json(f"/models/{self.model}:generateContent", body)
        # Thinking models may add "thought" parts; the answer is the rest.
        text = "".join(
            part["text"] for part in _candidate_parts(answer) if isinstance(part.get("text"), str) and not part.get("thought")
        )
        if not text.strip():
            raise MalformedAnswer("the answer has no text")
        return text


@dataclass
class GeminiImageGenerator:
    http: ProviderClient
    model: str = DEFAULT_IMAGE_MODEL
    name: str = field(init=False)

    def __post_init__(self) -> None:
        self.name = f"gemini:{self.model}"[:32]

    async def generate(self, request: ImageRequest) -> GeneratedImage:
        if self.model.startswith("imagen"):
            data = await self._imagen(request.prompt)
        else:
            data = await self._gemini_image(request.prompt)
        return GeneratedImage(data=await normalized(data, self.http.provider), content_type="image/jpeg",
                              generator=self.name)

    async def _imagen(self, prompt: str) -> bytes:
        body = {"instances": [{"prompt": prompt}], "parameters": {"sampleCount": 1, "aspectRatio": "1:1"}}
        answer = await self.http.post_json(f"/models/{self.model}:predict", body)
        predictions = answer.get("predictions") if isinstance(answer, dict) else None
        if not predictions:
            # Imagen answers with no prediction when its safety filter removed the image.
            raise BadRequest("The AI provider returned no image for this prompt (filtered by its safety rules)")
        first = predictions[0] if isinstance(predictions[0], dict) else {}
        if not isinstance(first.get("bytesBase64Encoded"), str):
            reason = first.get("raiFilteredReason")
            if reason:
                raise BadRequest(f"The AI provider filtered this image: {str(reason)[:200]}")
            raise ServiceUnavailable(f"{self.http.provider} answered without an image")
        return decode_base64(first["bytesBase64Encoded"], self.http.provider)

    async def _gemini_image(self, prompt: str) -> bytes:
        body = {
            "contents": [{"role": "user", "parts": [{"text": prompt}]}],
            "generationConfig": {"responseModalities": ["IMAGE"]},
        }
        answer = await self.http.post_json(f"/models/{self.model}:generateContent", body)
        try:
            parts = _candidate_parts(answer)
        except MalformedAnswer as exc:
            raise ServiceUnavailable(f"{self.http.provider}: {exc.message}") from None
        for part in parts:
            inline = part.get("inlineData") or part.get("inline_data")
            if isinstance(inline, dict) and isinstance(inline.get("data"), str):
                return decode_base64(inline["data"], self.http.provider)
        raise ServiceUnavailable(f"{self.http.provider} answered without an image")
