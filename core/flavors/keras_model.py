"""Keras models in the registry: logged with ``mlflow.tensorflow`` plus our input spec.

TensorFlow is imported inside functions only, so pages that never touch a Keras model
never pay for it.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from core import names


@dataclass(frozen=True)
class InputSpec:
    """How raw images become the model's input tensor.

    Attributes:
        height, width: Spatial size the model expects.
        channels: 1 (grayscale) or 3 (RGB).
        scale: Pixel values are divided by this (255 maps 0..255 to 0..1).
        invert: Invert the grayscale image first (dark ink on light paper -> light on dark).
        center: Centre the content by its bounding box before resizing (digit-style models).
        class_names: Label of each output unit, in order.
        normalize: Digit-style normalisation (:func:`core.runtime.images.normalise_digit`): lighting
            and paper removed, polarity detected (``invert`` is then ignored), the ink cropped,
            centred by mass and scaled so its longer side fills ``fill`` of the frame — bright ink
            on black, the way the model was trained. Photos and white-on-black scans alike.
        fill: Share of the frame the ink's longer side fills after ``normalize``.
    """

    height: int
    width: int
    channels: int
    scale: float = 255.0
    invert: bool = False
    center: bool = False
    class_names: list[str] = field(default_factory=list)
    normalize: bool = False
    fill: float = 0.8

    def to_json(self) -> str:
        """The spec as JSON text."""
        return json.dumps(asdict(self), indent=2)

    @classmethod
    def from_json(cls, text: str) -> InputSpec:
        """Parse a spec written by :meth:`to_json`."""
        data = json.loads(text)
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


def log_model(model: Any, spec: InputSpec, *, name: str = "model", **kwargs: Any) -> Any:
    """Log a Keras model and its input spec into the active run; returns MLflow's ModelInfo."""
    import mlflow
    import mlflow.tensorflow

    info = mlflow.tensorflow.log_model(model, name=name, **kwargs)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / names.INPUT_SPEC_FILE
        path.write_text(spec.to_json())
        mlflow.log_artifact(str(path))
    return info
