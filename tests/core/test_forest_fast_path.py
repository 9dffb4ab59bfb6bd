"""The forest fast path gives exactly scikit-learn's probabilities, or is not used."""

from __future__ import annotations

import numpy as np
from sklearn.ensemble import ExtraTreesClassifier, RandomForestClassifier
from sklearn.naive_bayes import GaussianNB

from core import names
from core.config import Settings
from core.demo.datasets import breast_cancer_split
from core.runtime.fast import forest_proba
from core.runtime.handles import load_handle

X_TRAIN, X_TEST, Y_TRAIN, _ = breast_cancer_split()


def test_champion_forest_uses_the_fast_path_with_identical_output(bc_home: Settings, monkeypatch) -> None:
    monkeypatch.setenv("MODELOPS_ONNX", "0")  # without the ONNX build, the forest fast path serves
    handle = load_handle(bc_home.tracking_uri, names.BREAST_CANCER, 3)
    assert handle.runtime == "sklearn-trees"
    matrix = X_TEST.to_numpy()
    np.testing.assert_array_equal(handle.predict_proba(matrix), handle.sklearn_proba(matrix))


def test_other_estimators_keep_sklearn(bc_home: Settings, monkeypatch) -> None:
    monkeypatch.setenv("MODELOPS_ONNX", "0")
    assert load_handle(bc_home.tracking_uri, names.BREAST_CANCER, 2).runtime == "sklearn"
    assert forest_proba(GaussianNB().fit(X_TRAIN, Y_TRAIN)) is None


def test_fast_path_matches_on_multiclass_extra_trees() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 5))
    y = rng.integers(0, 4, size=300)
    for model in (ExtraTreesClassifier(n_estimators=30, random_state=0), RandomForestClassifier(n_estimators=30)):
        model.fit(X, y)
        np.testing.assert_array_equal(forest_proba(model)(X), model.predict_proba(X))
