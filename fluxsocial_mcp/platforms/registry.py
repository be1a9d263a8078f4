"""The explicit registry: which adapter publishes for each account ``connection``.

``sandbox`` records posts locally; every other key is a platform's real API. Each real
adapter is always registered: it is used only for accounts connected to that platform,
and it needs the platform's OAuth app settings only to connect accounts and renew tokens.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from ..config import Settings
from ..core.service import system_clock
from ..db import Database
from .base import Publisher
from .connect import ConnectFlow
from .credentials import AccountTokens, CredentialVault
from .facebook import FacebookConnect, FacebookEndpoints, FacebookPublisher
from .http import MediaReader, PlatformHttp
from .instagram import InstagramConnect, InstagramEndpoints, InstagramPublisher
from .linkedin import LinkedInConnect, LinkedInEndpoints, LinkedInPublisher
from .sandbox import SandboxPublisher
from .threads import ThreadsConnect, ThreadsEndpoints, ThreadsPublisher
from .tiktok import TikTokConnect, TikTokEndpoints, TikTokPublisher
from .x import XConnect, XEndpoints, XPublisher


def build_connect_flows(settings: Settings, http: PlatformHttp | None = None) -> dict[str, ConnectFlow]:
    http = http or PlatformHttp.from_settings(settings)
    return {
        "instagram": InstagramConnect(settings, InstagramEndpoints.from_settings(settings), http),
        "facebook": FacebookConnect(settings, FacebookEndpoints.from_settings(settings), http),
        "tiktok": TikTokConnect(settings, TikTokEndpoints.from_settings(settings), http),
        "linkedin": LinkedInConnect(settings, LinkedInEndpoints.from_settings(settings), http),
        "x": XConnect(settings, XEndpoints.from_settings(settings), http),
        "threads": ThreadsConnect(settings, ThreadsEndpoints.from_settings(settings), http),
    }


def build_publishers(
    settings: Settings,
    db: Database,
    sandbox: SandboxPublisher,
    *,
    http: PlatformHttp | None = None,
    clock: Callable[[], datetime] | None = None,
) -> dict[str, Publisher]:
    """Every publisher by connection name. ``http`` and ``clock`` are for tests (fakes, a fixed time)."""
    http = http or PlatformHttp.from_settings(settings)
    now = clock or system_clock
    vault = CredentialVault(settings)
    flows = build_connect_flows(settings, http)
    media = MediaReader(settings.media_dir, settings.public_url, http)

    def tokens(platform: str) -> AccountTokens:
        return AccountTokens(db, vault, flows[platform], label=flows[platform].label, clock=now)

    return {
        "sandbox": sandbox,
        "instagram": InstagramPublisher(InstagramEndpoints.from_settings(settings), http, tokens("instagram"), now),
        "facebook": FacebookPublisher(FacebookEndpoints.from_settings(settings), http, tokens("facebook"), now),
        "tiktok": TikTokPublisher(
            TikTokEndpoints.from_settings(settings), http, tokens("tiktok"), settings.tiktok_privacy_level, now
        ),
        "linkedin": LinkedInPublisher(LinkedInEndpoints.from_settings(settings), http, tokens("linkedin"), media, now),
        "x": XPublisher(XEndpoints.from_settings(settings), http, tokens("x"), media, now),
        "threads": ThreadsPublisher(ThreadsEndpoints.from_settings(settings), http, tokens("threads"), now),
    }
