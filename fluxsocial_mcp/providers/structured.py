"""What a text model is asked for, and how its answer becomes ``DraftSuggestion``s.

Every real text provider sends the same instructions (``compose_prompt``) and the
same JSON schema (``SUGGESTIONS_SCHEMA``: OpenAI ``response_format``, an
Anthropic tool's ``input_schema``, a Gemini ``responseSchema``), and validates
the answer with ``parse_suggestions``. A model's answer is never trusted: an
answer that is not JSON, breaks the schema, has too few suggestions, empty
fields, or a language other than the one asked for raises ``MalformedAnswer``,
and ``generate_with_retry`` asks once more before giving up with a 503. Nothing
malformed ever reaches the database.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator

from ..errors import ServiceUnavailable
from .base import DraftSuggestion, GeneratedText, TextRequest
from .http import MalformedAnswer

log = logging.getLogger(__name__)

SCHEMA_NAME = "social_post_suggestions"
MAX_TAGS = 30
MAX_SLIDES = 10
CAROUSEL_SLIDES = 5
TITLE_MAX = 300
BODY_MAX = 10_000

_SUGGESTION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "title": {"type": "string", "description": "A short headline for the post (under 80 characters)."},
        "body": {"type": "string", "description": "The full post text, ready to publish, without hashtags."},
        "tags": {
            "type": "array",
            "items": {"type": "string"},
            "description": "3 to 8 hashtags without the # sign.",
        },
        "imagePrompts": {
            "type": "array",
            "items": {"type": "string"},
            "description": "One image-generation prompt per slide, describing the visual only.",
        },
        "language": {
            "type": "string",
            "description": "ISO 639-1 code of the language the title and body are written in.",
        },
    },
    "required": ["title", "body", "tags", "imagePrompts", "language"],
    "additionalProperties": False,
}

# The one shape every provider is asked for. Strict-mode friendly (OpenAI): every
# property required, no additional properties, the root an object.
SUGGESTIONS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"suggestions": {"type": "array", "items": _SUGGESTION_SCHEMA}},
    "required": ["suggestions"],
    "additionalProperties": False,
}

_FORMAT_GUIDE = {
    "IMAGE": "a feed post with one image: a caption of 2-5 short paragraphs and exactly 1 image prompt",
    "CAROUSEL": f"a carousel post: a caption introducing the slides and exactly {CAROUSEL_SLIDES} image prompts, "
    "one per slide, in slide order",
    "STORY": "a story: one or two very short lines of text and exactly 1 vertical (9:16) image prompt",
    "REEL": "a short vertical video (reel): a hook line, a numbered shot list and a closing call to action, "
    "and exactly 1 image prompt for the cover",
    "VIDEO": "a short video post: a hook line, a numbered shot list and a closing call to action, "
    "and exactly 1 image prompt for the cover",
    "TEXT": "a text-only post (no image needed): a longer, well-structured caption and exactly 1 image prompt "
    "that could illustrate it if wanted",
}


@dataclass(frozen=True)
class Prompt:
    system: str
    user: str


def compose_prompt(request: TextRequest) -> Prompt:
    """The instructions for one generation call, the same for every provider."""
    business = request.business
    system = (
        "You are an experienced social media copywriter for small businesses. "
        "You write ready-to-publish posts that sound like the business itself, never generic filler. "
        "Answer with JSON only, exactly in the requested schema: an object with a 'suggestions' array."
    )
    facts = [f"Business: {business.name}"]
    if business.type:
        facts.append(f"Kind of business: {business.type}")
    if business.industry:
        facts.append(f"Industry: {business.industry}")
    if business.timezone:
        facts.append(f"Timezone: {business.timezone}")
    lines = [
        *facts,
        f"Content format: {request.content_format}, {_FORMAT_GUIDE.get(request.content_format, _FORMAT_GUIDE['IMAGE'])}.",
        f"Write exactly {request.count} distinct suggestions, each from a different angle.",
    ]
    if request.language:
        lines.append(
            f"Language: write the title, body and tags of every suggestion in the language with ISO 639-1 code "
            f"'{request.language}', and set each suggestion's 'language' to '{request.language}'. "
            "Image prompts are always in English."
        )
    else:
        lines.append(
            "Language: write in the language of the request below, and set each suggestion's 'language' to its "
            "ISO 639-1 code. Image prompts are always in English."
        )
    lines.append("Tags: hashtags without the # sign, no spaces inside a tag.")
    if request.content_dna:
        lines += ["", "Content DNA, the proven voice of this business (follow it):", request.content_dna.strip()]
    if request.examples:
        lines += ["", "Some of the business's best-performing past posts (match their voice, do not copy them):"]
        lines += [f"{index}. {_one_line(example)}" for index, example in enumerate(request.examples, 1)]
    lines += ["", "Request:", request.prompt.strip()]
    return Prompt(system=system, user="\n".join(lines))


def _one_line(text: str, limit: int = 600) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


# -- validation ----------------------------------------------------------------

_Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class _Suggestion(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)

    title: Annotated[_Text, StringConstraints(max_length=TITLE_MAX)]
    body: Annotated[_Text, StringConstraints(max_length=BODY_MAX)]
    tags: list[str] = Field(max_length=MAX_TAGS * 2)
    image_prompts: list[_Text] = Field(alias="imagePrompts", max_length=MAX_SLIDES * 2)
    language: _Text

    @field_validator("tags")
    @classmethod
    def _clean_tags(cls, tags: list[str]) -> list[str]:
        cleaned: list[str] = []
        for tag in tags:
            value = re.sub(r"\s+", "", tag.strip().lstrip("#"))
            if value and value.lower() not in {t.lower() for t in cleaned}:
                cleaned.append(value[:100])
        return cleaned[:MAX_TAGS]

    @field_validator("language")
    @classmethod
    def _language_code(cls, value: str) -> str:
        code = normalize_language(value)
        if code is None:
            raise ValueError("must be an ISO 639-1 code such as 'en'")
        return code


class _Answer(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)

    suggestions: list[_Suggestion]


def normalize_language(value: str | None) -> str | None:
    """``"es-ES"``, ``"ES"`` -> ``"es"``; ``"iw"`` -> ``"he"``; anything else -> None."""
    if not value:
        return None
    base = re.split(r"[-_]", value.strip().lower(), maxsplit=1)[0]
    base = {"iw": "he", "in": "id", "ji": "yi"}.get(base, base)
    return base if re.fullmatch(r"[a-z]{2}", base) else None


def parse_suggestions(answer: str | dict[str, Any], request: TextRequest) -> list[DraftSuggestion]:
    """Validate a model's answer (JSON text, or an already-decoded object) into drafts.

    Raises:
        MalformedAnswer: not JSON, schema violated, fewer suggestions than asked,
            the wrong number of slides, or not in the language asked for.
    """
    if isinstance(answer, str):
        text = _strip_fence(answer)
        try:
            answer = json.loads(text)
        except ValueError:
            raise MalformedAnswer("the answer is not valid JSON") from None
    if isinstance(answer, list):  # some models drop the wrapping object
        answer = {"suggestions": answer}
    try:
        parsed = _Answer.model_validate(answer)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        where = ".".join(str(part) for part in first["loc"])
        raise MalformedAnswer(f"the answer breaks the schema at '{where}': {first['msg']}") from None
    if len(parsed.suggestions) < request.count:
        raise MalformedAnswer(f"asked for {request.count} suggestions, got {len(parsed.suggestions)}")
    wanted = normalize_language(request.language)
    drafts = []
    for index, item in enumerate(parsed.suggestions[: request.count]):
        if wanted and item.language != wanted:
            raise MalformedAnswer(f"suggestion {index} is in '{item.language}', '{wanted}' was asked for")
        prompts = _slides(item.image_prompts, request, index)
        drafts.append(
            DraftSuggestion(
                title=item.title,
                body=item.body,
                tags=item.tags,
                image_prompts=prompts,
                language=item.language,
            )
        )
    return drafts


def _slides(prompts: list[str], request: TextRequest, index: int) -> list[str]:
    if request.content_format == "CAROUSEL":
        if len(prompts) < 2:
            raise MalformedAnswer(f"suggestion {index} is a carousel with {len(prompts)} image prompts (needs 2-10)")
        return prompts[:MAX_SLIDES]
    if not prompts:
        raise MalformedAnswer(f"suggestion {index} has no image prompt")
    return prompts[:1]


def _strip_fence(text: str) -> str:
    """Models asked for JSON sometimes wrap it in a Markdown code fence anyway."""
    stripped = text.strip()
    match = re.fullmatch(r"```(?:json)?\s*(.*?)\s*```", stripped, flags=re.DOTALL)
    return match.group(1) if match else stripped


async def generate_with_retry(
    provider: str,
    request: TextRequest,
    ask: Callable[[Prompt], Awaitable[str | dict[str, Any]]],
    generator: str,
) -> GeneratedText:
    """Ask, validate, and ask once more if the answer was malformed; then give up with a 503."""
    prompt = compose_prompt(request)
    problem = ""
    for attempt in (1, 2):
        try:
            answer = await ask(prompt)
            return GeneratedText(suggestions=parse_suggestions(answer, request), generator=generator)
        except MalformedAnswer as exc:
            problem = exc.message
            log.warning("%s: malformed answer (try %d/2): %s", provider, attempt, problem)
    raise ServiceUnavailable(f"{provider} answered with malformed suggestions twice ({problem}); nothing was stored")
