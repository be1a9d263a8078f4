"""Content DNA: importing past posts, deriving the voice, and using it when generating."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import select

from fluxsocial_mcp import cli
from fluxsocial_mcp.core import content_dna
from fluxsocial_mcp.core.content_dna import PastPostInput, ProfilePost, derive_profile
from fluxsocial_mcp.errors import BadRequest
from fluxsocial_mcp.models import PastPost, Suggestion
from fluxsocial_mcp.providers.base import GeneratedText, TextRequest
from fluxsocial_mcp.providers.offline_text import OfflineTextGenerator

from ..factories import make_tenant

SPANISH = [
    PastPostInput("¡Nuevo croissant de almendra! 🥐☕ Ven a probarlo este fin de semana #croissant #cafe",
                  likes=120, comments=14, shares=5, external_id="ig-1"),
    PastPostInput("Nuestro café de especialidad llega de Colombia. ¿Lo has probado? ☕ #cafe #colombia",
                  likes=80, comments=9, shares=2, external_id="ig-2"),
    PastPostInput("Hoy abrimos a las ocho de la mañana. ¡Te esperamos con pan recién hecho! 😊 #buenosdias",
                  likes=30, comments=2, external_id="ig-3"),
    PastPostInput("Latte art de la semana: un cisne precioso hecho por nuestra barista 🦢 #latteart #cafe",
                  likes=200, comments=30, shares=12, external_id="ig-4"),
]
HEBREW = [
    PastPostInput("קרואסון שקדים חדש יצא מהתנור! בואו לטעום הבוקר ☕ #קפה #מאפה", likes=90, comments=12),
    PastPostInput("הקפה שלנו מגיע מחוות קטנות בקולומביה, קלוי אצלנו כל שבוע #קפה", likes=60, comments=4),
    PastPostInput("שבת שלום לכל הלקוחות שלנו, נתראה ביום ראשון בבוקר", likes=40, comments=3),
]


# -- files -------------------------------------------------------------------------------


def test_a_csv_export_is_read_with_its_column_names(tmp_path: Path) -> None:
    path = tmp_path / "posts.csv"
    path.write_text(
        "caption,timestamp,like_count,comments_count,shares,id\n"
        '"Fresh bread, every morning #bakery",2026-03-01T09:00:00Z,"1,200",14,5,p1\n'
        ",2026-03-02T09:00:00Z,10,0,0,p2\n"
        "Second post,1772442000,3,,,\n",
        encoding="utf-8",
    )
    posts = content_dna.parse_posts_file(path)
    assert len(posts) == 2  # the row without text teaches no voice
    first = posts[0]
    assert (first.text, first.likes, first.comments, first.shares, first.external_id) == (
        "Fresh bread, every morning #bakery", 1200, 14, 5, "p1")
    assert first.posted_at == datetime(2026, 3, 1, 9, tzinfo=timezone.utc)
    assert first.score == 1200 + 2 * 14 + 3 * 5
    assert posts[1].posted_at == datetime.fromtimestamp(1772442000, tz=timezone.utc)
    assert posts[1].score == 3


def test_a_json_export_may_give_its_own_engagement(tmp_path: Path) -> None:
    path = tmp_path / "posts.json"
    path.write_text(json.dumps({"posts": [{"text": "Hi", "engagement": 42.5, "likes": 1, "postedAt": "2026-03-01"}]}))
    [post] = content_dna.parse_posts_file(path)
    assert post.score == 42.5 and post.posted_at == datetime(2026, 3, 1, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ('[{"text": "a", "likes": "many"}]', "Post 1: 'likes' must be a number"),
        ('[{"text": "a"}, {"text": "b", "posted_at": "yesterday"}]', "Post 2: 'posted_at' must be ISO 8601"),
        ('{"items": []}', "must be a list of posts"),
        ("[1]", "Post 1: must be an object"),
        ("{not json", "not valid JSON"),
    ],
)
def test_bad_files_name_the_problem(tmp_path: Path, raw: str, message: str) -> None:
    path = tmp_path / "posts.json"
    path.write_text(raw)
    with pytest.raises(BadRequest, match=message):
        content_dna.parse_posts_file(path)


# -- the profile ---------------------------------------------------------------------------


def test_the_profile_learns_voice_habits_and_what_performs() -> None:
    posts = [ProfilePost(p.text, p.score, "es") for p in SPANISH]
    dna = derive_profile(posts)
    assert dna is not None
    assert dna.post_count == 4 and dna.language == "es"
    assert dna.tone == "friendly" and dna.emoji == "some"
    assert dna.hashtags_at_end is True and dna.hashtags_per_post == pytest.approx(7 / 4)
    # #latteart rides on the best post; #cafe averages three posts; #buenosdias on the weakest.
    assert dna.top_hashtags[0] == "latteart" and dna.top_hashtags[-1] == "buenosdias"
    assert dna.best_posts[0].startswith("Latte art de la semana")
    assert len(dna.best_posts) == 3
    assert "latte" in dna.top_topics
    described = dna.describe()
    assert described.startswith("tone: friendly; emoji: some (1.2 per post); length: short")
    assert "best-performing hashtags: #latteart" in described and "language: es" in described


def test_emoji_and_exclamations_make_a_playful_voice_and_shouting_a_bold_one() -> None:
    playful = derive_profile([ProfilePost("Guess what?! 🎉🥐 Croissant party today! 😍", 5),
                              ProfilePost("Mondays need coffee ☕☕ Who's in?! 🙋", 3)])
    assert playful is not None and (playful.tone, playful.emoji) == ("playful", "frequent")
    bold = derive_profile([ProfilePost("HUGE SALE today! Everything must go! Come now!", 5)])
    assert bold is not None and bold.tone == "bold"


def test_a_formal_voice_without_emoji_is_professional() -> None:
    text = ("Our quarterly market report examines how regional coffee prices moved across the last three months "
            "and what that means for independent cafes planning their budgets for the coming season.")
    dna = derive_profile([ProfilePost(text, 10), ProfilePost(text.replace("quarterly", "annual"), 5)])
    assert dna is not None and (dna.tone, dna.emoji, dna.length) == ("professional", "none", "medium")
    assert "hashtags: rarely used" in dna.describe()


def test_no_posts_no_profile() -> None:
    assert derive_profile([]) is None


def test_languages_are_detected_by_a_real_detector() -> None:
    assert content_dna.detect_language(HEBREW[0].text)[0] == "he"
    assert content_dna.detect_language(SPANISH[1].text)[0] == "es"
    assert content_dna.detect_language("☕️ #coffee 🥐") == (None, 0.0)
    assert content_dna.dominant_language([p.text for p in SPANISH] + ["Fresh croissants today!"]) == "es"


# -- storage and generation ---------------------------------------------------------------


async def test_imports_detect_language_and_update_instead_of_duplicating(runtime) -> None:  # type: ignore[no-untyped-def]
    tenant = await make_tenant(runtime.core)
    db = runtime.core.db
    first = await content_dna.import_posts(db, tenant.business_id, SPANISH)
    assert (first.imported, first.updated) == (4, 0)
    again = await content_dna.import_posts(db, tenant.business_id, [replace(SPANISH[0], likes=500)] + HEBREW[:1])
    assert (again.imported, again.updated) == (1, 1)
    async with db.transaction() as session:
        rows = (await session.scalars(select(PastPost).order_by(PastPost.id))).all()
        assert [r.language for r in rows] == ["es", "es", "es", "es", "he"]
        assert rows[0].likes == 500 and rows[0].engagement == 500 + 2 * 14 + 3 * 5
        profile = await content_dna.load_profile(session, tenant.business_id)
    assert profile is not None and profile.language == "es" and profile.post_count == 5


class RecordingText(OfflineTextGenerator):
    """The offline composer, keeping the requests it was given."""

    def __init__(self) -> None:
        self.requests: list[TextRequest] = []

    async def generate(self, request: TextRequest) -> GeneratedText:
        self.requests.append(request)
        return await super().generate(request)


async def generate(client, tenant, **body):  # type: ignore[no-untyped-def]
    response = await client.post("/api/v1/content", json={"businessId": tenant.business_id, "suggestionCount": 1,
                                                           **body}, headers=tenant.headers)
    assert response.status_code == 200, response.text
    return response.json()


async def test_use_content_dna_hands_the_voice_and_its_language_to_the_generator(runtime, client) -> None:  # type: ignore[no-untyped-def]
    recorder = RecordingText()
    runtime.core.text = recorder
    tenant = await make_tenant(runtime.core)
    await content_dna.import_posts(runtime.core.db, tenant.business_id, SPANISH)

    await generate(client, tenant, prompt="Write a post about our weekend brunch", useContentDNA=True)
    request = recorder.requests[-1]
    assert request.language == "es"  # omitted: the DNA's language, not the English prompt's
    assert request.content_dna is not None and request.content_dna.startswith("tone: friendly; emoji: some")
    assert request.examples[0].startswith("Latte art de la semana")
    async with runtime.core.db.transaction() as session:
        assert (await session.scalars(select(Suggestion.language))).all() == ["es"]

    await generate(client, tenant, prompt="Write a post about our weekend brunch", language="fr", useContentDNA=True)
    assert recorder.requests[-1].language == "fr"  # an explicit language wins

    await generate(client, tenant, prompt="Write a post about our weekend brunch")
    plain = recorder.requests[-1]
    assert (plain.language, plain.content_dna, plain.examples) == ("es", None, ())  # the DNA still picks the language


async def test_without_past_posts_the_prompt_decides_the_language(runtime, client) -> None:  # type: ignore[no-untyped-def]
    recorder = RecordingText()
    runtime.core.text = recorder
    tenant = await make_tenant(runtime.core)
    await generate(client, tenant, prompt="Escribe una publicación sobre nuestro nuevo café", useContentDNA=True)
    assert (recorder.requests[-1].language, recorder.requests[-1].content_dna) == (None, None)
    async with runtime.core.db.transaction() as session:
        assert (await session.scalars(select(Suggestion.language))).all() == ["es"]


class HistoryPublisher:
    """A platform adapter that can read an account's past posts."""

    name = "fakegram"
    confirms_absence = True

    def __init__(self) -> None:
        self.read: list[str] = []

    async def recent_posts(self, account_id: str, username: str) -> list[PastPostInput]:
        self.read.append(username)
        return [PastPostInput(HEBREW[0].text, likes=9, external_id="1"), PastPostInput(HEBREW[1].text, likes=3)]


async def test_connected_accounts_that_offer_history_are_imported(runtime) -> None:  # type: ignore[no-untyped-def]
    from fluxsocial_mcp.models import SocialAccount

    tenant = await make_tenant(runtime.core)
    async with runtime.core.db.transaction() as session:
        account = await session.get(SocialAccount, tenant.accounts["instagram"])
        account.connection = "fakegram"
    history = HistoryPublisher()
    publishers = {**runtime.core.publishers, "fakegram": history}
    result = await content_dna.import_from_accounts(runtime.core.db, publishers, tenant.business_id)
    assert result.imported == 2 and history.read == ["@morningcup_instagram"]  # sandbox accounts have no history
    async with runtime.core.db.transaction() as session:
        rows = (await session.scalars(select(PastPost).order_by(PastPost.id))).all()
    assert [(r.source, r.account_id, r.language) for r in rows] == [("instagram", account.id, "he")] * 2
    assert rows[0].external_id == "instagram:1"
    assert (await content_dna.import_from_accounts(runtime.core.db, publishers, tenant.business_id)).updated == 2


def test_the_cli_imports_a_file_and_prints_the_dna(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:  # type: ignore[no-untyped-def]
    for name in [n for n in os.environ if n.startswith("FLUXSOCIAL_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("FLUXSOCIAL_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    assert cli.main(["demo", "--json"]) == 0
    business_id = json.loads(capsys.readouterr().out)["businessId"]
    path = tmp_path / "posts.json"
    path.write_text(json.dumps([{"text": p.text, "likes": p.likes, "comments": p.comments, "shares": p.shares,
                                 "id": p.external_id} for p in SPANISH]))
    assert cli.main(["dna", "import", "--business-id", business_id, str(path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["imported"], out["updated"]) == (4, 0)
    assert out["profile"]["language"] == "es" and out["profile"]["topHashtags"][0] == "latteart"
    assert cli.main(["dna", "show", "--business-id", business_id]) == 0
    assert capsys.readouterr().out.startswith("Content DNA: tone: friendly")
    assert cli.main(["dna", "import", "--business-id", "biz_nope", str(path)]) == 2
    assert "Business biz_nope not found" in capsys.readouterr().err
