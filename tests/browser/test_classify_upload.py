"""In Chromium: upload a digit PNG on the Classify page and see the right class on top."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import expect

from core.demo.datasets import digits_images
from tests.browser.conftest import wait_for_idle

pytestmark = pytest.mark.browser


def test_uploaded_digit_is_classified(reading_dashboard_url: str, browser, tmp_path: Path) -> None:
    _, images, _, labels = digits_images()
    index = next(i for i in range(len(labels)) if labels[i] == 7)
    path = tmp_path / "my-digit.png"
    Image.fromarray(255 - images[index]).resize((140, 140)).save(path)

    page = browser.new_page()
    page.goto(f"{reading_dashboard_url}/classify")
    wait_for_idle(page)
    page.locator('input[type="file"]').set_input_files(str(path))
    result = page.locator(".st-key-result-0")
    expect(result).to_contain_text("my-digit.png", timeout=90_000)
    expect(result).to_contain_text("v2 (champion): 7", timeout=30_000)
    expect(page.get_by_text("exact model input")).to_be_visible()
    page.close()
