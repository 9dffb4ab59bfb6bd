"""In Chromium, password mode: mutating buttons are refused until signed in; then the move records who acted."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from mlflow import MlflowClient
from playwright.sync_api import expect

from core import names
from core.config import Settings
from core.registry.facade import Registry
from tests.browser.conftest import running_dashboard, wait_for_idle

pytestmark = pytest.mark.browser


def test_rollback_needs_a_signed_in_user(bc_home: Settings, browser, tmp_path: Path) -> None:
    env = {**os.environ, "MODELOPS_DASHBOARD_PASSWORD": "correct horse"}
    with running_dashboard(env, tmp_path / "dashboard.log") as url:
        page = browser.new_page()
        page.goto(f"{url}/registry")
        wait_for_idle(page)
        rollback = page.get_by_role("button", name="Roll back champion: v3 → v2")
        expect(rollback).to_be_disabled(timeout=60_000)
        expect(page.get_by_role("button", name="Promote")).to_be_disabled()
        expect(page.get_by_text("Sign in (sidebar) to promote, roll back or change traffic.")).to_be_visible()

        sidebar = page.locator('[data-testid="stSidebar"]')
        sidebar.get_by_role("textbox", name="Name").fill("alice")
        sidebar.get_by_role("textbox", name="Password").fill("wrong")
        sidebar.get_by_role("button", name="Sign in").click()
        expect(sidebar.get_by_text("Wrong name or password.")).to_be_visible(timeout=30_000)
        expect(rollback).to_be_disabled()

        sidebar.get_by_role("textbox", name="Password").fill("correct horse")
        sidebar.get_by_role("button", name="Sign in").click()
        expect(sidebar.get_by_text("Acting as")).to_be_visible(timeout=30_000)
        expect(rollback).to_be_enabled()
        rollback.click()
        page.get_by_role("button", name="Confirm roll back").click()
        expect(page.locator(".st-key-alias-badges")).to_contain_text("champion v2", timeout=60_000)
        page.close()
    client = MlflowClient(bc_home.tracking_uri, bc_home.tracking_uri)
    assert int(client.get_model_version_by_alias(names.BREAST_CANCER, names.CHAMPION).version) == 2
    latest = Registry.from_settings(bc_home).history(names.BREAST_CANCER, limit=1)[0]
    assert (latest.action, latest.actor) == ("rollback", "alice")
