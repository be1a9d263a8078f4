"""End to end: FluxSocial on uvicorn, its text provider an OpenAI-compatible fake server on loopback.

Generating with ``useContentDNA`` for a Hebrew-speaking business (REST) and a
Spanish-speaking one (MCP) gives suggestions in that language, and the fake
sees each business's DNA and best past posts in the prompt it receives.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import httpx2
import pytest
import uvicorn
from pydantic import SecretStr
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from fluxsocial_mcp.config import Settings
from fluxsocial_mcp.core import content_dna
from fluxsocial_mcp.models import Suggestion

from ..conftest import free_port
from ..core.test_content_dna import HEBREW, SPANISH
from ..factories import make_tenant

API_KEY = "sk-e2e-local-fake"
MODEL = "local-llama"
WRITING = {
    "he": ("קרואסון שקדים טרי", "קרואסון שקדים חדש יצא מהתנור! בואו לטעום הבוקר ☕", ["קפה", "מאפה"]),
    "es": ("Croissant de almendra recién hecho", "¡Nuevo croissant de almendra! Ven a probarlo ☕", ["cafe", "croissant"]),
}


@dataclass
class FakeOpenAI:
    url: str
    bodies: list[dict[str, Any]] = field(default_factory=list)


def fake_openai_app(state: FakeOpenAI) -> Starlette:
    async def completions(request: Request) -> JSONResponse:
        if request.headers.get("authorization") != f"Bearer {API_KEY}":
            return JSONResponse({"error": {"message": "Incorrect API key provided", "type": "invalid_request_error",
                                           "param": None, "code": "invalid_api_key"}}, status_code=401)
        body = await request.json()
        state.bodies.append(body)
        if body.get("model") != MODEL or body.get("response_format", {}).get("type") != "json_schema":
            return JSONResponse({"error": {"message": "bad request", "type": "invalid_request_error",
                                           "param": "response_format", "code": None}}, status_code=400)
        user = next(m["content"] for m in body["messages"] if m["role"] == "user")
        wanted = re.search(r"ISO 639-1 code '([a-z]{2})'", user)
        language = wanted.group(1) if wanted else "en"
        count = int(re.search(r"Write exactly (\d+) distinct", user).group(1))  # type: ignore[union-attr]
        title, text, tags = WRITING.get(language, ("Fresh croissant", "Our new almond croissant!", ["bakery"]))
        answer = {"suggestions": [
            {"title": f"{title} {n + 1}", "body": text, "tags": tags,
             "imagePrompts": ["An almond croissant on a marble counter, morning light"], "language": language}
            for n in range(count)
        ]}
        return JSONResponse({
            "id": "chatcmpl-local-1", "object": "chat.completion", "created": 1775000000, "model": MODEL,
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": json.dumps(answer, ensure_ascii=False)}}],
            "usage": {"prompt_tokens": 300, "completion_tokens": 200, "total_tokens": 500},
        })

    return Starlette(routes=[Route("/v1/chat/completions", completions, methods=["POST"])])


@pytest.fixture
async def fake_openai() -> AsyncIterator[FakeOpenAI]:
    port = free_port()
    state = FakeOpenAI(url=f"http://127.0.0.1:{port}/v1")
    server = uvicorn.Server(uvicorn.Config(fake_openai_app(state), host="127.0.0.1", port=port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield state
    finally:
        server.should_exit = True
        await task


@pytest.fixture
def settings(settings: Settings, fake_openai: FakeOpenAI) -> Settings:
    """The suite's settings, with the text provider pointed at the fake, as a user would configure it."""
    return settings.model_copy(update={
        "text_provider": "openai", "text_base_url": fake_openai.url, "text_model": MODEL,
        "text_api_key": SecretStr(API_KEY),
    })


def hebrew(text: str) -> bool:
    return any("\u0590" <= ch <= "\u05ff" for ch in text)


async def test_content_dna_in_hebrew_and_spanish_through_a_local_openai_compatible_server(
    live_server, fake_openai: FakeOpenAI
) -> None:
    core = live_server.runtime.core
    assert core.text.name == f"openai:{MODEL}"
    he = await make_tenant(core)
    es = await make_tenant(core)
    await content_dna.import_posts(core.db, he.business_id, HEBREW)
    await content_dna.import_posts(core.db, es.business_id, SPANISH)

    # Hebrew, over REST: no language given, so the DNA's language is used.
    async with httpx.AsyncClient(base_url=live_server.url, timeout=30) as http:
        response = await http.post("/api/v1/content", headers=he.headers, json={
            "prompt": "Write a post about our new almond croissant", "businessId": he.business_id,
            "useContentDNA": True, "suggestionCount": 2,
        })
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["creditsUsed"] == 20 and len(result["suggestions"]) == 2
    assert all(hebrew(s["title"]) and hebrew(s["body"]) for s in result["suggestions"])
    assert result["suggestions"][0]["tags"] == ["קפה", "מאפה"]
    prompt = next(m["content"] for m in fake_openai.bodies[-1]["messages"] if m["role"] == "user")
    assert "ISO 639-1 code 'he'" in prompt
    assert "Content DNA, the proven voice of this business" in prompt
    assert "language: he" in prompt and "#קפה" in prompt  # the derived profile
    assert HEBREW[0].text in prompt  # the best past post as an example

    # Spanish, over MCP: the same core operation with the same arguments.
    async with httpx2.AsyncClient(headers=es.headers, timeout=30) as http:
        async with streamable_http_client(f"{live_server.url}/api/mcp", http_client=http) as streams:
            async with ClientSession(*streams[:2]) as session:
                await session.initialize()
                tool = await session.call_tool("generate_content", {
                    "prompt": "Write a post about our new almond croissant", "businessId": es.business_id,
                    "useContentDNA": True, "suggestionCount": 1,
                })
    assert tool.is_error is False, tool.content
    [suggestion] = tool.structured_content["suggestions"]
    assert suggestion["title"] == "Croissant de almendra recién hecho 1"
    assert not hebrew(suggestion["body"])
    prompt = next(m["content"] for m in fake_openai.bodies[-1]["messages"] if m["role"] == "user")
    assert "ISO 639-1 code 'es'" in prompt
    assert "best-performing hashtags: #latteart" in prompt
    assert SPANISH[3].text in prompt  # the best-performing Spanish post

    async with core.db.transaction() as session:
        stored = {s.business_id: s for s in (await session.scalars(select(Suggestion))).all()}
    assert stored[he.business_id].language == "he" and stored[es.business_id].language == "es"
    assert stored[es.business_id].generator == f"openai:{MODEL}"
