"""In Chromium: move the A/B split on the page and see the service's /v1/models report it."""

from __future__ import annotations

import time

import httpx
import pytest
from playwright.sync_api import expect

from core import names
from tests.browser.conftest import wait_for_idle

pytestmark = pytest.mark.browser


def test_moving_the_split_reaches_the_service(service_and_dashboard, browser) -> None:
    service, url = service_and_dashboard
    page = browser.new_page()
    page.goto(f"{url}/ab")
    wait_for_idle(page)
    slider = page.get_by_role("slider", name="Challenger share of traffic (%)")
    expect(slider).to_have_value("0", timeout=60_000)
    slider.focus()
    for _ in range(25):
        page.keyboard.press("ArrowRight")
    expect(slider).to_have_value("25")
    wait_for_idle(page)
    page.get_by_role("button", name="Save traffic").click()
    expect(page.get_by_text(f"{names.BREAST_CANCER}: challenger 25%")).to_be_visible(timeout=60_000)
    deadline = time.monotonic() + 10
    share = None
    while time.monotonic() < deadline:
        served = {m["name"]: m for m in httpx.get(f"{service.url}/v1/models").json()["models"]}
        share = served[names.BREAST_CANCER]["traffic"]["challenger_share"]
        if share == 0.25:
            break
        time.sleep(0.2)
    assert share == 0.25
    page.close()
