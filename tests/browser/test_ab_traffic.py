"""In Chromium: move the A/B split on the page and see the service's /v1/models report it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect

from core import names
from tests.browser.conftest import wait_for_idle
from tests.conftest import ROOT, copy_home
from tests.helpers import free_port, wait_http_ok
from tests.serving.conftest import TOKEN, Service, start_service, stop_service

pytestmark = pytest.mark.browser


@pytest.fixture
def service_and_dashboard(seeded_template: Path, tmp_path: Path) -> Iterator[tuple[Service, str]]:
    service = start_service(copy_home(seeded_template, tmp_path / "home"))
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if k not in (names.ENV_TRACKING_URI, names.ENV_DB_URL)},
        names.ENV_HOME: str(service.settings.home),
        names.ENV_API_URL: service.url,
        names.ENV_API_TOKEN: TOKEN,
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(ROOT / "dashboard" / "app.py"),
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--server.headless",
            "true",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_http_ok(f"http://127.0.0.1:{port}/_stcore/health", 90, proc)
        yield service, f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(15)
        stop_service(service)


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
