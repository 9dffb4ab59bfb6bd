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

    Raises:
        InvalidInputError: the version has no such frame (not registered by ModelOps).
    """
    from mlflow.artifacts import download_artifacts

    info = registry.get_version(model, version)
    path = f"{names.REFERENCE_DIR}/{which}.parquet"
    try:
        local = download_artifacts(run_id=info.run_id, artifact_path=path, tracking_uri=registry.tracking_uri)
    except Exception:
        raise InvalidInputError(
            f"version {version} of {model!r} has no {which} data: log a Parquet file of the feature columns plus "
            f"a {names.TARGET!r} column with the version's run, as {path} "
            f"(mlflow.log_artifact('{which}.parquet', artifact_path='{names.REFERENCE_DIR}'))"
        ) from None
    return pd.read_parquet(local)


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

    import mlflow.artifacts
    import yaml

    try:
        local = mlflow.artifacts.download_artifacts(
            artifact_uri=f"models:/{model}/{version}/MLmodel", tracking_uri=tracking_uri
        )
        return (yaml.safe_load(Path(local).read_text()) or {}).get("flavors") or {}
    except Exception:
        return None
