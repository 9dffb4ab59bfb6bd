"""Data stored with a version: its reference (training) and held-out frames."""

from __future__ import annotations

import pandas as pd

from core import names
from core.errors import InvalidInputError
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
            f"version {version} of {model!r} has no {which} data ({path}); register it with its reference data"
        ) from None
    return pd.read_parquet(local)
