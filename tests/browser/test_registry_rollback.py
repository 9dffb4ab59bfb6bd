"""In Chromium: open Registry, click Roll back, confirm, see the champion badge move."""

from __future__ import annotations

import pytest
from mlflow import MlflowClient
from playwright.sync_api import expect

from core import names
from core.config import Settings
from tests.browser.conftest import wait_for_idle

pytestmark = pytest.mark.browser


def test_one_click_rollback_moves_the_champion_badge(dashboard_url: str, browser, seeded_home: Settings) -> None:
    page = browser.new_page()
    page.goto(f"{dashboard_url}/registry")
    wait_for_idle(page)
    badges = page.locator(".st-key-alias-badges")
    expect(badges).to_contain_text("champion v3", timeout=60_000)

    page.get_by_role("button", name="Roll back champion: v3 → v2").click()
    confirm = page.get_by_role("button", name="Confirm roll back")
    expect(confirm).to_be_visible(timeout=60_000)
    expect(page.get_by_text("from v3 back to v2")).to_be_visible()
    confirm.click()

    expect(badges).to_contain_text("champion v2", timeout=60_000)
    expect(page.get_by_text("champion: v3 → v2.")).to_be_visible()
    client = MlflowClient(seeded_home.tracking_uri, seeded_home.tracking_uri)
    assert int(client.get_model_version_by_alias(names.BREAST_CANCER, names.CHAMPION).version) == 2
    page.close()


def test_overview_lists_every_demo_model(reading_dashboard_url: str, browser) -> None:
    page = browser.new_page()
    page.goto(reading_dashboard_url)
    wait_for_idle(page)
    for model in names.DEMO_MODELS:
        expect(page.locator(f".st-key-overview-{model}")).to_contain_text("champion", timeout=60_000)
    page.close()
