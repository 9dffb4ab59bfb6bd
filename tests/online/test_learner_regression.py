"""Online learning for a ``partial_fit`` regressor: numeric labels, an MAE gate, a registered version."""

from __future__ import annotations

import mlflow
import numpy as np
import pytest

from core import names
from core.config import Settings
from core.demo.datasets import diabetes_frame
from core.errors import InvalidInputError
from core.online.learner import OnlineConfig, OnlineLearner, update_json
from core.registry.facade import Registry
from core.registry.registration import configure_mlflow, log_sklearn_version
from core.runtime.handles import load_handle

SGD = "diabetes-sgd"


def _register_sgd(settings: Settings) -> tuple[np.ndarray, np.ndarray]:
    """A scaler + SGDRegressor on the diabetes measurements, fitted by partial_fit on 60 rows."""
    from sklearn.linear_model import SGDRegressor
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = diabetes_frame()
    X = X.drop(columns=["region"])
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)
    model = Pipeline([("scale", StandardScaler()), ("sgd", SGDRegressor(random_state=0, eta0=0.01))])
    first = X_train.head(60)
    model.steps[0][1].partial_fit(first)
    for _ in range(3):
        model.steps[1][1].partial_fit(model.steps[0][1].transform(first), y_train.head(60))
    experiment = configure_mlflow(settings)
    with mlflow.start_run(experiment_id=experiment):
        version = log_sklearn_version(model, SGD, X_train, X_test, y_train, y_test)
    Registry.from_settings(settings).promote(SGD, version, names.CHAMPION, actor="pytest", reason="first")
    return X_train.iloc[60:].to_numpy(), y_train.iloc[60:].to_numpy()


def test_a_regressor_learns_online_and_passes_an_mae_gate(bc_home: Settings) -> None:
    rows, labels = _register_sgd(bc_home)
    registry = Registry.from_settings(bc_home)
    champion = load_handle(bc_home.tracking_uri, SGD, 1)
    assert champion.task == "regression"
    promoted: list[int] = []
    learner = OnlineLearner(
        registry,
        bc_home,
        champion,
        OnlineConfig(eval_every=0, margin_points=1.0, auto_register=True),
        champion=lambda: champion,
        promote=lambda version, reason: promoted.append(version),
        actor="pytest",
    )
    try:
        with pytest.raises(InvalidInputError, match="is a regressor: label 1 must be a finite number, got 'high'"):
            learner.submit(rows[:2], [120.0, "high"])
        for _ in range(5):  # a few passes over the remaining training rows
            for start in range(0, len(rows), 40):
                learner.submit(rows[start : start + 40], labels[start : start + 40].tolist()).result()
        update = learner.evaluate().result()
    finally:
        learner.close()
    decided = update_json(update)
    assert decided["metric"] == "mae" and "candidate MAE" in decided["reason"]
    assert decided["candidate_accuracy"] < decided["champion_accuracy"]  # more data: smaller errors
    assert update.event == "registered" and update.new_version == 2, decided
    registered = load_handle(bc_home.tracking_uri, SGD, 2)
    assert registered.task == "regression"
    info = registry.get_version(SGD, 2)
    assert info.metrics["mae"] == pytest.approx(decided["candidate_accuracy"])
    assert info.tags[names.TAG_ONLINE_PARENT] == "1"
