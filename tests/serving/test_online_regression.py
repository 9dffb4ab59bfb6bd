"""The train route and the Online learning page for a partial_fit regressor (numeric labels, MAE gate)."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from core import names
from core.config import Settings
from core.registry.facade import Registry
from tests.online.test_learner_regression import SGD, _register_sgd
from tests.serving.conftest import point_dashboard_at, start_service, stop_service

APP = str(Path(__file__).resolve().parents[2] / "dashboard" / "app.py")


def test_train_route_and_online_page_for_a_regressor(bc_home: Settings, monkeypatch) -> None:
    rows, labels = _register_sgd(bc_home)
    Registry.from_settings(bc_home).client.set_model_version_tag(SGD, "1", names.TAG_ONLINE, "true")
    columns = ["age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6"]
    service = start_service(bc_home.home, MODELOPS_ONLINE_EVAL_EVERY="0")
    try:
        with service.client() as c:
            body = {"dataframe_split": {"columns": columns, "data": rows[:2].tolist()}, "labels": [150.0, "high"]}
            bad = c.post(f"/v1/models/{SGD}/train", json=body, headers=service.admin())
            assert bad.status_code == 422 and "is a regressor: label 1 must be a finite number" in bad.text
            for _ in range(5):
                for start in range(0, len(rows), 50):
                    part = {"columns": columns, "data": rows[start : start + 50].tolist()}
                    body = {"dataframe_split": part, "labels": labels[start : start + 50].tolist()}
                    r = c.post(f"/v1/models/{SGD}/train", json=body, headers=service.admin())
                    assert r.status_code == 200, r.text
            evaluated = c.post(f"/v1/models/{SGD}/train/evaluate?register=false", headers=service.admin())
            assert evaluated.status_code == 200, evaluated.text
            decided = evaluated.json()
            assert decided["metric"] == "mae" and decided["candidate_accuracy"] < decided["champion_accuracy"]
        point_dashboard_at(service, monkeypatch)
        at = AppTest.from_file(APP, default_timeout=180).run()
        at.switch_page("../pages/online.py").run()
        assert not at.exception, at.exception
        assert at.selectbox[0].value == SGD
        labels_shown = [m.label for m in at.metric]
        assert "Candidate MAE vs v1" in labels_shown, labels_shown
        assert any("passes when its MAE is at most 1% above the champion's" in cap.value for cap in at.caption)
        assert at.get("plotly_chart"), "the gate decisions over time are drawn"
    finally:
        stop_service(service)
