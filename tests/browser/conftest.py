"""Real Streamlit server + Debian's Chromium through Playwright (no browser download)."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from core import names
from core.config import Settings
from tests.conftest import _point_env_at, copy_home
from tests.helpers import free_port, wait_http_ok
from tests.serving.conftest import TOKEN, Service, launch_service, stop_service, wait_ready

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("MODELOPS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]


@contextlib.contextmanager
def running_dashboard(env: dict[str, str], log: Path) -> Iterator[str]:
    """``streamlit run`` of the dashboard on a free port with ``env``; yields its URL."""
    port = free_port()
    with log.open("w") as out:
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
            env={**env, "TF_CPP_MIN_LOG_LEVEL": "3"},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_http_ok(f"http://127.0.0.1:{port}/_stcore/health", 90, proc)
            yield f"http://127.0.0.1:{port}"
        finally:
            proc.terminate()
            try:  # Streamlit takes seconds over a graceful stop; nothing in it needs one
                proc.wait(3)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)


@pytest.fixture
def dashboard_url(seeded_home: Settings, tmp_path: Path) -> Iterator[str]:
    """A real dashboard over the private seeded registry (no service), for tests that change it."""
    with running_dashboard(dict(os.environ), tmp_path / "dashboard.log") as url:
        yield url


@pytest.fixture(scope="package")
def reading_dashboard_url(seeded_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One real dashboard over a copy of the full demo (no service) for the tests that only read it:
    its server imports TensorFlow and shap once, not once per test."""
    home = copy_home(seeded_template, tmp_path_factory.mktemp("reading") / "home")
    with pytest.MonkeyPatch.context() as mp:
        _point_env_at(home, mp)  # the environment a test's private home sets
        env = dict(os.environ)
    with running_dashboard(env, home.parent / "dashboard.log") as url:
        yield url


@contextlib.contextmanager
def dashboard_over(service: Service, log: Path) -> Iterator[tuple[Service, str]]:
    """A real dashboard pointed at ``service`` (launched, maybe not ready yet); stops both afterwards."""
    env = {
        **{k: v for k, v in os.environ.items() if k not in (names.ENV_TRACKING_URI, names.ENV_DB_URL)},
        names.ENV_HOME: str(service.settings.home),
        names.ENV_API_URL: service.url,
        names.ENV_API_TOKEN: TOKEN,
    }
    try:
        with running_dashboard(env, log) as url:
            yield wait_ready(service), url
    finally:
        stop_service(service)


@pytest.fixture
def service_and_dashboard(bc_template: Path, tmp_path: Path) -> Iterator[tuple[Service, str]]:
    """A real service and a real dashboard pointed at it, over a private breast-cancer registry."""
    service = launch_service(copy_home(bc_template, tmp_path / "home"))  # starts while the dashboard does
    with dashboard_over(service, tmp_path / "dashboard.log") as both:
        yield both


@pytest.fixture(scope="package")
def browser():
    """Headless Debian Chromium, launched once for this package; a missing browser is a failure, never a skip.

    Package-scoped, not session-scoped: sync Playwright keeps an event loop running in the main
    thread until it stops, which would break ``asyncio.run`` in later packages. Tests here run
    coroutines with ``tests.helpers.run_async`` (a thread of their own), never ``asyncio.run``.
    """
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs it with apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


def wait_for_idle(page) -> None:
    """Wait until Streamlit reports the script finished (its own readiness signal)."""
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=90_000)
