"""With MODELOPS_MLFLOW_UI_URL set, the Registry's run ids open the runs in the MLflow UI."""

from __future__ import annotations

from pathlib import Path

import pytest
from mlflow import MlflowClient
from streamlit.testing.v1 import AppTest

from core import names
from core.config import Settings

APP = str(Path(__file__).resolve().parents[2] / "dashboard" / "app.py")


def test_run_ids_link_to_the_mlflow_ui(bc_home: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(names.ENV_MLFLOW_UI_URL, "http://mlflow.example:5000/")
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.switch_page("../pages/registry.py").run()
    assert not at.exception
    table = next(d.value for d in at.dataframe if "run_id" in d.value.columns)
    client = MlflowClient(bc_home.tracking_uri, bc_home.tracking_uri)
    for version, url in zip(table["version"], table["run_id"], strict=True):
        run = client.get_run(client.get_model_version(names.BREAST_CANCER, str(version)).run_id)
        assert url == f"http://mlflow.example:5000/#/experiments/{run.info.experiment_id}/runs/{run.info.run_id}"


def test_without_a_ui_run_ids_stay_plain(bc_home: Settings) -> None:
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.switch_page("../pages/registry.py").run()
    table = next(d.value for d in at.dataframe if "run_id" in d.value.columns)
    assert all(len(r) == 32 and "/" not in r for r in table["run_id"])
