"""Evaluation views checked against scikit-learn on fixed data."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, confusion_matrix, precision_recall_fscore_support, roc_auc_score

from core.analysis.evaluation import calibration_table, evaluate
from core.errors import InvalidInputError

RNG = np.random.default_rng(3)


def _binary(n: int = 400) -> tuple[np.ndarray, np.ndarray]:
    truth = RNG.integers(0, 2, n)
    p1 = np.clip(0.7 * truth + 0.15 + RNG.normal(0, 0.2, n), 0.01, 0.99)
    return truth, np.column_stack([1 - p1, p1])


def test_binary_evaluation_equals_scikit_learn() -> None:
    truth, proba = _binary()
    ev = evaluate(truth.tolist(), proba, [0, 1], ["malignant", "benign"], "held-out")
    pred = proba.argmax(axis=1)
    assert ev.rows == 400 and ev.accuracy == pytest.approx((pred == truth).mean())
    np.testing.assert_array_equal(ev.confusion.to_numpy(), confusion_matrix(truth, pred))
    assert list(ev.confusion.columns) == ["malignant", "benign"] and ev.confusion.index.name == "true"
    p, r, f, support = precision_recall_fscore_support(truth, pred)
    np.testing.assert_allclose(ev.per_class[["precision", "recall", "f1"]].to_numpy(), np.column_stack([p, r, f]))
    assert ev.per_class["support"].tolist() == support.tolist()
    (area,) = ev.areas.to_dict("records")  # binary: the positive class only
    assert area["class"] == "benign"
    assert area["roc_auc"] == pytest.approx(roc_auc_score(truth, proba[:, 1]))
    assert area["average_precision"] == pytest.approx(average_precision_score(truth, proba[:, 1]))
    assert set(ev.curves["kind"]) == {"roc", "pr"}


def test_labels_in_another_type_and_unknown_labels() -> None:
    truth, proba = _binary(50)
    as_text = [str(t) for t in truth] + ["7"]  # from a form: "1"; and a label outside the classes
    ev = evaluate(as_text, np.vstack([proba, [[0.5, 0.5]]]), [0, 1], ["0", "1"], "live")
    assert ev.rows == 50 and ev.confusion.to_numpy().sum() == 50


def test_multiclass_calibration_is_confidence_against_accuracy() -> None:
    truth = np.array([0, 1, 2, 2])
    proba = np.array([[0.9, 0.05, 0.05], [0.2, 0.7, 0.1], [0.1, 0.8, 0.1], [0.05, 0.05, 0.9]])
    cal = calibration_table(truth, proba)
    assert cal["count"].sum() == 4
    top = cal[cal["predicted"] > 0.85].iloc[0]
    assert top["observed"] == 1.0 and top["count"] == 2  # the two 0.9 answers were right
    ev = evaluate(["a", "b", "c", "c"], proba, ["a", "b", "c"], ["a", "b", "c"], "held-out")
    assert ev.accuracy == 0.75 and list(ev.areas["class"]) == ["a", "b", "c", "micro-average"]
    onehot = np.eye(3)[truth]
    micro = ev.areas.set_index("class").loc["micro-average"]
    assert micro["roc_auc"] == pytest.approx(roc_auc_score(onehot, proba, average="micro"))
    assert set(ev.curves["class"]) == {"micro-average"}  # one curve per source, not one per class


def test_nothing_to_evaluate_is_a_clear_error() -> None:
    with pytest.raises(InvalidInputError, match="no labelled rows"):
        evaluate([], np.zeros((0, 2)), [0, 1], ["0", "1"], "live")
    with pytest.raises(InvalidInputError, match="none of the 2 labels is a class"):
        evaluate(["x", "y"], np.full((2, 2), 0.5), [0, 1], ["0", "1"], "live")
    with pytest.raises(InvalidInputError, match="do not match"):
        evaluate([0, 1], np.zeros((2, 3)), [0, 1], ["0", "1"], "live")
