"""Scale-out on this machine: an MLflow tracking server on PostgreSQL, two service replicas sharing a
PostgreSQL prediction store; a rollback from core reaches both replicas, and both write to one log."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from core import names
from core.config import Settings
from core.demo.datasets import breast_cancer_split
from core.registry.facade import Registry
from core.store.db import Store, predictions
from tests.conftest import ROOT
from tests.helpers import free_port, wait_http_ok
from tests.serving.conftest import start_services, stop_service

PG_ADMIN = os.environ.get("MODELOPS_TEST_PG_ADMIN", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")
BC = names.BREAST_CANCER


@pytest.fixture
def databases() -> Iterator[tuple[str, str]]:
    """Two fresh PostgreSQL databases (MLflow's and ModelOps'), dropped afterwards."""
    suffix = uuid.uuid4().hex[:10]
    created = [f"mo_mlflow_{suffix}", f"mo_store_{suffix}"]
    admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        for db in created:
            conn.execute(sa.text(f'CREATE DATABASE "{db}"'))
    base = PG_ADMIN.rsplit("/", 1)[0]
    try:
        yield f"{base}/{created[0]}", f"{base}/{created[1]}"
    finally:
        from core.store import db as store_module

        for url, engine in list(store_module._engines.items()):
            if suffix in url:
                engine.dispose()
                store_module._engines.pop(url)
        with admin.connect() as conn:
            for db in created:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def tracking_server(databases: tuple[str, str], tmp_path: Path) -> Iterator[str]:
    """``mlflow server`` with the PostgreSQL backend store and served artifacts."""
    port = free_port()
    log = (tmp_path / "mlflow.log").open("w")
    proc = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "mlflow"),
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--backend-store-uri",
            databases[0],
            "--artifacts-destination",
            str(tmp_path / "mlartifacts"),
            "--serve-artifacts",
            "--workers",
            "1",
        ],
        cwd=tmp_path,
        # ModelOps uses no MLflow server jobs; their runner (two huey consumers) only takes CPU here.
        env={**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_http_ok(f"http://127.0.0.1:{port}/health", 120, proc)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(20)
        log.close()


def _champions(urls: list[str]) -> list[int]:
    out = []
    for url in urls:
        served = {m["name"]: m for m in httpx.get(f"{url}/v1/models", timeout=10).json()["models"]}
        out.append(served[BC]["arms"]["champion"]["version"])
    return out


def test_two_replicas_follow_a_rollback_and_share_one_log(databases, tracking_server: str, tmp_path: Path) -> None:
    _, store_url = databases
    env = {names.ENV_TRACKING_URI: tracking_server, names.ENV_DB_URL: store_url}
    seed = subprocess.run(
        [sys.executable, "-m", "core", "demo", "--model", BC],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, names.ENV_HOME: str(tmp_path / "seed"), **env},
    )
    assert seed.returncode == 0, seed.stderr[-2000:]

    replicas = []
    try:
        homes = [tmp_path / f"replica{i}" for i in range(2)]
        for home in homes:
            home.mkdir()
        replicas.extend(start_services(homes, **env))  # side by side, as a deployment starts them
        urls = [r.url for r in replicas]
        assert _champions(urls) == [3, 3]
        _, X_test, _, _ = breast_cancer_split()
        body = {"dataframe_split": {"columns": list(X_test.columns), "data": X_test.head(1).values.tolist()}}
        for url in urls:
            for _ in range(5):
                assert httpx.post(f"{url}/v1/models/{BC}/predict", json=body, timeout=10).json()["version"] == 3

        settings = Settings(tmp_path / "core", tracking_server, store_url, "", None)
        move = Registry.from_settings(settings).rollback(BC, actor="scale-out-test", reason="roll back both replicas")
        assert (move.from_version, move.to_version) == (3, 2)
        deadline = time.monotonic() + 30  # both follow by polling (1 s), no reload call
        while time.monotonic() < deadline and _champions(urls) != [2, 2]:
            time.sleep(0.5)
        assert _champions(urls) == [2, 2]
        for url in urls:
            for _ in range(5):
                assert httpx.post(f"{url}/v1/models/{BC}/predict", json=body, timeout=10).json()["version"] == 2

        with Store(store_url).engine.connect() as conn:
            rows = conn.execute(sa.select(predictions.c.version, sa.func.count()).group_by(predictions.c.version))
            counts = dict(rows.all())
        assert counts == {3: 10, 2: 10}  # both replicas, before and after, in one PostgreSQL log
        history = Registry.from_settings(settings).history(BC, limit=1)[0]
        assert history.actor == "scale-out-test" and history.action == "rollback"

        for url in urls:  # the exposition format passes Prometheus' own linter
            text = httpx.get(f"{url}/metrics", timeout=10).text
            check = subprocess.run([PROMTOOL, "check", "metrics"], input=text, capture_output=True, text=True)
            assert check.returncode == 0, check.stdout + check.stderr
        _assert_prometheus_scrapes(urls, tmp_path)
    finally:
        for replica in replicas:
            stop_service(replica)


PROMTOOL, PROMETHEUS = "/usr/bin/promtool", "/usr/bin/prometheus"


def _assert_prometheus_scrapes(urls: list[str], tmp_path: Path) -> None:
    """A real Prometheus (Debian's package) scrapes both replicas and sees their requests."""
    if not Path(PROMETHEUS).exists():
        pytest.fail(f"{PROMETHEUS} is missing: `make test` installs Debian's prometheus package")
    targets = [url.removeprefix("http://") for url in urls]
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: modelops-service\n"
        f"    static_configs:\n      - targets: {targets!r}\n".replace("'", '"')
    )
    port = free_port()
    log = (tmp_path / "prometheus.log").open("w")
    proc = subprocess.Popen(
        [
            PROMETHEUS,
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_http_ok(f"http://127.0.0.1:{port}/-/ready", 60, proc)
        query = f"http://127.0.0.1:{port}/api/v1/query"
        deadline = time.monotonic() + 30
        up, served = [], 0.0
        while time.monotonic() < deadline:
            up = httpx.get(query, params={"query": "up"}).json()["data"]["result"]
            total = httpx.get(query, params={"query": "sum(modelops_requests_total)"}).json()["data"]["result"]
            served = float(total[0]["value"][1]) if total else 0.0
            if len(up) == 2 and all(r["value"][1] == "1" for r in up) and served >= 20:
                break
            time.sleep(0.5)
        assert sorted(r["metric"]["instance"] for r in up) == sorted(targets)
        assert served >= 20
    finally:
        proc.terminate()
        proc.wait(20)
        log.close()
