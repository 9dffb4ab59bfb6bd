"""Tables of registry reads for pages and reports: versions with their metrics, alias history."""

from __future__ import annotations

from typing import Any

import pandas as pd

from core import names
from core.registry.types import VersionInfo
from core.store.db import AliasMove

#: Held-out metrics shown and compared wherever versions are compared (higher is better).
HEADLINE_METRICS = ("accuracy", "f1", "roc_auc", "mae", "rmse")
#: Held-out metrics where lower is better (a regressor's errors).
LOWER_IS_BETTER = frozenset({"mae", "rmse"})


def versions_frame(versions: list[VersionInfo]) -> pd.DataFrame:
    """A table of versions: one row each, metrics as columns, aliases as text."""
    metric_keys = sorted({k for v in versions for k in v.metrics})
    rows = []
    for v in versions:
        row: dict[str, Any] = {
            "version": v.version,
            "aliases": ", ".join(v.aliases),
            "created": v.created_at,
            "kind": v.tags.get(names.TAG_KIND, ""),
            "onnx": v.tags.get("modelops.onnx.status", ""),
        }
        row.update({k: v.metrics.get(k) for k in metric_keys})
        row["run_id"] = v.run_id
        rows.append(row)
    columns = ["version", "aliases", "created", "kind", "onnx", *metric_keys, "run_id"]
    return pd.DataFrame(rows, columns=columns)


def matching(versions: list[VersionInfo], query: str) -> list[VersionInfo]:
    """The versions whose number, aliases, description, tags or run id contain ``query`` (any case).

    Words are matched separately and all must appear (``"forest champion"``); ``v3`` finds version 3.
    """
    words = query.lower().split()
    if not words:
        return list(versions)

    def text(v: VersionInfo) -> str:
        tags = " ".join(f"{k} {val}" for k, val in v.tags.items())
        return f"v{v.version} {' '.join(v.aliases)} {v.description} {tags} {v.run_id}".lower()

    return [v for v in versions if all(w in text(v) for w in words)]


def compare_defaults(numbers: list[int], champion: int | None, challenger: int | None) -> tuple[int, int]:
    """Versions to compare first, ``(A, B)`` with A ≠ B: the challenger (else the newest other) against the champion.

    ``numbers`` are the model's versions (at least two), in any order.
    """
    b = champion if champion in numbers else max(numbers)
    others = [n for n in numbers if n != b]
    a = challenger if challenger in others else max(others)
    return a, b


def history_frame(moves: list[AliasMove]) -> pd.DataFrame:
    """A table of alias moves, newest first."""
    return pd.DataFrame(
        [
            {
                "when": m.at,
                "model": m.model,
                "alias": m.alias,
                "from": f"v{m.from_version}" if m.from_version is not None else "—",
                "to": f"v{m.to_version}",
                "action": m.action,
                "who": m.actor,
                "reason": m.reason,
            }
            for m in moves
        ],
        columns=["when", "model", "alias", "from", "to", "action", "who", "reason"],
    )


def metric_regressions(
    new: VersionInfo, current: VersionInfo | None, metrics: tuple[str, ...] = HEADLINE_METRICS
) -> list[str]:
    """Held-out metrics on which ``new`` is worse than ``current``, in words (empty when none is).

    ``["accuracy 0.888 < 0.944 (v3)"]`` for a promotion that would lower accuracy, ``["mae 47.1 > 43.2
    (v1)"]`` for one that would raise a regressor's error. Metrics either version did not log are not compared.
    """
    if current is None or current.version == new.version:
        return []
    worse = []
    for m in metrics:
        if m not in new.metrics or m not in current.metrics:
            continue
        a, b = new.metrics[m], current.metrics[m]
        if m in LOWER_IS_BETTER and a > b + 1e-12:
            worse.append(f"{m} {a:.3f} > {b:.3f} (v{current.version})")
        elif m not in LOWER_IS_BETTER and a < b - 1e-12:
            worse.append(f"{m} {a:.3f} < {b:.3f} (v{current.version})")
    return worse


def run_url(ui_url: str, version: VersionInfo) -> str | None:
    """The MLflow UI page of the run that logged ``version`` (``None`` without a run)."""
    if not version.run_id:
        return None
    if version.experiment_id is None:
        return f"{ui_url}/#/models/{version.model}/versions/{version.version}"
    return f"{ui_url}/#/experiments/{version.experiment_id}/runs/{version.run_id}"
