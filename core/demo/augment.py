"""Training pictures for the demo digits model: scikit-learn's digits as people upload them.

Each 8×8 scan (upscaled to 28×28) is drawn again as a user would send it — dark ink on uneven
paper, photographed (rotated ±15°, thinner or bolder strokes, off-centre, blurred, noisy, JPEG),
or white on black as in MNIST — and every picture goes through the same
:func:`~core.runtime.images.normalise_digit` the service applies. The model learns what it
will be served, so photos and scans read alike.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np

PAPER = 160  # side of a generated photo; normalisation needs no more


def as_uploaded(digit: np.ndarray, rng: np.random.Generator, style: str) -> Any:
    """One 28×28 bright-on-black digit drawn as an upload: ``scan``, ``photo`` or ``mnist`` style."""
    from PIL import Image, ImageFilter

    if style == "scan":
        return Image.fromarray(255 - digit)
    side = int(rng.integers(48, 96))
    ink = Image.fromarray(digit).resize((side, side), Image.Resampling.BICUBIC)
    stroke = rng.random()
    if stroke < 0.3:
        ink = ink.filter(ImageFilter.MaxFilter(3))  # bolder
    elif stroke < 0.5:
        ink = ink.filter(ImageFilter.MinFilter(3))  # thinner
    ink = ink.rotate(float(rng.uniform(-15, 15)), resample=Image.Resampling.BICUBIC)
    if style == "mnist":
        canvas = Image.new("L", (int(side * 1.5),) * 2, 0)
        room = canvas.size[0] - side
        canvas.paste(ink, (int(rng.integers(0, room + 1)), int(rng.integers(0, room + 1))))
        return canvas
    yy, xx = np.mgrid[0:PAPER, 0:PAPER]
    light = rng.uniform(170, 230) + rng.uniform(-40, 40) * xx / PAPER + rng.uniform(-25, 25) * yy / PAPER
    paper = light + rng.normal(0, rng.uniform(1, 6), (PAPER, PAPER))
    room = PAPER - side
    left, top = int(rng.integers(0, room + 1)), int(rng.integers(0, room + 1))
    darkness = rng.uniform(0.45, 0.95)
    patch = paper[top : top + side, left : left + side]
    paper[top : top + side, left : left + side] = patch * (1 - darkness * np.asarray(ink, dtype=float) / 255.0)
    photo = Image.fromarray(np.clip(paper, 0, 255).astype(np.uint8))
    photo = photo.filter(ImageFilter.GaussianBlur(float(rng.uniform(0, 1.0))))
    buffer = io.BytesIO()
    photo.save(buffer, "JPEG", quality=int(rng.integers(55, 96)))
    return Image.open(io.BytesIO(buffer.getvalue()))


def augmented(images: np.ndarray, labels: np.ndarray, copies: int, seed: int) -> tuple[list[Any], np.ndarray]:
    """Every image as a scan, plus ``copies`` photo- or MNIST-style uploads of it; their labels."""
    rng = np.random.default_rng(seed)
    pictures, out = [], []
    for digit, label in zip(images, labels, strict=True):
        pictures.append(as_uploaded(digit, rng, "scan"))
        out.append(label)
        for _ in range(copies):
            pictures.append(as_uploaded(digit, rng, "photo" if rng.random() < 0.6 else "mnist"))
            out.append(label)
    return pictures, np.asarray(out)
