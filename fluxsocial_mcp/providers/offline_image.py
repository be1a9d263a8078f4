"""The default image generator: a rendered title card, not an AI picture.

``OfflineImageGenerator`` draws a 1080×1080 JPEG per slide with Pillow: a
gradient whose colours come from a hash of the business name and prompt, the
headline wrapped to fit, the business name, a "2/5" slide counter for
carousels, and an "Offline preview" badge so nobody mistakes it for AI output.

The drawing helpers here (font, wrapping, right-to-left handling, gradients)
are shared with the offline video generator, which renders the same kind of
card as video frames.
"""

from __future__ import annotations

import colorsys
import hashlib
import io
import re
import unicodedata
from functools import lru_cache
from pathlib import Path

import anyio.to_thread
from PIL import Image, ImageChops, ImageDraw, ImageFont, features

from ..errors import ServiceUnavailable
from .base import GeneratedImage, ImageRequest

CARD_SIZE = 1080
BADGE_TEXT = "Offline preview"
WHITE = (255, 255, 255)

# DejaVu Sans Bold ships with the package: Pillow's built-in scalable font has
# no accented Latin or Hebrew glyphs, and servers often have no system fonts.
FONT_PATH = Path(__file__).with_name("fonts") / "DejaVuSans-Bold.ttf"
# With libraqm, Pillow applies the Unicode bidi algorithm itself; without it we
# reorder right-to-left lines crudely (see ``visual_order``).
HAS_BIDI = features.check_feature("raqm")

Color = tuple[int, int, int]
Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


@lru_cache(maxsize=1)
def _font_data() -> bytes | None:
    try:
        return FONT_PATH.read_bytes()
    except OSError:
        return None


def load_font(size: int) -> Font:
    """A fresh font object at ``size`` px.

    Fresh rather than cached because a FreeType face is not safe to share
    between the worker threads that render concurrently; building one from the
    cached file bytes costs well under a millisecond.
    """
    data = _font_data()
    if data is None:
        return ImageFont.load_default(size=size)
    return ImageFont.truetype(io.BytesIO(data), size)


def clean_text(text: str) -> str:
    """Collapse whitespace and drop pictographic emoji the font cannot draw."""
    kept = []
    for ch in unicodedata.normalize("NFC", text):
        if unicodedata.category(ch) == "Cc":  # newlines, tabs, stray control bytes
            kept.append(" ")
        elif ord(ch) < 0x1F000 and ch not in "\ufe0e\ufe0f\u200d":
            kept.append(ch)
    return re.sub(r"\s+", " ", "".join(kept)).strip()


def is_rtl(text: str) -> bool:
    """Whether strong right-to-left letters (Hebrew, Arabic) outnumber left-to-right ones."""
    rtl = ltr = 0
    for ch in text:
        direction = unicodedata.bidirectional(ch)
        if direction in ("R", "AL"):
            rtl += 1
        elif direction == "L":
            ltr += 1
    return rtl > ltr


def visual_order(line: str) -> str:
    """The string to hand to Pillow for one already-wrapped line.

    Without libraqm Pillow draws characters in memory order, which shows
    Hebrew backwards; reversing the line is the basic fix (embedded Latin words
    come out mirrored, an accepted limit of that fallback).
    """
    if HAS_BIDI or not is_rtl(line):
        return line
    return line[::-1]


def text_width(font: Font, text: str) -> float:
    return font.getlength(visual_order(text))


def wrap(text: str, font: Font, max_width: float) -> list[str]:
    """Greedy word wrap; a word wider than the line is split between characters."""
    lines: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}" if current else word
        if text_width(font, candidate) <= max_width:
            current = candidate
            continue
        if current:
            lines.append(current)
        current = ""
        while text_width(font, word) > max_width:
            cut = _longest_prefix(word, font, max_width)
            lines.append(word[:cut])
            word = word[cut:]
        current = word
    if current:
        lines.append(current)
    return lines


def _longest_prefix(word: str, font: Font, max_width: float) -> int:
    low, high = 1, len(word)
    while low < high:  # largest n with word[:n] fitting, at least 1 character
        mid = (low + high + 1) // 2
        if text_width(font, word[:mid]) <= max_width:
            low = mid
        else:
            high = mid - 1
    return low


def ellipsize(lines: list[str], max_lines: int, font: Font, max_width: float) -> list[str]:
    """Keep ``max_lines`` lines, ending the last kept one with "…" if text was cut."""
    if len(lines) <= max_lines:
        return lines
    kept = lines[:max_lines]
    last = kept[-1]
    while last and text_width(font, last + "…") > max_width:
        last = last[:-1]
    kept[-1] = last.rstrip() + "…"
    return kept


def fit_text(
    text: str, max_width: float, max_height: float, sizes: tuple[int, ...], max_lines: int
) -> tuple[Font, list[str], int]:
    """The largest size in ``sizes`` at which ``text`` fits; the smallest, cut, otherwise."""
    # No card shows more than a few hundred characters; measuring a huge string
    # at every size would only burn CPU before it is cut anyway.
    text = text[: max_lines * 80]
    for size in sizes:
        font = load_font(size)
        line_height = int(size * 1.22)
        lines = wrap(text, font, max_width)
        if len(lines) <= max_lines and len(lines) * line_height <= max_height:
            return font, lines, line_height
    size = sizes[-1]
    font = load_font(size)
    line_height = int(size * 1.22)
    limit = max(1, min(max_lines, int(max_height // line_height)))
    return font, ellipsize(wrap(text, font, max_width), limit, font, max_width), line_height


def draw_lines(
    draw: ImageDraw.ImageDraw, lines: list[str], font: Font, line_height: int, center_x: float, top: float, fill
) -> float:
    """Draw centred lines with a soft shadow; return the y just below the block."""
    y = top
    for line in lines:
        shown = visual_order(line)
        x = center_x - font.getlength(shown) / 2
        draw.text((x + 3, y + 3), shown, font=font, fill=(0, 0, 0, 90))
        draw.text((x, y), shown, font=font, fill=fill)
        y += line_height
    return y


def draw_badge(draw: ImageDraw.ImageDraw, xy: tuple[float, float], text: str, size: int, anchor_right: bool = False) -> None:
    """A translucent pill with ``text``: the honest "not AI" marker, or a slide counter."""
    font = load_font(size)
    width = font.getlength(text)
    pad_x, pad_y = size * 0.8, size * 0.45
    x, y = xy
    if anchor_right:
        x -= width + 2 * pad_x
    box = (x, y, x + width + 2 * pad_x, y + size + 2 * pad_y)
    draw.rounded_rectangle(box, radius=(size + 2 * pad_y) / 2, fill=(0, 0, 0, 110))
    draw.text((x + pad_x, y + pad_y - size * 0.08), text, font=font, fill=WHITE)


def palette(seed: str, saturation: float = 0.65, value: float = 0.55) -> tuple[Color, Color]:
    """Two related colours picked by a hash of ``seed``, dark enough for white text."""
    digest = hashlib.sha256(seed.encode()).digest()
    hue = digest[0] / 255
    shift = 0.08 + digest[1] / 255 * 0.2
    sat = min(1.0, saturation + (digest[2] / 255 - 0.5) * 0.2)

    def rgb(h: float, v: float) -> Color:
        r, g, b = colorsys.hsv_to_rgb(h % 1.0, sat, v)
        return int(r * 255), int(g * 255), int(b * 255)

    return rgb(hue, value), rgb(hue + shift, value * 0.6)


def gradient(size: tuple[int, int], start: Color, end: Color) -> Image.Image:
    """A diagonal gradient from ``start`` (top left) to ``end`` (bottom right)."""
    vertical = Image.linear_gradient("L").resize(size)
    horizontal = Image.linear_gradient("L").transpose(Image.Transpose.ROTATE_90).resize(size)
    # ROTATE_90 runs the ramp right-to-left; mirror it so it grows left-to-right.
    horizontal = horizontal.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    mask = ImageChops.add(vertical, horizontal, scale=2.0)
    return Image.composite(Image.new("RGB", size, end), Image.new("RGB", size, start), mask)


def decorate(image: Image.Image, seed: str) -> None:
    """Two large translucent discs placed by ``seed``, so cards are not flat."""
    digest = hashlib.sha256(("discs" + seed).encode()).digest()
    width, height = image.size
    overlay = Image.new("RGBA", image.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    for i in range(2):
        cx = digest[3 * i] / 255 * width
        cy = digest[3 * i + 1] / 255 * height
        radius = (0.25 + digest[3 * i + 2] / 255 * 0.25) * min(width, height)
        draw.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), fill=(255, 255, 255, 22))
    image.paste(Image.alpha_composite(image.convert("RGBA"), overlay).convert("RGB"))


def _first_sentence(text: str) -> str:
    return re.split(r"(?<=[.!?…])\s", text, maxsplit=1)[0]


def card_texts(request: ImageRequest) -> tuple[str, str]:
    """The card's headline and smaller caption.

    The first slide (or a single image) leads with the post's title; later
    carousel slides lead with their own prompt's first sentence, which is what
    tells the slides apart. The caption is the rest of the prompt: the visual
    an AI generator would have been asked for.
    """
    title = clean_text(request.title)
    prompt = clean_text(request.prompt)
    if request.slide_count > 1 and request.slide_index > 0 and prompt:
        headline = _first_sentence(prompt)
    else:
        headline = title or _first_sentence(prompt)
    caption = prompt[len(headline):].lstrip(" .,;:!?…—-") if prompt.startswith(headline) else prompt
    if not headline:
        headline = clean_text(request.business_name)
    return headline, caption


def render_card(request: ImageRequest) -> bytes:
    """Draw the card and encode it as a metadata-free JPEG."""
    size = (CARD_SIZE, CARD_SIZE)
    seed = f"{request.business_name}\n{request.prompt}"
    image = gradient(size, *palette(seed))
    decorate(image, seed)
    overlay = Image.new("RGBA", size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    margin = 84
    inner = CARD_SIZE - 2 * margin

    name = clean_text(request.business_name)
    counter = ""
    if request.slide_count > 1:
        index = min(max(request.slide_index, 0), request.slide_count - 1)
        counter = f"{index + 1}/{request.slide_count}"
        draw_badge(draw, (CARD_SIZE - margin, margin - 10), counter, 34, anchor_right=True)
    if name:
        # Leave room on the right for the slide counter.
        name_font, name_lines, _ = fit_text(name, inner - (200 if counter else 0), 60, (40, 34, 28), 1)
        draw.text((margin, margin), visual_order(name_lines[0]), font=name_font, fill=(255, 255, 255, 230))

    headline, caption = card_texts(request)
    head_font, head_lines, head_lh = fit_text(headline, inner, 520, (92, 84, 76, 68, 60, 52, 46), 6)
    cap_font, cap_lines, cap_lh = fit_text(caption, inner, 150, (32,), 3) if caption else (None, [], 0)
    block = len(head_lines) * head_lh + (30 + len(cap_lines) * cap_lh if cap_lines else 0)
    top = max(200, (CARD_SIZE - block) / 2)
    y = draw_lines(draw, head_lines, head_font, head_lh, CARD_SIZE / 2, top, WHITE)
    if cap_lines and cap_font is not None:
        draw_lines(draw, cap_lines, cap_font, cap_lh, CARD_SIZE / 2, y + 30, (255, 255, 255, 200))

    draw_badge(draw, (margin, CARD_SIZE - margin - 50), BADGE_TEXT, 30)
    card = Image.alpha_composite(image.convert("RGBA"), overlay).convert("RGB")
    out = io.BytesIO()
    # No exif/icc arguments: Pillow then writes no metadata at all.
    card.save(out, "JPEG", quality=88, optimize=True)
    return out.getvalue()


class OfflineImageGenerator:
    """Renders a 1080×1080 "Offline preview" title card per slide; no model, no network.

    ``ImageRequest.slide_index`` is 0-based (as the API's ``imageIndex``); a
    counter such as "2/5" is drawn when ``slide_count`` > 1.
    """

    name = "offline-card"

    async def generate(self, request: ImageRequest) -> GeneratedImage:
        try:
            # Pillow work is CPU-bound (~50 ms); keep it off the event loop.
            data = await anyio.to_thread.run_sync(render_card, request)
        except (OSError, ValueError) as exc:
            raise ServiceUnavailable(f"Offline image rendering failed: {exc}") from exc
        return GeneratedImage(data=data, content_type="image/jpeg", generator=self.name)
