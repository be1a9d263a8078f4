"""Content DNA: a business's proven voice, learned from its past posts and how they did.

Past posts come in from a file (``fluxsocial-mcp dna import``) or from connected
accounts whose publishing adapter can read the account's history
(``PostHistoryReader``). Each is stored once (``PastPost``), with its language
detected by py3langid and an engagement score::

    engagement = likes + 2 × comments + 3 × shares     (or the file's own "engagement")

``derive_profile`` turns the posts into a ``ContentDNA``: tone, typical length,
emoji and hashtag habits, the hashtags and topics of the best-performing posts,
the dominant language and the best posts themselves. ``voice_for`` is what
content generation asks for: the profile in plain words plus a few of the best
posts as examples, and the language to write in when the caller named none.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import io
import json
import math
import re
import statistics
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import anyio.to_thread
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ..db import Database
from ..errors import BadRequest
from ..models import PastPost, SocialAccount
from ..providers.offline_text import LANGUAGES

ENGAGEMENT_WEIGHTS = {"likes": 1.0, "comments": 2.0, "shares": 3.0}
# The most recent posts a profile is learned from.
PROFILE_WINDOW = 500
EXAMPLE_COUNT = 3
TOP_HASHTAGS = 8
TOP_TOPICS = 6
# py3langid's normalised probability below which one post's language is "unsure".
LANGUAGE_CONFIDENCE = 0.35
MAX_IMPORT = 5000
MAX_TEXT = 10_000

_HASHTAG = re.compile(r"#(\w+)")
_MENTION = re.compile(r"@\w+")
_URL = re.compile(r"https?://\S+|www\.\S+")
_WORD = re.compile(r"[^\W\d_]{4,}")
_EXTRA_STOPWORDS = frozenset(
    "this that with from have your about just what when will more than them they their there here were been "
    "into over only also very some come back today tomorrow week weekend".split()
)
_STOPWORDS = frozenset().union(*(lang.stopwords for lang in LANGUAGES.values())) | _EXTRA_STOPWORDS


# -- input -----------------------------------------------------------------------------


@dataclass(frozen=True)
class PastPostInput:
    """One past post as a file or a platform reports it."""

    text: str
    posted_at: datetime | None = None
    likes: int = 0
    comments: int = 0
    shares: int = 0
    # The source's own engagement figure; replaces the weighted sum when given.
    engagement: float | None = None
    external_id: str | None = None
    account_id: str | None = None

    @property
    def score(self) -> float:
        if self.engagement is not None:
            return float(self.engagement)
        return (
            self.likes * ENGAGEMENT_WEIGHTS["likes"]
            + self.comments * ENGAGEMENT_WEIGHTS["comments"]
            + self.shares * ENGAGEMENT_WEIGHTS["shares"]
        )


@runtime_checkable
class PostHistoryReader(Protocol):
    """A publishing adapter that can read an account's own past posts (text and engagement)."""

    async def recent_posts(self, account_id: str, username: str) -> list[PastPostInput]:
        """The account's recent posts with their interactions, newest first.

        Raises:
            Exception: the platform failed; that account is skipped.
        """
        ...


_FIELD_ALIASES: dict[str, tuple[str, ...]] = {
    "text": ("text", "caption", "message", "body", "content", "post"),
    "posted_at": ("posted_at", "postedAt", "timestamp", "date", "created_at", "createdAt", "created_time"),
    "likes": ("likes", "like_count", "likeCount", "likes_count", "reactions", "favorites", "favorite_count"),
    "comments": ("comments", "comment_count", "commentCount", "comments_count", "replies", "reply_count"),
    "shares": ("shares", "share_count", "shareCount", "shares_count", "reposts", "retweets", "retweet_count"),
    "engagement": ("engagement", "engagements", "interactions"),
    "external_id": ("id", "post_id", "postId", "external_id"),
}


def parse_posts_file(path: Path) -> list[PastPostInput]:
    """Read past posts from a CSV (header row) or JSON (a list, or ``{"posts": [...]}``) file.

    Columns/keys: ``text`` (or caption, message …), ``posted_at`` (ISO 8601 or unix
    seconds), ``likes``, ``comments``, ``shares`` and/or ``engagement``, optional ``id``.

    Raises:
        BadRequest: the file cannot be read, or a row is invalid (its number is named).
    """
    try:
        raw = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise BadRequest(f"Cannot read {path}: {exc}") from None
    return parse_posts(raw, json_format=path.suffix.lower() == ".json" or raw.lstrip().startswith(("[", "{")))


def parse_posts(raw: str, *, json_format: bool) -> list[PastPostInput]:
    rows: list[Any]
    if json_format:
        try:
            data = json.loads(raw)
        except ValueError as exc:
            raise BadRequest(f"The file is not valid JSON: {exc}") from None
        rows = data.get("posts") if isinstance(data, dict) else data
        if not isinstance(rows, list):
            raise BadRequest('JSON must be a list of posts or {"posts": [...]}')
    else:
        rows = list(csv.DictReader(io.StringIO(raw)))
    if len(rows) > MAX_IMPORT:
        raise BadRequest(f"At most {MAX_IMPORT} posts per import (the file has {len(rows)})")
    posts = []
    for number, row in enumerate(rows, start=1):
        if not isinstance(row, Mapping):
            raise BadRequest(f"Post {number}: must be an object")
        post = _post_from_row(row, number)
        if post is not None:
            posts.append(post)
    return posts


def _pick(row: Mapping[str, Any], name: str) -> Any:
    for key in _FIELD_ALIASES[name]:
        value = row.get(key)
        if value not in (None, ""):
            return value
    return None


def _count(value: Any, name: str, number: int) -> int:
    if value is None:
        return 0
    try:
        count = int(float(str(value).replace(",", "").strip()))
    except ValueError:
        raise BadRequest(f"Post {number}: '{name}' must be a number (got {value!r})") from None
    if count < 0:
        raise BadRequest(f"Post {number}: '{name}' must not be negative")
    return count


def _time(value: Any, number: int) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, (int, float)) or (isinstance(value, str) and re.fullmatch(r"\d{9,11}(\.\d+)?", value)):
        return datetime.fromtimestamp(float(value), tz=timezone.utc)
    try:
        parsed = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(f"Post {number}: 'posted_at' must be ISO 8601 or unix seconds (got {value!r})") from None
    return parsed.replace(tzinfo=timezone.utc) if parsed.tzinfo is None else parsed.astimezone(timezone.utc)


def _post_from_row(row: Mapping[str, Any], number: int) -> PastPostInput | None:
    text = _pick(row, "text")
    if text is None or not str(text).strip():
        return None  # a row without text (a photo-only post) teaches no voice
    engagement = _pick(row, "engagement")
    if engagement is not None:
        try:
            engagement = float(str(engagement).replace(",", ""))
        except ValueError:
            raise BadRequest(f"Post {number}: 'engagement' must be a number (got {engagement!r})") from None
        if not math.isfinite(engagement) or engagement < 0:
            raise BadRequest(f"Post {number}: 'engagement' must be a non-negative number")
    external = _pick(row, "external_id")
    return PastPostInput(
        text=str(text).strip()[:MAX_TEXT],
        posted_at=_time(_pick(row, "posted_at"), number),
        likes=_count(_pick(row, "likes"), "likes", number),
        comments=_count(_pick(row, "comments"), "comments", number),
        shares=_count(_pick(row, "shares"), "shares", number),
        engagement=engagement,
        external_id=str(external)[:128] if external is not None else None,
    )


# -- language ------------------------------------------------------------------------


_CONFUSABLE_LANGUAGES = frozenset(
    {"an", "br", "eo", "fo", "fy", "gd", "ht", "la", "lb", "nn", "oc", "qu", "sa", "se", "vo", "wa"}
)


@functools.cache
def _identifier() -> Any:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    # Loading the model takes about a second: once per process, in a worker thread.
    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    # ISO 639-1 languages only, without the regional, constructed and classical ones
    # that short posts in a major language get mistaken for (Spanish for Aragonese …).
    identifier.set_languages(
        sorted({code for code in identifier.nb_classes if len(code) == 2} - _CONFUSABLE_LANGUAGES)
    )
    return identifier


def _plain_words(text: str) -> str:
    """The text without hashtags, mentions, links and emoji: what tells its language."""
    text = _URL.sub(" ", _MENTION.sub(" ", _HASHTAG.sub(" ", text)))
    return " ".join("".join(ch if not _is_emoji(ch) else " " for ch in text).split())


def detect_language(text: str) -> tuple[str | None, float]:
    """(ISO 639-1 code, confidence) of ``text``, or (None, 0) when there is too little to tell.

    Blocking (the model loads on first use): async callers run it in a thread.
    """
    plain = _plain_words(text)
    if sum(ch.isalpha() for ch in plain) < 3:
        return None, 0.0
    code, probability = _identifier().classify(plain)
    return str(code), float(probability)


def dominant_language(texts: Sequence[str]) -> str | None:
    """The language most of ``texts`` are written in (votes weighted by length)."""
    votes: Counter[str] = Counter()
    for text in texts:
        code, probability = detect_language(text)
        if code and probability >= LANGUAGE_CONFIDENCE:
            votes[code] += len(text)
    if votes:
        return votes.most_common(1)[0][0]
    # Many short posts, each too short to be sure: together they usually are.
    code, probability = detect_language("\n".join(texts[:200]))
    return code if code and probability >= LANGUAGE_CONFIDENCE else None


# -- the profile ---------------------------------------------------------------------


def _is_emoji(ch: str) -> bool:
    cp = ord(ch)
    return (
        0x1F000 <= cp <= 0x1FAFF
        or 0x2600 <= cp <= 0x27BF
        or 0x2B00 <= cp <= 0x2BFF
        or (unicodedata.category(ch) == "So" and cp > 0x2000)
    )


def count_emoji(text: str) -> int:
    return sum(1 for ch in text if _is_emoji(ch))


@dataclass(frozen=True)
class ProfilePost:
    """What the profile needs of a stored post."""

    text: str
    engagement: float
    language: str | None = None


@dataclass(frozen=True)
class ContentDNA:
    post_count: int
    language: str | None
    tone: str  # friendly | playful | professional | bold
    median_chars: int
    median_words: int
    emoji_per_post: float
    hashtags_per_post: float
    hashtags_at_end: bool
    top_hashtags: list[str] = field(default_factory=list)
    top_topics: list[str] = field(default_factory=list)
    best_posts: list[str] = field(default_factory=list)

    @property
    def length(self) -> str:
        if self.median_chars < 120:
            return "short"
        return "medium" if self.median_chars < 500 else "long"

    @property
    def emoji(self) -> str:
        if self.emoji_per_post < 0.2:
            return "none"
        return "frequent" if self.emoji_per_post >= 1.5 else "some"

    def describe(self) -> str:
        """The profile in plain words (``key: value; …``), as the text generators read it."""
        parts = [
            f"tone: {self.tone}",
            f"emoji: {self.emoji} ({self.emoji_per_post:.1f} per post)",
            f"length: {self.length} (typically {self.median_chars} characters, {self.median_words} words)",
        ]
        if self.hashtags_per_post >= 0.2:
            where = "at the end" if self.hashtags_at_end else "woven into the text"
            parts.append(f"hashtags: {self.hashtags_per_post:.1f} per post, {where}")
        else:
            parts.append("hashtags: rarely used")
        if self.top_hashtags:
            parts.append("best-performing hashtags: " + ", ".join(f"#{tag}" for tag in self.top_hashtags))
        if self.top_topics:
            parts.append("topics that perform best: " + ", ".join(self.top_topics))
        if self.language:
            parts.append(f"language: {self.language}")
        parts.append(f"learned from {self.post_count} past posts")
        return "; ".join(parts)

    def as_dict(self) -> dict[str, Any]:
        return {
            "postCount": self.post_count, "language": self.language, "tone": self.tone, "length": self.length,
            "medianChars": self.median_chars, "medianWords": self.median_words, "emoji": self.emoji,
            "emojiPerPost": round(self.emoji_per_post, 2), "hashtagsPerPost": round(self.hashtags_per_post, 2),
            "hashtagsAtEnd": self.hashtags_at_end, "topHashtags": self.top_hashtags, "topTopics": self.top_topics,
            "bestPosts": self.best_posts, "description": self.describe(),
        }


def _tone(texts: Sequence[str], emoji_per_post: float) -> str:
    n = len(texts)
    exclamations = sum(t.count("!") for t in texts) / n
    words = [w for t in texts for w in re.findall(r"\w+", _plain_words(t))]
    shouting = sum(1 for w in words if len(w) >= 3 and w.isupper()) / max(1, len(words))
    sentences = sum(max(1, len(re.findall(r"[.!?…]+(?:\s|$)", t))) for t in texts)
    words_per_sentence = len(words) / max(1, sentences)
    if emoji_per_post >= 2 or (emoji_per_post >= 1 and exclamations >= 1):
        return "playful"
    if exclamations >= 1.5 or shouting >= 0.05:
        return "bold"
    if emoji_per_post < 0.3 and exclamations < 0.3 and words_per_sentence >= 14:
        return "professional"
    return "friendly"


def _hashtags_at_end(text: str) -> bool:
    """All of the post's hashtags come after its last plain word."""
    tags = list(_HASHTAG.finditer(text))
    if not tags:
        return False
    rest = _HASHTAG.sub(" ", text[tags[0].start():])
    return not re.search(r"[^\W\d_]{2,}", _plain_words(rest))


def derive_profile(posts: Sequence[ProfilePost]) -> ContentDNA | None:
    """The content DNA of ``posts`` (None without any post). Pure: no I/O."""
    posts = [p for p in posts if p.text.strip()]
    if not posts:
        return None
    texts = [p.text for p in posts]
    n = len(posts)
    emoji_per_post = sum(count_emoji(t) for t in texts) / n
    tagged = [t for t in texts if _HASHTAG.search(t)]
    ranked = sorted(posts, key=lambda p: p.engagement, reverse=True)

    # Hashtags: the mean engagement of the posts that carry them.
    tag_scores: dict[str, list[float]] = defaultdict(list)
    tag_spelling: dict[str, str] = {}
    for post in posts:
        for tag in {m.group(1) for m in _HASHTAG.finditer(post.text)}:
            tag_scores[tag.lower()].append(post.engagement)
            tag_spelling.setdefault(tag.lower(), tag)
    top_hashtags = [
        tag_spelling[tag]
        for tag, _ in sorted(tag_scores.items(), key=lambda kv: (-statistics.fmean(kv[1]), -len(kv[1]), kv[0]))
    ][:TOP_HASHTAGS]

    # Topics: words the better half of the posts share, most shared first.
    better = ranked[: max(1, math.ceil(n / 2))]
    frequency: Counter[str] = Counter()
    weight: Counter[str] = Counter()
    for post in better:
        for word in {w for w in _WORD.findall(_plain_words(post.text).lower()) if w not in _STOPWORDS}:
            frequency[word] += 1
            weight[word] += post.engagement
    minimum = 2 if len(better) >= 4 else 1
    top_topics = [
        word for word, count in sorted(frequency.items(), key=lambda kv: (-kv[1], -weight[kv[0]], kv[0]))
        if count >= minimum
    ][:TOP_TOPICS]

    languages = Counter(p.language for p in posts if p.language)
    language = languages.most_common(1)[0][0] if languages else None
    return ContentDNA(
        post_count=n,
        language=language,
        tone=_tone(texts, emoji_per_post),
        median_chars=int(statistics.median(len(t) for t in texts)),
        median_words=int(statistics.median(len(t.split()) for t in texts)),
        emoji_per_post=emoji_per_post,
        hashtags_per_post=sum(len(_HASHTAG.findall(t)) for t in texts) / n,
        hashtags_at_end=bool(tagged) and sum(_hashtags_at_end(t) for t in tagged) * 2 >= len(tagged),
        top_hashtags=top_hashtags,
        top_topics=top_topics,
        best_posts=[p.text for p in ranked[:EXAMPLE_COUNT]],
    )


# -- storage -------------------------------------------------------------------------


def _external_id(post: PastPostInput) -> str:
    if post.external_id:
        return post.external_id
    # No id in the source: the same text at the same time is the same post.
    stamp = post.posted_at.isoformat() if post.posted_at else ""
    return "sha256:" + hashlib.sha256(f"{stamp}\n{post.text}".encode()).hexdigest()[:40]


@dataclass(frozen=True)
class ImportResult:
    imported: int
    updated: int
    skipped: int


async def import_posts(
    db: Database, business_id: str, posts: Iterable[PastPostInput], *, source: str = "file"
) -> ImportResult:
    """Store past posts of a business; a post seen before (same id) gets its engagement updated."""
    posts = list(posts)
    languages = await anyio.to_thread.run_sync(lambda: [detect_language(p.text) for p in posts])
    by_id: dict[str, tuple[PastPostInput, str | None]] = {}
    for post, (code, probability) in zip(posts, languages):
        by_id[_external_id(post)] = (post, code if probability >= LANGUAGE_CONFIDENCE else None)
    imported = updated = 0
    async with db.transaction() as session:
        existing = {
            row.external_id: row
            for row in await session.scalars(
                select(PastPost).where(PastPost.business_id == business_id, PastPost.external_id.in_(list(by_id)))
            )
        } if by_id else {}
        for external_id, (post, language) in by_id.items():
            row = existing.get(external_id)
            if row is None:
                session.add(PastPost(
                    business_id=business_id, account_id=post.account_id, source=source[:16],
                    external_id=external_id, text=post.text, language=language, posted_at=post.posted_at,
                    likes=post.likes, comments=post.comments, shares=post.shares, engagement=post.score,
                ))
                imported += 1
            else:
                row.likes, row.comments, row.shares = post.likes, post.comments, post.shares
                row.engagement = post.score
                row.text, row.language = post.text, language
                updated += 1
    return ImportResult(imported=imported, updated=updated, skipped=len(posts) - len(by_id))


async def import_from_accounts(
    db: Database, publishers: Mapping[str, object], business_id: str
) -> ImportResult:
    """Read the past posts of the business's connected accounts whose adapter offers them."""
    async with db.transaction() as session:
        accounts = list(await session.scalars(select(SocialAccount).where(SocialAccount.business_id == business_id)))
    total = ImportResult(0, 0, 0)
    for account in accounts:
        reader = publishers.get(account.connection)
        if not isinstance(reader, PostHistoryReader):
            continue
        posts = await reader.recent_posts(account.id, account.username)
        posts = [
            replace(p, account_id=account.id,
                    external_id=f"{account.platform}:{p.external_id}"[:128] if p.external_id else None)
            for p in posts
        ]
        result = await import_posts(db, business_id, posts, source=account.platform)
        total = ImportResult(total.imported + result.imported, total.updated + result.updated,
                             total.skipped + result.skipped)
    return total


async def load_profile(session: AsyncSession, business_id: str) -> ContentDNA | None:
    rows = await session.scalars(
        select(PastPost)
        .where(PastPost.business_id == business_id)
        .order_by(PastPost.posted_at.desc().nulls_last(), PastPost.id.desc())
        .limit(PROFILE_WINDOW)
    )
    return derive_profile([ProfilePost(r.text, r.engagement, r.language) for r in rows])


@dataclass(frozen=True)
class Voice:
    """What a generation call takes from the content DNA."""

    language: str | None = None
    description: str | None = None
    examples: tuple[str, ...] = ()


async def voice_for(db: Database, business_id: str, *, use_content_dna: bool, language: str | None) -> Voice:
    """The DNA's language (when the caller named none) and, when asked for, its voice and examples."""
    if not use_content_dna:
        if language:
            return Voice()
        async with db.transaction() as session:
            return Voice(language=await dominant_stored_language(session, business_id))
    async with db.transaction() as session:
        profile = await load_profile(session, business_id)
    if profile is None:
        return Voice()
    return Voice(language=profile.language, description=profile.describe(), examples=tuple(profile.best_posts))


async def dominant_stored_language(session: AsyncSession, business_id: str) -> str | None:
    """The language most of the business's past posts are in (None without any)."""
    count = func.count(PastPost.id)
    row = (await session.execute(
        select(PastPost.language, count)
        .where(PastPost.business_id == business_id, PastPost.language.is_not(None))
        .group_by(PastPost.language)
        .order_by(count.desc(), PastPost.language)
        .limit(1)
    )).first()
    return row[0] if row else None
