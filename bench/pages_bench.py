"""Warm page renders in Chromium: every dashboard page over the seeded demo with live traffic.

Seeds a fresh demo home, starts the service and the dashboard on free ports, sends 30 s of
simulated traffic (20 requests/s, 80% labelled), then opens each page, lets it fill its caches
(the cold visit), and times three reloads until Streamlit reports the script finished. The
target is 2 s per warm page on a quiet machine. Not a test.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import machine_line  # noqa: E402
from core import names  # noqa: E402
from core.config import Settings  # noqa: E402
from core.demo.seed import seed_demo  # noqa: E402
from core.demo.simulate import SimulationConfig, simulate  # noqa: E402
from tests.browser.conftest import CHROMIUM_ARGS  # noqa: E402
from tests.helpers import free_port, wait_http_ok  # noqa: E402

PAGES = (
    "",
    "registry",
    "evaluation",
    "classify",
    "explain",
    "export",
    "online",
    "ab",
    "drift",
    "image-drift",
    "monitoring",
)
TOKEN = "pages-bench-token-0123456789"


def main() -> None:
    from playwright.sync_api import sync_playwright

    home = Path(tempfile.mkdtemp(prefix="modelops-pages-")) / "home"
    env = {k: v for k, v in os.environ.items() if k not in (names.ENV_TRACKING_URI, names.ENV_DB_URL)}
    env.update({names.ENV_HOME: str(home), names.ENV_API_TOKEN: TOKEN, "TF_CPP_MIN_LOG_LEVEL": "3"})
    settings = Settings.from_env(env)
    seed_demo(settings, progress=lambda _line: None)
    api, ui = free_port(), free_port()
    env[names.ENV_API_URL] = f"http://127.0.0.1:{api}"
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "core", "serve", "--port", str(api)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        ),
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                "dashboard/app.py",
                "--server.port",
                str(ui),
                "--server.headless",
                "true",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        ),
    ]
    try:
        wait_http_ok(f"http://127.0.0.1:{api}/readyz", 180)
        wait_http_ok(f"http://127.0.0.1:{ui}/_stcore/health", 120)
        traffic = SimulationConfig(names.BREAST_CANCER, rate=20, duration=30, label_delay=1, challenger_share=0.3)
        asyncio.run(simulate(replace(settings, api_url=env[names.ENV_API_URL], api_token=TOKEN), traffic))
        times: dict[str, list[float]] = {}
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            idle = '[data-testid="stApp"][data-test-script-state="notRunning"]'
            for path in PAGES:
                page.goto(f"http://127.0.0.1:{ui}/{path}")
                page.wait_for_selector(idle, timeout=180_000)  # cold: caches fill
                for _ in range(3):
                    started = time.perf_counter()
                    page.reload()
                    page.wait_for_selector(idle, timeout=180_000)
                    times.setdefault(path or "overview", []).append(time.perf_counter() - started)
            browser.close()
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(20)
    print(f"\n{machine_line()}; demo + 30 s of traffic at 20 req/s; warm reload until the script finishes")
    print(f"{'page':<14}{'median (s)':>12}{'max (s)':>10}  target 2 s")
    for page_name, values in times.items():
        median = statistics.median(values)
        print(f"{page_name:<14}{median:>12.2f}{max(values):>10.2f}  {'ok' if median <= 2 else 'SLOW'}")


if __name__ == "__main__":
    main()
