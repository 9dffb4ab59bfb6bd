"""Classify images with a loaded model version: one pipeline for the page and the API.

Each file is decoded and preprocessed on its own (a bad file gets its own message and never
stops the batch); the good ones go through the model in batched direct calls.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from core.errors import InvalidInputError
from core.runtime.handles import ModelHandle
from core.runtime.images import DEFAULT_MAX_PIXELS, decode_image, preprocess

BATCH_SIZE = 32


@dataclass
class ImageResult:
    """What happened to one file: its decoded image, the exact model input, probabilities or an error."""

    name: str
    error: str | None = None
    original: Any = None  # PIL.Image.Image
    model_input: np.ndarray | None = None
    probabilities: np.ndarray | None = None
    classes: list[str] = field(default_factory=list)
    ood_score: float | None = None  # distance to the training pictures ÷ threshold (core.runtime.ood)

    @property
    def unlike_training(self) -> bool:
        """True when the out-of-distribution check flags the picture (False without a check)."""
        return self.ood_score is not None and self.ood_score > 1.0

    @property
    def ok(self) -> bool:
        """True when the file was classified."""
        return self.error is None and self.probabilities is not None

    def top_k(self, k: int = 5) -> list[tuple[str, float]]:
        """The ``k`` most probable classes, most probable first."""
        if self.probabilities is None:
            return []
        order = np.argsort(self.probabilities)[::-1][:k]
        return [(self.classes[i], float(self.probabilities[i])) for i in order]


def prepare(name: str, data: bytes, handle: ModelHandle, max_pixels: int = DEFAULT_MAX_PIXELS) -> ImageResult:
    """Decode and preprocess one file for ``handle`` (errors are kept on the result)."""
    if handle.input_spec is None:
        raise InvalidInputError(
            f"{handle.model_name} v{handle.version} is not an image model; use the predict route for tabular rows"
        )
    result = ImageResult(name=name, classes=list(handle.classes))
    try:
        result.original = decode_image(data, max_pixels=max_pixels)
        result.model_input = preprocess(result.original, handle.input_spec)
    except InvalidInputError as exc:
        result.error = str(exc)
    return result


def classify_images(
    handle: ModelHandle,
    files: Sequence[tuple[str, bytes]],
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    batch_size: int = BATCH_SIZE,
    progress: Callable[[int, int], None] | None = None,
) -> list[ImageResult]:
    """Classify ``files`` (name, bytes) with ``handle``; one result per file, in order.

    ``progress(done, total)`` is called as files are prepared and batches predicted.
    """
    total = len(files)
    results = []
    for i, (name, data) in enumerate(files):
        results.append(prepare(name, data, handle, max_pixels))
        if progress:
            progress(i + 1, total * 2)
    ready = [r for r in results if r.model_input is not None]
    for start in range(0, len(ready), batch_size):
        chunk = ready[start : start + batch_size]
        batch = np.stack([r.model_input for r in chunk]).astype("float32")
        proba = handle.predict_images(batch)
        scores = handle.ood_scores(batch)
        for j, (r, p) in enumerate(zip(chunk, proba, strict=True)):
            r.probabilities = p
            r.ood_score = None if scores is None else float(scores[j])
        if progress:
            progress(total + min(start + batch_size, len(ready)) * total // max(len(ready), 1), total * 2)
    if progress:
        progress(total * 2, total * 2)
    return results


def results_frame(results: Sequence[ImageResult], k: int = 3) -> pd.DataFrame:
    """One row per file: the top-``k`` classes and probabilities, or the error."""
    rows = []
    for r in results:
        row: dict[str, Any] = {"file": r.name, "status": "ok" if r.ok else "error"}
        top = r.top_k(k)
        for i in range(k):
            row[f"top{i + 1}"] = top[i][0] if i < len(top) else None
            row[f"p{i + 1}"] = round(top[i][1], 6) if i < len(top) else None
        row["unlike training"] = r.unlike_training if r.ok and r.ood_score is not None else None
        row["ood score"] = None if r.ood_score is None else round(r.ood_score, 2)
        row["error"] = r.error or ""
        rows.append(row)
    tops = [c for i in range(k) for c in (f"top{i + 1}", f"p{i + 1}")]
    columns = ["file", "status", *tops, "unlike training", "ood score", "error"]
    return pd.DataFrame(rows, columns=columns)


def comparison_frame(results_by_version: dict[int, Sequence[ImageResult]], k: int = 3) -> pd.DataFrame:
    """:func:`results_frame` for one version, or side by side (``v2 top1``, ``v1 top1``, ...) for several."""
    if len(results_by_version) == 1:
        return results_frame(next(iter(results_by_version.values())), k)
    table = None
    for version, results in results_by_version.items():
        frame = results_frame(results, k).set_index(["file", "status", "error"])
        frame.columns = [f"v{version} {c}" for c in frame.columns]
        table = frame if table is None else table.join(frame)
    assert table is not None
    return table.reset_index()
