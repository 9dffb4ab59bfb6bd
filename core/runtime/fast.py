"""Faster, verified probability functions for scikit-learn classifiers: the ONNX build, or a forest walk."""

from __future__ import annotations

from typing import Any

import numpy as np

from core.runtime.onnx import load_verified


def onnx_proba(uri: str, model_name: str, version: int) -> tuple[Any, str]:
    """The verified ONNX build's probability function, or why there is none (never raises)."""
    import mlflow
    from mlflow import MlflowClient

    tracking_uri = mlflow.get_tracking_uri()
    try:
        tags = dict(MlflowClient(tracking_uri, tracking_uri).get_model_version(model_name, str(version)).tags or {})
        return load_verified(tracking_uri, model_name, version, tags)
    except Exception as exc:  # a broken build must never stop the version from serving
        return None, f"ONNX build not loaded ({type(exc).__name__}: {exc}); serving scikit-learn"


def forest_proba(model: Any) -> Any:
    """A faster, identical ``predict_proba`` for single-output forest classifiers, or ``None``.

    scikit-learn's forest spends most of a small call in joblib's per-tree dispatch (≈7 ms
    for 200 trees even with one row). This walks the same trees with the same arithmetic
    (float32 input, per-tree normalisation, mean over trees), ≈10× faster. Callers check
    equality with the estimator's own output before using it.
    """
    from sklearn.ensemble import ExtraTreesClassifier, RandomForestClassifier

    if type(model) not in (RandomForestClassifier, ExtraTreesClassifier) or getattr(model, "n_outputs_", 1) != 1:
        return None
    trees = [e.tree_ for e in model.estimators_]
    n_classes = int(model.n_classes_)

    def proba(matrix: np.ndarray) -> np.ndarray:
        X = np.ascontiguousarray(matrix, dtype=np.float32)
        total = np.zeros((X.shape[0], n_classes), dtype=np.float64)
        for tree in trees:
            p = tree.predict(X)[:, :n_classes]
            normalizer = p.sum(axis=1)[:, np.newaxis]
            normalizer[normalizer == 0.0] = 1.0
            total += p / normalizer
        return total / len(trees)

    return proba
