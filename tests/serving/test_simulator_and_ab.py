"""The traffic simulator end to end against a real service, then the A/B and Monitoring pages on its data."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa
from streamlit.testing.v1 import AppTest

from core import names
from core.analysis.ab import analyse, load_outcomes
from core.demo.simulate import SimulationConfig, simulate
from core.registry.facade import Registry
from core.store.db import predictions
from tests.conftest import copy_home
from tests.helpers import run_async
from tests.serving.conftest import TOKEN, Service, point_dashboard_at, start_service, stop_service

BC = names.BREAST_CANCER
APP = str(Path(__file__).resolve().parents[2] / "dashboard" / "app.py")
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def simulated(bc_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """One service per module that received 320 requests with drift and labels; tests only read it."""
    service = start_service(
        copy_home(bc_template, tmp_path_factory.mktemp("sim") / "home"), MODELOPS_DRIFT_INTERVAL_S="1"
    )
    try:  # a failed simulation must not leave the service running
        settings = replace(service.settings, api_url=service.url, api_token=TOKEN)
        config = SimulationConfig(
            BC, rate=80, duration=4, label_delay=0.3, label_fraction=1.0, drift=3.0, challenger_share=0.5, seed=1
        )
        result = run_async(simulate(settings, config))
        assert result.sent == 320 and result.ok == 320 and result.failed == 0
        assert result.labels == 320
        assert {arm.split()[0] for arm in result.arms} == {names.CHAMPION, names.CHALLENGER}
        yield service
    finally:
        stop_service(service)


def test_simulated_traffic_feeds_the_ab_analysis(simulated: Service) -> None:
    store = Registry.from_settings(simulated.settings).store
    frame = load_outcomes(store, BC)
    assert len(frame) == 320 and frame["correct"].notna().all()
    report = analyse(frame, BC, {names.CHAMPION: 3, names.CHALLENGER: 2}, 0.5)
    champion, challenger = report.arms
    assert champion.requests + challenger.requests == 320
    assert not report.srm_detected  # keyed users at 50/50
    assert champion.accuracy_low < champion.accuracy < champion.accuracy_high
    early = frame.head(40)["correct"].astype(bool).mean()
    late = frame.tail(40)["correct"].astype(bool).mean()
    assert early > 0.8 and late < early - 0.15  # the drift (3 std devs by the end) hurts both models
    assert report.verdict in ("unknown", "better", "worse") and report.decision
    assert len(report.cumulative) == 320


def test_simulator_sends_images_to_an_image_model_and_labels_them(service: Service) -> None:
    """``simulate --model digits`` crashed; it now uploads held-out images and posts their labels."""
    since = datetime.now(UTC)
    config = SimulationConfig(names.DIGITS, rate=40, duration=1, label_delay=0.05, label_fraction=1.0, seed=2)
    result = run_async(simulate(service.settings, config))
    assert (result.sent, result.ok, result.failed, result.labels) == (40, 40, 0, 40), result.errors
    frame = load_outcomes(Registry.from_settings(service.settings).store, names.DIGITS, since)
    assert len(frame) == 40 and frame["correct"].notna().all()
    assert frame["correct"].astype(bool).mean() > 0.8  # the images are the champion's own held-out digits


def test_drift_shifts_the_logged_inputs(simulated: Service) -> None:
    engine = sa.create_engine(simulated.settings.db_url)
    with engine.connect() as conn:
        rows = conn.execute(sa.select(predictions.c.inputs).order_by(predictions.c.at)).scalars().all()
    radius = np.array([json.loads(r)["data"][0][0] for r in rows])
    quarter = len(radius) // 4
    assert radius[-quarter:].mean() > radius[:quarter].mean() + 3  # ≈3 std devs (≈3.5) by the end


def test_ab_and_monitoring_pages_show_the_simulated_traffic(simulated: Service, monkeypatch) -> None:
    point_dashboard_at(simulated, monkeypatch)
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.switch_page("../pages/ab_testing.py").run()
    assert not at.exception, at.exception
    table = at.dataframe[0].value
    assert table["requests"].sum() == 320 and set(table["arm"]) == {"champion", "challenger"}
    assert at.slider(key=f"traffic_share-{BC}").value == 50
    decision = [e.value for e in (*at.info, *at.success, *at.error)]
    assert any("sequential p" in d or "Not yet known" in d for d in decision)
    at.switch_page("../pages/monitoring.py").run()
    assert not at.exception, at.exception
    assert any(m.label == "Requests in window" and m.value == "320" for m in at.metric)


@pytest.fixture(scope="module")
def idle_service(bc_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """A service that never receives a request: the A/B page promotes through it, Monitoring finds nothing."""
    service = start_service(copy_home(bc_template, tmp_path_factory.mktemp("idle") / "home"))
    yield service
    stop_service(service)


def test_ab_page_promotes_the_challenger_through_the_service(idle_service: Service, monkeypatch) -> None:
    point_dashboard_at(idle_service, monkeypatch)
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.switch_page("../pages/ab_testing.py").run()
    assert any("has served no traffic yet" in i.value for i in at.info)
    at.button(key="ab-promote").click().run()
    # asked first: v2 is worse on held-out data, and the live test has not found it better
    warnings = " ".join(w.value for w in at.warning)
    assert "v2 is worse on held-out data than the current champion: accuracy" in warnings
    assert "The live test has not found v2 better" in warnings
    assert not at.success
    at.button(key="ab-promote-confirm-button").click().run()
    assert at.success[0].value.startswith("champion: v3 → v2. Live on the prediction service")


def test_monitoring_page_without_traffic_says_so(idle_service: Service, monkeypatch) -> None:
    point_dashboard_at(idle_service, monkeypatch)
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.switch_page("../pages/monitoring.py").run()
    assert not at.exception
    assert any("No predictions of breast-cancer" in i.value for i in at.info)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--rate", "0"], "--rate must be between 0 and 10000"),
        (["--label-fraction", "2"], "--label-fraction must be between 0 and 1"),
    ],
)
def test_simulate_cli_rejects_bad_settings(args: list[str], message: str, tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "core", "simulate", "--model", BC, *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, names.ENV_HOME: str(tmp_path)},
        timeout=120,
    )
    assert out.returncode == 2 and message in out.stderr


def test_service_publishes_the_drift_share(simulated: Service) -> None:
    import time

    from prometheus_client.parser import text_string_to_metric_families

    deadline = time.monotonic() + 15
    share = None
    while time.monotonic() < deadline and share is None:
        with simulated.client() as c:
            families = {f.name: f for f in text_string_to_metric_families(c.get("/metrics").text)}
        samples = [s for s in families["modelops_drift_share"].samples if s.labels["model"] == BC]
        share = samples[0].value if samples else None
        time.sleep(0.5)
    assert share is not None and share > 0.5  # 3 std devs of drift moves most of the 30 features


def test_drift_page_on_drifted_traffic(simulated: Service, monkeypatch) -> None:
    point_dashboard_at(simulated, monkeypatch)
    at = AppTest.from_file(APP, default_timeout=180).run()
    at.switch_page("../pages/drift.py").run()
    assert not at.exception, at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Dataset drift"] == "yes"
    features = at.dataframe[0].value
    assert len(features) == 30 and features["drifted"].sum() >= 15
    assert {"statistic", "p_value", "p_adjusted", "drifted"} <= set(features.columns)
    assert metrics["Predictions drifted"] == "yes"  # 3 std devs on every feature moves the class mix
    assert metrics["chi2"] and "/" in metrics["Predictions"]
    assert len(at.get("plotly_chart")) >= 4  # prediction mix, distribution, ECDF, drift over time
    segments = at.dataframe[1].value
    assert set(segments["segment"]) == {"champion", "challenger"}
    assert len(at.get("download_button")) == 2


def test_drift_page_lists_what_is_wrong_with_an_uploaded_csv(simulated: Service, monkeypatch) -> None:
    point_dashboard_at(simulated, monkeypatch)
    at = AppTest.from_file(APP, default_timeout=180).run()
    at.switch_page("../pages/drift.py").run()
    at.radio(key="drift_source").set_value("Upload a CSV").run()
    at.file_uploader(key="drift_upload").set_value(("bad.csv", b"mean radius,age\nbig,3\n1.0,4\n", "text/csv")).run()
    assert not at.exception
    (error,) = at.error
    assert "missing column(s): mean texture" in error.value
    assert "unexpected column(s): age" in error.value
    assert "column 'mean radius' must be numeric: 1 value(s) are not, e.g. 'big'" in error.value
    at.file_uploader(key="drift_upload").set_value(("empty.csv", b"", "text/csv")).run()
    assert at.error[0].value == "empty.csv is empty"
    twice = b"mean radius,mean radius\n1,2\n"
    at.file_uploader(key="drift_upload").set_value(("twice.csv", twice, "text/csv")).run()
    assert "names the column(s) 'mean radius' more than once" in at.error[0].value
