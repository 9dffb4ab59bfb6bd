"""Writing versions the way ModelOps reads them: the experiment, reference frames, version tags."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd

from core import names
from core.config import Settings
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


def tag_version(registry: Registry, model: str, version: int, flavor: str, kind: str, description: str) -> None:
    client = registry.client
    client.set_model_version_tag(model, str(version), names.TAG_FLAVOR, flavor)
    client.set_model_version_tag(model, str(version), names.TAG_KIND, kind)
    client.update_model_version(model, str(version), description=description)
    client.set_registered_model_tag(model, "modelops.demo", "true")
