"""Data stored with a version: its reference (training) and held-out frames."""

from __future__ import annotations

from typing import Any

import pandas as pd

from core import names
from core.errors import InvalidInputError
from core.flavors.keras_model import InputSpec
from core.registry.facade import Registry


def load_version_frame(registry: Registry, model: str, version: int, which: str = "holdout") -> pd.DataFrame:
    """The ``reference`` or ``holdout`` frame logged with a version (features + ``target``).

    The reference comes, in order, from ModelOps' own artifact, then the run's training dataset
    logged with ``mlflow.log_input`` (when its source can be read here), then the version's input
    example (``frame.attrs["source"]`` says which).

    Raises:
        InvalidInputError: the version has no such frame (not registered by ModelOps).
    """
    from mlflow.artifacts import download_artifacts

    info = registry.get_version(model, version)
    path = f"{names.REFERENCE_DIR}/{which}.parquet"
    try:
        local = download_artifacts(run_id=info.run_id, artifact_path=path, tracking_uri=registry.tracking_uri)
    except Exception:
        found = (
            mlflow_reference(registry.client, registry.tracking_uri, model, version, info.run_id)
            if which == "reference"
            else None
        )
        if found is not None:
            return found
        raise InvalidInputError(
            f"version {version} of {model!r} has no {which} data: log a Parquet file of the feature columns plus "
            f"a {names.TARGET!r} column with the version's run, as {path} "
            f"(mlflow.log_artifact('{which}.parquet', artifact_path='{names.REFERENCE_DIR}'))"
        ) from None
    frame = pd.read_parquet(local)
    frame.attrs["source"] = f"{path}, logged with the version"
    return frame


def _label_as_target(frame: pd.DataFrame, tracking_uri: str, model: str, version: int) -> pd.DataFrame:
    """Keep the signature's columns; a single column beyond them is the label, renamed ``target``."""
    from pathlib import Path

    from mlflow.models import Model

    signature = Model.load(str(Path(version_file(tracking_uri, model, version, "MLmodel")))).signature
    inputs = signature.inputs.input_names() if signature is not None and signature.inputs is not None else []
    if not inputs or not set(inputs) <= set(frame.columns):
        return frame
    extra = [c for c in frame.columns if c not in inputs]
    kept = frame[list(inputs)].copy()
    if len(extra) == 1:
        kept[names.TARGET] = frame[extra[0]].to_numpy()
    return kept


def mlflow_reference(client: Any, tracking_uri: str, model: str, version: int, run_id: str) -> pd.DataFrame | None:
    """Reference rows from what MLflow already has: the run's training dataset, else the input example.

    ``client`` is an ``MlflowClient`` on ``tracking_uri``; ``None`` when MLflow has neither.
    """
    import json
    from pathlib import Path

    import mlflow
    import mlflow.artifacts

    try:
        run = client.get_run(run_id)
        for dataset_input in run.inputs.dataset_inputs or []:
            context = {t.key: t.value for t in dataset_input.tags}.get("mlflow.data.context", "")
            if context not in ("", "training", "train"):
                continue
            try:
                frame = mlflow.data.get_source(dataset_input).load()
                frame = pd.read_parquet(frame) if str(frame).endswith(".parquet") else pd.read_csv(frame)
            except Exception:
                continue
            frame = _label_as_target(frame, tracking_uri, model, version)
            frame.attrs["source"] = f"the run's {context or 'logged'} dataset {dataset_input.dataset.name!r}"
            return frame
    except Exception:
        pass
    try:
        data = json.loads(Path(version_file(tracking_uri, model, version, "input_example.json")).read_text())
        frame = pd.DataFrame(data["data"], columns=data.get("columns"))
    except Exception:
        return None
    frame.attrs["source"] = f"the version's input example ({len(frame)} rows)"
    return frame


def stored_input_spec(tracking_uri: str, model: str, version: int) -> InputSpec | None:
    """The image input spec stored with a version (``None`` when it has none)."""
    from pathlib import Path

    from mlflow import MlflowClient
    from mlflow.artifacts import download_artifacts

    run_id = MlflowClient(tracking_uri, tracking_uri).get_model_version(model, str(version)).run_id
    try:
        path = download_artifacts(run_id=run_id, artifact_path=names.INPUT_SPEC_FILE, tracking_uri=tracking_uri)
    except Exception:
        return None
    return InputSpec.from_json(Path(path).read_text())


def class_name_map(tags: dict[str, str]) -> dict[str, str]:
    """Class (as text) -> display name from a version's ``modelops.class_names`` tag (``{}`` if none or malformed).

    The tag is a JSON object, e.g. ``{"0": "malignant", "1": "benign"}``; set it with
    ``MlflowClient().set_model_version_tag(name, version, "modelops.class_names", json.dumps(...))``.
    """
    import json

    try:
        stored = json.loads(tags.get(names.TAG_CLASS_NAMES, "null"))
    except ValueError:
        return {}
    if not isinstance(stored, dict):
        return {}
    return {str(k): v for k, v in stored.items() if isinstance(v, str) and v}


def stored_class_names(tracking_uri: str, model: str, version: int, classes: list[Any]) -> list[str]:
    """Display names of ``classes`` from the version's tag (see :func:`class_name_map`), else the classes as text."""
    from mlflow import MlflowClient

    tags = MlflowClient(tracking_uri, tracking_uri).get_model_version(model, str(version)).tags or {}
    named = class_name_map(tags)
    return [named.get(str(c), str(c)) for c in classes]


def version_flavor(tracking_uri: str, model: str, version: int) -> str | None:
    """``sklearn``, ``keras`` or another MLflow flavor name, read from the version's MLmodel file.

    For versions ModelOps did not register (they have no ``modelops.flavor`` tag). ``None`` when
    the MLmodel file cannot be read.
    """
    flavors = _mlmodel_flavors(tracking_uri, model, version)
    if flavors is None:
        return None
    if "sklearn" in flavors:
        return "sklearn"
    if "tensorflow" in flavors or "keras" in flavors:
        return "keras"
    return next((f for f in flavors if f != "python_function"), "python_function" if flavors else None)


def version_storage(tracking_uri: str, model: str, version: int) -> str | None:
    """How a version is stored: ``skops``, ``cloudpickle`` or ``pickle`` for scikit-learn, else its flavor."""
    flavors = _mlmodel_flavors(tracking_uri, model, version)
    if flavors is not None and "sklearn" in flavors:
        return str((flavors["sklearn"] or {}).get("serialization_format") or "pickle")
    return version_flavor(tracking_uri, model, version)


def _mlmodel_flavors(tracking_uri: str, model: str, version: int) -> dict[str, Any] | None:
    from pathlib import Path

    import yaml

    try:
        local = version_file(tracking_uri, model, version, "MLmodel")
        return (yaml.safe_load(Path(local).read_text()) or {}).get("flavors") or {}
    except Exception:
        return None


def version_file(tracking_uri: str, model: str, version: int, name: str) -> str:
    """Download one file of a registered version's model directory; returns its local path.

    Resolved through this registry (``models:/`` URIs would go to the process-wide default one).
    """
    import mlflow.artifacts
    from mlflow import MlflowClient

    base = MlflowClient(tracking_uri, tracking_uri).get_model_version_download_uri(model, str(version))
    return mlflow.artifacts.download_artifacts(artifact_uri=f"{base.rstrip('/')}/{name}", tracking_uri=tracking_uri)
