"""Drift per segment: each arm, version or class, and each slice of a feature against its own reference.

A slice of the current data is compared with the same slice of the reference (same quantile
edges, same class): compared with the whole reference, any slice would drift by construction.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd

from core.analysis.drift import MIN_ROWS, DriftDetector

SEGMENT_COLUMNS = ["segment", "rows", "reference_rows", "drift_share", "dataset_drift", "drifted"]


def drift_by_segment(
    detector: DriftDetector, current: pd.DataFrame, segment: pd.Series, min_rows: int = MIN_ROWS
) -> pd.DataFrame:
    """Drift share per value of ``segment`` (aligned with ``current``'s rows), each against the whole reference.

    Right for segments that are not a property of the data (arm, version, time): their traffic
    should look like the reference. A slice of the data itself (a feature's quartile, a class)
    differs from the whole reference by construction; use :func:`drift_by_slice` for those.
    """
    rows = []
    for value, index in current.groupby(segment.to_numpy(), sort=True).groups.items():
        part = current.loc[index]
        rows.append(_segment_row(str(value), part, detector.n_reference_, detector if len(part) >= min_rows else None))
    return pd.DataFrame(rows, columns=SEGMENT_COLUMNS)


def drift_by_slice(
    detector: DriftDetector,
    reference: pd.DataFrame,
    current: pd.DataFrame,
    reference_segment: pd.Series,
    current_segment: pd.Series,
    order: list[str] | None = None,
    min_rows: int = MIN_ROWS,
) -> pd.DataFrame:
    """Drift per slice, each slice of ``current`` against the same slice of ``reference``.

    The segments are aligned with the frames' rows; a detector with ``detector``'s settings is fitted
    on each reference slice. Slices with fewer than ``min_rows`` rows on either side are listed, not tested.
    """
    labels = order or sorted(set(map(str, current_segment.dropna())) | set(map(str, reference_segment.dropna())))
    ref_seg = reference_segment.astype(str).to_numpy()
    cur_seg = current_segment.astype(str).to_numpy()
    rows = []
    for label in labels:
        ref_part, cur_part = reference[ref_seg == label], current[cur_seg == label]
        enough = len(ref_part) >= min_rows and len(cur_part) >= min_rows
        fitted = DriftDetector(**detector.get_params()).fit(ref_part) if enough else None
        rows.append(_segment_row(label, cur_part, len(ref_part), fitted, min_rows))
    return pd.DataFrame(rows, columns=SEGMENT_COLUMNS)


def quantile_slices(
    reference: pd.Series, current: pd.Series, quantiles: int = 4
) -> tuple[pd.Series, pd.Series, list[str]]:
    """Both columns cut at the reference's quantile edges: ``(reference labels, current labels, order)``.

    Labels read ``"≤ 6.98"``, ``"6.98–11.74"``, ``"> 17.20"``, every edge of a feature with the same
    number of decimals; the outer slices are open-ended so current values outside the reference
    range still land in the first or last slice.
    """
    edges = np.unique(np.quantile(reference.dropna().to_numpy(dtype=float), np.linspace(0, 1, quantiles + 1)))
    if len(edges) < 2:
        edges = np.array([edges[0], edges[0]])
    inner = _edge_labels(edges[1:-1])
    if len(inner) == 0:
        names = ["all"]
    else:
        names = [f"≤ {inner[0]}", *(f"{lo}–{hi}" for lo, hi in itertools.pairwise(inner)), f"> {inner[-1]}"]
    cut = np.concatenate([[-np.inf], edges[1:-1], [np.inf]]) if len(edges) > 2 else np.array([-np.inf, np.inf])

    def label(values: pd.Series) -> pd.Series:
        codes = pd.cut(values.astype(float), cut, labels=False, include_lowest=True)
        return pd.Series([names[int(c)] if not pd.isna(c) else None for c in codes], index=values.index)

    return label(reference), label(current), names


def _edge_labels(edges: np.ndarray) -> list[str]:
    """``edges`` as text with one number of decimals for all, the fewest (≥ 2 below 100) that keeps them apart."""
    if len(edges) == 0:
        return []
    largest = float(np.max(np.abs(edges)))
    for decimals in range(0 if largest >= 100 else 2, 9):
        text = [f"{e:,.{decimals}f}" for e in edges]
        if len(set(text)) == len(text):
            return text
    return [f"{e:.6g}" for e in edges]


def _segment_row(
    label: str, part: pd.DataFrame, reference_rows: int, detector: DriftDetector | None, min_rows: int = MIN_ROWS
) -> dict[str, object]:
    if detector is None:
        return {
            "segment": label,
            "rows": len(part),
            "reference_rows": reference_rows,
            "drift_share": math.nan,
            "dataset_drift": None,
            "drifted": f"too few rows (< {min_rows}) to test",
        }
    report = detector.compare(part)
    return {
        "segment": label,
        "rows": len(part),
        "reference_rows": reference_rows,
        "drift_share": report.share,
        "dataset_drift": report.dataset_drift,
        "drifted": ", ".join(report.drifted),
    }
