"""Compiled inference: scikit-learn versions converted to ONNX and verified equal to the original.

A version is compiled with ``skl2onnx`` (no ZipMap, float32 input), run in ONNX Runtime on
the version's reference data, and compared with the scikit-learn model: label agreement and
the largest probability difference. The build and that record are stored on the version; the
service uses the build only when the record passes its thresholds.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.errors import InvalidInputError
from core.flavors import sklearn_skops
from core.names import TARGET
from core.registry.reference import load_version_frame
from core.runtime.onnx import (
    ONNX_DIR,
    ONNX_FILE,
    RECORD_FILE,
    TAG_AGREEMENT,
    TAG_MAX_DIFF,
    TAG_REASON,
    TAG_STATUS,
    proba_fn,
    session,
    thresholds,
)


@dataclass(frozen=True)
class Verification:
    """How a compiled build compares with the scikit-learn model on the reference data."""

    status: str  # "passed", "failed" or "unsupported"
    rows: int
    label_agreement: float
    max_proba_diff: float
    reason: str = ""


def compile_model(model: Any, n_features: int) -> bytes:
    """ONNX bytes of ``model`` (float32 input ``input``, outputs ``label`` and ``probabilities``)."""
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import FloatTensorType

    onx = to_onnx(
        model, initial_types=[("input", FloatTensorType([None, n_features]))], options={id(model): {"zipmap": False}}
    )
    return onx.SerializeToString()


def compile_and_verify(model: Any, reference: pd.DataFrame) -> tuple[bytes | None, Verification]:
    """Compile ``model`` and compare it with itself on ``reference`` (features only)."""
    min_agreement, max_diff = thresholds()
    if not hasattr(model, "predict_proba"):
        reason = "a regressor: ONNX builds here serve classifiers' probabilities; scikit-learn serves it"
        return None, Verification("unsupported", 0, float("nan"), float("nan"), reason)
    try:
        onnx_bytes = compile_model(model, reference.shape[1])
        sess = session(onnx_bytes)
    except Exception as exc:  # skl2onnx raises many kinds for unsupported estimators
        reason = f"{type(exc).__name__}: {str(exc).splitlines()[0][:300]}"
        return None, Verification("unsupported", 0, float("nan"), float("nan"), reason)
    X = reference.to_numpy(dtype=np.float64)
    expected = np.asarray(model.predict_proba(reference), dtype=np.float64)
    got = proba_fn(sess)(X)
    classes = np.asarray(model.classes_)
    agreement = float(np.mean(classes[np.argmax(got, axis=1)] == classes[np.argmax(expected, axis=1)]))
    diff = float(np.max(np.abs(got - expected)))
    passed = agreement >= min_agreement and diff <= max_diff
    reason = (
        ""
        if passed
        else (
            f"label agreement {agreement:.4%} < {min_agreement:.4%}"
            if agreement < min_agreement
            else f"largest probability difference {diff:.2e} > {max_diff:.0e}"
        )
    )
    return onnx_bytes, Verification("passed" if passed else "failed", len(X), agreement, diff, reason)


def _verification_rows(registry: Any, model_name: str, version: int) -> pd.DataFrame:
    """Rows to verify a build on: the version's reference data, else the input example MLflow logged with it.

    Raises:
        InvalidInputError: the version has neither (nothing to compare the build with).
    """
    try:
        return load_version_frame(registry, model_name, version, "reference").drop(columns=[TARGET], errors="ignore")
    except InvalidInputError:
        pass
    import mlflow.artifacts
    from mlflow.models import Model

    local = mlflow.artifacts.download_artifacts(artifact_uri=f"models:/{model_name}/{version}")
    example = Model.load(local).load_input_example(local)
    if example is None:
        raise InvalidInputError(
            f"{model_name} v{version} has no reference data and no input example to verify an ONNX build on; "
            "log the model with input_example=..., or register it with its reference data"
        )
    return pd.DataFrame(example)


def compile_version(registry: Any, model_name: str, version: int) -> Verification:
    """Compile and verify a registered scikit-learn version; store the build and record on it."""
    from mlflow import MlflowClient

    info = registry.get_version(model_name, version)
    model = sklearn_skops.load_model(f"models:/{model_name}/{version}")
    onnx_bytes, record = compile_and_verify(model, _verification_rows(registry, model_name, version))
    client = MlflowClient(registry.tracking_uri, registry.tracking_uri)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / RECORD_FILE).write_text(json.dumps(asdict(record), indent=2))
        if onnx_bytes is not None:
            (folder / ONNX_FILE).write_bytes(onnx_bytes)
        client.log_artifacts(info.run_id, str(folder), ONNX_DIR)
    for tag, value in (
        (TAG_STATUS, record.status),
        (TAG_REASON, record.reason),
        (TAG_MAX_DIFF, f"{record.max_proba_diff:.3e}"),
        (TAG_AGREEMENT, f"{record.label_agreement:.6f}"),
    ):
        client.set_model_version_tag(model_name, str(version), tag, value)
    return record
