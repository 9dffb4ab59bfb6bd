"""In Chromium: export on the Edge export page, then download a build that loads in LiteRT."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from playwright.sync_api import expect

from core.runtime.tflite import TFLiteModel
from tests.browser.conftest import wait_for_idle

pytestmark = pytest.mark.browser


def test_exported_build_downloads_and_loads(dashboard_url: str, browser, tmp_path: Path) -> None:
    page = browser.new_page(accept_downloads=True)
    page.goto(f"{dashboard_url}/export")
    wait_for_idle(page)
    expect(page.get_by_text("has no TFLite builds yet")).to_be_visible(timeout=90_000)
    page.get_by_role("button", name="Export").click()
    expect(page.get_by_text("Report card: digits v2")).to_be_visible(timeout=180_000)
    wait_for_idle(page)
    button = page.get_by_role("button", name="int8.tflite")
    expect(button).to_be_visible()
    with page.expect_download(timeout=60_000) as info:
        button.click()
    target = tmp_path / "build.tflite"
    info.value.save_as(target)
    assert info.value.suggested_filename == "digits-v2-int8.tflite"
    model = TFLiteModel(target.read_bytes())
    assert model(np.zeros((1, 28, 28, 1), dtype="float32")).shape == (1, 10)
    page.close()
