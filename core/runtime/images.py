"""Safe image decoding and preprocessing to a model's input spec.

Decoding is hostile-file safe: an allow-list of formats, a pixel limit checked from the
header before any pixel is decoded (decompression bombs are refused, not warned about),
EXIF orientation applied, and palette/CMYK/16-bit/alpha modes converted explicitly.
"""

from __future__ import annotations

import io
import re
import warnings

import numpy as np

from core.errors import InvalidInputError
from core.flavors.keras_model import InputSpec

ALLOWED_FORMATS = ("PNG", "JPEG", "WEBP", "BMP", "GIF", "TIFF")
DEFAULT_MAX_PIXELS = 40_000_000


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
