"""Sample images for the Classify page, written once into ``MODELOPS_HOME/samples``.

Held-out digits drawn as a user would photograph them (dark ink on light paper, larger
than the model input), plus two pictures that are not digits, which the out-of-distribution check flags.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from core.demo.datasets import digits_images

SAMPLE_DIR = "samples"
DIGIT_SAMPLES = 12
SAMPLE_SIZE = 112


def ensure_samples(home: Path) -> list[Path]:
    """The sample PNGs (written on first call), sorted by name."""
    from PIL import Image, ImageDraw

    folder = home / SAMPLE_DIR
    existing = sorted(folder.glob("*.png"))
    if len(existing) >= DIGIT_SAMPLES + 2:
        return existing
    folder.mkdir(parents=True, exist_ok=True)
    _, images, _, labels = digits_images()
    for i in range(DIGIT_SAMPLES):
        img = Image.fromarray(255 - images[i]).resize((SAMPLE_SIZE, SAMPLE_SIZE), Image.Resampling.BICUBIC)
        img.save(folder / f"digit-{i:02d}-label-{labels[i]}.png")
    ramp = np.tile(np.linspace(0, 255, SAMPLE_SIZE, dtype=np.uint8), (SAMPLE_SIZE, 1))
    Image.fromarray(np.stack([ramp, ramp.T, 255 - ramp], axis=-1)).save(folder / "not-a-digit-gradient.png")
    scene = Image.new("RGB", (SAMPLE_SIZE, SAMPLE_SIZE), (135, 206, 235))
    draw = ImageDraw.Draw(scene)
    draw.ellipse((20, 15, 60, 55), fill=(255, 215, 0))
    draw.rectangle((0, 80, SAMPLE_SIZE, SAMPLE_SIZE), fill=(34, 139, 34))
    scene.save(folder / "not-a-digit-landscape.png")
    return sorted(folder.glob("*.png"))


def sample_label(path: Path) -> str | None:
    """The true label encoded in a digit sample's file name, if any."""
    stem = path.stem
    return stem.rsplit("-label-", 1)[1] if "-label-" in stem else None
