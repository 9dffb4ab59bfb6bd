"""The tests' private homes: a copy of a seeded home is self-contained (MLflow keeps absolute paths)."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import mlflow
import numpy as np
from mlflow import MlflowClient

from core import names
from core.config import Settings
from core.registry.registration import configure_mlflow
from core.runtime.handles import load_handle
from tests.conftest import copy_home


def test_a_copy_reads_and_writes_only_its_own_artifacts(bc_template: Path, tmp_path: Path) -> None:
    first = copy_home(bc_template, tmp_path / "first")
    second = copy_home(first, tmp_path / "second")
    shutil.rmtree(first)  # the copy must not need what it was copied from
    settings = Settings.from_env({names.ENV_HOME: str(second)})

    with sqlite3.connect(second / "mlflow.db") as conn:
        dump = "\n".join(conn.iterdump())
    conn.close()
    assert str(first) not in dump and str(bc_template) not in dump and f"{second}/artifacts" in dump
    client = MlflowClient(settings.tracking_uri, settings.tracking_uri)
    version = client.get_model_version(names.BREAST_CANCER, "3")
    assert client.get_run(version.run_id).info.artifact_uri.startswith((second / "artifacts").as_uri())

    handle = load_handle(settings.tracking_uri, names.BREAST_CANCER, 3)
    assert handle.runtime == "onnxruntime"  # the ONNX build was found in the copy
    assert handle.predict_proba(np.zeros((1, 30))).shape == (1, 2)

    experiment = configure_mlflow(settings)
    with mlflow.start_run(experiment_id=experiment) as run:
        mlflow.log_text("hello", "note.txt")
    assert (second / "artifacts" / run.info.run_id / "artifacts" / "note.txt").read_text() == "hello"
    assert not list(bc_template.glob(f"artifacts/{run.info.run_id}"))


def test_copies_used_one_after_another_write_into_their_own_runs(bc_template: Path, tmp_path: Path) -> None:
    # The copies share run ids; MLflow caches artifact locations by run id for the whole process.
    written = []
    for name in ("a", "b"):
        home = copy_home(bc_template, tmp_path / name)
        client = MlflowClient(*[Settings.from_env({names.ENV_HOME: str(home)}).tracking_uri] * 2)
        run_id = client.get_model_version(names.BREAST_CANCER, "3").run_id
        client.log_text(run_id, f"from {name}", "note.txt")
        assert client.download_artifacts(run_id, "note.txt", str(tmp_path)) and (
            (tmp_path / "note.txt").read_text() == f"from {name}"
        )
        written.append(home / "artifacts" / run_id / "artifacts" / "note.txt")
    assert [p.read_text() for p in written] == ["from a", "from b"]
    assert not list(bc_template.glob("artifacts/*/artifacts/note.txt"))
