"""In Chromium: the Explain page draws the SHAP charts for the demo forest."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import wait_for_idle

pytestmark = pytest.mark.browser


def test_explain_page_renders_the_shap_charts(reading_dashboard_url: str, browser) -> None:
    page = browser.new_page()
    page.goto(f"{reading_dashboard_url}/explain")
    wait_for_idle(page)
    expect(page.get_by_text("tree explainer")).to_be_visible(timeout=90_000)
    charts = page.locator('[data-testid="stPlotlyChart"]')
    expect(charts.first).to_be_visible(timeout=60_000)
    expect(page.get_by_text("Mean |SHAP| over 426 rows (tree)")).to_be_visible(timeout=60_000)
    # plotly drew real marks: one bar per feature shown in the importance chart
    expect(page.locator(".st-key-importance-chart .barlayer .point")).to_have_count(15, timeout=30_000)
    page.get_by_role("tab", name="One row").click()
    expect(page.locator(".st-key-waterfall-3 .plot-container")).to_be_visible(timeout=60_000)
    expect(page.get_by_text("model output").first).to_be_visible()
    page.close()
