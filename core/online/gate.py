"""The gate an online candidate passes before it becomes a version: held-out accuracy against the champion."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


def holdout_metrics(proba: np.ndarray, classes: list[Any], truth: np.ndarray) -> dict[str, float]:
    """Accuracy (and F1 / ROC AUC for binary models) of class probabilities on held-out labels."""
    from sklearn.metrics import accuracy_score, f1_score, roc_auc_score

    predicted = np.asarray(classes)[np.argmax(proba, axis=1)]
    metrics = {"accuracy": float(accuracy_score(truth, predicted))}
    if len(classes) == 2 and len(set(truth.tolist())) == 2:
        metrics["f1"] = float(f1_score(truth, predicted, pos_label=classes[1]))
        metrics["roc_auc"] = float(roc_auc_score(truth == classes[1], proba[:, 1]))
    return metrics


@dataclass(frozen=True)
class GateDecision:
    """What the gate said about one candidate."""

    accepted: bool
    candidate_accuracy: float
    champion_accuracy: float
    champion_version: int
    margin_points: float
    rows: int
    reason: str
    metrics: dict[str, float] = field(default_factory=dict)
    #: What ``candidate_accuracy``/``champion_accuracy`` hold: ``accuracy`` (higher is better) or, for a
    #: regressor, ``mae`` (lower is better; ``margin_points`` is then a percentage of the champion's MAE).
    metric: str = "accuracy"


def gate(
    candidate_accuracy: float, champion_accuracy: float, champion_version: int, margin_points: float, rows: int
) -> GateDecision:
    """Accept a candidate not worse than the champion by more than ``margin_points``."""
    gap = 100.0 * (candidate_accuracy - champion_accuracy)
    accepted = gap >= -margin_points - 1e-9
    verdict = "passes" if accepted else "fails"
    reason = (
        f"candidate accuracy {candidate_accuracy:.4f} vs champion v{champion_version} {champion_accuracy:.4f} "
        f"({gap:+.2f} points, allowed −{margin_points:g}): {verdict} the gate after {rows} rows"
    )
    return GateDecision(accepted, candidate_accuracy, champion_accuracy, champion_version, margin_points, rows, reason)


def regression_metrics(predicted: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """MAE and RMSE of a regressor's predictions on held-out labels."""
    error = np.asarray(predicted, dtype="float64") - np.asarray(truth, dtype="float64")
    return {"mae": float(np.abs(error).mean()), "rmse": float(np.sqrt((error**2).mean()))}


def regression_gate(
    candidate_mae: float, champion_mae: float, champion_version: int, margin_percent: float, rows: int
) -> GateDecision:
    """Accept a regressor candidate whose MAE is at most ``margin_percent`` % above the champion's."""
    change = 100.0 * (candidate_mae - champion_mae) / champion_mae if champion_mae > 0 else 0.0
    accepted = change <= margin_percent + 1e-9
    verdict = "passes" if accepted else "fails"
    reason = (
        f"candidate MAE {candidate_mae:.4g} vs champion v{champion_version} {champion_mae:.4g} "
        f"({change:+.2f}%, allowed +{margin_percent:g}%): {verdict} the gate after {rows} rows"
    )
    return GateDecision(
        accepted, candidate_mae, champion_mae, champion_version, margin_percent, rows, reason, metric="mae"
    )
