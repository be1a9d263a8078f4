import re

import pytest

from fluxsocial_mcp.providers.base import BusinessProfile, TextRequest
from fluxsocial_mcp.providers.offline_text import OfflineTextGenerator, detect_language

CAFE = BusinessProfile(
    name="Café Olé", type="Coffee shop", industry="Food & Beverage", timezone="Europe/Madrid", language="en"
)
FORMATS = ("IMAGE", "VIDEO", "CAROUSEL", "REEL", "STORY", "TEXT")
EMOJI = re.compile("[\U0001F000-\U0001FAFF\u2728\u2705]")


def request(prompt="Write a post about our new summer menu with iced coffee", fmt="IMAGE", count=4, language="en",
            business=CAFE, dna=None):
    return TextRequest(prompt=prompt, business=business, content_format=fmt, count=count, language=language,
                       content_dna=dna)


def compose(**kwargs):
    return OfflineTextGenerator().compose(request(**kwargs))


def hebrew_latin(text):
    hebrew = sum(1 for c in text if "\u05d0" <= c <= "\u05ea")
    latin = sum(1 for c in text if c.isascii() and c.isalpha())
    return hebrew, latin


@pytest.mark.asyncio
async def test_generate_returns_the_requested_count_and_names_the_generator():
    result = await OfflineTextGenerator().generate(request(count=3))
    assert result.generator == "offline-composer"
    assert OfflineTextGenerator.name == "offline-composer"
    assert len(result.suggestions) == 3


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("count", [1, 2, 4, 6])
def test_suggestions_are_distinct(fmt, count):
    suggestions = compose(fmt=fmt, count=count)
    assert len(suggestions) == count
    assert len({s.title for s in suggestions}) == count
    assert len({s.body for s in suggestions}) == count
    for s in suggestions:
        assert s.title and s.body
        assert len(s.title) <= 80
        assert s.language == "en"


def test_count_is_clamped_to_one_through_six():
    assert len(compose(count=10)) == 6
    assert len(compose(count=0)) == 1


def test_tags_are_bare_lowercase_unique_and_derived_from_the_input():
    for s in compose(count=6):
        assert 3 <= len(s.tags) <= 8
        assert len(set(s.tags)) == len(s.tags)
        for tag in s.tags:
            assert tag == tag.lower()
            assert "#" not in tag and " " not in tag
        # prompt keywords, industry and business type
        assert {"summer", "menu", "foodbeverage", "coffeeshop"} <= set(s.tags)


def test_tags_are_topped_up_when_the_input_is_thin():
    bare = BusinessProfile(name="", type="", industry="", timezone="UTC", language=None)
    for s in compose(prompt="", business=bare, count=6):
        assert 3 <= len(s.tags) <= 8
        assert len(set(s.tags)) == len(s.tags)


@pytest.mark.parametrize(("fmt", "slides"), [("CAROUSEL", 5), ("TEXT", 1), ("IMAGE", 1), ("STORY", 1),
                                             ("VIDEO", 1), ("REEL", 1)])
def test_one_image_prompt_per_slide(fmt, slides):
    for s in compose(fmt=fmt, count=6):
        assert len(s.image_prompts) == slides
        assert all(p.strip() for p in s.image_prompts)
        assert len(set(s.image_prompts)) == slides


def test_bodies_fit_their_format():
    text = compose(fmt="TEXT", count=6)
    story = compose(fmt="STORY", count=6)
    for s in text:
        assert s.body.count("\n• ") == 3  # a list of three points
    assert min(len(s.body) for s in text) > max(len(s.body) for s in story)
    for s in story:
        assert len(s.body) < 250
    for s in compose(fmt="CAROUSEL", count=6):
        assert [f"Slide {i}/5" in s.body for i in range(1, 6)] == [True] * 5
        assert s.image_prompts[0].startswith(s.title)
    for fmt in ("VIDEO", "REEL"):
        for s in compose(fmt=fmt, count=6):
            assert s.body.startswith("Hook: ")
            assert "\nShots:\n1. " in s.body and "\n2. " in s.body and "\n3. " in s.body


def test_instruction_boilerplate_is_not_repeated_in_the_title():
    for s in compose(count=6):
        assert "write a post" not in s.title.lower()
        assert "summer menu with iced coffee" in s.title.lower() or "Café Olé" in s.title


def test_titles_stay_within_80_characters_for_huge_input():
    giant = BusinessProfile(name="N" * 150, type="T" * 90, industry="I" * 90, timezone="UTC", language="en")
    for s in compose(prompt="word " * 100 + "x" * 300, business=giant, count=6, fmt="CAROUSEL"):
        assert len(s.title) <= 80
        assert len(s.body) < 2000
        assert 3 <= len(s.tags) <= 8


def test_explicit_spanish():
    suggestions = compose(prompt="Summer sale on iced coffee", language="es", count=6, fmt="TEXT")
    for s in suggestions:
        assert s.language == "es"
        assert re.search(r"\b(nuestro|nuestra|nuestros|te|tu|tus|que|para)\b", s.body), s.body
        assert not re.search(r"\b(the|our|your)\b", s.body.replace("Summer sale on iced coffee", ""))


def test_explicit_hebrew():
    for fmt in FORMATS:
        for s in compose(prompt="Summer sale", language="he", count=6, fmt=fmt):
            assert s.language == "he"
            # Apart from the (English) business fields and topic, all letters are Hebrew.
            body = s.body
            for given in ("Café Olé", "Coffee shop", "Food & Beverage", "Summer sale"):
                body = body.replace(given, "")
            hebrew, latin = hebrew_latin(body)
            assert hebrew > 20 and latin == 0, s.body


def test_spanish_prompt_is_detected_when_no_language_is_given():
    suggestions = compose(prompt="Promoción de verano para nuestra cafetería", language=None, count=4)
    assert {s.language for s in suggestions} == {"es"}
    assert any("verano" in s.tags for s in suggestions)


@pytest.mark.parametrize(
    ("prompt", "expected"),
    [
        ("Write a post about our summer sale", "en"),
        ("Nuevo menú de otoño", "es"),
        ("Écrivez une publication sur nos croissants du dimanche", "fr"),
        ("Unser neues Herbstmenü ist da", "de"),
        ("Nossa nova promoção de inverno", "pt"),
        ("Il nostro nuovo menù autunnale", "it"),
        ("מבצע קיץ בבית הקפה שלנו", "he"),
    ],
)
def test_detect_language(prompt, expected):
    assert detect_language(prompt) == expected


def test_undetectable_prompt_falls_back_to_business_language_then_english():
    italian = BusinessProfile(name="Da Gino", type="Pizzeria", industry="Food", timezone="Europe/Rome", language="it")
    assert compose(prompt="Pizza napoletana", language=None, business=italian)[0].language == "it"
    unknown = BusinessProfile(name="Da Gino", type="Pizzeria", industry="Food", timezone="UTC", language=None)
    assert compose(prompt="Pizza napoletana", language=None, business=unknown)[0].language == "en"


def test_unsupported_language_writes_english_and_says_so():
    for s in compose(language="nl", count=3, fmt="TEXT"):
        assert s.language == "en"
        assert re.search(r"\b(our|your|you|we)\b", s.body)


def test_regional_codes_use_the_base_language():
    assert {s.language for s in compose(language="pt-BR", count=2)} == {"pt"}


def test_output_is_deterministic():
    first = compose(count=6, fmt="CAROUSEL")
    assert compose(count=6, fmt="CAROUSEL") == first
    other = compose(prompt="Write a post about our winter hot chocolate", count=6, fmt="CAROUSEL")
    assert [s.title for s in other] != [s.title for s in first]


def test_content_dna_sets_tone_and_emoji():
    playful = compose(dna="tone: playful; emoji: frequent", count=6, fmt="TEXT")
    for s in playful:
        assert "Your move: come say hi at Café Olé!" in s.body or "Go on, tag a friend who needs to see this!" in s.body
        assert "✨" in s.body
    professional = compose(dna="Tone: professional. Emoji: none.", count=6, fmt="TEXT")
    for s in professional:
        assert "Contact Café Olé to learn more." in s.body or "Our team is available to answer your questions." in s.body
        assert not EMOJI.search(s.body)


def test_bodies_carry_no_generator_marker():
    for fmt in FORMATS:
        for s in compose(fmt=fmt, count=6):
            assert "offline" not in s.body.lower()
            assert "fluxsocial" not in s.body.lower()


def test_empty_prompt_still_yields_usable_drafts():
    for s in compose(prompt="", count=6, fmt="CAROUSEL"):
        assert s.title and s.body
        assert len(s.image_prompts) == 5


@pytest.mark.parametrize("language", ["en", "es", "fr", "de", "pt", "it", "he"])
def test_every_template_fills_in(language):
    for fmt in FORMATS:
        for dna in (None, "tone: bold; emoji: frequent"):
            for s in compose(language=language, fmt=fmt, count=6, dna=dna):
                assert s.language == language
                for text in (s.title, s.body, *s.image_prompts):
                    assert "{" not in text and "}" not in text
                    assert "  " not in text
