"""Compiled inference: every demo version's ONNX build equals scikit-learn; unsupported ones fall back."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import mlflow
import numpy as np
import pytest
from sklearn.semi_supervised import LabelSpreading

from core import names
from core.config import Settings
from core.demo.datasets import breast_cancer_split
from core.edge import onnx_compile
from core.errors import InvalidInputError
from core.flavors import sklearn_skops
from core.names import TARGET
from core.registry.facade import Registry
from core.registry.reference import load_version_frame
from core.registry.registration import configure_mlflow, log_frames
from core.runtime import onnx as onnx_runtime
from core.runtime.handles import load_handle

BC = names.BREAST_CANCER
ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("version", [1, 2, 3])
def test_every_demo_version_is_compiled_and_equal_on_its_reference_data(bc_home: Settings, version: int) -> None:
    registry = Registry.from_settings(bc_home)
    tags = registry.get_version(BC, version).tags
    assert tags[onnx_runtime.TAG_STATUS] == "passed" and float(tags[onnx_runtime.TAG_AGREEMENT]) == 1.0
    assert float(tags[onnx_runtime.TAG_MAX_DIFF]) <= 1e-5
    handle = load_handle(bc_home.tracking_uri, BC, version)
    assert handle.runtime == "onnxruntime" and handle.runtime_reason.startswith("verified")
    reference = load_version_frame(registry, BC, version, "reference").drop(columns=[TARGET]).to_numpy()
    onnx, sklearn = handle.predict_proba(reference), handle.sklearn_proba(reference)
    assert np.array_equal(onnx.argmax(axis=1), sklearn.argmax(axis=1))
    assert np.abs(onnx - sklearn).max() <= 1e-5


def test_an_unsupported_estimator_falls_back_with_its_reason(bc_home: Settings) -> None:
    configure_mlflow(bc_home)
    X, _, y, _ = breast_cancer_split()
    with mlflow.start_run():
        log_frames({"reference.parquet": X.assign(**{TARGET: y.values})})
        info = sklearn_skops.log_model(
            LabelSpreading().fit(X, y),
            input_example=X.head(2),
            signature=mlflow.models.infer_signature(X, y),
            registered_model_name="spread",
        )
    version = int(info.registered_model_version)
    record = onnx_compile.compile_version(Registry.from_settings(bc_home), "spread", version)
    assert record.status == "unsupported" and "LabelSpreading" in record.reason
    handle = load_handle(bc_home.tracking_uri, "spread", version)
    assert handle.runtime == "sklearn" and "ONNX build unsupported" in handle.runtime_reason
    assert handle.predict_proba(X.head(3).to_numpy()).shape == (3, 2)  # still serves, through scikit-learn


def test_tightened_thresholds_turn_the_build_off(bc_home: Settings, monkeypatch) -> None:
    monkeypatch.setenv("MODELOPS_ONNX_MAX_PROBA_DIFF", "1e-12")
    handle = load_handle(bc_home.tracking_uri, BC, 2)  # v2 differs by ~3e-6
    assert handle.runtime == "sklearn" and "misses today's thresholds" in handle.runtime_reason


def test_compile_command(bc_home: Settings) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "core", "compile", "--model", BC, "--version", "1"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=180,
        env={**os.environ, names.ENV_HOME: str(bc_home.home)},
    )
    assert out.returncode == 0, out.stderr
    assert "breast-cancer v1: ONNX passed; label agreement 100.0000%" in out.stdout


def test_a_version_without_reference_data_is_verified_on_its_input_example(bc_home: Settings) -> None:
    """The runtime's hint sent a foreign model's user to a compile command that failed for lack of reference data."""
    from sklearn.linear_model import LogisticRegression

    configure_mlflow(bc_home)
    X, _, y, _ = breast_cancer_split()
    with mlflow.start_run():
        info = sklearn_skops.log_model(
            LogisticRegression(max_iter=5000).fit(X, y),
            input_example=X.head(5),
            signature=mlflow.models.infer_signature(X, y),
            registered_model_name="plain",
        )
        bare = sklearn_skops.log_model(
            LogisticRegression(max_iter=5000).fit(X, y),
            signature=mlflow.models.infer_signature(X, y),
            registered_model_name="bare",
        )
    registry = Registry.from_settings(bc_home)
    from core.registry.reference import version_flavor

    # no modelops.flavor tag on a model logged elsewhere: the pages read its MLmodel to list it
    assert version_flavor(bc_home.tracking_uri, "plain", int(info.registered_model_version)) == "sklearn"
    assert version_flavor(bc_home.tracking_uri, "plain", 99) is None
    record = onnx_compile.compile_version(registry, "plain", int(info.registered_model_version))
    assert record.status == "passed" and record.rows == 5
    with pytest.raises(InvalidInputError, match="no reference data and no input example"):
        onnx_compile.compile_version(registry, "bare", int(bare.registered_model_version))
