"""The dashboard against a running service: Overview shows what it serves; Roll back goes live."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from core import names
from core.registry.facade import Registry
from tests.conftest import copy_home
from tests.serving.conftest import Service, point_dashboard_at, start_service, stop_service

APP = str(Path(__file__).resolve().parents[2] / "dashboard" / "app.py")


@pytest.fixture(scope="module")
def module_service(bc_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """One breast-cancer service for the module; ``dashboard_env`` puts back what each test moves."""
    svc = start_service(copy_home(bc_template, tmp_path_factory.mktemp("dash") / "home"))
    yield svc
    stop_service(svc)


@pytest.fixture
def dashboard_env(module_service: Service, monkeypatch: pytest.MonkeyPatch) -> Iterator[Service]:
    yield point_dashboard_at(module_service, monkeypatch)
    # As found: champion v3, challenger v2, no challenger traffic, and the service serving that.
    registry = Registry.from_settings(module_service.settings)
    for alias, version in ((names.CHAMPION, 3), (names.CHALLENGER, 2)):
        if registry.resolve_alias(names.BREAST_CANCER, alias) != version:
            registry.promote(names.BREAST_CANCER, version, alias, actor="pytest", reason="test clean-up")
    with module_service.client() as c:
        put = c.put(
            f"/v1/models/{names.BREAST_CANCER}/traffic",
            json={"challenger_share": 0.0, "shadow": False},
            headers=module_service.admin(),
        )
        put.raise_for_status()
        served = c.post("/v1/admin/reload", headers=module_service.admin()).json()
    bc = next(m for m in served["models"] if m["name"] == names.BREAST_CANCER)
    assert {a: arm["version"] for a, arm in bc["arms"].items()} == {names.CHAMPION: 3, names.CHALLENGER: 2}
    st.cache_data.clear()  # the next test's pages read the registry afresh, as over a new home


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
