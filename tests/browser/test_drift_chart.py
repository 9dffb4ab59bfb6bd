"""In Chromium: after the simulator sends drifted traffic, the Drift page draws drift over time."""

from __future__ import annotations

from dataclasses import replace

import pytest
from playwright.sync_api import expect

from core import names
from core.demo.simulate import SimulationConfig, simulate
from tests.browser.conftest import wait_for_idle
from tests.helpers import run_async
from tests.serving.conftest import TOKEN

pytestmark = pytest.mark.browser


def test_drift_over_time_chart_renders(service_and_dashboard, browser) -> None:
    service, url = service_and_dashboard
    settings = replace(service.settings, api_url=service.url, api_token=TOKEN)
    result = run_async(
        simulate(settings, SimulationConfig(names.BREAST_CANCER, rate=100, duration=4, drift=3.0, label_fraction=0.0))
    )
    assert result.ok == 400
    page = browser.new_page()
    page.goto(f"{url}/drift")
    wait_for_idle(page)
    expect(page.get_by_text("Drift over time")).to_be_visible(timeout=60_000)
    # prediction mix, feature distribution, ECDF, drift over time
    expect(page.locator(".js-plotly-plot")).to_have_count(4, timeout=60_000)
    expect(page.get_by_text("Predictions drifted")).to_be_visible()
    expect(page.get_by_text("dataset drift", exact=True)).to_be_visible()  # the threshold line's label
    page.close()
