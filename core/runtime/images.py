"""Safe image decoding and preprocessing to a model's input spec.

Decoding is hostile-file safe: an allow-list of formats, a pixel limit checked from the
header before any pixel is decoded (decompression bombs are refused, not warned about),
EXIF orientation applied, and palette/CMYK/16-bit/alpha modes converted explicitly.
"""

from __future__ import annotations

import io
import re
import warnings
from dataclasses import dataclass

import numpy as np

from core.errors import InvalidInputError
from core.flavors.keras_model import InputSpec

ALLOWED_FORMATS = ("PNG", "JPEG", "WEBP", "BMP", "GIF", "TIFF")
DEFAULT_MAX_PIXELS = 40_000_000
MAX_NORMALISE_SIDE = 256
BACKGROUND_SIDE = 32
MAX_MARGIN_SIDE = 128  # scans and thumbnails get a margin of paper; photos do not need one


def decode_image(data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS):  # -> PIL.Image.Image
    """Decode ``data`` into an RGB or L Pillow image.

    Raises:
        InvalidInputError: empty, not an image, a format outside :data:`ALLOWED_FORMATS`,
            more than ``max_pixels`` pixels, or a truncated/corrupt file.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    if not data:
        raise InvalidInputError("the image is empty (0 bytes)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS)
            width, height = img.size
            if width * height > max_pixels:
                raise InvalidInputError(
                    f"the image is {width}×{height} = {width * height:,} pixels, more than the limit of "
                    f"{max_pixels:,}; refused as a possible decompression bomb"
                )
            img.seek(0)  # GIF/TIFF: first frame only
            img.load()
            img = ImageOps.exif_transpose(img)
    except InvalidInputError:
        raise
    except UnidentifiedImageError:
        raise InvalidInputError(
            f"the file is not an image in an accepted format ({', '.join(ALLOWED_FORMATS)})"
        ) from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        # Pillow's own guard fired first (its limit is above ours): say it with our limit.
        found = re.search(r"\((\d+) pixels\)", str(exc))
        size = f"{int(found.group(1)):,} pixels" if found else "too many pixels"
        raise InvalidInputError(
            f"the image has {size}, more than the limit of {max_pixels:,}; refused as a possible decompression bomb"
        ) from None
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        raise InvalidInputError(f"the image could not be decoded (truncated or corrupt?): {exc}") from None
    return _normalise_mode(img)


def _normalise_mode(img):  # PIL.Image.Image -> PIL.Image.Image
    from PIL import Image

    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        arr = np.asarray(img, dtype="float64")
        hi = arr.max() if arr.size and arr.max() > 0 else 1.0
        return Image.fromarray((arr / hi * 255.0).clip(0, 255).astype(np.uint8), mode="L")
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))  # alpha over white
        return Image.alpha_composite(background, rgba).convert("RGB")
    if img.mode in ("L", "RGB"):
        return img
    return img.convert("RGB")  # P, CMYK, YCbCr, 1, ...


def preprocess(img, spec: InputSpec) -> np.ndarray:
    """The exact model input for ``img``: shape ``(height, width, channels)``, float32."""
    from PIL import Image, ImageOps

    if spec.normalize and spec.channels == 1:
        steps = normalise_digit(img, spec.height, spec.width, spec.fill)
        return (steps.model_input.astype("float32") / float(spec.scale))[..., None]
    img = img.convert("L" if spec.channels == 1 else "RGB")
    if spec.invert:
        img = ImageOps.invert(img)
    if spec.center:
        img = _center(img)
    img = img.resize((spec.width, spec.height), Image.Resampling.BILINEAR)
    arr = np.asarray(img, dtype="float32") / float(spec.scale)
    if spec.channels == 1:
        arr = arr[..., None]
    return arr


def _center(img):  # PIL.Image.Image -> PIL.Image.Image
    """Crop to the content's bounding box and pad it to a centred square (digit style)."""
    from PIL import Image

    arr = np.asarray(img)
    mask = arr > (arr.max() * 0.2 if arr.size else 0)
    if not mask.any():
        return img
    rows, cols = np.where(mask.any(axis=1))[0], np.where(mask.any(axis=0))[0]
    box = img.crop((cols[0], rows[0], cols[-1] + 1, rows[-1] + 1))
    side = int(max(box.size) * 1.25) + 1
    canvas = Image.new(img.mode, (side, side), 0)
    canvas.paste(box, ((side - box.size[0]) // 2, (side - box.size[1]) // 2))
    return canvas


@dataclass(frozen=True)
class DigitSteps:
    """What :func:`normalise_digit` did to one picture, step by step (each an 8-bit grey image).

    Attributes:
        gray: the picture in grey levels.
        ink: the ink alone — background and lighting subtracted, polarity made bright-on-dark.
        mask: the ink kept after Otsu's threshold and dropping specks.
        model_input: the cropped ink, scaled, centred by mass at the model's size.
        dark_ink: True when the picture had dark ink on light paper.
        found: False when no ink stood out (a blank picture); ``model_input`` is then black.
    """

    gray: np.ndarray
    ink: np.ndarray
    mask: np.ndarray
    model_input: np.ndarray
    dark_ink: bool
    found: bool


def normalise_digit(img, height: int, width: int, fill: float = 0.8) -> DigitSteps:
    """Turn a photo or scan of one handwritten character into a centred, bright-on-black model input.

    1. Grey levels; the paper and uneven lighting are estimated by a wide median filter (robust
       to the ink, which is a minority of any neighbourhood; a blur would be darkened by it and
       leave a bright halo) and subtracted.
    2. Polarity: whichever tail of the differences (0.5% at each end) reaches farther from the
       paper is the ink, darker or lighter; the ink is made bright on black either way.
    3. Otsu's threshold separates ink from what is left of the paper; connected specks smaller
       than a tenth of the largest stroke are dropped.
    4. The ink's bounding box is cropped, scaled so its longer side is ``fill`` of the frame,
       and placed so its centre of mass is the frame's centre (MNIST's convention), then
       softened slightly as scanned training digits are.
    """
    from PIL import Image
    from scipy import ndimage

    grey = img.convert("L")
    if max(grey.size) > MAX_NORMALISE_SIDE:  # a phone photo: no step needs more detail than this
        factor = MAX_NORMALISE_SIDE / max(grey.size)
        grey = grey.resize((max(1, round(grey.size[0] * factor)), max(1, round(grey.size[1] * factor))))
    grey = _with_margin(grey)
    gray = np.asarray(grey, dtype=float)
    diff = gray - _background(grey)
    # Polarity: whichever tail of the differences reaches farther from the paper is the ink. (The
    # median of the strongest 5% failed for thin strokes covering under 2% of a photo.)
    low, high = np.quantile(diff, [0.005, 0.995])
    dark_ink = bool(-low >= high)
    ink = np.clip(-diff if dark_ink else diff, 0, None)
    blank = np.zeros((height, width), dtype=np.uint8)
    if ink.max() <= 1.0:
        return DigitSteps(_u8(gray), _u8(ink), blank, blank, dark_ink, False)
    ink = ink / ink.max() * 255.0
    mask = ink > _otsu(ink)
    labels, count = ndimage.label(mask)
    sizes = ndimage.sum(mask, labels, range(1, count + 1))
    keep = np.isin(labels, 1 + np.flatnonzero(sizes >= 0.1 * sizes.max()))
    rows, cols = np.flatnonzero(keep.any(axis=1)), np.flatnonzero(keep.any(axis=0))
    crop = np.where(keep, ink, 0.0)[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    crop = crop / max(crop.max(), 1.0) * 255.0
    scale = fill * min(height, width) / max(crop.shape)
    size = (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale)))
    small = np.asarray(Image.fromarray(_u8(crop)).resize(size, Image.Resampling.LANCZOS), dtype=float)
    cy, cx = ndimage.center_of_mass(small) if small.sum() > 0 else (size[1] / 2, size[0] / 2)
    top = min(max(round(height / 2 - cy), 0), height - size[1])
    left = min(max(round(width / 2 - cx), 0), width - size[0])
    canvas = np.zeros((height, width))
    canvas[top : top + size[1], left : left + size[0]] = small
    canvas = ndimage.gaussian_filter(canvas, 0.8)
    canvas = canvas / max(canvas.max(), 1.0) * 255.0
    return DigitSteps(_u8(gray), _u8(ink), _u8(keep * 255.0), _u8(canvas), dark_ink, True)


def _with_margin(grey):  # PIL.Image.Image (L) -> PIL.Image.Image
    """A small picture on a margin of its border colour: a scan whose ink fills the frame gets room around it.

    Larger pictures (photos) are left as they are: paper already surrounds the ink there, and a
    margin of one grey would meet a lighting gradient in a step the next stage takes for ink.
    """
    from PIL import ImageOps

    if max(grey.size) > MAX_MARGIN_SIDE:
        return grey
    arr = np.asarray(grey)
    border = np.concatenate([arr[0], arr[-1], arr[:, 0], arr[:, -1]])
    pad = max(2, max(grey.size) // 4)
    return ImageOps.expand(grey, border=pad, fill=int(np.median(border)))


def _background(grey):  # PIL.Image.Image (L) -> np.ndarray
    """The paper under the ink: a median over a third of the picture, computed small and scaled back."""
    from PIL import Image
    from scipy import ndimage

    factor = BACKGROUND_SIDE / max(grey.size)
    small = grey.resize((max(1, round(grey.size[0] * factor)), max(1, round(grey.size[1] * factor))))
    paper = ndimage.median_filter(np.asarray(small, dtype=float), size=max(3, BACKGROUND_SIDE // 3), mode="nearest")
    back = Image.fromarray(np.clip(paper, 0, 255).astype(np.uint8)).resize(grey.size, Image.Resampling.BILINEAR)
    return np.asarray(back, dtype=float)


def _otsu(values: np.ndarray) -> float:
    """Otsu's threshold of 0..255 values: the cut that best separates two classes."""
    hist, edges = np.histogram(values, bins=256, range=(0, 256))
    below = np.cumsum(hist)[:-1]
    above = hist.sum() - below
    sums = np.cumsum(hist * (edges[:-1] + 0.5))
    mean_below = sums[:-1] / np.maximum(below, 1)
    mean_above = (sums[-1] - sums[:-1]) / np.maximum(above, 1)
    between = below * above * (mean_below - mean_above) ** 2
    return float(edges[int(np.argmax(between)) + 1])


def _u8(values: np.ndarray) -> np.ndarray:
    return np.clip(values, 0, 255).astype(np.uint8)
