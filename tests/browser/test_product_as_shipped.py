"""Acceptance: the product as ``make run`` starts it, under simulated traffic with partial labels.

What ``make run`` starts — the service, the dashboard, and the simulator at 80% labels — over the full
seeded demo. After traffic has flowed:

* the A/B page's accuracies are within 5 points of each version's held-out accuracy (the shipped demo
  once showed 0% for both arms: labels compared as ``0`` vs ``0.0`` once some requests had none);
* Monitoring's requests/s is within 20% of the simulator's rate;
* every page renders warm in Chromium with no exception and no error box;
* a bad promotion is rolled back automatically from the partially labelled feedback.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import mlflow
import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from core import names
from core.demo.datasets import breast_cancer_split
from core.demo.simulate import SimulationConfig, SimulationResult, simulate
from core.registry.facade import Registry
from core.registry.registration import configure_mlflow, log_sklearn_version
from tests.browser.conftest import dashboard_over, wait_for_idle
from tests.conftest import copy_home
from tests.helpers import run_async
from tests.serving.conftest import TOKEN, Service, launch_service

pytestmark = pytest.mark.browser

BC = names.BREAST_CANCER
RATE = 20.0
PAGES = ("", "registry", "classify", "explain", "export", "online", "ab", "drift", "image-drift", "monitoring")


@pytest.fixture
def shipped(seeded_template: Path, tmp_path: Path) -> Iterator[tuple[Service, str]]:
    """Service and dashboard over the full demo; the rollback watch on breast-cancer, quick to act."""
    service = launch_service(
        copy_home(seeded_template, tmp_path / "home"),
        **{
            names.ENV_AUTO_ROLLBACK: BC,
            names.ENV_ROLLBACK_MIN_LABELS: "50",
            names.ENV_ROLLBACK_INTERVAL_S: "2",
        },
    )
    with dashboard_over(service, tmp_path / "dashboard.log") as both:
        yield both


def _register_a_bad_version(service: Service) -> int:
    """A breast-cancer version trained on shuffled labels: what a broken training job registers."""
    with pytest.MonkeyPatch.context() as mp:
        for key in (names.ENV_TRACKING_URI, names.ENV_DB_URL):
            mp.delenv(key, raising=False)
        mp.setenv(names.ENV_HOME, str(service.settings.home))
        configure_mlflow(service.settings)
        X_train, X_test, y_train, y_test = breast_cancer_split()
        shuffled = y_train.sample(frac=1.0, random_state=0).set_axis(y_train.index)
        with mlflow.start_run(run_name="shuffled-labels"):
            model = LogisticRegression(max_iter=5000).fit(X_train, shuffled)
            mlflow.log_metric("accuracy", float((model.predict(X_test) == y_test).mean()))
            return log_sklearn_version(model, BC, X_train, X_test, y_train, y_test)


def _simulate(service: Service, seconds: float, seed: int, share: float | None = None) -> SimulationResult:
    settings = replace(service.settings, api_url=service.url, api_token=TOKEN)
    config = SimulationConfig(
        BC,
        rate=RATE,
        duration=seconds,
        label_delay=0.5,
        label_fraction=0.8,
        challenger_share=share,
        seed=seed,
    )
    return run_async(simulate(settings, config))


def _metric(page, label: str) -> str:
    box = page.locator('[data-testid="stMetric"]').filter(has_text=label).first
    return box.locator('[data-testid="stMetricValue"]').inner_text(timeout=60_000)


def _no_errors(page, where: str) -> None:
    exceptions = page.locator('[data-testid="stException"]')
    errors = page.locator('[data-testid="stAlertContentError"]')
    assert exceptions.count() == 0, f"{where}: {exceptions.first.inner_text()}"
    assert errors.count() == 0, f"{where}: {errors.first.inner_text()}"


def test_the_product_as_shipped_under_partially_labelled_traffic(shipped, browser) -> None:
    service, url = shipped
    registry = Registry.from_settings(service.settings)
    bad = _register_a_bad_version(service)
    held_out = {v: registry.get_version(BC, v).metrics["accuracy"] for v in (2, 3, bad)}
    assert held_out[bad] < 0.75 < held_out[2]

    # 40 s of traffic at 80% labels, half to the challenger; Monitoring read while it flows.
    results: list[SimulationResult] = []
    flowing = threading.Thread(target=lambda: results.append(_simulate(service, 40, seed=1, share=0.5)))
    flowing.start()
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    try:
        time.sleep(25)
        page.goto(f"{url}/monitoring")
        wait_for_idle(page)
        rate = _metric(page, "Requests/s")
        assert abs(float(rate) - RATE) <= 0.2 * RATE, f"Monitoring shows {rate} requests/s for {RATE}"
        flowing.join(120)
        (result,) = results
        assert result.failed == 0 and result.ok == result.sent, result.errors
        assert result.labels >= 0.7 * result.ok  # 80% labelled, give or take

        # A/B: each arm's live accuracy near its held-out accuracy.
        page.goto(f"{url}/ab")
        wait_for_idle(page)
        table = page.locator('[data-testid="stDataFrame"]').first
        table.wait_for(timeout=60_000)
        from core.analysis.ab import analyse, load_outcomes

        report = analyse(load_outcomes(registry.store, BC), BC, {names.CHAMPION: 3, names.CHALLENGER: 2}, 0.5)
        for arm, version in zip(report.arms, (3, 2), strict=True):
            assert arm.labelled >= 150, arm
            assert abs(arm.accuracy - held_out[version]) <= 0.05, (arm, held_out[version])
        decision = page.locator('[class*="st-key-ab-decision"]').inner_text(timeout=60_000)
        assert "0.0%" not in decision and "no labelled requests" not in decision, decision

        # Every page, warm: no exception, no error box.
        timings = {}
        for path in PAGES:
            page.goto(f"{url}/{path}")
            wait_for_idle(page)  # cold: caches fill
            started = time.perf_counter()
            page.reload()
            wait_for_idle(page)
            timings[path or "overview"] = time.perf_counter() - started
            _no_errors(page, path or "overview")
        print("warm page renders (s):", {k: round(v, 2) for k, v in timings.items()})
    finally:
        page.close()

    # A bad promotion, caught from the partially labelled feedback and rolled back by the watch.
    registry.promote(BC, bad, names.CHAMPION, actor="careless-engineer", reason="looked fine offline")
    second = _simulate(service, 15, seed=2)
    assert second.failed == 0, second.errors
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and registry.resolve_alias(BC, names.CHAMPION) == bad:
        time.sleep(1)
    assert registry.resolve_alias(BC, names.CHAMPION) == 3
    move = registry.history(BC, alias=names.CHAMPION, limit=1)[0]
    assert (move.action, move.actor, move.from_version, move.to_version) == (
        "rollback",
        "modelops-auto-rollback",
        bad,
        3,
    )
    gap = float(re.search(r"([0-9.]+) points below", move.reason).group(1))
    assert gap > 5 and np.isfinite(gap), move.reason
