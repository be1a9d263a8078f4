"""Plain factories for the platform tests: connected accounts, content with media, requests."""

from __future__ import annotations

import io
from datetime import datetime

from PIL import Image

from fluxsocial_mcp import ids
from fluxsocial_mcp.core.service import Core
from fluxsocial_mcp.models import GenerationSession, Media, SocialAccount, Suggestion, SuggestionMedia
from fluxsocial_mcp.platforms.base import MediaItem, PublishRequest
from fluxsocial_mcp.platforms.credentials import CredentialVault, PlatformCredentials

from ..factories import Tenant

# An MP4's first box, and enough bytes to upload in parts.
VIDEO_BYTES = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + bytes(range(256)) * 40


def jpeg_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (1080, 1080), (180, 120, 60)).save(out, "JPEG")
    return out.getvalue()


async def connect_account(
    core: Core,
    tenant: Tenant,
    platform: str,
    credentials: PlatformCredentials,
    *,
    username: str = "@morningcup",
    followers: int = 1000,
    status: str = "active",
) -> str:
    """A real (non-sandbox) account of ``platform`` with these credentials sealed."""
    account_id = ids.new_id(ids.ACCOUNT)
    async with core.db.transaction() as session:
        session.add(SocialAccount(
            id=account_id, user_id=tenant.user_id, business_id=tenant.business_id, platform=platform,
            connection=platform, username=username, followers=followers, status=status,
            credentials_sealed=CredentialVault(core.settings).seal(account_id, credentials),
        ))
    return account_id


async def stored_credentials(core: Core, account_id: str) -> tuple[str, PlatformCredentials]:
    async with core.db.transaction() as session:
        account = await session.get(SocialAccount, account_id)
        assert account is not None and account.credentials_sealed
        return account.status, CredentialVault(core.settings).open(account.id, account.credentials_sealed)


async def media_file(core: Core, user_id: str, kind: str) -> Media:
    data, content_type = (jpeg_bytes(), "image/jpeg") if kind == "image" else (VIDEO_BYTES, "video/mp4")
    media_id, filename = await core.media.write(data, content_type)
    async with core.db.transaction() as session:
        return core.media.record(
            session, media_id=media_id, filename=filename, user_id=user_id, data=data,
            content_type=content_type, kind=kind, origin="test",
        )


async def make_content(
    core: Core,
    tenant: Tenant,
    content_format: str = "IMAGE",
    kinds: tuple[str, ...] = ("image",),
    body: str = "Fresh latte art every morning",
    tags: tuple[str, ...] = ("coffee", "latteart"),
    title: str = "Latte art",
) -> str:
    """A suggestion with media files written to the media folder, one per slide."""
    medias = [await media_file(core, tenant.user_id, kind) for kind in kinds]
    suggestion_id = ids.new_id(ids.SUGGESTION)
    async with core.db.transaction() as session:
        session_id = ids.new_id(ids.SESSION)
        session.add(GenerationSession(id=session_id, user_id=tenant.user_id, business_id=tenant.business_id))
        await session.flush()
        session.add(Suggestion(
            id=suggestion_id, session_id=session_id, user_id=tenant.user_id, business_id=tenant.business_id,
            title=title, body=body, content_format=content_format, tags=list(tags),
        ))
        await session.flush()
        for index, media in enumerate(medias):
            session.add(SuggestionMedia(
                id=ids.new_id("sm"), suggestion_id=suggestion_id, order_index=index, kind=media.kind,
                media_id=media.id,
            ))
    return suggestion_id


def request(
    platform: str,
    credentials: PlatformCredentials,
    *,
    content_format: str = "IMAGE",
    media: list[MediaItem] | None = None,
    caption: str = "Fresh latte art every morning\n\n#coffee #latteart",
    username: str = "@morningcup",
    account_id: str = "acc_not_stored",
) -> PublishRequest:
    """A request straight to an adapter: an account that is not stored uses these credentials."""
    return PublishRequest(
        target_id=ids.new_id(ids.TARGET), platform=platform, account_id=account_id,  # type: ignore[arg-type]
        username=username, credentials=credentials.as_dict(), content_format=content_format, title="Latte art",
        caption=caption, media=media or [],
    )


def image(url: str = "https://cdn.example.com/latte.jpg") -> MediaItem:
    return MediaItem("image", url, "image/jpeg")


def video(url: str = "https://cdn.example.com/latte.mp4") -> MediaItem:
    return MediaItem("video", url, "video/mp4")


def later(clock_now: datetime, **delta: float) -> datetime:
    from datetime import timedelta

    return clock_now + timedelta(**delta)
