"""Pictures people send to a digits model, generated here independently of the demo's training augmentation.

Digits: held-out scans drawn dark on uneven off-white paper (480×600, lighting gradient), rotated ±15°,
off-centre, with thinner or bolder strokes, blurred and saved as JPEG at quality 60–95; and white on
black at other sizes and offsets. Non-digits: landscapes, noise, printed letters and geometric shapes.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from core.runtime.images import decode_image

LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZabdefghkmnpqrtwxy"


def photo(digit: np.ndarray, rng: np.random.Generator) -> Image.Image:
    ink = Image.fromarray(255 - digit).resize((int(rng.integers(120, 260)),) * 2, Image.Resampling.BICUBIC)
    stroke = int(rng.choice([0, 3, 5]))
    if stroke:
        ink = ink.filter(ImageFilter.MinFilter(stroke) if rng.random() < 0.6 else ImageFilter.MaxFilter(3))
    ink = ink.rotate(float(rng.uniform(-15, 15)), resample=Image.Resampling.BICUBIC, fillcolor=255)
    width, height = 480, 600
    yy, xx = np.mgrid[0:height, 0:width]
    light = 200 + 40 * (xx / width) + 15 * np.sin(yy / height * 3.0 + rng.uniform(0, 3))
    paper = np.clip(light + rng.normal(0, 4, (height, width)), 0, 255)
    left = int(width / 2 - ink.size[0] / 2 + rng.uniform(-0.2, 0.2) * width)
    top = int(height / 2 - ink.size[1] / 2 + rng.uniform(-0.2, 0.2) * height)
    patch = paper[top : top + ink.size[1], left : left + ink.size[0]]
    darkness = rng.uniform(0.5, 0.9)
    paper[top : top + ink.size[1], left : left + ink.size[0]] = patch * (
        1 - darkness * (1 - np.asarray(ink, dtype=float) / 255.0)
    )
    photo = Image.fromarray(paper.astype(np.uint8)).filter(ImageFilter.GaussianBlur(float(rng.uniform(0, 1.2))))
    buffer = io.BytesIO()
    photo.convert("RGB").save(buffer, "JPEG", quality=int(rng.integers(60, 96)))
    return decode_image(buffer.getvalue())


def white_on_black(digit: np.ndarray, rng: np.random.Generator) -> Image.Image:
    img = Image.fromarray(digit).resize((int(rng.integers(56, 140)),) * 2, Image.Resampling.BICUBIC)
    canvas = Image.new("L", (int(img.size[0] * 1.4),) * 2, 0)
    room = canvas.size[0] - img.size[0]
    canvas.paste(img, (int(rng.integers(0, room + 1)), int(rng.integers(0, room + 1))))
    return canvas.rotate(float(rng.uniform(-10, 10)), resample=Image.Resampling.BICUBIC)


def landscape(rng: np.random.Generator) -> Image.Image:
    """A 640×480 photo-like scene: sky gradient, textured ground, a few coloured shapes, blurred, JPEG."""
    width, height = 640, 480
    yy, xx = np.mgrid[0:height, 0:width]
    scene = 200 - 80 * yy / height + rng.normal(0, 5, (height, width))
    horizon = int(rng.uniform(0.4, 0.7) * height)
    ground = rng.uniform(60, 140) + 20 * np.sin(xx[horizon:] / rng.uniform(20, 80))
    scene[horizon:] = ground + rng.normal(0, 12, (height - horizon, width))
    img = Image.fromarray(np.clip(scene, 0, 255).astype(np.uint8)).convert("RGB")
    draw = ImageDraw.Draw(img)
    for _ in range(int(rng.integers(2, 8))):
        x, y, r = int(rng.integers(0, width)), int(rng.integers(0, height)), int(rng.integers(10, 90))
        draw.ellipse([x - r, y - r, x + r, y + r], fill=tuple(int(c) for c in rng.integers(0, 255, 3)))
    buffer = io.BytesIO()
    img.filter(ImageFilter.GaussianBlur(2)).save(buffer, "JPEG", quality=int(rng.integers(60, 96)))
    return decode_image(buffer.getvalue())


def noise(rng: np.random.Generator) -> Image.Image:
    """200×200 uniform grey noise."""
    return Image.fromarray(rng.integers(0, 255, (200, 200), dtype=np.uint8))


def letter(rng: np.random.Generator, i: int) -> Image.Image:
    """A printed letter (Pillow's own font), dark on light, slightly rotated."""
    img = Image.new("L", (200, 200), int(rng.uniform(190, 240)))
    font = ImageFont.load_default(size=int(rng.integers(90, 150)))
    ImageDraw.Draw(img).text((40, 10), LETTERS[i % len(LETTERS)], fill=int(rng.uniform(10, 60)), font=font)
    return img.rotate(float(rng.uniform(-10, 10)), fillcolor=220)


def shape(rng: np.random.Generator, i: int) -> Image.Image:
    """A filled disc, a triangle outline or a grid: ink that is not a digit."""
    img = Image.new("L", (200, 200), int(rng.uniform(200, 240)))
    draw = ImageDraw.Draw(img)
    kind = i % 3
    if kind == 0:
        draw.ellipse([30, 50, 170, 150], fill=20)
    elif kind == 1:
        draw.polygon([(100, 20), (180, 180), (20, 180)], outline=20, width=8)
    else:
        for x in range(30, 180, 30):
            draw.line([(x, 20), (x, 180)], fill=20, width=5)
            draw.line([(20, x), (180, x)], fill=20, width=5)
    return img


def non_digits(rng: np.random.Generator, per_kind: int) -> dict[str, list[Image.Image]]:
    """``per_kind`` pictures of each kind that is not a digit."""
    return {
        "landscape": [landscape(rng) for _ in range(per_kind)],
        "noise": [noise(rng) for _ in range(per_kind)],
        "letter": [letter(rng, i) for i in range(per_kind)],
        "shape": [shape(rng, i) for i in range(per_kind)],
    }
