"""Stored media: files in the data folder, served under the public URL at /media/."""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

import anyio
from PIL import Image
from sqlalchemy.ext.asyncio import AsyncSession

from .. import ids
from ..media.process import video_dimensions
from ..models import Media

EXTENSIONS = {
    "image/jpeg": "jpg", "image/png": "png", "image/webp": "webp", "image/gif": "gif",
    "video/mp4": "mp4", "video/quicktime": "mov", "video/webm": "webm", "video/x-matroska": "mkv",
}
MEDIA_PATH = "/media"


def dimensions(data: bytes, kind: str) -> tuple[int, int] | None:
    """Width and height as displayed; None when the file does not say (e.g. WebM)."""
    if kind == "video":
        return video_dimensions(data)
    try:
        with Image.open(io.BytesIO(data)) as image:  # reads the header only
            return image.size
    except (OSError, ValueError):
        return None


class MediaStore:
    def __init__(self, root: Path, public_url: str) -> None:
        self.root = root
        self.public_url = public_url.rstrip("/")

    def url_for(self, media: Media) -> str:
        return f"{self.public_url}{MEDIA_PATH}/{media.filename}"

    def path_for(self, filename: str) -> Path | None:
        """The file behind a public media name, or None for anything that is not one of ours."""
        if not filename or "/" in filename or "\\" in filename or filename.startswith("."):
            return None
        path = self.root / filename
        return path if path.is_file() else None

    async def write(self, data: bytes, content_type: str) -> tuple[str, str]:
        """Write the bytes under a new unguessable name; return (media id, filename)."""
        media_id = ids.new_id(ids.MEDIA)
        filename = f"{media_id}.{EXTENSIONS.get(content_type, 'bin')}"
        await anyio.to_thread.run_sync(self._write_file, filename, data)
        return media_id, filename

    def _write_file(self, filename: str, data: bytes) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        final = self.root / filename
        partial = final.with_suffix(final.suffix + ".part")
        with open(partial, "wb") as handle:
            handle.write(data)
        # Readers see a whole file or none.
        os.replace(partial, final)

    @staticmethod
    def record(
        session: AsyncSession,
        *,
        media_id: str,
        filename: str,
        user_id: str,
        data: bytes,
        content_type: str,
        kind: str,
        origin: str,
    ) -> Media:
        """The row for bytes already written by ``write`` (kept out of the transaction)."""
        width, height = dimensions(data, kind) or (None, None)
        media = Media(
            id=media_id,
            user_id=user_id,
            kind=kind,
            content_type=content_type,
            filename=filename,
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            origin=origin,
            width=width,
            height=height,
        )
        session.add(media)
        return media
