"""A real ``python -m core serve`` on a free loopback port over a private seeded registry."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from core import names
from core.config import Settings
from tests.conftest import ROOT, copy_home
from tests.helpers import free_port, wait_http_ok

TOKEN = "test-token-0123456789"


@dataclass
class Service:
    """A running service and what tests need to talk to it and check its store."""

    url: str
    settings: Settings
    proc: subprocess.Popen
    env: dict[str, str]

    def client(self, **kwargs) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30, **kwargs)

    def admin(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {TOKEN}"}


def launch_service(home: Path, **extra_env: str) -> Service:
    """Start the service over ``home`` without waiting for it (see :func:`wait_ready`)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in (names.ENV_TRACKING_URI, names.ENV_DB_URL)}
    env.update(
        {
            names.ENV_HOME: str(home),
            names.ENV_API_TOKEN: TOKEN,
            "MODELOPS_POLL_INTERVAL_S": "1",
            # Drift gauges at the service's own pace (a minute): recomputing them every second over
            # the logged traffic kept idle services busy. The test of the gauge asks for 1 s.
            "TF_CPP_MIN_LOG_LEVEL": "3",
            **extra_env,
        }
    )
    log = open(home / "service.log", "w")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen(
        [sys.executable, "-m", "core", "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    settings = Settings.from_env({names.ENV_HOME: str(home), names.ENV_API_URL: url, names.ENV_API_TOKEN: TOKEN})
    return Service(url, settings, proc, env)


def wait_ready(service: Service) -> Service:
    """Wait until ``service`` answers /readyz (or fail with the end of its log)."""
    try:
        wait_http_ok(f"{service.url}/readyz", 120, service.proc)
    except Exception:
        service.proc.kill()
        raise RuntimeError((service.settings.home / "service.log").read_text()[-4000:]) from None
    return service


def start_service(home: Path, **extra_env: str) -> Service:
    """Start the service over ``home`` and wait until it is ready."""
    return wait_ready(launch_service(home, **extra_env))


def start_services(homes: list[Path], **extra_env: str) -> list[Service]:
    """Services over ``homes`` started side by side (replicas), each ready when this returns."""
    launched = [launch_service(home, **extra_env) for home in homes]
    try:
        for service in launched:
            wait_ready(service)
    except Exception:
        for service in launched:
            service.proc.kill()
        raise
    return launched


def stop_service(service: Service) -> None:
    """Terminate the service (kill if it does not stop)."""
    service.proc.terminate()
    try:
        service.proc.wait(20)
    except subprocess.TimeoutExpired:
        service.proc.kill()


@pytest.fixture(scope="package")
def service(digits_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """One service over breast-cancer and digits shared by the modules of this package (test_explain_route,
    test_runtimes, test_service): its tests leave traffic split and aliases as they found them, and
    count only their own requests."""
    home = copy_home(digits_template, tmp_path_factory.mktemp("svc") / "home")
    svc = start_service(home)
    yield svc
    stop_service(svc)


@pytest.fixture
def fresh_service(bc_template: Path, tmp_path: Path) -> Iterator[Service]:
    """A breast-cancer service of its own, for tests that break or kill it (no TensorFlow to import)."""
    svc = start_service(copy_home(bc_template, tmp_path / "home"))
    yield svc
    stop_service(svc)


def point_dashboard_at(service: Service, mp: pytest.MonkeyPatch) -> Service:
    """Environment for an in-process dashboard (AppTest) that reads ``service``'s home and calls it."""
    for key in (names.ENV_TRACKING_URI, names.ENV_DB_URL):
        mp.delenv(key, raising=False)
    mp.setenv(names.ENV_HOME, str(service.settings.home))
    mp.setenv(names.ENV_API_URL, service.url)
    mp.setenv(names.ENV_API_TOKEN, TOKEN)
    return service
