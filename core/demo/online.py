"""The online-learning demo model: v1 fitted by ``partial_fit`` on a few rows, so live labels can teach it."""

from __future__ import annotations

from typing import Any

from core import names
from core.demo.datasets import BREAST_CANCER_CLASS_NAMES, breast_cancer_split
from core.edge.onnx_compile import compile_version
from core.online.gate import holdout_metrics
from core.online.learner import new_online_model, partial_fit
from core.registry.registration import log_sklearn_version, tag_version

INITIAL_ROWS = 80  # the seeded v1 sees only these, so live labels have something to teach it


INITIAL_EPOCHS = 5


def seed_online(experiment_id: str, registry: Any) -> list[int]:
    """Register v1 of the online demo model: fitted by ``partial_fit`` on the first rows only."""
    import mlflow

    X_train, X_test, y_train, y_test = breast_cancer_split()
    model = new_online_model()
    for _ in range(INITIAL_EPOCHS):
        partial_fit(model, X_train.iloc[:INITIAL_ROWS], y_train.iloc[:INITIAL_ROWS].to_numpy(), [0, 1])
    with mlflow.start_run(experiment_id=experiment_id, run_name=f"{names.BREAST_CANCER_ONLINE}-sgd"):
        metrics = holdout_metrics(model.predict_proba(X_test), [0, 1], y_test.to_numpy())
        mlflow.log_params({"rows": INITIAL_ROWS, "epochs": INITIAL_EPOCHS, "loss": "log_loss", "alpha": 1e-4})
        mlflow.log_metrics(metrics)
        version = log_sklearn_version(model, names.BREAST_CANCER_ONLINE, X_train, X_test, y_train, y_test)
    tag_version(
        registry,
        names.BREAST_CANCER_ONLINE,
        version,
        "sklearn",
        "sgd-online",
        f"Scaler + logistic SGD fitted by partial_fit on the first {INITIAL_ROWS} training rows; "
        "POST /v1/models/breast-cancer-online/train teaches it more.",
        BREAST_CANCER_CLASS_NAMES,
    )
    registry.client.set_model_version_tag(names.BREAST_CANCER_ONLINE, str(version), names.TAG_ONLINE, "true")
    compile_version(registry, names.BREAST_CANCER_ONLINE, version)
    return [version]
