"""ONNX builds at run time: which stored build may serve, and its ONNX Runtime session.

:mod:`core.edge.onnx_compile` writes the build and its verification record on the version;
the service serves the build only when that record passes today's thresholds.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from core import names

ONNX_DIR = "onnx"


ONNX_FILE = "model.onnx"


RECORD_FILE = "verification.json"


TAG_STATUS = "modelops.onnx.status"


TAG_REASON = "modelops.onnx.reason"


TAG_MAX_DIFF = "modelops.onnx.max_proba_diff"


TAG_AGREEMENT = "modelops.onnx.label_agreement"


def thresholds() -> tuple[float, float]:
    """``(min label agreement, max probability difference)`` from the environment."""
    return (
        float(os.environ.get(names.ENV_ONNX_MIN_LABEL_AGREEMENT, "1.0")),
        float(os.environ.get(names.ENV_ONNX_MAX_PROBA_DIFF, "1e-5")),
    )


def session(onnx_bytes: bytes) -> Any:
    """An ONNX Runtime session using one thread (serving calls are small and frequent)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    return ort.InferenceSession(onnx_bytes, options, providers=["CPUExecutionProvider"])


def proba_fn(sess: Any) -> Any:
    """``matrix -> probabilities`` through ``sess``."""

    def proba(matrix: np.ndarray) -> np.ndarray:
        (out,) = sess.run(["probabilities"], {"input": np.ascontiguousarray(matrix, dtype=np.float32)})
        return out.astype(np.float64)

    return proba


def load_verified(tracking_uri: str, model_name: str, version: int, tags: dict[str, str]) -> tuple[Any, str]:
    """``(proba function, reason)`` for a build that passes today's thresholds, else ``(None, reason)``."""
    if os.environ.get(names.ENV_ONNX, "1") == "0":
        return None, f"ONNX serving disabled ({names.ENV_ONNX}=0)"
    status = tags.get(TAG_STATUS)
    if status is None:
        return None, (
            f"no ONNX build; run `python -m core compile --model {model_name} --version {version}`, "
            "then POST /v1/admin/reload"
        )
    if status != "passed":
        return None, f"ONNX build {status}: {tags.get(TAG_REASON, '')}"
    min_agreement, max_diff = thresholds()
    agreement, diff = float(tags.get(TAG_AGREEMENT, "nan")), float(tags.get(TAG_MAX_DIFF, "nan"))
    if not (agreement >= min_agreement and diff <= max_diff):
        return None, f"ONNX verification (agreement {agreement:.4%}, diff {diff:.1e}) misses today's thresholds"
    from mlflow import MlflowClient
    from mlflow.artifacts import download_artifacts

    run_id = MlflowClient(tracking_uri, tracking_uri).get_model_version(model_name, str(version)).run_id
    path = download_artifacts(run_id=run_id, artifact_path=f"{ONNX_DIR}/{ONNX_FILE}", tracking_uri=tracking_uri)
    return proba_fn(session(Path(path).read_bytes())), f"verified: agreement {agreement:.2%}, max diff {diff:.1e}"
