"""The dashboard against a running service: Overview shows what it serves; Roll back goes live."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core import names
from tests.serving.conftest import Service, point_dashboard_at

APP = str(Path(__file__).resolve().parents[2] / "dashboard" / "app.py")


@pytest.fixture
def dashboard_env(fresh_service: Service, monkeypatch: pytest.MonkeyPatch) -> Service:
    return point_dashboard_at(fresh_service, monkeypatch)


def test_overview_shows_the_served_arms(dashboard_env: Service) -> None:
    at = AppTest.from_file(APP, default_timeout=120).run()
    assert not at.exception
    assert any(":green-badge[ready]" in m.value for m in at.markdown)
    served = at.dataframe[0].value
    row = served[served["model"] == names.BREAST_CANCER].iloc[0]
    assert row["champion"] == "v3 (onnxruntime)" and row["challenger"] == "v2 (onnxruntime)"


def test_rollback_from_the_page_is_live_on_the_service(dashboard_env: Service) -> None:
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.switch_page("../pages/registry.py").run()
    at.button(key="rollback").click().run()
    at.button(key="rollback-confirm-button").click().run()
    assert not at.exception
    assert at.success[0].value == (
        "champion: v3 → v2. Live on the prediction service: breast-cancer champion serves v2."
    )
    with dashboard_env.client() as c:
        r = c.post(f"/v1/models/{names.BREAST_CANCER}/predict", json={"instances": [[1.0] * 30]})
    assert r.json()["version"] == 2


def test_traffic_split_is_saved_through_the_service(dashboard_env: Service) -> None:
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.switch_page("../pages/registry.py").run()
    at.slider(key=f"traffic_share-{names.BREAST_CANCER}").set_value(30).run()
    at.button(key=f"save-traffic-{names.BREAST_CANCER}").click().run()
    assert not at.exception
    assert at.success[0].value == f"{names.BREAST_CANCER}: challenger 30%"
    with dashboard_env.client() as c:
        served = {m["name"]: m for m in c.get("/v1/models").json()["models"]}
    assert served[names.BREAST_CANCER]["traffic"]["challenger_share"] == 0.3
