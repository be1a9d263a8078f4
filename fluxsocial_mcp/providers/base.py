"""The Protocols every AI backend implements, and the values they exchange.

The core speaks only these types; a provider translates them to and from its
own API and raises ``ServiceUnavailable`` when that API is down or answers
garbage, so the core can refund the credits it took.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol

ContentFormat = Literal["IMAGE", "VIDEO", "CAROUSEL", "REEL", "STORY", "TEXT"]
VideoStatus = Literal["processing", "completed", "failed"]


@dataclass(frozen=True)
class BusinessProfile:
    name: str
    type: str
    industry: str
    timezone: str
    language: str | None


@dataclass(frozen=True)
class TextRequest:
    prompt: str
    business: BusinessProfile
    content_format: ContentFormat
    count: int
    # ISO 639-1; None means "write in the prompt's language".
    language: str | None
    # A plain-words description of the business's proven voice, when asked for.
    content_dna: str | None = None
    # A few of the business's best-performing past posts, as examples of that voice.
    examples: tuple[str, ...] = ()


@dataclass(frozen=True)
class DraftSuggestion:
    title: str
    body: str
    tags: list[str]
    # One prompt per slide: one for IMAGE/STORY/REEL/VIDEO, several for CAROUSEL.
    image_prompts: list[str]
    language: str


@dataclass(frozen=True)
class GeneratedText:
    suggestions: list[DraftSuggestion]
    generator: str


class TextGenerator(Protocol):
    name: str
    # The output languages it can write (ISO 639-1), or None for any: a request for
    # another is refused before any credit is spent, never answered in the wrong one.
    languages: frozenset[str] | None

    async def generate(self, request: TextRequest) -> GeneratedText:
        """Write ``request.count`` distinct suggestions.

        Raises:
            ServiceUnavailable: the backend is down or answered something unusable.
        """
        ...


@dataclass(frozen=True)
class ImageRequest:
    prompt: str
    title: str
    business_name: str
    content_format: ContentFormat
    slide_index: int
    slide_count: int


@dataclass(frozen=True)
class GeneratedImage:
    data: bytes
    content_type: str
    generator: str


class ImageGenerator(Protocol):
    name: str

    async def generate(self, request: ImageRequest) -> GeneratedImage:
        """Render one image.

        Raises:
            ServiceUnavailable: the backend is down or answered something unusable.
        """
        ...


@dataclass(frozen=True)
class VideoRequest:
    prompt: str
    duration: int
    aspect_ratio: Literal["9:16", "16:9"]
    style: Literal["realistic", "animated", "cinematic", "social"]


@dataclass(frozen=True)
class VideoProgress:
    status: VideoStatus
    data: bytes | None = None
    content_type: str = "video/mp4"
    error: str | None = None
    extra: dict[str, str] = field(default_factory=dict)


class VideoGenerator(Protocol):
    """A long-running operation, as video APIs (Veo and peers) expose it."""

    name: str

    async def start(self, request: VideoRequest) -> str:
        """Start rendering; return the backend's handle for the operation.

        Raises:
            ServiceUnavailable: the backend refused or is down.
        """
        ...

    async def poll(self, handle: str) -> VideoProgress:
        """Advance or inspect the operation named by ``handle``."""
        ...
