"""The service in-process (FastAPI TestClient over ``create_app``) on a private copy of the seeded registry.

Checks the contract itself: every answer is exactly its documented response model, the OpenAPI
document has a response schema for every route, a model that raises is logged and answered 500,
shadow copies, the typed client, and the bounded cache of loaded versions.
"""

from __future__ import annotations

import gc
import io
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import httpx
import numpy as np
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from PIL import Image
from pydantic import BaseModel

from core import names
from core.api import schemas
from core.api.client import ServiceClient
from core.config import Settings
from core.demo.datasets import breast_cancer_split, digits_images
from core.registry.facade import Registry
from core.serving.app import create_app
from core.serving.config import ServiceConfig
from core.serving.state import ServiceState
from core.store.db import feedback, predictions
from tests.conftest import copy_home

BC, DIGITS, ONLINE = names.BREAST_CANCER, names.DIGITS, names.BREAST_CANCER_ONLINE
TOKEN = "in-process-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
X_TRAIN, X_TEST, Y_TRAIN, _ = breast_cancer_split()
ROWS = {"dataframe_split": {"columns": list(X_TEST.columns), "data": X_TEST.head(2).values.tolist()}}


@dataclass
class InProcess:
    client: TestClient
    service: ServiceState
    settings: Settings

    def logged(self, *where: sa.ColumnElement) -> list[dict]:
        engine = sa.create_engine(self.settings.db_url)
        with engine.connect() as conn:
            return [dict(r) for r in conn.execute(sa.select(predictions).where(*where)).mappings()]

    def wait_logged(self, *where: sa.ColumnElement, timeout: float = 10) -> list[dict]:
        deadline = time.monotonic() + timeout
        while not (rows := self.logged(*where)) and time.monotonic() < deadline:
            time.sleep(0.05)
        return rows

    def sample(self, name: str, labels: dict[str, str]) -> float:
        return self.service.metrics.registry.get_sample_value(name, labels) or 0.0


@pytest.fixture(scope="module")
def app(seeded_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcess]:
    """One in-process service per module; at most one loaded version beyond those served."""
    home = copy_home(seeded_template, tmp_path_factory.mktemp("inprocess") / "home")
    settings = Settings.from_env({names.ENV_HOME: str(home), names.ENV_API_TOKEN: TOKEN})
    config = ServiceConfig(poll_interval_s=3600, drift_interval_s=3600, rollback_interval_s=3600, max_loaded_versions=1)
    threshold = gc.get_threshold()
    application = create_app(settings, config)
    try:
        with TestClient(application) as client:
            yield InProcess(client, application.state.service, settings)
    finally:  # the lifespan tunes the collector for a server process; give pytest its own back
        gc.unfreeze()
        gc.set_threshold(*threshold)


def _exactly(model: type[BaseModel], body: dict) -> None:
    """``body`` is ``model`` with nothing missing, nothing extra and nothing changed."""
    assert model.model_validate(body).model_dump(mode="json") == body


def _png(index: int) -> bytes:
    _, images, _, _ = digits_images()
    buf = io.BytesIO()
    Image.fromarray(255 - images[index]).save(buf, "PNG")
    return buf.getvalue()


def test_every_answer_is_exactly_its_response_model(app: InProcess) -> None:
    c = app.client
    _exactly(schemas.HealthResponse, c.get("/healthz").json())
    _exactly(schemas.ReadyResponse, c.get("/readyz").json())
    _exactly(schemas.ServedModels, c.get("/v1/models").json())
    predicted = c.post(f"/v1/models/{BC}/predict", json=ROWS).json()
    _exactly(schemas.PredictResponse, predicted)
    classified = c.post(f"/v1/models/{DIGITS}/classify", files={"image": ("d.png", _png(0), "image/png")})
    _exactly(schemas.ClassifyResponse, classified.json())
    _exactly(schemas.ExplainResponse, c.post(f"/v1/models/{BC}/explain", json=ROWS).json())
    feedback = c.post("/v1/feedback", json={"request_id": predicted["request_id"], "label": 1})
    _exactly(schemas.FeedbackResponse, feedback.json())
    traffic = c.put(f"/v1/models/{BC}/traffic", json={"challenger_share": 0.0}, headers=AUTH)
    _exactly(schemas.ServedModelInfo, traffic.json())
    _exactly(schemas.ServedModels, c.post("/v1/admin/reload", headers=AUTH).json())
    _exactly(schemas.OnlineState, c.get(f"/v1/models/{ONLINE}/train").json())
    batch = {
        "dataframe_split": {"columns": list(X_TRAIN.columns), "data": X_TRAIN.head(20).values.tolist()},
        "labels": Y_TRAIN.head(20).tolist(),
    }
    trained = c.post(f"/v1/models/{ONLINE}/train", json=batch, headers=AUTH).json()
    _exactly(schemas.TrainResponse, trained)
    evaluated = c.post(f"/v1/models/{ONLINE}/train/evaluate", params={"register": "false"}, headers=AUTH).json()
    _exactly(schemas.EvaluateResponse, evaluated)
    assert next(iter(evaluated)) == "model" and evaluated["event"] in ("evaluated", "rejected")
    state = c.get(f"/v1/models/{ONLINE}/train").json()
    _exactly(schemas.OnlineState, state)
    assert state["last_update"] == {k: v for k, v in evaluated.items() if k != "model"}
    _exactly(schemas.OnlineState, c.post(f"/v1/models/{ONLINE}/train/reset", headers=AUTH).json())
    _exactly(schemas.ErrorResponse, c.post("/v1/models/nope/predict", json=ROWS).json())


def test_openapi_documents_a_response_schema_for_every_route(app: InProcess) -> None:
    spec = app.client.get("/openapi.json").json()
    operations = [(path, method, op) for path, ops in spec["paths"].items() for method, op in ops.items()]
    assert len(operations) == 15
    for path, method, op in operations:
        content = op["responses"]["200"]["content"]
        schema = next(iter(content.values()))["schema"]
        assert schema.get("$ref") or schema.get("type") == "string", (method, path, content)
        if path != "/metrics":
            assert "$ref" in content["application/json"]["schema"], (method, path)
        for status, response in op["responses"].items():
            if status != "200" and path != "/readyz":
                ref = response["content"]["application/json"]["schema"]["$ref"]
                assert ref.endswith("/ErrorResponse"), (method, path, status)
    refs = {
        op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
        for path, _, op in operations
        if path != "/metrics"
    }
    expected = {"ServedModels", "ServedModelInfo", "TrainResponse", "EvaluateResponse", "OnlineState", "TrustResponse"}
    assert expected <= refs
    secured = {(path, method) for path, method, op in operations if op.get("security")}
    assert secured == {
        ("/v1/models/{name}/traffic", "put"),
        ("/v1/admin/reload", "post"),
        ("/v1/models/{name}/train", "post"),
        ("/v1/models/{name}/train/evaluate", "post"),
        ("/v1/models/{name}/train/reset", "post"),
        ("/v1/models/{name}/trust", "post"),
    }


def _boom(_matrix: np.ndarray) -> np.ndarray:
    raise RuntimeError("boom")


def test_a_model_that_raises_is_logged_as_failed_and_answered_500(
    app: InProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    champion = app.service.manager.get(BC).arms[names.CHAMPION]
    monkeypatch.setattr(champion.handle, "fast_proba", _boom)
    labels = {"model": BC, "version": "3", "arm": names.CHAMPION, "route": "predict", "status": "500"}
    before = app.sample("modelops_requests_total", labels)
    r = app.client.post(f"/v1/models/{BC}/predict", json={**ROWS, "routing_key": "failing-user"})
    assert r.status_code == 500 and r.json() == {"detail": f"{BC} v3 failed to predict: boom"}
    (failed,) = app.logged(predictions.c.routing_key == "failing-user")
    assert (failed["status"], failed["model"], failed["version"], failed["arm"]) == ("error", BC, 3, names.CHAMPION)
    assert json.loads(failed["outputs"]) == [] and failed["probabilities"] is None and failed["latency_ms"] > 0
    assert json.loads(failed["inputs"]) == ROWS["dataframe_split"]  # what failed, replayable
    assert app.sample("modelops_requests_total", labels) == before + 1
    rejected = {"route": "predict", "status": "500"}
    assert app.sample("modelops_rejected_requests_total", rejected) == 0  # it reached the model


def test_shadow_copies_are_logged_and_a_failing_shadow_leaves_the_answer_alone(
    app: InProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    c = app.client
    c.put(f"/v1/models/{BC}/traffic", json={"challenger_share": 0.5, "shadow": True}, headers=AUTH).raise_for_status()
    try:
        answer = c.post(f"/v1/models/{BC}/predict", json={**ROWS, "routing_key": "shadowed"}).json()
        assert answer["arm"] == names.CHAMPION and answer["version"] == 3
        (copy,) = app.wait_logged(predictions.c.routing_key == "shadowed", predictions.c.arm == "shadow")
        assert (copy["version"], copy["status"]) == (2, "ok")
        assert copy["request_id"] != answer["request_id"]

        challenger = app.service.manager.get(BC).arms[names.CHALLENGER]
        monkeypatch.setattr(challenger.handle, "fast_proba", _boom)
        ok = c.post(f"/v1/models/{BC}/predict", json={**ROWS, "routing_key": "shadow-fails"})
        assert ok.status_code == 200 and ok.json()["arm"] == names.CHAMPION
        (failed,) = app.wait_logged(predictions.c.routing_key == "shadow-fails", predictions.c.arm == "shadow")
        assert (failed["version"], failed["status"]) == (2, "error")
        labels = {"model": BC, "version": "2", "arm": names.CHALLENGER, "route": "predict", "status": "500"}
        assert app.sample("modelops_requests_total", labels) == 0  # copies are not counted
    finally:
        c.put(f"/v1/models/{BC}/traffic", json={"challenger_share": 0.0}, headers=AUTH).raise_for_status()


def test_the_client_returns_typed_answers(app: InProcess, monkeypatch: pytest.MonkeyPatch) -> None:
    def through_app(method: str, url: str, **kwargs) -> httpx.Response:
        kwargs.pop("timeout", None)  # the in-process transport has no timeouts
        return app.client.request(method, url, **kwargs)

    monkeypatch.setattr(httpx, "request", through_app)
    client = ServiceClient(replace(app.settings, api_url="http://testserver"))
    status = client.status()
    assert status.alive and status.ready and status.error is None
    assert status.models[BC].arms[names.CHAMPION].version == 3 and status.models[BC].traffic.champion_share == 1.0
    assert client.reload().get(DIGITS).kind == "image"
    shared = client.set_traffic(BC, 0.25)
    assert isinstance(shared, schemas.ServedModelInfo) and shared.traffic.challenger_share == 0.25
    client.set_traffic(BC, 0.0)
    assert client.online_state(ONLINE).parent_version == 1
    evaluated = client.online_evaluate(ONLINE, register=False)
    assert isinstance(evaluated, schemas.EvaluateResponse) and evaluated.new_version is None
    assert client.online_reset(ONLINE).rows_since_parent == 0


def test_loaded_versions_are_bounded_but_served_ones_stay(app: InProcess) -> None:
    manager = app.service.manager
    served = {(m.name, arm.version) for m in manager.models.values() for arm in m.arms.values()}
    assert len(served) == 5 and set(manager.loaded()) == served  # more served than the size of 1: all kept
    registry = Registry.from_settings(app.settings)
    v3 = manager.get(BC).arms[names.CHAMPION]
    registry.promote(BC, 1, reason="bounded cache test")
    try:
        reloaded = app.client.post("/v1/admin/reload", headers=AUTH).json()
        bc = next(m for m in reloaded["models"] if m["name"] == BC)
        assert bc["arms"][names.CHAMPION]["version"] == 1 and bc["state"] == "ready"
        assert (BC, 3) not in manager.loaded() and (BC, 1) in manager.loaded()
        assert v3.batcher.retired  # unloaded: its batching task ends and lets the model go
        answer = app.client.post(f"/v1/models/{BC}/predict", json=ROWS).json()
        assert answer["version"] == 1
    finally:
        registry.promote(BC, 3, reason="bounded cache test: back")
        app.client.post("/v1/admin/reload", headers=AUTH).raise_for_status()
    assert manager.get(BC).arms[names.CHAMPION].version == 3 and (BC, 1) not in manager.loaded()


def test_refused_requests_are_logged_so_monitoring_counts_them(app: InProcess) -> None:
    # Seen in real use: 422s on classify never reached the error rate; every answered request counts.
    bad = app.client.post(f"/v1/models/{BC}/predict", json={"dataframe_split": {"columns": ["nope"], "data": [[1]]}})
    assert bad.status_code == 422
    malformed = app.client.post(
        f"/v1/models/{DIGITS}/classify", files={"image": ("x.png", b"not an image", "image/png")}
    )
    assert malformed.status_code == 422
    rows = app.wait_logged(predictions.c.status == "rejected", predictions.c.model.in_([BC, DIGITS]))
    deadline = time.monotonic() + 10
    while len(rows) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
        rows = app.logged(predictions.c.status == "rejected", predictions.c.model.in_([BC, DIGITS]))
    by_model = {r["model"]: r for r in rows}
    assert set(by_model) == {BC, DIGITS}
    assert by_model[BC]["arm"] == "rejected" and by_model[BC]["version"] == 3
    assert "missing feature(s)" in json.loads(by_model[BC]["inputs"])["detail"]
    assert json.loads(by_model[DIGITS]["inputs"])["route"] == "classify"
    # an unknown model name writes nothing
    assert app.client.post("/v1/models/no-such-model/predict", json=ROWS).status_code == 404
    time.sleep(0.3)
    assert not app.logged(predictions.c.model == "no-such-model")


def test_feedback_outside_the_models_classes_is_refused_and_not_stored(app: InProcess) -> None:
    c = app.client
    tabular = c.post(f"/v1/models/{BC}/predict", json=ROWS).json()["request_id"]
    image = c.post(f"/v1/models/{DIGITS}/classify", files={"image": ("d.png", _png(3), "image/png")}).json()
    for label, needle in (("maybe", "'maybe' not a class"), (2, "2 not a class"), (None, "None not a class")):
        r = c.post("/v1/feedback", json={"request_id": tabular, "label": label})
        assert r.status_code == 422 and needle in r.json()["detail"] and "[0, 1]" in r.json()["detail"], r.text
    refused = c.post("/v1/feedback", json={"request_id": tabular, "label": True})  # not class 1 of an int model
    assert refused.status_code == 422 and refused.json()["detail"].startswith("label: True not a class")
    assert "(malignant, benign)" in refused.json()["detail"]
    assert c.post("/v1/feedback", json={"request_id": tabular, "label": "benign"}).status_code == 200  # by name
    assert c.post("/v1/feedback", json={"request_id": tabular, "label": "1"}).status_code == 200
    assert c.post("/v1/feedback", json={"request_id": image["request_id"], "label": 3}).status_code == 200
    assert c.post("/v1/feedback", json={"request_id": image["request_id"], "label": 12}).status_code == 422
    engine = sa.create_engine(app.settings.db_url)
    with engine.connect() as conn:
        stored = dict(conn.execute(sa.select(feedback.c.request_id, feedback.c.label)).all())
    assert json.loads(stored[tabular]) == 1  # stored as the class value, not the text sent
    assert json.loads(stored[image["request_id"]]) == "3"


def test_a_split_for_a_model_without_a_challenger_is_refused(app: InProcess) -> None:
    c = app.client

    def online() -> dict:
        return next(m for m in c.get("/v1/models").json()["models"] if m["name"] == ONLINE)

    assert names.CHALLENGER not in online()["registry_aliases"]
    for body in ({"challenger_share": 0.3}, {"challenger_share": 0.0, "shadow": True}):
        r = c.put(f"/v1/models/{ONLINE}/traffic", json=body, headers=AUTH)
        assert r.status_code == 422 and "has no challenger" in r.json()["detail"], r.text
    assert online()["traffic"]["challenger_share"] == 0.0 and not online()["traffic"]["shadow"]  # nothing stored
    assert c.put(f"/v1/models/{ONLINE}/traffic", json={"challenger_share": 0.0}, headers=AUTH).status_code == 200


def test_classes_have_their_names_and_models_list_their_inputs(app: InProcess) -> None:
    """``P(1)`` and ``[0, 1]`` where the data says malignant/benign: the names travel with the version."""
    c = app.client
    models = {m["name"]: m for m in c.get("/v1/models").json()["models"]}
    bc = models[BC]
    assert bc["classes"] == [0, 1] and bc["class_names"] == ["malignant", "benign"]
    assert [i["name"] for i in bc["inputs"]] == list(X_TEST.columns)
    assert {(i["type"], i["required"]) for i in bc["inputs"]} == {("double", True)}
    assert models[DIGITS]["inputs"] == [] and models[DIGITS]["class_names"] == [str(d) for d in range(10)]
    assert models[ONLINE]["class_names"] == ["malignant", "benign"]
    predicted = c.post(f"/v1/models/{BC}/predict", json=ROWS).json()
    assert predicted["class_names"] == ["malignant", "benign"]
    assert c.post(f"/v1/models/{BC}/explain", json=ROWS).json()["class_names"] == ["malignant", "benign"]


def test_a_reload_takes_a_build_made_after_the_version_was_loaded(app: InProcess) -> None:
    """`python -m core compile` then POST /v1/admin/reload kept serving the old runtime until a restart."""
    from mlflow import MlflowClient

    from core.runtime.onnx import TAG_STATUS

    c = app.client

    def online_runtime() -> str:
        model = next(m for m in c.get("/v1/models").json()["models"] if m["name"] == ONLINE)
        return model["arms"]["champion"]["runtime"]

    assert online_runtime() == "onnxruntime"
    client = MlflowClient(app.settings.tracking_uri, app.settings.tracking_uri)
    client.set_model_version_tag(ONLINE, "1", TAG_STATUS, "failed")  # the build record changes
    app.service.manager.sync()  # an ordinary poll does not reload a version it serves
    assert online_runtime() == "onnxruntime"
    assert c.post("/v1/admin/reload", headers=AUTH).status_code == 200
    assert online_runtime() == "sklearn"
    client.set_model_version_tag(ONLINE, "1", TAG_STATUS, "passed")
    c.post("/v1/admin/reload", headers=AUTH).raise_for_status()
    assert online_runtime() == "onnxruntime"
    assert c.post(f"/v1/models/{ONLINE}/predict", json=ROWS).status_code == 200
