"""Recognising and normalising media bytes."""

from __future__ import annotations

from io import BytesIO

import pytest
from PIL import ExifTags, Image, ImageCms

from fluxsocial_mcp.errors import UnsupportedMedia
from fluxsocial_mcp.media import (
    MAX_IMAGE_PIXELS,
    normalize_image,
    sniff_image,
    sniff_video,
    verify_image,
    verify_video,
)

from .support import jpeg_bytes, mp4_bytes, png_bytes, png_with_dimensions, webm_bytes

RED, GREEN, BLUE, WHITE = (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255)


def close_to(actual, expected, tolerance: int = 12) -> bool:
    return all(abs(a - e) <= tolerance for a, e in zip(actual, expected, strict=True))


def srgb_profile() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def exif_with(orientation: int) -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.Base.Make] = "PhoneCo"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (52.0, 22.0, 7.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (4.0, 53.0, 2.0)
    return exif


def quadrant_png_with_alpha(orientation: int) -> bytes:
    """200×200 RGBA, stored quadrants: red | green over blue | transparent."""
    image = Image.new("RGBA", (200, 200), (0, 0, 0, 0))
    image.paste((*RED, 255), (0, 0, 100, 100))
    image.paste((*GREEN, 255), (100, 0, 200, 100))
    image.paste((*BLUE, 255), (0, 100, 100, 200))
    out = BytesIO()
    image.save(out, format="PNG", exif=exif_with(orientation), icc_profile=srgb_profile())
    return out.getvalue()


def assert_bare_jpeg(data: bytes) -> Image.Image:
    image = Image.open(BytesIO(data))
    assert image.format == "JPEG"
    assert image.mode == "RGB"
    assert image.size == (1080, 1080)
    assert len(image.getexif()) == 0
    for key in ("exif", "icc_profile", "xmp", "comment", "photoshop"):
        assert key not in image.info
    # Nothing hides in any APPn segment either (APP0/JFIF is the only one allowed).
    assert b"Exif\x00\x00" not in data
    assert b"ICC_PROFILE" not in data
    assert b"http://ns.adobe.com/xap/" not in data
    assert [marker for marker, _ in image.applist] in ([], ["APP0"])
    return image


def test_png_with_alpha_and_orientation_6_becomes_an_upright_bare_square_jpeg() -> None:
    source = quadrant_png_with_alpha(orientation=6)
    assert (
        Image.open(BytesIO(source)).getexif().get_ifd(ExifTags.IFD.GPSInfo)
    )  # the input carries GPS

    out = assert_bare_jpeg(normalize_image(source)).convert("RGB")

    # Orientation 6 means "rotate 90° clockwise to display": the stored left
    # column (red over blue) becomes the top row, read right to left.
    assert close_to(out.getpixel((270, 270)), BLUE)
    assert close_to(out.getpixel((810, 270)), RED)
    assert close_to(out.getpixel((810, 810)), GREEN)
    # The transparent quadrant is flattened onto white, not black.
    assert close_to(out.getpixel((270, 810)), WHITE)


def test_orientation_8_rotates_the_other_way() -> None:
    out = Image.open(BytesIO(normalize_image(quadrant_png_with_alpha(orientation=8))))
    assert close_to(out.getpixel((270, 270)), GREEN)
    assert close_to(out.getpixel((810, 810)), BLUE)


def test_non_square_image_is_centre_cropped_not_squashed() -> None:
    image = Image.new("RGB", (300, 100), RED)
    image.paste(GREEN, (100, 0, 200, 100))
    image.paste(BLUE, (200, 0, 300, 100))
    out = BytesIO()
    image.save(out, format="PNG")

    result = Image.open(BytesIO(normalize_image(out.getvalue())))

    assert result.size == (1080, 1080)
    for x in (5, 540, 1074):
        assert close_to(result.getpixel((x, 540)), GREEN)


def test_jpeg_metadata_is_stripped() -> None:
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://ns.adobe.com/xap/1.0/"/></x:xmpmeta>'
    source = jpeg_bytes(
        (640, 480),
        exif=exif_with(orientation=1),
        icc_profile=srgb_profile(),
        comment=b"shot at home",
        xmp=xmp,
    )
    original = Image.open(BytesIO(source))
    assert {"exif", "icc_profile", "comment", "xmp"} <= set(original.info)

    result = normalize_image(source)

    assert_bare_jpeg(result)
    assert b"shot at home" not in result


def test_large_jpeg_is_decoded_at_reduced_scale_and_still_exact() -> None:
    image = Image.new("RGB", (4000, 3000), RED)
    image.paste(BLUE, (2000, 0, 4000, 3000))
    out = BytesIO()
    image.save(out, format="JPEG", quality=90)

    result = Image.open(BytesIO(normalize_image(out.getvalue())))

    assert result.size == (1080, 1080)
    assert close_to(result.getpixel((100, 540)), RED)
    assert close_to(result.getpixel((980, 540)), BLUE)


def test_small_image_is_scaled_up_to_the_exact_size() -> None:
    result = Image.open(BytesIO(normalize_image(png_bytes((40, 30), GREEN))))
    assert result.size == (1080, 1080)
    assert close_to(result.getpixel((540, 540)), GREEN)


@pytest.mark.parametrize("mode", ["L", "LA", "P", "CMYK", "I;16"])
def test_every_colour_mode_ends_as_rgb(mode: str) -> None:
    image = Image.new("RGB", (64, 48), (90, 120, 150)).convert(mode)
    out = BytesIO()
    image.save(out, format="JPEG" if mode == "CMYK" else "PNG")
    result = Image.open(BytesIO(normalize_image(out.getvalue())))
    assert (result.mode, result.size) == ("RGB", (1080, 1080))


def test_palette_transparency_is_flattened_onto_white() -> None:
    image = Image.new("P", (50, 50), 0)
    image.putpalette([0, 0, 0, 255, 0, 0])
    image.paste(1, (0, 0, 50, 25))
    out = BytesIO()
    image.save(out, format="GIF", transparency=0)

    result = Image.open(BytesIO(normalize_image(out.getvalue())))

    assert close_to(result.getpixel((540, 100)), RED)
    assert close_to(result.getpixel((540, 1000)), WHITE)


@pytest.mark.parametrize(
    ("width", "height"),
    [(100_000, 100_000), (8_000, 8_000)],  # past Pillow's own bomb limit, and past ours
)
def test_decompression_bombs_are_refused_before_decoding(width: int, height: int) -> None:
    assert width * height > MAX_IMAGE_PIXELS
    bomb = png_with_dimensions(width, height)
    with pytest.raises(UnsupportedMedia, match="too many pixels"):
        normalize_image(bomb)
    with pytest.raises(UnsupportedMedia, match="too many pixels"):
        verify_image(bomb)


@pytest.mark.parametrize(
    "data",
    [
        b"<html><body>not an image</body></html>",
        b"",
        jpeg_bytes((400, 400))[:600],  # truncated
        mp4_bytes(),
    ],
)
def test_normalize_refuses_what_is_not_a_whole_image(data: bytes) -> None:
    with pytest.raises(UnsupportedMedia) as caught:
        normalize_image(data)
    assert caught.value.status == 415


def test_other_image_formats_pillow_knows_are_refused() -> None:
    out = BytesIO()
    Image.new("RGB", (8, 8)).save(out, format="BMP")
    with pytest.raises(UnsupportedMedia):
        verify_image(out.getvalue())
    with pytest.raises(UnsupportedMedia):
        normalize_image(out.getvalue())


def test_verify_image_reports_the_real_format() -> None:
    webp, gif = BytesIO(), BytesIO()
    Image.new("RGB", (8, 8)).save(webp, format="WEBP")
    Image.new("RGB", (8, 8)).save(gif, format="GIF")
    assert verify_image(png_bytes()) == "image/png"
    assert verify_image(jpeg_bytes()) == "image/jpeg"
    assert verify_image(webp.getvalue()) == "image/webp"
    assert verify_image(gif.getvalue()) == "image/gif"


def test_verify_image_catches_corrupt_png_chunks() -> None:
    data = bytearray(png_bytes((64, 64)))
    data[-20] ^= 0xFF  # inside the IDAT payload: the CRC no longer matches
    with pytest.raises(UnsupportedMedia):
        verify_image(bytes(data))


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (png_bytes(), "image/png"),
        (jpeg_bytes(), "image/jpeg"),
        (b"GIF89a" + b"\x00" * 10, "image/gif"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp"),
        (b"RIFF\x00\x00\x00\x00AVI LIST", None),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", None),
    ],
)
def test_sniff_image(head: bytes, expected: str | None) -> None:
    assert sniff_image(head[:64]) == expected


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (mp4_bytes(), "video/mp4"),
        (mp4_bytes(brand=b"mp42"), "video/mp4"),
        (mp4_bytes(brand=b"qt  "), "video/quicktime"),
        (webm_bytes(), "video/webm"),
        (webm_bytes(b"matroska"), "video/x-matroska"),
        (mp4_bytes(brand=b"heic"), None),
        (mp4_bytes(brand=b"avif"), None),
        (mp4_bytes(brand=b"M4A "), None),
        (webm_bytes(b"other"), None),
        (b"\x1a\x45\xdf\xa3", None),
        (png_bytes(), None),
        (b"", None),
    ],
)
def test_sniff_video(head: bytes, expected: str | None) -> None:
    assert sniff_video(head[:64]) == expected


def test_verify_video_accepts_real_containers() -> None:
    assert verify_video(mp4_bytes()) == "video/mp4"
    assert verify_video(mp4_bytes(brand=b"qt  ")) == "video/quicktime"
    assert verify_video(webm_bytes()) == "video/webm"
    # Vendor data appended after the last box (as some phones write) is tolerated.
    assert verify_video(mp4_bytes() + b"SEFT" + b"\xff" * 40) == "video/mp4"


@pytest.mark.parametrize(
    "data",
    [
        mp4_bytes(handler=b"soun"),  # audio only
        mp4_bytes()[:32],  # no moov at all
        webm_bytes()[:24],  # no Segment after the EBML header
        png_bytes(),
    ],
)
def test_verify_video_refuses_what_is_not_a_video(data: bytes) -> None:
    with pytest.raises(UnsupportedMedia):
        verify_video(data)
