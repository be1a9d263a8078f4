"""``Core``: the shared services every edge (REST, MCP, web, CLI, scheduler) calls into."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone

from ..config import Settings
from ..db import Database
from ..platforms.base import Publisher
from ..providers.base import ImageGenerator, TextGenerator, VideoGenerator
from .mediastore import MediaStore


def system_clock() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class Core:
    settings: Settings
    db: Database
    text: TextGenerator
    images: ImageGenerator
    video: VideoGenerator
    # By account connection: "sandbox", or a platform's real API.
    publishers: Mapping[str, Publisher]
    media: MediaStore
    clock: Callable[[], datetime] = field(default=system_clock)

    def now(self) -> datetime:
        return self.clock()
