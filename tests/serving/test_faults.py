"""Faults: a version that fails to load is not swapped in; kill -9 loses no acknowledged prediction."""

from __future__ import annotations

import asyncio
import os
import signal
import time

import httpx
import mlflow
import sqlalchemy as sa
from sklearn.linear_model import LogisticRegression

from core import names
from core.demo.datasets import breast_cancer_split
from core.registry.facade import Registry
from core.registry.registration import configure_mlflow
from core.store.db import predictions
from core.store.trust import trust_history
from tests.helpers import run_async
from tests.serving.conftest import Service

BC = names.BREAST_CANCER
X_TRAIN, X_TEST, Y_TRAIN, _ = breast_cancer_split()
ROW = X_TEST.iloc[0].tolist()


def _log_pickled_version(svc: Service) -> int:
    """A version logged by plain MLflow code in the older cloudpickle format."""
    configure_mlflow(svc.settings)
    with mlflow.start_run():
        info = mlflow.sklearn.log_model(
            LogisticRegression(max_iter=5000).fit(X_TRAIN, Y_TRAIN),
            name="model",
            serialization_format="cloudpickle",
            registered_model_name=BC,
        )
    return int(info.registered_model_version)


def test_a_version_that_fails_to_load_is_not_swapped_in_and_is_retried_with_backoff(fresh_service: Service) -> None:
    svc = fresh_service
    # A pickled model of an untrusted model: ModelOps refuses to load it, so it must never take traffic.
    bad = _log_pickled_version(svc)
    Registry.from_settings(svc.settings).promote(BC, bad, reason="bad build")
    with svc.client() as c:
        deadline = time.monotonic() + 10  # the poll meets the failure first, then an operator reloads:
        while time.monotonic() < deadline:  # the same failure must not be logged a second time
            seen = {m["name"]: m for m in c.get("/v1/models").json()["models"]}[BC]
            if seen["last_error"]:
                break
            time.sleep(0.1)
        r = c.post("/v1/admin/reload", headers=svc.admin())
        assert r.status_code == 200
        served = {m["name"]: m for m in r.json()["models"]}[BC]
        assert served["arms"]["champion"]["version"] == 3
        assert served["registry_aliases"]["champion"] == bad and served["state"] == "degraded"
        assert f"v{bad} (champion) failed to load" in served["last_error"] and "unpickles" in served["last_error"]
        assert "MODELOPS_TRUSTED_MODELS=breast-cancer" in served["last_error"] and "/trust" in served["last_error"]
        assert served["next_retry_at"] > served["last_error_at"]
        p = c.post(f"/v1/models/{BC}/predict", json={"inputs": [ROW]})
        assert p.status_code == 200 and p.json()["version"] == 3
        assert f'modelops_model_load_failures_total{{model="{BC}",version="{bad}"}}' in c.get("/metrics").text
        time.sleep(4.5)  # four polls at 1 s: the waits 1, 2, 4 s allow at most two more attempts, logged once
    log_text = (svc.settings.home / "service.log").read_text()
    assert log_text.count(f"v{bad} (champion) failed to load") == 1, log_text[-3000:]
    attempts = [
        line
        for line in httpx.get(f"{svc.url}/metrics").text.splitlines()
        if line.startswith(f'modelops_model_load_failures_total{{model="{BC}",version="{bad}"}}')
    ]
    assert 2 <= float(attempts[0].split()[-1]) <= 4  # poll, reload, then one or two retries: not one per poll


def test_an_operator_trusts_a_pickled_model_and_the_decision_is_recorded(fresh_service: Service) -> None:
    svc = fresh_service
    pickled = _log_pickled_version(svc)
    registry = Registry.from_settings(svc.settings)
    registry.promote(BC, pickled, reason="an older build, stored with cloudpickle")
    with svc.client() as c:
        assert c.post(f"/v1/models/{BC}/trust", json={"trusted": True}).status_code == 401
        wrong = c.post(f"/v1/models/{BC}/trust", json={"trusted": "yes"}, headers=svc.admin())
        assert wrong.status_code == 422 and "trusted" in wrong.text
        missing = c.post("/v1/models/nope/trust", json={"trusted": True}, headers=svc.admin())
        assert missing.status_code == 404
        r = c.post(f"/v1/models/{BC}/trust", json={"reason": "our own build from 2024"}, headers=svc.admin())
        assert r.status_code == 200, r.text
        answer = r.json()
        assert answer["trusted"] and "trusted on" in answer["why"] and "our own build from 2024" in answer["why"]
        assert answer["served"]["arms"]["champion"]["version"] == pickled and answer["served"]["state"] == "ready"
        p = c.post(f"/v1/models/{BC}/predict", json={"inputs": [ROW]})
        assert p.status_code == 200 and p.json()["version"] == pickled, p.text
        withdrawn = c.post(f"/v1/models/{BC}/trust", json={"trusted": False}, headers=svc.admin()).json()
        assert not withdrawn["trusted"] and "withdrew trust" in withdrawn["why"]
    history = trust_history(registry.store, BC)
    assert history["trusted"].tolist() == [False, True] and history["reason"].iloc[1] == "our own build from 2024"


def test_kill_9_under_load_loses_no_acknowledged_prediction(fresh_service: Service) -> None:
    svc = fresh_service
    acknowledged: list[str] = []

    async def load() -> None:
        async with httpx.AsyncClient(base_url=svc.url, timeout=10) as client:

            async def worker() -> None:
                while True:
                    try:
                        r = await client.post(f"/v1/models/{BC}/predict", json={"inputs": [ROW]})
                    except httpx.HTTPError:
                        return  # the server is gone
                    if r.status_code == 200:
                        acknowledged.append(r.json()["request_id"])

            async def killer() -> None:
                while len(acknowledged) < 300:
                    await asyncio.sleep(0.01)
                os.kill(svc.proc.pid, signal.SIGKILL)

            await asyncio.gather(killer(), *(worker() for _ in range(16)))

    run_async(load())
    svc.proc.wait(10)
    engine = sa.create_engine(svc.settings.db_url)
    with engine.connect() as conn:
        stored = set(conn.execute(sa.select(predictions.c.request_id)).scalars())
    assert len(acknowledged) >= 300
    assert set(acknowledged) <= stored
