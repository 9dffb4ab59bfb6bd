"""Explanations of image models: shap's GradientExplainer, integrated gradients as the fallback.

TensorFlow and shap are imported inside the functions that need them.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np

from core.errors import InvalidInputError
from core.runtime.handles import ModelHandle

log = logging.getLogger(__name__)


IMAGE_METHODS = ("gradient", "integrated-gradients")


IMAGE_BACKGROUND = 50


GRADIENT_SAMPLES = 200


IG_STEPS = 64


@dataclass(frozen=True)
class ImageExplanation:
    """Per-pixel attributions of one image for every class.

    Attributes:
        image: ``(height, width, channels)`` the exact model input.
        values: ``(height, width, channels, classes)`` attributions.
        base_values: ``(classes,)`` expected output over the background (or the baseline's output).
        probabilities: ``(classes,)`` the model's output for this image.
    """

    model_name: str
    version: int
    method: str
    classes: list[str]
    image: np.ndarray
    values: np.ndarray
    base_values: np.ndarray
    probabilities: np.ndarray

    @property
    def top_class(self) -> int:
        """Index of the most probable class."""
        return int(np.argmax(self.probabilities))

    def heatmap(self, k: int) -> np.ndarray:
        """``(height, width)`` attributions to class ``k``, summed over channels."""
        return self.values[..., k].sum(axis=-1)


class ImageExplainer:
    """Explains a Keras image handle; shap's GradientExplainer, integrated gradients as the fallback."""

    def __init__(self, handle: ModelHandle, background: np.ndarray | None, method: str | None = None) -> None:
        if handle.kind != "image" or handle.input_spec is None:
            raise InvalidInputError(f"{handle.model_name} v{handle.version} is not an image model")
        if method is not None and method not in IMAGE_METHODS:
            raise InvalidInputError(f"unknown image method {method!r}; choose one of {IMAGE_METHODS}")
        spec = handle.input_spec
        shape = (spec.height, spec.width, spec.channels)
        self.handle = handle
        self.classes = list(handle.classes)
        self._lock = threading.Lock()
        self.fallback_reason = ""
        self._gradient = None
        background_given = background is not None
        if background is None:
            if method == "gradient":
                raise InvalidInputError("GradientExplainer needs reference images; this version has none")
            self.fallback_reason = "no reference images stored with this version: integrated gradients from black"
            background = np.zeros((1, *shape), dtype="float32")
        self.background = sample_rows(np.asarray(background, dtype="float32"), IMAGE_BACKGROUND)
        if background_given and method in (None, "gradient"):
            try:
                import shap

                self._gradient = shap.GradientExplainer(handle.model, self.background)
                with self._lock:  # probe once: a broken shap/TensorFlow pairing fails here, not later
                    self._gradient.shap_values(self.background[:1], nsamples=2)
            except Exception as exc:
                if method == "gradient":
                    raise InvalidInputError(f"shap's GradientExplainer failed on this model: {exc}") from exc
                self._gradient = None
                self.fallback_reason = f"GradientExplainer failed ({type(exc).__name__}: {exc})"
                log.warning("%s; using integrated gradients", self.fallback_reason)
        self.method = "gradient" if self._gradient is not None else "integrated-gradients"
        self._background_output = handle.predict_images(self.background).mean(axis=0)
        self._ig_baseline = np.zeros(self.background.shape[1:], dtype="float32")
        self._ig_baseline_output = handle.predict_images(self._ig_baseline[None])[0]

    def explain(self, batch: np.ndarray) -> list[ImageExplanation]:
        """Attributions of each preprocessed image in ``batch`` (``(n, h, w, c)``) for every class."""
        x = np.asarray(batch, dtype="float32")
        expected = self.background.shape[1:]
        if x.ndim != 4 or x.shape[1:] != expected:
            raise InvalidInputError(f"expected images of shape {expected}, got {x.shape[1:]}")
        proba = self.handle.predict_images(x)
        if self._gradient is not None:
            with self._lock:
                values = np.asarray(self._gradient.shap_values(x, nsamples=GRADIENT_SAMPLES), dtype="float64")
            base = self._background_output
        else:
            values = integrated_gradients(self.handle.model, x, self._ig_baseline, IG_STEPS)
            base = self._ig_baseline_output
        if values.ndim == 4:  # one output unit
            values = values[..., None]
        h = self.handle
        return [
            ImageExplanation(h.model_name, h.version, self.method, self.classes, x[i], values[i], base, proba[i])
            for i in range(len(x))
        ]


def integrated_gradients(model: Any, x: np.ndarray, baseline: np.ndarray, steps: int = IG_STEPS) -> np.ndarray:
    """Integrated gradients of every output unit: ``(n, h, w, c, classes)``.

    The path integral from ``baseline`` to each image uses the trapezoid rule over ``steps``
    intervals; attributions of a class sum to its output at the image minus at the baseline
    (completeness), up to the discretisation error.
    """
    import tensorflow as tf

    alphas = tf.reshape(tf.linspace(0.0, 1.0, steps + 1), (-1, 1, 1, 1))
    base = tf.convert_to_tensor(baseline[None], dtype=tf.float32)
    results = []
    for image in x:
        target = tf.convert_to_tensor(image[None], dtype=tf.float32)
        path = base + alphas * (target - base)
        with tf.GradientTape() as tape:
            tape.watch(path)
            out = model(path, training=False)
        # One jacobian per class: d out[:, k] / d path, averaged along the path (trapezoid).
        jac = tape.batch_jacobian(out, path)  # (steps+1, classes, h, w, c)
        grads = (jac[:-1] + jac[1:]) / 2.0
        avg = tf.reduce_mean(grads, axis=0)  # (classes, h, w, c)
        attr = avg * (target[0] - base[0])[None]
        results.append(np.moveaxis(attr.numpy().astype("float64"), 0, -1))
    return np.stack(results)


def sample_rows(rows: np.ndarray, limit: int) -> np.ndarray:
    if len(rows) <= limit:
        return rows
    pick = np.random.default_rng(0).choice(len(rows), size=limit, replace=False)
    return rows[np.sort(pick)]
