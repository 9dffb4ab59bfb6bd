"""A regressor judged by its errors: the numbers match scikit-learn's, bad input is named."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import mean_absolute_error, r2_score, root_mean_squared_error

from core.analysis.evaluation_regression import evaluate_regression
from core.errors import InvalidInputError


def test_the_figures_are_scikit_learns() -> None:
    rng = np.random.default_rng(3)
    actual = rng.normal(150, 60, 500)
    predicted = actual + rng.normal(5, 30, 500)
    ev = evaluate_regression(actual, predicted, "held-out")
    assert ev.rows == 500 and ev.source == "held-out"
    assert ev.mae == pytest.approx(mean_absolute_error(actual, predicted), rel=1e-12)
    assert ev.rmse == pytest.approx(root_mean_squared_error(actual, predicted), rel=1e-12)
    assert ev.r2 == pytest.approx(r2_score(actual, predicted), rel=1e-12)
    assert ev.bias == pytest.approx(float(np.mean(predicted - actual)), rel=1e-12) and 2 < ev.bias < 8
    median = ev.error_quantiles.set_index("quantile").loc[0.5, "absolute_error"]
    assert median == pytest.approx(float(np.median(np.abs(predicted - actual))))
    assert list(ev.points.columns) == ["actual", "predicted", "error"]


@pytest.mark.parametrize(
    ("actual", "predicted", "message"),
    [
        ([], [], "no labelled rows"),
        ([1.0, 2.0], [1.0], "2 labels for 1 predictions"),
        ([1.0, float("nan")], [1.0, 2.0], "finite numbers"),
    ],
)
def test_bad_input_is_named(actual: list, predicted: list, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        evaluate_regression(actual, np.asarray(predicted), "live")
