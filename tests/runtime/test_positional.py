"""A version logged without a signature whose estimator was fitted on an array: columns by position."""

from __future__ import annotations

import warnings

import mlflow
import mlflow.sklearn
import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_wine
from sklearn.linear_model import LogisticRegression

from core.analysis.reference_upload import check_reference
from core.config import Settings
from core.errors import InvalidInputError
from core.runtime.handles import load_handle
from core.runtime.tabular import payload_to_matrix

WINE = "wine-array"


def test_columns_are_taken_by_position_whatever_their_names(bc_home: Settings) -> None:
    X, y = load_wine(return_X_y=True)
    model = LogisticRegression(max_iter=5000).fit(X, y)  # an array: no feature_names_in_
    mlflow.set_tracking_uri(bc_home.tracking_uri)
    mlflow.set_registry_uri(bc_home.tracking_uri)
    experiment = mlflow.create_experiment("wine", artifact_location=(bc_home.home / "wine").as_uri())
    with mlflow.start_run(experiment_id=experiment):
        mlflow.sklearn.log_model(model, name="model", registered_model_name=WINE)  # no signature, no example
    handle = load_handle(bc_home.tracking_uri, WINE, 1)
    assert len(handle.columns) == 13 and "13 numbers each request brings, by position" in handle.runtime_reason
    names = [f"feature_{i}" for i in range(13)]
    matrix = payload_to_matrix({"dataframe_split": {"columns": names, "data": X[:5].tolist()}}, handle.columns, 10)
    with warnings.catch_warnings():  # the bare matrix: no "fitted without feature names" warning per call
        warnings.simplefilter("error")
        np.testing.assert_allclose(handle.predict_proba(matrix), model.predict_proba(X[:5]))
    with pytest.raises(InvalidInputError, match="2 column\\(s\\) for a model that takes 13"):
        payload_to_matrix({"dataframe_records": [{"a": 1.0, "b": 2.0}]}, handle.columns, 10)
    with pytest.raises(InvalidInputError, match="must be a number"):
        payload_to_matrix({"dataframe_split": {"columns": names, "data": [["x"] * 13]}}, handle.columns, 10)
    upload = pd.DataFrame(X[:40], columns=names).assign(target=y[:40])
    checked = check_reference(upload, handle.columns, "wine.csv", classes=list(handle.classes))
    assert list(checked.columns)[:2] == ["#0", "#1"] and len(checked) == 40
