"""Fixtures of the platform tests: every fake platform behind one transport, the real adapters
built on it (with a clock and a sleep the tests control), and platform app credentials."""

from __future__ import annotations

from dataclasses import dataclass

import anyio
import pytest
from argon2 import PasswordHasher
from pydantic import SecretStr

from fluxsocial_mcp.app import Runtime
from fluxsocial_mcp.config import Settings
from fluxsocial_mcp.core import users
from fluxsocial_mcp.platforms.base import Publisher
from fluxsocial_mcp.platforms.connect import ConnectFlow
from fluxsocial_mcp.platforms.http import PlatformHttp
from fluxsocial_mcp.platforms.insights import ENGAGEMENT_SYNC
from fluxsocial_mcp.platforms.registry import build_connect_flows, build_publishers

from ..factories import Clock
from .fakes import FakeFacebook, FakeInstagram, FakeLinkedIn, FakePlatforms, FakeThreads, FakeTikTok, FakeX


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(users, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture(autouse=True)
def fresh_engagement_sync() -> None:
    ENGAGEMENT_SYNC.forget()


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={
        "instagram_client_id": "ig-app", "instagram_client_secret": SecretStr("ig-secret"),
        "facebook_client_id": "fb-app", "facebook_client_secret": SecretStr("fb-secret"),
        "threads_client_id": "th-app", "threads_client_secret": SecretStr("th-secret"),
        "tiktok_client_key": "tt-key", "tiktok_client_secret": SecretStr("tt-secret"),
        "linkedin_client_id": "li-app", "linkedin_client_secret": SecretStr("li-secret"),
        "x_client_id": "x-client", "x_client_secret": SecretStr("x-secret"),
    })


@dataclass
class Fakes:
    instagram: FakeInstagram
    facebook: FakeFacebook
    threads: FakeThreads
    tiktok: FakeTikTok
    linkedin: FakeLinkedIn
    x: FakeX

    def __post_init__(self) -> None:
        self.router = FakePlatforms(self.instagram, self.facebook, self.threads, self.tiktok, self.linkedin, self.x)

    def calls(self) -> int:
        return sum(len(fake.calls) for fake in (self.instagram, self.facebook, self.threads, self.tiktok, self.linkedin, self.x))


@pytest.fixture
def fakes() -> Fakes:
    return Fakes(FakeInstagram(), FakeFacebook(), FakeThreads(), FakeTikTok(), FakeLinkedIn(), FakeX())


class Sleeps(list[float]):
    """The waits between polls, recorded instead of slept."""

    async def __call__(self, seconds: float) -> None:
        self.append(seconds)
        await anyio.lowlevel.checkpoint()


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def http(fakes: Fakes, sleeps: Sleeps) -> PlatformHttp:
    return PlatformHttp(transport=fakes.router.transport, poll_interval=1.0, poll_timeout=30.0, sleep=sleeps)


@pytest.fixture
def publishers(runtime: Runtime, http: PlatformHttp, clock: Clock) -> dict[str, Publisher]:
    """The real adapters, talking to the fakes, installed in the runtime's core."""
    built = build_publishers(runtime.core.settings, runtime.core.db, runtime.sandbox, http=http, clock=clock)
    runtime.core.publishers = built
    return built


@pytest.fixture
def flows(runtime: Runtime, http: PlatformHttp) -> dict[str, ConnectFlow]:
    return build_connect_flows(runtime.core.settings, http)
