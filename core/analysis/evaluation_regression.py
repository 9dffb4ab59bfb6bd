"""How good a regressor is: on its held-out data and on live labelled traffic, side by side.

The views regression users expect from MLflow's evaluator and explainerdashboard's regression tab:
MAE, RMSE, R² and the mean error (bias), predicted against actual, and the distribution of the
errors with its quantiles.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.errors import InvalidInputError
from core.names import TARGET
from core.registry.facade import Registry
from core.registry.reference import load_version_frame
from core.runtime.handles import REGRESSION, ModelHandle
from core.runtime.tabular import is_typed
from core.store.db import Store
from core.store.log_reads import labelled_values

QUANTILES = (0.5, 0.8, 0.9, 0.95, 0.99)


@dataclass(frozen=True)
class RegressionEvaluation:
    """One regressor judged on one set of labelled rows.

    Attributes:
        source: ``held-out`` or ``live``.
        bias: mean of ``predicted - actual`` (positive: the model predicts too high).
        points: ``actual, predicted, error`` per row.
        error_quantiles: ``quantile, absolute_error`` at :data:`QUANTILES`.
    """

    source: str
    rows: int
    mae: float
    rmse: float
    r2: float
    bias: float
    points: pd.DataFrame
    error_quantiles: pd.DataFrame


def evaluate_regression(actual: list[float] | np.ndarray, predicted: np.ndarray, source: str) -> RegressionEvaluation:
    """Errors of ``predicted`` against ``actual`` (same length, finite numbers).

    Raises:
        InvalidInputError: no rows, different lengths, or values that are not finite numbers.
    """
    y = np.asarray(actual, dtype="float64")
    p = np.asarray(predicted, dtype="float64")
    if y.shape != p.shape or y.ndim != 1:
        raise InvalidInputError(f"{len(y)} labels for {len(p)} predictions")
    if not len(y):
        raise InvalidInputError("no labelled rows to evaluate")
    if not (np.isfinite(y).all() and np.isfinite(p).all()):
        raise InvalidInputError("labels and predictions must be finite numbers")
    error = p - y
    total = float(((y - y.mean()) ** 2).sum())
    r2 = 1.0 - float((error**2).sum()) / total if total > 0 else float("nan")
    quantiles = pd.DataFrame(
        {"quantile": list(QUANTILES), "absolute_error": np.quantile(np.abs(error), QUANTILES).tolist()}
    )
    return RegressionEvaluation(
        source=source,
        rows=len(y),
        mae=float(np.abs(error).mean()),
        rmse=float(np.sqrt((error**2).mean())),
        r2=r2,
        bias=float(error.mean()),
        points=pd.DataFrame({"actual": y, "predicted": p, "error": error}),
        error_quantiles=quantiles,
    )


def holdout_regression(registry: Registry, handle: ModelHandle) -> RegressionEvaluation:
    """A regressor's version on the held-out frame stored with it.

    Raises:
        InvalidInputError: not a regressor, or the version has no held-out data.
    """
    if handle.task != REGRESSION:
        raise InvalidInputError(f"{handle.model_name} v{handle.version} is not a regressor")
    frame = load_version_frame(registry, handle.model_name, handle.version, "holdout")
    actual = pd.to_numeric(frame.pop(TARGET), errors="coerce").to_numpy(dtype="float64")
    columns = [c.name for c in handle.columns]
    matrix = frame[columns].to_numpy(dtype=object if is_typed(handle.columns) else "float64")
    keep = np.isfinite(actual)
    return evaluate_regression(actual[keep], handle.predict_values(matrix)[keep], "held-out")


def live_regression(store: Store, handle: ModelHandle) -> RegressionEvaluation | None:
    """A regressor's version on the requests it served that got a numeric label (``None`` before any)."""
    actual, predicted = labelled_values(store, handle.model_name, handle.version)
    if not actual:
        return None
    return evaluate_regression(actual, np.asarray(predicted), "live")
