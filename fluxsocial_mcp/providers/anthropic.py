"""Anthropic's Messages API (Claude) as a text generator.

``POST {base}/messages`` with ``x-api-key`` and ``anthropic-version``. Structured
output is a forced tool call: one tool whose ``input_schema`` is the suggestion
schema, and ``tool_choice: {"type": "tool", "name": …}``, so the answer is a
``tool_use`` content block whose ``input`` is the suggestions object.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import BadRequest
from .base import GeneratedText, TextRequest
from .http import MalformedAnswer, ProviderClient
from .structured import SCHEMA_NAME, SUGGESTIONS_SCHEMA, Prompt, generate_with_retry

ANTHROPIC_BASE_URL = "https://api.anthropic.com/v1"
ANTHROPIC_VERSION = "2023-06-01"
DEFAULT_MODEL = "claude-sonnet-4-5"
MAX_TOKENS = 8192


def anthropic_headers(api_key: str | None) -> tuple[dict[str, str], dict[str, str]]:
    """(secret headers, plain headers) for ``ProviderClient``."""
    return ({"x-api-key": api_key} if api_key else {}), {"anthropic-version": ANTHROPIC_VERSION}


@dataclass
class AnthropicTextGenerator:
    http: ProviderClient
    model: str = DEFAULT_MODEL
    max_tokens: int = MAX_TOKENS
    name: str = field(init=False)
    # Models write any language the prompt asks for.
    languages: frozenset[str] | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.name = f"anthropic:{self.model}"[:64]

    async def generate(self, request: TextRequest) -> GeneratedText:
        return await generate_with_retry(self.http.provider, request, self._ask, self.name)

    async def _ask(self, prompt: Prompt) -> dict[str, Any]:
        body = {
            "model": self.model,
            "max_tokens": self.max_tokens,
            "system": prompt.system,
            "messages": [{"role": "user", "content": prompt.user}],
            "tools": [
                {
                    "name": SCHEMA_NAME,
                    "description": "Submit the social media post suggestions.",
                    "input_schema": SUGGESTIONS_SCHEMA,
                }
            ],
            "tool_choice": {"type": "tool", "name": SCHEMA_NAME},
        }
        answer = await self.http.post_json("/messages", body)
        if not isinstance(answer, dict) or not isinstance(answer.get("content"), list):
            raise MalformedAnswer("the answer has no content blocks")
        stop = answer.get("stop_reason")
        if stop == "refusal":
            raise BadRequest("The AI model declined this request")
        if stop == "max_tokens":
            raise MalformedAnswer("the answer was cut off at max_tokens")
        for block in answer["content"]:
            if isinstance(block, dict) and block.get("type") == "tool_use" and block.get("name") == SCHEMA_NAME:
                tool_input = block.get("input")
                if not isinstance(tool_input, dict):
                    raise MalformedAnswer("the tool call has no input object")
                return tool_input
        raise MalformedAnswer(f"the answer did not call the {SCHEMA_NAME} tool")
