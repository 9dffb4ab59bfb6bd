"""Writing versions the way ModelOps reads them: the experiment, reference frames, version tags."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from core import names
from core.config import Settings
from core.flavors import sklearn_skops
from core.names import TARGET
from core.registry.facade import Registry


def configure_mlflow(settings: Settings) -> str:
    """Point the ``mlflow`` fluent API at our registry; return the demo experiment's id.

    With a local database the experiment's artifacts go under ``MODELOPS_HOME`` instead
    of ``./mlruns`` of whatever directory the process runs in.
    """
    import mlflow

    settings.ensure_home()
    mlflow.set_tracking_uri(settings.tracking_uri)
    mlflow.set_registry_uri(settings.tracking_uri)
    experiment = mlflow.get_experiment_by_name(names.EXPERIMENT)
    if experiment is None:
        local = settings.tracking_uri.startswith("sqlite:")
        experiment_id = mlflow.create_experiment(
            names.EXPERIMENT,
            artifact_location=settings.artifact_root.as_uri() if local else None,
        )
    else:
        experiment_id = experiment.experiment_id
    # Runs started without an explicit experiment must not fall into "Default" (./mlruns).
    mlflow.set_experiment(experiment_id=experiment_id)
    return experiment_id


def log_frames(frames: dict[str, pd.DataFrame]) -> None:
    import mlflow

    with tempfile.TemporaryDirectory() as tmp:
        for file_name, frame in frames.items():
            path = Path(tmp) / file_name
            frame.to_parquet(path, index=False)
            mlflow.log_artifact(str(path), artifact_path=names.REFERENCE_DIR)


def tag_version(
    registry: Registry,
    model: str,
    version: int,
    flavor: str,
    kind: str,
    description: str,
    class_names: dict[str, str] | None = None,
) -> None:
    """Tag a demo version the way ModelOps reads it (flavor, kind, display names of its classes)."""
    client = registry.client
    client.set_model_version_tag(model, str(version), names.TAG_FLAVOR, flavor)
    client.set_model_version_tag(model, str(version), names.TAG_KIND, kind)
    if class_names:
        client.set_model_version_tag(model, str(version), names.TAG_CLASS_NAMES, json.dumps(class_names))
    client.update_model_version(model, str(version), description=description)
    client.set_registered_model_tag(model, "modelops.demo", "true")


def log_sklearn_version(
    model: Any, name: str, X_train: pd.DataFrame, X_test: pd.DataFrame, y_train: pd.Series, y_test: pd.Series
) -> int:
    """Log a fitted scikit-learn ``model`` into the active run as a new version of ``name``.

    The reference (training) and held-out frames go with it, labels in :data:`~core.names.TARGET`,
    and the model is stored as skops with a signature and an input example; returns the version.
    """
    from mlflow.models import infer_signature

    log_frames(
        {
            "reference.parquet": X_train.assign(**{TARGET: y_train.values}),
            "holdout.parquet": X_test.assign(**{TARGET: y_test.values}),
        }
    )
    info = sklearn_skops.log_model(
        model,
        signature=infer_signature(X_train, model.predict(X_train)),
        input_example=X_train.head(3),
        registered_model_name=name,
    )
    return int(info.registered_model_version)
