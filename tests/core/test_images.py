"""The image pipeline on a table of normal and hostile files, generated here."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from core.errors import InvalidInputError
from core.flavors.keras_model import InputSpec
from core.runtime.images import decode_image, preprocess

RNG = np.random.default_rng(0)


def _save(img: Image.Image, fmt: str, **kwargs) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kwargs)
    return buf.getvalue()


def _digit() -> Image.Image:
    arr = np.full((40, 30), 255, dtype=np.uint8)
    arr[8:32, 12:18] = 0  # a dark "1" on light paper
    return Image.fromarray(arr, "L")


def _png16() -> bytes:
    arr = (np.arange(64 * 48, dtype=np.uint32).reshape(48, 64) * 20).astype(np.uint16)
    return _save(Image.fromarray(arr), "PNG")


def _exif_rotated_jpeg() -> bytes:
    img = Image.new("RGB", (60, 20), (200, 10, 10))
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90° clockwise on display
    return _save(img, "JPEG", exif=exif)


def _animated_gif() -> bytes:
    frames = [Image.new("P", (20, 20), color) for color in (1, 2, 3)]
    return _save(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=50, loop=0)


def _palette_with_transparency() -> bytes:
    img = Image.new("P", (16, 16), 0)
    img.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    img.info["transparency"] = 0
    return _save(img, "PNG")


def _bomb_png(width: int = 30_000, height: int = 30_000) -> bytes:
    """A PNG header claiming 900 Mpx with a tiny body: rejected before any pixel is decoded."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 100)) + chunk(b"IEND", b"")
    )


GOOD = [
    ("png-gray", lambda: _save(_digit(), "PNG"), "L", (30, 40)),
    ("jpeg-rgb", lambda: _save(Image.new("RGB", (32, 24), (10, 200, 30)), "JPEG"), "RGB", (32, 24)),
    ("webp", lambda: _save(Image.new("RGB", (20, 20), (1, 2, 3)), "WEBP"), "RGB", (20, 20)),
    ("bmp", lambda: _save(Image.new("RGB", (9, 7)), "BMP"), "RGB", (9, 7)),
    ("tiff", lambda: _save(Image.new("RGB", (12, 10)), "TIFF"), "RGB", (12, 10)),
    ("gif-animated-first-frame", _animated_gif, "RGB", (20, 20)),
    ("png-16-bit", _png16, "L", (64, 48)),
    ("jpeg-cmyk", lambda: _save(Image.new("CMYK", (16, 16), (0, 255, 255, 0)), "JPEG"), "RGB", (16, 16)),
    ("png-rgba", lambda: _save(Image.new("RGBA", (8, 8), (255, 0, 0, 0)), "PNG"), "RGB", (8, 8)),
    ("png-palette-transparent", _palette_with_transparency, "RGB", (16, 16)),
    ("jpeg-exif-rotated", _exif_rotated_jpeg, "RGB", (20, 60)),
    ("huge-but-valid", lambda: _save(Image.new("L", (4000, 3000), 255), "PNG"), "L", (4000, 3000)),
]


@pytest.mark.parametrize(("case", "make", "mode", "size"), GOOD, ids=[g[0] for g in GOOD])
def test_accepted_files_decode_to_rgb_or_gray(case: str, make, mode: str, size: tuple[int, int]) -> None:
    img = decode_image(make())
    assert img.mode == mode and img.size == size


def test_conversions_keep_the_picture() -> None:
    assert decode_image(_save(Image.new("RGBA", (4, 4), (255, 0, 0, 0)), "PNG")).getpixel((0, 0)) == (255, 255, 255)
    cmyk = decode_image(_save(Image.new("CMYK", (4, 4), (0, 255, 255, 0)), "JPEG")).getpixel((0, 0))
    assert cmyk[0] > 200 and cmyk[1] < 60 and cmyk[2] < 60  # red stays red
    sixteen = np.asarray(decode_image(_png16()))
    assert sixteen.min() == 0 and sixteen.max() == 255  # rescaled, not clipped to white


BAD = [
    ("non-image bytes", b"this is not an image", "not an image in an accepted format"),
    ("zero bytes", b"", "empty"),
    ("truncated png", _save(_digit(), "PNG")[:60], "could not be decoded"),
    ("decompression bomb", _bomb_png(), "decompression bomb"),
    ("pdf", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n", "not an image in an accepted format"),
    ("ico outside allow-list", _save(Image.new("RGB", (16, 16)), "ICO"), "not an image in an accepted format"),
]


@pytest.mark.parametrize(("case", "data", "message"), BAD, ids=[b[0] for b in BAD])
def test_hostile_files_get_a_clear_error(case: str, data: bytes, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        decode_image(data)


def test_a_bomb_beyond_pillows_own_guard_is_refused_with_our_limit() -> None:
    """Pillow's guard (89 Mpx) fires before ours; the message still names ours, not Pillow's."""
    with pytest.raises(InvalidInputError) as refused:
        decode_image(_bomb_png(), max_pixels=40_000_000)
    assert str(refused.value) == (
        "the image has 900,000,000 pixels, more than the limit of 40,000,000; refused as a possible decompression bomb"
    )


def test_pixel_limit_is_checked_before_decoding() -> None:
    with pytest.raises(InvalidInputError, match="more than the limit of 1,000"):
        decode_image(_save(Image.new("L", (50, 50)), "PNG"), max_pixels=1000)


def test_wrong_extension_does_not_matter_content_decides() -> None:
    # The pipeline never looks at names: a PNG called photo.jpg decodes as a PNG.
    assert decode_image(_save(_digit(), "PNG")).size == (30, 40)


def test_preprocess_follows_the_version_spec() -> None:
    digit = decode_image(_save(_digit(), "PNG"))
    spec = InputSpec(height=28, width=28, channels=1, scale=255.0, invert=True, center=True)
    x = preprocess(digit, spec)
    assert x.shape == (28, 28, 1) and x.dtype == np.float32
    assert x.min() >= 0.0 and x.max() <= 1.0
    assert x[0, 0, 0] == 0.0 and x[14, 14, 0] > 0.5  # inverted: light background -> 0, ink -> high; centred
    rgb = preprocess(decode_image(_save(Image.new("RGB", (50, 40), (255, 0, 0)), "PNG")), InputSpec(32, 32, 3))
    assert rgb.shape == (32, 32, 3) and rgb[..., 0].max() == pytest.approx(1.0)
