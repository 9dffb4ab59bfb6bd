"""Prediction (output) drift on a real demo classifier and a plain-MLflow regressor."""

from __future__ import annotations

import numpy as np
import pandas as pd

from core import names
from core.analysis.output_drift import prediction_drift, reference_predictions, served_predictions
from core.config import Settings
from core.registry.facade import Registry
from core.registry.reference import load_version_frame
from core.runtime.handles import load_handle


def test_a_classifier_class_mix_moves_when_its_top_feature_shifts(bc_home: Settings) -> None:
    registry = Registry.from_settings(bc_home)
    version = registry.get_model(names.BREAST_CANCER).champion
    handle = load_handle(bc_home.tracking_uri, names.BREAST_CANCER, version)
    reference = load_version_frame(registry, names.BREAST_CANCER, version, "reference")
    holdout = load_version_frame(registry, names.BREAST_CANCER, version, "holdout")
    expected = reference_predictions(handle, reference)
    assert set(expected) == {"0", "1"} and len(expected) == len(reference)
    same = prediction_drift(expected, reference_predictions(handle, holdout))
    assert not bool(same.features["drifted"].iloc[0]), same.features
    shifted = holdout.copy()
    for column in ("worst radius", "worst perimeter", "worst area", "worst concave points", "mean concave points"):
        shifted[column] = shifted[column] * 1.6  # larger, more irregular cells: more malignant predictions
    moved = prediction_drift(expected, reference_predictions(handle, shifted))
    row = moved.features.iloc[0]
    assert row["kind"] == "categorical" and row["test"] == "chi2" and bool(row["drifted"]), moved.features
    # the served log holds labels as text: the same comparison from the log's column
    logged = served_predictions(pd.Series(reference_predictions(handle, shifted).astype(int)), "classification")
    assert prediction_drift(expected, logged).features["statistic"].iloc[0] == row["statistic"]


def test_a_regressor_predicted_values_are_tested_as_numbers(foreign_home: Settings) -> None:
    from tests.foreign import DIABETES

    registry = Registry.from_settings(foreign_home)
    handle = load_handle(foreign_home.tracking_uri, DIABETES, 1)
    reference = load_version_frame(registry, DIABETES, 1, "reference")  # the run's logged training dataset
    expected = reference_predictions(handle, reference)
    assert expected.dtype == "float64" and len(expected) == len(reference)
    rng = np.random.default_rng(0)
    sample = reference.sample(200, random_state=1)
    calm = prediction_drift(expected, reference_predictions(handle, sample), numeric_test="ks")
    assert not bool(calm.features["drifted"].iloc[0])
    heavier = sample.assign(bmi=sample["bmi"] + 0.05 + rng.normal(0, 0.005, len(sample)))
    moved = prediction_drift(expected, reference_predictions(handle, heavier), numeric_test="ks")
    assert moved.features["kind"].iloc[0] == "numeric" and bool(moved.features["drifted"].iloc[0])
    logged = served_predictions(
        pd.Series([str(v) for v in reference_predictions(handle, heavier)] + ["nan"]), "regression"
    )
    assert len(logged) == len(heavier)  # a value that is not a finite number is dropped
