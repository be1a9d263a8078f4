"""Recognising and normalising media bytes.

Everything here is a pure, synchronous function of its input bytes: no I/O, no
global state. The Pillow work is CPU-bound, so async callers should run it in a
worker thread (``anyio.to_thread.run_sync``).

What a file *is* is decided from its bytes alone; a ``Content-Type`` header or a
file name is never trusted.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterator
from io import BytesIO

from PIL import Image, ImageOps

from ..errors import UnsupportedMedia

IMAGE_SIZE = 1080
JPEG_QUALITY = 88

# Beyond this many pixels an image is refused before it is decoded. A few MB of
# PNG or WebP can declare a canvas of gigapixels (a "decompression bomb"); 50 MP
# still admits every camera and phone photo that fits the upload size limit.
MAX_IMAGE_PIXELS = 50_000_000

# Pillow format name -> the content type we report. Cameras and phones often
# write MPO (a JPEG carrying extra frames), which is a JPEG for every consumer.
_IMAGE_FORMATS = {
    "JPEG": "image/jpeg",
    "MPO": "image/jpeg",
    "PNG": "image/png",
    "GIF": "image/gif",
    "WEBP": "image/webp",
}
# Restricts Pillow to these plugins, so no exotic decoder ever sees user bytes.
_PILLOW_PLUGINS = ("JPEG", "PNG", "GIF", "WEBP")

# Enough of a file's head to recognise every format accepted here, including the
# DocType inside a Matroska/WebM EBML header.
SNIFF_BYTES = 64

_EBML_MAGIC = b"\x1a\x45\xdf\xa3"
_EBML_DOCTYPE = 0x4282
_MATROSKA_SEGMENT = b"\x18\x53\x80\x67"
_MATROSKA_DOCTYPES = {"webm": "video/webm", "matroska": "video/x-matroska"}

# ISO base media files (MP4, MOV, 3GP...) share the ``ftyp`` box with still-image
# and audio-only formats; these major brands are never a video.
_NON_VIDEO_BRANDS = frozenset(
    # HEIF and AVIF still images
    {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs", b"mif1", b"msf1"}
    | {b"avif", b"avis", b"avio"}
    # audio only
    | {b"M4A ", b"M4B ", b"M4P ", b"F4A ", b"F4B "}
    # JPEG 2000, Canon raw
    | {b"jp2 ", b"jpx ", b"jpm ", b"crx "}
)


# -- recognising -----------------------------------------------------------------


def sniff_image(head: bytes) -> str | None:
    """The image content type announced by the magic bytes at ``head``, if any.

    A cheap first look used while a download is still streaming; ``verify_image``
    is the real check.
    """
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


def sniff_video(head: bytes) -> str | None:
    """The video content type announced by the first bytes of a file, if any.

    MP4 and MOV start with an ISO BMFF ``ftyp`` box; WebM and Matroska with an
    EBML header whose DocType tells them apart.
    """
    if head[4:8] == b"ftyp" and len(head) >= 12:
        (box_size,) = struct.unpack(">I", head[:4])
        brand = head[8:12]
        if box_size < 16 or brand in _NON_VIDEO_BRANDS:
            return None
        return "video/quicktime" if brand == b"qt  " else "video/mp4"
    if head.startswith(_EBML_MAGIC):
        return _MATROSKA_DOCTYPES.get(_ebml_doctype(head) or "")
    return None


def verify_image(data: bytes) -> str:
    """Check that ``data`` is a JPEG, PNG, GIF or WebP image Pillow can read.

    Returns its content type; raises ``UnsupportedMedia`` otherwise.
    """
    with _open_image(data) as image:
        content_type = _IMAGE_FORMATS[image.format or ""]
        try:
            # Walks the file structure (chunk CRCs for PNG) without decoding pixels.
            image.verify()
        except Exception as exc:
            raise UnsupportedMedia("The file is not a valid image") from exc
    return content_type


def verify_video(data: bytes) -> str:
    """Check that ``data`` is an MP4/MOV or WebM/Matroska video by its structure.

    This is a structural check of the container, not a decode: MP4/MOV must carry a
    ``moov`` box with a video track, Matroska an EBML header followed by a Segment.
    Returns the content type; raises ``UnsupportedMedia`` otherwise.
    """
    content_type = sniff_video(data[:SNIFF_BYTES])
    if content_type is None:
        raise UnsupportedMedia("The file is not a supported video (MP4, MOV, WebM)")
    if data.startswith(_EBML_MAGIC):
        valid = _matroska_has_segment(data)
    else:
        valid = _iso_bmff_has_video_track(data)
    if not valid:
        raise UnsupportedMedia("The file is not a valid video")
    return content_type


# -- normalising -----------------------------------------------------------------


def normalize_image(data: bytes) -> bytes:
    """Turn any accepted image into a clean 1080×1080 JPEG.

    The EXIF orientation is applied to the pixels, transparency is flattened onto
    white, the image is centre-cropped to a square ("cover") and resized with
    LANCZOS. The output carries no metadata at all: no EXIF (so no GPS position),
    no ICC profile, no XMP, no comment.
    """
    with _open_image(data) as image:
        _draft_for_cover(image, IMAGE_SIZE)
        try:
            upright = ImageOps.exif_transpose(image)
        except Exception as exc:  # Pillow reports corrupt or truncated data many ways.
            raise UnsupportedMedia("The image data is corrupt or truncated") from exc
    square = ImageOps.fit(
        _flatten_to_rgb(upright), (IMAGE_SIZE, IMAGE_SIZE), method=Image.Resampling.LANCZOS
    )
    # Every derived image inherits ``info`` from its source (EXIF, ICC, XMP,
    # comment); the JPEG encoder writes some of it back unless it is gone.
    square.info = {}
    out = BytesIO()
    square.save(out, format="JPEG", quality=JPEG_QUALITY, optimize=True)
    return out.getvalue()


def _open_image(data: bytes) -> Image.Image:
    try:
        image = Image.open(BytesIO(data), formats=_PILLOW_PLUGINS)
    except Image.DecompressionBombError as exc:
        raise UnsupportedMedia("The image has too many pixels") from exc
    except Exception as exc:
        raise UnsupportedMedia("The file is not a supported image (JPEG, PNG, GIF, WebP)") from exc
    if image.format not in _IMAGE_FORMATS:
        image.close()
        raise UnsupportedMedia("The file is not a supported image (JPEG, PNG, GIF, WebP)")
    width, height = image.size
    if width < 1 or height < 1:
        image.close()
        raise UnsupportedMedia("The image has no pixels")
    if width * height > MAX_IMAGE_PIXELS:
        image.close()
        raise UnsupportedMedia(
            f"The image has too many pixels ({width}×{height}; "
            f"at most {MAX_IMAGE_PIXELS // 1_000_000} megapixels)"
        )
    return image


def _draft_for_cover(image: Image.Image, side: int) -> None:
    """Let libjpeg decode a large JPEG at 1/2, 1/4 or 1/8 scale.

    Scaling in the DCT domain is far cheaper in time and memory than decoding
    every pixel only to throw most away. The size asked for keeps the short side
    at least ``side`` so the final LANCZOS resize still only ever shrinks.
    """
    width, height = image.size
    shortest = min(width, height)
    if image.format not in ("JPEG", "MPO") or shortest <= side:
        return
    factor = side / shortest
    image.draft(None, (math.ceil(width * factor), math.ceil(height * factor)))


def _flatten_to_rgb(image: Image.Image) -> Image.Image:
    if not image.has_transparency_data:
        return image.convert("RGB")
    rgba = image.convert("RGBA")
    background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return Image.alpha_composite(background, rgba).convert("RGB")


# -- container structure ---------------------------------------------------------


def _ebml_vint(data: bytes, pos: int, *, keep_marker: bool) -> tuple[int, int] | None:
    """Read an EBML variable-length integer at ``pos``: (value, next position)."""
    if pos >= len(data) or data[pos] == 0:
        return None
    length = 8 - data[pos].bit_length() + 1
    if pos + length > len(data):
        return None
    value = int.from_bytes(data[pos : pos + length], "big")
    if not keep_marker:
        value &= (1 << (7 * length)) - 1
    return value, pos + length


def _ebml_header(data: bytes) -> tuple[int, int] | None:
    """(start, end) of the EBML header's payload, if the header is well formed."""
    if not data.startswith(_EBML_MAGIC):
        return None
    size = _ebml_vint(data, len(_EBML_MAGIC), keep_marker=False)
    if size is None:
        return None
    length, start = size
    return start, start + length


def _ebml_doctype(data: bytes) -> str | None:
    header = _ebml_header(data)
    if header is None:
        return None
    pos, end = header
    if end > len(data):
        return None
    while pos < end:
        element = _ebml_vint(data, pos, keep_marker=True)
        if element is None:
            return None
        element_id, pos = element
        size = _ebml_vint(data, pos, keep_marker=False)
        if size is None:
            return None
        length, pos = size
        if element_id == _EBML_DOCTYPE:
            return data[pos : pos + length].rstrip(b"\x00").decode("ascii", "replace")
        pos += length
    return None


def _matroska_has_segment(data: bytes) -> bool:
    header = _ebml_header(data)
    return header is not None and data[header[1] : header[1] + 4] == _MATROSKA_SEGMENT


def _iso_bmff_boxes(data: bytes) -> Iterator[tuple[bytes, int, int]]:
    """Yield (type, payload start, end) for the top-level boxes of an ISO BMFF file.

    Stops at the first malformed box: some phones append vendor trailers after the
    last box, and those must not make an otherwise valid file unreadable.
    """
    pos = 0
    while pos + 8 <= len(data):
        size, box_type = struct.unpack(">I4s", data[pos : pos + 8])
        header = 8
        if size == 1:  # a 64-bit "largesize" follows the type
            if pos + 16 > len(data):
                return
            (size,) = struct.unpack(">Q", data[pos + 8 : pos + 16])
            header = 16
        elif size == 0:  # the box runs to the end of the file
            size = len(data) - pos
        if size < header or pos + size > len(data):
            return
        yield box_type, pos + header, pos + size
        pos += size


def _iso_bmff_has_video_track(data: bytes) -> bool:
    for box_type, start, end in _iso_bmff_boxes(data):
        if box_type == b"moov":
            return _has_video_handler(data, start, end)
    return False


def _has_video_handler(data: bytes, start: int, end: int) -> bool:
    # A track's ``hdlr`` box carries its handler type 8 bytes after the box type:
    # version/flags, pre_defined (QuickTime: component type), then e.g. ``vide``.
    pos = data.find(b"hdlr", start, end)
    while pos != -1:
        if data[pos + 12 : pos + 16] == b"vide":
            return True
        pos = data.find(b"hdlr", pos + 4, end)
    return False


def video_dimensions(data: bytes) -> tuple[int, int] | None:
    """Display width and height of an MP4/MOV's video track, or None if it cannot be read.

    Read from the track header (``tkhd``), whose matrix says whether a player turns the
    picture a quarter turn (phones record portrait video that way): then the sides swap.
    """
    for box_type, start, end in _iso_bmff_boxes(data):
        if box_type != b"moov":
            continue
        moov = data[start:end]
        for trak_type, trak_start, trak_end in _iso_bmff_boxes(moov):
            if trak_type != b"trak" or not _has_video_handler(moov, trak_start, trak_end):
                continue
            trak = moov[trak_start:trak_end]
            for inner, inner_start, inner_end in _iso_bmff_boxes(trak):
                if inner == b"tkhd" and inner_end - inner_start >= 84:
                    width, height = struct.unpack(">II", trak[inner_end - 8 : inner_end])
                    a, _b, _u, _c, d = struct.unpack(">iiiii", trak[inner_end - 44 : inner_end - 24])
                    width, height = width >> 16, height >> 16
                    if a == 0 and d == 0:
                        width, height = height, width
                    return (width, height) if width and height else None
    return None
