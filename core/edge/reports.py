"""Tables of TFLite builds: the report card, per-class changes, the builds of many versions."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from core.runtime.tflite import BuildReport, builds_in_tags


def report_frame(reports: Sequence[BuildReport]) -> Any:
    """The report card as a table: one row per build."""
    import pandas as pd

    rows = [
        {
            "build": r.key,
            "gate": "accepted" if r.accepted else "rejected",
            "size (KiB)": round(r.size_bytes / 1024, 1),
            "size vs Keras": round(r.size_ratio, 3),
            "LiteRT (ms)": round(r.tflite_ms, 3),
            "Keras graph (ms)": round(r.keras_ms, 3),
            "latency ratio": round(r.latency_ratio, 3),
            "accuracy": round(r.accuracy, 4),
            "change (points)": round(r.accuracy_change, 2),
            "top-1 agreement": round(r.agreement, 4),
            "max prob diff": float(f"{r.max_probability_diff:.3g}"),
            "reason": r.reason,
        }
        for r in reports
    ]
    return pd.DataFrame(rows)


def per_class_frame(reports: Sequence[BuildReport]) -> Any:
    """Per-class accuracy change in points: one row per class, one column per build."""
    import pandas as pd

    return pd.DataFrame({r.key: r.per_class_change for r in reports}).rename_axis("class").reset_index()


def builds_frame(versions: Sequence[Any]) -> Any:
    """Every stored build of the given versions (``VersionInfo``-like, with ``tags``), from their tags."""
    import pandas as pd

    rows = []
    for v in versions:
        for key, summary in sorted(builds_in_tags(v.tags).items()):
            rows.append(
                {
                    "version": v.version,
                    "build": key,
                    "gate": "accepted" if summary.get("accepted") else "rejected",
                    "size (KiB)": round(summary.get("size_bytes", 0) / 1024, 1),
                    "size vs Keras": summary.get("size_ratio"),
                    "accuracy change (points)": summary.get("accuracy_change"),
                    "top-1 agreement": summary.get("agreement"),
                    "latency ratio": summary.get("latency_ratio"),
                }
            )
    columns = [
        "version",
        "build",
        "gate",
        "size (KiB)",
        "size vs Keras",
        "accuracy change (points)",
        "top-1 agreement",
        "latency ratio",
    ]
    return pd.DataFrame(rows, columns=columns)
