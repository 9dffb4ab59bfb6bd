"""Image drift: simple image statistics, and the CNN's penultimate-layer embeddings (MMD).

Statistics (brightness, contrast, sharpness) are taken on the model input — the image after
the version's preprocessing, at the model's size — and go through the tabular
:class:`~core.drift.DriftDetector`. The uploaded size is recorded but not tested: the model
resizes every image, so a 600×800 photo against 28×28 scans is not drift the model feels.
Embeddings are compared with the maximum mean discrepancy under an RBF kernel, its p-value
from a permutation test.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from core.analysis.drift import DriftDetector, DriftReport
from core.errors import InvalidInputError
from core.runtime.images import preprocess
from core.store.db import Store
from core.store.log_reads import logged_input_fields

#: Tested statistics of the model input (0..255 grey levels at the model's size).
STAT_COLUMNS = ("input_brightness", "input_contrast", "input_sharpness")
#: The uploaded image's size: shown, not tested (the model resizes every image).
SIZE_COLUMNS = ("width", "height")


def input_stats(model_input: np.ndarray, scale: float = 255.0) -> dict[str, float]:
    """Brightness (mean), contrast (std) and sharpness (variance of the Laplacian) of a model input.

    ``model_input`` is ``(height, width, channels)`` as the model receives it, divided by
    ``scale``; the statistics are in grey levels (0..255) so they read like an image's.
    """
    gray = np.asarray(model_input, dtype=float).mean(axis=-1) * scale
    lap = -4 * gray[1:-1, 1:-1] + gray[:-2, 1:-1] + gray[2:, 1:-1] + gray[1:-1, :-2] + gray[1:-1, 2:]
    return {
        "input_brightness": float(gray.mean()),
        "input_contrast": float(gray.std()),
        "input_sharpness": float(lap.var()) if lap.size else 0.0,
    }


def image_stats(image: Any, spec: Any) -> dict[str, float]:
    """:func:`input_stats` of a PIL image preprocessed by ``spec``, and its uploaded size."""
    stats = input_stats(preprocess(image, spec), spec.scale)
    return {**stats, "width": float(image.size[0]), "height": float(image.size[1])}


def stats_frame(images: list[Any], spec: Any) -> pd.DataFrame:
    """:func:`image_stats` of each image, one row each."""
    return pd.DataFrame([image_stats(img, spec) for img in images], columns=[*STAT_COLUMNS, *SIZE_COLUMNS])


def embed(model: Any, batch: np.ndarray) -> np.ndarray:
    """Penultimate-layer outputs of a Keras classifier for preprocessed images."""
    import keras

    if len(model.layers) < 2:
        raise InvalidInputError("the model has no penultimate layer to take embeddings from")
    extractor = keras.Model(inputs=model.inputs, outputs=model.layers[-2].output)
    out = np.asarray(extractor(batch.astype("float32"), training=False))
    return out.reshape(len(batch), -1)


def mmd2(x: np.ndarray, y: np.ndarray, gamma: float) -> float:
    """Unbiased squared MMD between samples ``x`` and ``y`` with kernel exp(-gamma·|a-b|²)."""
    k = _rbf(np.vstack([x, y]), gamma)
    return _mmd2_from_kernel(k, len(x))


def _rbf(z: np.ndarray, gamma: float) -> np.ndarray:
    sq = np.sum(z * z, axis=1)
    d2 = np.maximum(sq[:, None] + sq[None, :] - 2 * z @ z.T, 0)
    return np.exp(-gamma * d2)


def _mmd2_from_kernel(k: np.ndarray, n: int) -> float:
    m = len(k) - n
    kxx, kyy, kxy = k[:n, :n], k[n:, n:], k[:n, n:]
    return float(
        (kxx.sum() - np.trace(kxx)) / (n * (n - 1)) + (kyy.sum() - np.trace(kyy)) / (m * (m - 1)) - 2 * kxy.mean()
    )


@dataclass(frozen=True)
class MMDResult:
    """Embedding drift: the statistic, its permutation p-value and the verdict at ``alpha``."""

    mmd2: float
    p_value: float
    alpha: float

    @property
    def drifted(self) -> bool:
        """True when the permutation p-value is below ``alpha``."""
        return self.p_value < self.alpha


def mmd_test(x: np.ndarray, y: np.ndarray, permutations: int = 200, alpha: float = 0.05, seed: int = 0) -> MMDResult:
    """MMD two-sample test (median-heuristic bandwidth, permutation p-value)."""
    if len(x) < 2 or len(y) < 2:
        raise InvalidInputError("the MMD test needs at least 2 images on each side")
    z = np.vstack([x, y]).astype(float)
    sample = z[np.random.default_rng(seed).choice(len(z), min(len(z), 500), replace=False)]
    d2 = np.sum((sample[:, None, :] - sample[None, :, :]) ** 2, axis=-1)
    median = np.median(d2[d2 > 0]) if np.any(d2 > 0) else 1.0
    k = _rbf(z, 1.0 / median)
    n = len(x)
    observed = _mmd2_from_kernel(k, n)
    rng = np.random.default_rng(seed)
    exceed = 0
    for _ in range(permutations):
        perm = rng.permutation(len(z))
        exceed += _mmd2_from_kernel(k[np.ix_(perm, perm)], n) >= observed
    return MMDResult(observed, (exceed + 1) / (permutations + 1), alpha)


class ImageDriftDetector:
    """Fit on reference images once; compare uploaded or served images against them.

    Args:
        max_reference: reference images kept for the embedding test (a random subset).
    """

    def __init__(self, max_reference: int = 300, permutations: int = 200, seed: int = 0) -> None:
        self.max_reference = max_reference
        self.permutations = permutations
        self.seed = seed

    def fit(self, images: list[Any], handle: Any) -> ImageDriftDetector:
        """Learn the statistics and embeddings of reference ``images`` (PIL) for ``handle``'s model."""

        if not images:
            raise InvalidInputError("no reference images")
        self.reference_stats_ = stats_frame(images, handle.input_spec)
        self.stats_ = DriftDetector().fit(self.reference_stats_[list(STAT_COLUMNS)])
        rng = np.random.default_rng(self.seed)
        keep = rng.choice(len(images), min(len(images), self.max_reference), replace=False)
        self.handle_ = handle
        batch = np.stack([preprocess(images[i], handle.input_spec) for i in keep])
        self.embeddings_ = embed(handle.model, batch)
        return self

    def compare_stats(self, images: list[Any]) -> DriftReport:
        """Drift of the model-input statistics of ``images``."""
        return self.stats_.compare(stats_frame(images, self.handle_.input_spec)[list(STAT_COLUMNS)])

    def compare_embeddings(self, images: list[Any]) -> MMDResult:
        """MMD test of the penultimate-layer embeddings."""

        batch = np.stack([preprocess(img, self.handle_.input_spec) for img in images])
        return mmd_test(self.embeddings_, embed(self.handle_.model, batch), self.permutations, seed=self.seed)


def reference_images(frame: pd.DataFrame, invert: bool = False) -> list[Any]:
    """PIL images from a reference frame written by the demo (``pixels``, ``height``, ``width``).

    The demo stores pixels as the model sees them; with ``invert`` (the version's spec
    inverts uploads) they are turned back into what a user would upload.
    """
    from PIL import Image

    images = []
    for p, h, w in zip(frame["pixels"], frame["height"], frame["width"], strict=True):
        arr = np.frombuffer(p, dtype=np.uint8).reshape(h, w)
        images.append(Image.fromarray(255 - arr if invert else arr, "L"))
    return images


def logged_image_stats(store: Store, model: str, limit: int = 1000) -> pd.DataFrame:
    """Image statistics the classify route logged for ``model`` (newest ``limit`` requests)."""
    return logged_input_fields(store, model, (*STAT_COLUMNS, *SIZE_COLUMNS), limit)
