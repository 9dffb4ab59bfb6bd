"""sklearn versions load through skops with our trusted-types list; pickle never."""

from __future__ import annotations

from pathlib import Path

import mlflow
import numpy as np
import pytest
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from core import names
from core.config import Settings
from core.demo.datasets import breast_cancer_split
from core.errors import UntrustedModelError
from core.flavors import sklearn_skops
from core.registry.registration import configure_mlflow


class Doubler(TransformerMixin, BaseEstimator):
    """A user-defined transformer: a type skops does not trust by default, nor do we."""

    def fit(self, X, y=None):
        return self

    def transform(self, X):
        return X * 2


def test_champion_loads_without_pickle_and_predicts(bc_home: Settings) -> None:
    configure_mlflow(bc_home)
    model = sklearn_skops.load_model(f"models:/{names.BREAST_CANCER}@{names.CHAMPION}")
    _, X_test, _, y_test = breast_cancer_split()
    accuracy = float(np.mean(model.predict(X_test) == y_test))
    assert accuracy > 0.9
    assert model.n_estimators == 200


def test_pickled_model_is_refused(bc_home: Settings) -> None:
    configure_mlflow(bc_home)
    X, _, y, _ = breast_cancer_split()
    with mlflow.start_run():
        info = mlflow.sklearn.log_model(
            LogisticRegression(max_iter=5000).fit(X, y), name="m", serialization_format="cloudpickle"
        )
    with pytest.raises(UntrustedModelError, match="unpickles a model's versions only when an operator trusts"):
        sklearn_skops.load_model(info.model_uri)
    local = Path(mlflow.artifacts.download_artifacts(artifact_uri=info.model_uri))
    trusted = sklearn_skops.load_local(local, info.model_uri, allow_pickle=True)  # the operator trusted the model
    assert trusted.predict(X.head(3)).shape == (3,)


def test_scikit_learn_types_the_version_declares_are_trusted(bc_home: Settings) -> None:
    """MLflow users pass skops_trusted_types for models outside skops' defaults; scikit-learn's own are taken."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    configure_mlflow(bc_home)
    X, _, y, _ = breast_cancer_split()
    declared = ["sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor"]
    with mlflow.start_run():
        info = mlflow.sklearn.log_model(
            HistGradientBoostingClassifier(max_iter=10).fit(X, y),
            name="m",
            serialization_format="skops",
            skops_trusted_types=declared,
        )
    assert sklearn_skops.load_model(info.model_uri).predict(X.head(3)).shape == (3,)


def test_untrusted_type_is_refused_even_if_the_artifact_trusts_it(bc_home: Settings) -> None:
    configure_mlflow(bc_home)
    X, _, y, _ = breast_cancer_split()
    model = make_pipeline(Doubler(), LogisticRegression(max_iter=5000)).fit(X, y)
    untrusted = [f"{Doubler.__module__}.Doubler"]
    with mlflow.start_run():
        info = mlflow.sklearn.log_model(model, name="m", serialization_format="skops", skops_trusted_types=untrusted)
    with pytest.raises(UntrustedModelError, match="does not trust"):
        sklearn_skops.load_model(info.model_uri)
