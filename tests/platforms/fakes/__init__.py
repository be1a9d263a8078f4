"""Local fakes of each platform's public HTTP API, for the adapters to talk to."""

from .base import Call, FakePlatform, FakePlatforms
from .linkedin import FakeLinkedIn
from .meta import FakeFacebook, FakeInstagram, FakeThreads
from .tiktok import FakeTikTok
from .x import FakeX

__all__ = [
    "Call", "FakePlatform", "FakePlatforms", "FakeFacebook", "FakeInstagram", "FakeLinkedIn", "FakeThreads",
    "FakeTikTok", "FakeX",
]
