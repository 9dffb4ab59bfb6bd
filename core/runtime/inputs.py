"""Model-input tensors from the data stored with a version."""

from __future__ import annotations

from typing import Protocol

import numpy as np
import pandas as pd
from PIL import Image

from core.errors import InvalidInputError
from core.flavors.keras_model import InputSpec
from core.runtime.images import preprocess


class HasInputSpec(Protocol):
    """Anything with an image input spec (a :class:`~core.runtime.handles.ModelHandle`)."""

    input_spec: InputSpec | None


def reference_tensor(frame: pd.DataFrame, handle: HasInputSpec) -> np.ndarray:
    """Model-input images ``(n, h, w, c)`` from a demo-style reference frame (``pixels`` bytes).

    With a ``normalize`` spec every stored image goes through the same preprocessing a served one
    does (export and explanations fed the raw pixels, and reported 78% for a 93% model).
    """
    spec = handle.input_spec
    if spec is None or "pixels" not in frame.columns:
        raise InvalidInputError("the reference data holds no images (a 'pixels' column)")
    return frame_images(frame, spec)


def frame_images(frame: pd.DataFrame, spec: InputSpec) -> np.ndarray:
    """The ``pixels`` of a reference frame as model inputs for ``spec`` (see :func:`reference_tensor`)."""
    images = []
    for p, h, w in zip(frame["pixels"], frame["height"], frame["width"], strict=True):
        arr = np.frombuffer(p, dtype=np.uint8).reshape(int(h), int(w), -1)
        if spec.normalize:
            picture = Image.fromarray(arr[..., 0] if arr.shape[-1] == 1 else arr)
            images.append(preprocess(picture, spec) * spec.scale)
            continue
        if arr.shape != (spec.height, spec.width, spec.channels):
            raise InvalidInputError(
                f"reference images are {arr.shape}, the model expects {(spec.height, spec.width, spec.channels)}"
            )
        images.append(arr)
    return np.stack(images).astype("float32") / spec.scale
