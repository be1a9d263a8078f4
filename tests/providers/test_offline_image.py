import io

import pytest
from PIL import Image

from fluxsocial_mcp.providers.base import ImageRequest
from fluxsocial_mcp.providers.offline_image import OfflineImageGenerator, load_font


def image_request(title="Our new summer menu: 3 tips from Café Olé", prompt="Iced coffee on a sunny terrace.",
                  business="Café Olé", fmt="IMAGE", index=0, count=1):
    return ImageRequest(prompt=prompt, title=title, business_name=business, content_format=fmt,
                        slide_index=index, slide_count=count)


async def render(**kwargs):
    return await OfflineImageGenerator().generate(image_request(**kwargs))


def open_jpeg(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    assert image.format == "JPEG"
    assert image.size == (1080, 1080)
    assert image.mode == "RGB"
    return image


@pytest.mark.asyncio
async def test_renders_a_square_jpeg_without_metadata():
    result = await render()
    assert result.content_type == "image/jpeg"
    assert result.generator == "offline-card" == OfflineImageGenerator.name
    image = open_jpeg(result.data)
    assert not image.getexif()
    assert "exif" not in image.info and "icc_profile" not in image.info


@pytest.mark.asyncio
async def test_the_title_changes_the_picture():
    first = await render(title="Summer menu")
    second = await render(title="Winter menu")
    assert first.data != second.data
    assert await render(title="Summer menu") == first  # deterministic


@pytest.mark.asyncio
async def test_carousel_slides_differ():
    slides = [
        (await render(fmt="CAROUSEL", index=i, count=5, prompt="Same prompt.")).data for i in range(5)
    ]
    assert len(set(slides)) == 5  # the "n/5" counter differs even when nothing else does


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "kwargs",
    [
        {"title": "מבצע קיץ: 3 טיפים מבית הקפה שלנו", "prompt": "תמונה בהירה של קפה קר", "business": "בית הקפה של דנה"},
        {"title": "Pneumonoultramicroscopicsilicovolcanoconiosis" * 5, "business": "B" * 300},
        {"title": "", "prompt": "", "business": ""},
        {"title": "Emoji 🎉🙌 and\ncontrol\tcharacters\x00", "prompt": "✨"},
        {"title": "x" * 5000, "prompt": "y " * 5000},
    ],
)
async def test_awkward_text_still_renders(kwargs):
    open_jpeg((await render(**kwargs)).data)


def test_the_font_draws_hebrew_and_accents():
    # A font without these glyphs draws the same "missing glyph" box for each.
    font = load_font(40)
    boxes = {font.getmask(ch).getbbox() for ch in "שלוםéß"}
    assert len(boxes) > 3
