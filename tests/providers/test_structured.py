"""Validating a model's answer into drafts: anything malformed is refused, never stored."""

from __future__ import annotations

import json

import pytest

from fluxsocial_mcp.providers.http import MalformedAnswer
from fluxsocial_mcp.providers.structured import SUGGESTIONS_SCHEMA, compose_prompt, parse_suggestions

from .fakes import suggestions, text_request


def test_a_valid_answer_becomes_clean_drafts() -> None:
    drafts = parse_suggestions(json.dumps(suggestions(3)), text_request(count=2))
    assert len(drafts) == 2  # extra suggestions are dropped
    assert drafts[0].title == "Almond croissant day #1"
    assert drafts[0].tags == ["croissant", "bakery"]  # '#' stripped, duplicates dropped
    assert drafts[0].image_prompts == ["Close-up of an almond croissant, slide 1"]
    assert drafts[0].language == "en"


def test_a_fenced_answer_and_a_bare_list_are_accepted() -> None:
    fenced = "```json\n" + json.dumps(suggestions(1)) + "\n```"
    assert parse_suggestions(fenced, text_request(count=1))[0].title == "Almond croissant day #1"
    assert len(parse_suggestions(suggestions(1)["suggestions"], text_request(count=1))) == 1  # type: ignore[arg-type]


def test_carousels_keep_their_slides() -> None:
    drafts = parse_suggestions(suggestions(1, slides=5), text_request(count=1, content_format="CAROUSEL"))
    assert len(drafts[0].image_prompts) == 5


_ONE = suggestions(1)["suggestions"][0]


@pytest.mark.parametrize(
    ("answer", "count", "problem"),
    [
        ("not json", 1, "not valid JSON"),
        ({"suggestions": [{"title": "x"}]}, 1, "breaks the schema"),
        ({"suggestions": [{**_ONE, "title": "   "}]}, 1, "breaks the schema at 'suggestions.0.title'"),
        ({"suggestions": [{**_ONE, "tags": "croissant"}]}, 1, "suggestions.0.tags"),
        ({"suggestions": [{**_ONE, "language": "english"}]}, 1, "suggestions.0.language"),
        ({"suggestions": [{**_ONE, "imagePrompts": []}]}, 1, "has no image prompt"),
        (suggestions(1), 2, "asked for 2 suggestions, got 1"),
        (suggestions(2, language="es"), 2, "is in 'es', 'en' was asked for"),
    ],
)
def test_malformed_answers_are_refused(answer, count, problem) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(MalformedAnswer, match=problem):
        parse_suggestions(answer if isinstance(answer, str) else json.dumps(answer), text_request(count=count))


def test_a_carousel_with_one_slide_is_malformed() -> None:
    with pytest.raises(MalformedAnswer, match="carousel with 1 image prompts"):
        parse_suggestions(suggestions(1), text_request(count=1, content_format="CAROUSEL"))


def test_the_language_code_is_normalised() -> None:
    answer = suggestions(1)
    answer["suggestions"][0]["language"] = "ES-es"
    assert parse_suggestions(answer, text_request(count=1, language="es"))[0].language == "es"


def test_the_prompt_carries_dna_examples_and_language() -> None:
    prompt = compose_prompt(text_request(language="he", content_dna="tone: playful; emoji: frequent",
                                         examples=("Best post ever! ☕",)))
    assert "'he'" in prompt.user
    assert "tone: playful; emoji: frequent" in prompt.user
    assert "1. Best post ever! ☕" in prompt.user
    assert prompt.user.endswith("Request:\nOur new almond croissant")
    assert "write in the language of the request" in compose_prompt(text_request(language=None)).user


def test_the_schema_is_strict_mode_ready() -> None:
    item = SUGGESTIONS_SCHEMA["properties"]["suggestions"]["items"]
    assert SUGGESTIONS_SCHEMA["additionalProperties"] is False and item["additionalProperties"] is False
    assert set(item["required"]) == set(item["properties"])
