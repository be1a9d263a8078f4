"""Local fakes of the AI providers' HTTP APIs: real response shapes, every request recorded."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import httpx

from fluxsocial_mcp.config import Settings
from fluxsocial_mcp.providers.base import BusinessProfile, TextRequest
from fluxsocial_mcp.providers.registry import build_generators

Answer = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


class FakeApi:
    """An ``httpx.MockTransport`` that answers from a script and records what it was sent."""

    def __init__(self, *answers: Answer) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def add(self, *answers: Answer) -> None:
        self.answers.extend(answers)

    def _handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        assert self.answers, f"unexpected request {request.method} {request.url}"
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        if callable(answer):
            return answer(request)
        return answer

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self._handle)

    def body(self, index: int = -1) -> Any:
        return json.loads(self.requests[index].content)


class Sleeps(list):
    """Stands in for ``anyio.sleep``: records each backoff and returns at once."""

    async def __call__(self, seconds: float) -> None:
        self.append(seconds)


def generators(api: FakeApi, sleeps: Sleeps | None = None, **settings: Any):  # type: ignore[no-untyped-def]
    """(text, images, video) built by the real registry from these settings, talking to ``api``."""
    configured = Settings(_env_file=None, **settings)
    return build_generators(configured, transport=api.transport, sleep=sleeps if sleeps is not None else Sleeps())


def text_request(count: int = 2, language: str | None = "en", content_format: str = "IMAGE", **extra: Any) -> TextRequest:
    return TextRequest(
        prompt="Our new almond croissant",
        business=BusinessProfile(name="The Morning Cup", type="cafe", industry="food",
                                 timezone="America/New_York", language="en"),
        content_format=content_format,  # type: ignore[arg-type]
        count=count,
        language=language,
        **extra,
    )


def suggestions(count: int = 2, language: str = "en", slides: int = 1) -> dict[str, Any]:
    """A valid answer object, as every provider is asked to produce it."""
    words = {
        "en": ("Almond croissant day", "Flaky, buttery and fresh from our oven this morning."),
        "es": ("Día del croissant de almendra", "Hojaldrado, mantecoso y recién salido del horno esta mañana."),
        "he": ("יום קרואסון השקדים", "פריך, חמאתי וטרי מהתנור שלנו הבוקר."),
    }[language]
    return {
        "suggestions": [
            {
                "title": f"{words[0]} #{index + 1}",
                "body": words[1],
                "tags": ["#croissant", "bakery", "croissant"],
                "imagePrompts": [f"Close-up of an almond croissant, slide {slide + 1}" for slide in range(slides)],
                "language": language,
            }
            for index in range(count)
        ]
    }


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, json=body, headers=headers)


# -- real response shapes ---------------------------------------------------------------


def openai_chat(content: str, finish_reason: str = "stop", refusal: str | None = None) -> httpx.Response:
    return json_response(200, {
        "id": "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT",
        "object": "chat.completion",
        "created": 1741569952,
        "model": "gpt-4.1-mini-2025-04-14",
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": content, "refusal": refusal, "annotations": []},
            "logprobs": None,
            "finish_reason": finish_reason,
        }],
        "usage": {"prompt_tokens": 412, "completion_tokens": 230, "total_tokens": 642},
        "service_tier": "default",
        "system_fingerprint": "fp_6f2eabb9a5",
    })


def openai_error(status: int, message: str, code: str, headers: dict[str, str] | None = None) -> httpx.Response:
    kind = "invalid_request_error" if status in (400, 401, 404) else "requests"
    return json_response(status, {"error": {"message": message, "type": kind, "param": None, "code": code}}, headers)


def anthropic_tool_use(tool_input: Any, stop_reason: str = "tool_use") -> httpx.Response:
    return json_response(200, {
        "id": "msg_01Aq9w938a90dw8q",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5-20250929",
        "content": [
            {"type": "text", "text": "Here are the suggestions."},
            {"type": "tool_use", "id": "toolu_01A09q90qw90lq917835lq9", "name": "social_post_suggestions",
             "input": tool_input},
        ],
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": {"input_tokens": 512, "output_tokens": 301},
    })


def anthropic_error(status: int, kind: str, message: str, headers: dict[str, str] | None = None) -> httpx.Response:
    return json_response(status, {"type": "error", "error": {"type": kind, "message": message},
                                  "request_id": "req_011CSHoEeqs5C35K2UUqR7Fy"}, headers)


def gemini_text(text: str, finish_reason: str = "STOP") -> httpx.Response:
    return json_response(200, {
        "candidates": [{
            "content": {"parts": [{"text": text}], "role": "model"},
            "finishReason": finish_reason,
            "index": 0,
        }],
        "usageMetadata": {"promptTokenCount": 380, "candidatesTokenCount": 250, "totalTokenCount": 630},
        "modelVersion": "gemini-2.5-flash",
        "responseId": "mK1AaO3nKpWkz7IPw8SQuAo",
    })


def google_error(status: int, code_name: str, message: str, reason: str | None = None) -> httpx.Response:
    error: dict[str, Any] = {"code": status, "message": message, "status": code_name}
    if reason:
        error["details"] = [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": reason,
                             "domain": "googleapis.com", "metadata": {"service": "generativelanguage.googleapis.com"}}]
    return json_response(status, {"error": error})


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
