"""In Chromium, over a registry written by plain MLflow code: a regressor walked Registry → Explain → A/B,
with regression traffic from the simulator (numeric labels, both arms)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from core import names
from tests.browser.conftest import ROOT, dashboard_over, wait_for_idle
from tests.conftest import copy_home
from tests.foreign import DIABETES
from tests.serving.conftest import TOKEN, Service, launch_service

pytestmark = pytest.mark.browser


@pytest.fixture
def regressor_served(foreign_template: Path, tmp_path: Path) -> Iterator[tuple[Service, str]]:
    service = launch_service(copy_home(foreign_template, tmp_path / "home"))
    with dashboard_over(service, tmp_path / "dashboard.log") as (svc, url):
        # The service's home only: an earlier test in this worker may have left a tracking URI in the environment.
        env = {k: v for k, v in os.environ.items() if k not in (names.ENV_TRACKING_URI, names.ENV_DB_URL)}
        env.update({names.ENV_HOME: str(svc.settings.home), names.ENV_API_URL: svc.url})
        env[names.ENV_API_TOKEN] = TOKEN
        args = ["--rate", "60", "--duration", "5", "--label-delay", "0.2", "--label-fraction", "1"]
        sim = subprocess.run(
            [sys.executable, "-m", "core", "simulate", "--model", DIABETES, *args, "--challenger-share", "0.5"],
            capture_output=True,
            text=True,
            env=env,
            cwd=ROOT,
            timeout=120,
        )
        assert sim.returncode == 0, sim.stderr
        yield svc, url


def _pick_model(page: Page, model: str) -> None:
    page.locator('[data-testid="stSelectbox"]').first.click()
    page.get_by_role("option", name=model, exact=True).click()
    wait_for_idle(page)


def test_a_regressor_walks_registry_explain_and_ab(regressor_served: tuple[Service, str], browser) -> None:
    _, url = regressor_served
    page = browser.new_page(viewport={"width": 1280, "height": 1800})
    page.goto(f"{url}/registry")
    wait_for_idle(page)
    _pick_model(page, DIABETES)
    expect(page.get_by_text("Task: regression")).to_be_visible(timeout=60_000)
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)

    page.goto(f"{url}/explain")
    wait_for_idle(page)
    _pick_model(page, DIABETES)
    expect(page.get_by_text("A regressor: the SHAP values explain its predicted value")).to_be_visible(timeout=90_000)
    expect(page.locator(".st-key-importance-chart .barlayer .point").first).to_be_visible(timeout=90_000)
    expect(page.get_by_text("region").first).to_be_visible()  # SHAP on the original string column
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)

    page.goto(f"{url}/ab")
    wait_for_idle(page)
    _pick_model(page, DIABETES)
    expect(page.get_by_text("each arm is judged by its absolute errors")).to_be_visible(timeout=60_000)
    expect(page.get_by_text("MAE difference (challenger − champion)")).to_be_visible(timeout=60_000)
    wait_for_idle(page)
    expect(page.get_by_text("cumulative MAE (lower is better)")).to_be_visible(timeout=60_000)
    expect(page.get_by_text("Accuracy difference (challenger − champion)")).to_have_count(0, timeout=30_000)
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)
    page.screenshot(path=str(Path(os.environ.get("PYTEST_SHOTS", "/tmp")) / "regressor-ab.png"), full_page=True)
    page.close()
