"""Prediction (output) drift: what a version predicts on its reference rows against what was served.

For a classifier the class mix (chi-square or Jensen–Shannon, like a categorical feature), for a
regressor the predicted values (the numeric tests of the feature drift). Output drift often shows
first when inputs move in ways the per-feature tests spread thin, and it needs no labels.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.analysis.drift import DriftDetector, DriftReport
from core.errors import InvalidInputError
from core.runtime.handles import REGRESSION, ModelHandle
from core.runtime.tabular import is_typed

PREDICTION = "prediction"
#: Reference rows scored at most, sampled (a regressor's or classifier's call is fast; this bounds the page).
MAX_REFERENCE_ROWS = 5_000


def reference_predictions(handle: ModelHandle, reference: pd.DataFrame) -> pd.Series:
    """``handle``'s predictions on its reference rows: class labels (as text) or numbers.

    Raises:
        InvalidInputError: the reference lacks the model's columns, or the model is not tabular.
    """
    if handle.kind != "tabular":
        raise InvalidInputError(f"{handle.model_name} v{handle.version} is not a tabular model")
    names = [c.name for c in handle.columns]
    missing = [n for n in names if n not in reference.columns]
    if missing:
        raise InvalidInputError(f"the reference data lacks the model's features {missing[:5]}")
    rows = reference[names]
    if len(rows) > MAX_REFERENCE_ROWS:
        rows = rows.sample(MAX_REFERENCE_ROWS, random_state=0)
    matrix = rows.to_numpy(dtype=object if is_typed(handle.columns) else "float64")
    if handle.task == REGRESSION:
        return pd.Series(handle.predict_values(matrix), name=PREDICTION)
    proba = handle.predict_proba(matrix)
    return pd.Series([str(handle.classes[i]) for i in proba.argmax(axis=1)], name=PREDICTION)


def served_predictions(predicted: pd.Series, task: str) -> pd.Series:
    """The logged ``predicted`` column as the reference's type: numbers for a regressor, labels as text."""
    if task == REGRESSION:
        values = pd.to_numeric(predicted, errors="coerce")
        return values[np.isfinite(values)].rename(PREDICTION).reset_index(drop=True)
    return predicted.dropna().astype(str).rename(PREDICTION).reset_index(drop=True)


def prediction_drift(
    reference: pd.Series, current: pd.Series, numeric_test: str = "auto", categorical_test: str = "chi2"
) -> DriftReport:
    """Drift of the prediction distribution: one "feature", ``prediction``, tested like the inputs.

    Raises:
        InvalidInputError: no reference or no current predictions, or an unknown test.
    """
    if reference.empty:
        raise InvalidInputError("no reference predictions to compare with")
    if current.empty:
        raise InvalidInputError("no served predictions in this window")
    detector = DriftDetector(numeric_test=numeric_test, categorical_test=categorical_test)
    detector.fit(reference.rename(PREDICTION).to_frame())  # labels are text: categorical; numbers: numeric
    return detector.compare(current.rename(PREDICTION).to_frame())
