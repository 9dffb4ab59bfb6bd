"""Registering an online candidate that passed its gate as a new version of the model."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from core import names
from core.edge.onnx_compile import compile_version
from core.flavors import sklearn_skops
from core.names import TARGET
from core.online.gate import GateDecision
from core.registry.registration import configure_mlflow

log = logging.getLogger(__name__)


def register_candidate(
    registry: Any, settings: Any, model: str, candidate: Any, parent: int, decision: GateDecision, actor: str
) -> int:
    """Log the candidate as a new version of ``model`` with its parent's reference data; returns the version."""

    import mlflow
    from mlflow.artifacts import download_artifacts
    from mlflow.models import infer_signature

    experiment = configure_mlflow(settings)
    parent_info = registry.get_version(model, parent)
    with tempfile.TemporaryDirectory() as tmp:
        frames = {}
        for which in ("reference", "holdout"):
            path = download_artifacts(
                run_id=parent_info.run_id,
                artifact_path=f"{names.REFERENCE_DIR}/{which}.parquet",
                tracking_uri=registry.tracking_uri,
                dst_path=tmp,
            )
            frames[which] = Path(path)
        reference = pd.read_parquet(frames["reference"])
        features = reference.drop(columns=[TARGET])
        with mlflow.start_run(experiment_id=experiment, run_name=f"{model}-online-from-v{parent}"):
            mlflow.log_params(
                {"parent_version": parent, "rows": decision.rows, "margin_points": decision.margin_points}
            )
            mlflow.log_metrics(decision.metrics)
            for path in frames.values():
                mlflow.log_artifact(str(path), artifact_path=names.REFERENCE_DIR)
            info = sklearn_skops.log_model(
                candidate,
                signature=infer_signature(features, candidate.predict(features)),
                input_example=features.head(3),
                registered_model_name=model,
            )
    version = int(info.registered_model_version)
    client = registry.client
    inherited = client.get_model_version(model, str(parent)).tags or {}
    if names.TAG_CLASS_NAMES in inherited:
        client.set_model_version_tag(model, str(version), names.TAG_CLASS_NAMES, inherited[names.TAG_CLASS_NAMES])
    for key, value in {
        names.TAG_FLAVOR: "sklearn",
        names.TAG_KIND: "sgd-online",
        names.TAG_ONLINE: "true",
        names.TAG_ONLINE_PARENT: str(parent),
        names.TAG_ONLINE_ROWS: str(decision.rows),
    }.items():
        client.set_model_version_tag(model, str(version), key, value)
    client.update_model_version(
        model, str(version), description=f"partial_fit update of v{parent} with {decision.rows} labelled rows"
    )
    compile_version(registry, model, version)  # ONNX when it verifies; the service falls back otherwise
    log.info("%s: registered v%s from v%s (%s rows) by %s", model, version, parent, decision.rows, actor)
    return version
