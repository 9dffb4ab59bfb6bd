"""Faults: a version that fails to load is not swapped in; kill -9 loses no acknowledged prediction."""

from __future__ import annotations

import asyncio
import os
import signal

import httpx
import mlflow
import sqlalchemy as sa
from sklearn.linear_model import LogisticRegression

from core import names
from core.demo.datasets import breast_cancer_split
from core.registry.facade import Registry
from core.registry.registration import configure_mlflow
from core.store.db import predictions
from tests.helpers import run_async
from tests.serving.conftest import Service

BC = names.BREAST_CANCER
X_TRAIN, X_TEST, Y_TRAIN, _ = breast_cancer_split()
ROW = X_TEST.iloc[0].tolist()


def test_a_version_that_fails_to_load_is_not_swapped_in(fresh_service: Service) -> None:
    svc = fresh_service
    configure_mlflow(svc.settings)
    with mlflow.start_run():
        # A pickled model: ModelOps refuses to load it, so it must never take traffic.
        info = mlflow.sklearn.log_model(
            LogisticRegression(max_iter=5000).fit(X_TRAIN, Y_TRAIN),
            name="model",
            serialization_format="cloudpickle",
            registered_model_name=BC,
        )
    bad = int(info.registered_model_version)
    Registry.from_settings(svc.settings).promote(BC, bad, reason="bad build")
    with svc.client() as c:
        r = c.post("/v1/admin/reload", headers=svc.admin())
        assert r.status_code == 200
        served = {m["name"]: m for m in r.json()["models"]}[BC]
        assert served["arms"]["champion"]["version"] == 3
        assert served["registry_aliases"]["champion"] == bad and served["state"] == "degraded"
        assert f"v{bad} (champion) failed to load" in served["last_error"] and "unpickle" in served["last_error"]
        p = c.post(f"/v1/models/{BC}/predict", json={"inputs": [ROW]})
        assert p.status_code == 200 and p.json()["version"] == 3
        assert f'modelops_model_load_failures_total{{model="{BC}",version="{bad}"}}' in c.get("/metrics").text


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
