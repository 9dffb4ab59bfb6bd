"""The online-learning pieces on their own: partial_fit support, the gate's boundary, label checks."""

from __future__ import annotations

import numpy as np
import pytest

from core.demo.datasets import breast_cancer_split
from core.errors import InvalidInputError
from core.labels import as_classes
from core.online.gate import gate, holdout_metrics
from core.online.learner import new_online_model, partial_fit, supports_partial_fit


def test_supports_partial_fit() -> None:
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.naive_bayes import GaussianNB
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    assert supports_partial_fit(new_online_model())
    assert supports_partial_fit(GaussianNB())
    assert not supports_partial_fit(RandomForestClassifier())
    assert not supports_partial_fit(Pipeline([("scale", StandardScaler()), ("forest", RandomForestClassifier())]))


def test_gate_boundary() -> None:
    assert gate(0.94, 0.95, 3, margin_points=1.0, rows=10).accepted  # exactly one point below
    assert not gate(0.9399, 0.95, 3, margin_points=1.0, rows=10).accepted
    assert gate(0.96, 0.95, 3, margin_points=0.0, rows=10).accepted
    assert "fails the gate after 10 rows" in gate(0.5, 0.95, 3, 1.0, 10).reason


def test_partial_fit_learns_and_metrics_are_right() -> None:
    X, X_test, y, y_test = breast_cancer_split()
    model = new_online_model()
    for start in range(0, len(X), 50):
        partial_fit(model, X.iloc[start : start + 50], y.iloc[start : start + 50].to_numpy(), [0, 1])
    metrics = holdout_metrics(model.predict_proba(X_test), [0, 1], y_test.to_numpy())
    assert metrics["accuracy"] > 0.9 and set(metrics) == {"accuracy", "f1", "roc_auc"}
    assert metrics["accuracy"] == pytest.approx(float((model.predict(X_test) == y_test).mean()))
    assert np.isfinite(model.named_steps["sgd"].coef_).all()


def test_labels_are_checked_against_the_classes() -> None:
    assert as_classes(["1", 0, 1.0], [0, 1]) == [1, 0, 1]
    assert as_classes(["benign", "malignant"], [0, 1], ["malignant", "benign"]) == [1, 0]
    assert as_classes([True, 0], [False, True]) == [True, False]
    with pytest.raises(InvalidInputError, match="True not a class"):
        as_classes([True], [0, 1])
    assert as_classes(["yes", "no"], ["no", "yes"]) == ["yes", "no"]
    with pytest.raises(InvalidInputError, match=r"'x', 2 not a class of the model; its classes are \[0, 1\]"):
        as_classes([0, 2, "x"], [0, 1])
    with pytest.raises(InvalidInputError, match="None not a class"):
        as_classes([None], [0, 1])
    with pytest.raises(InvalidInputError, match="1 not a class"):
        as_classes([1], ["no", "yes"])
