"""The prediction service over HTTP: a real uvicorn process, a real registry and store."""

from __future__ import annotations

import asyncio
import io
import json
import time

import httpx
import numpy as np
import pytest
import sqlalchemy as sa
from PIL import Image
from prometheus_client.parser import text_string_to_metric_families

from core import names
from core.demo.datasets import breast_cancer_split, digits_images
from core.registry.facade import Registry
from core.serving.routing import choose_arm
from core.store.db import feedback, predictions
from core.store.traffic import TrafficConfig
from tests.helpers import run_async
from tests.pictures import landscape
from tests.serving.conftest import TOKEN, Service

BC = names.BREAST_CANCER
_, X_TEST, _, Y_TEST = breast_cancer_split()
COLUMNS = list(X_TEST.columns)
ROW = X_TEST.iloc[0].tolist()


def _split(rows: list[list[float]]) -> dict:
    return {"dataframe_split": {"columns": COLUMNS, "data": rows}}


def _set_traffic(svc: Service, share: float, shadow: bool = False) -> None:
    with svc.client() as c:
        r = c.put(f"/v1/models/{BC}/traffic", json={"challenger_share": share, "shadow": shadow}, headers=svc.admin())
        assert r.status_code == 200, r.text


@pytest.mark.parametrize(
    "body",
    [
        _split([ROW, X_TEST.iloc[1].tolist()]),
        {"dataframe_records": X_TEST.head(2).to_dict(orient="records")},
        {"inputs": X_TEST.head(2).to_dict(orient="records")},
        {"instances": [ROW, X_TEST.iloc[1].tolist()]},
        {"inputs": {c: X_TEST[c].head(2).tolist() for c in COLUMNS}},
    ],
    ids=["dataframe_split", "dataframe_records", "inputs-records", "instances-rows", "inputs-columns"],
)
def test_mlflow_scoring_protocol_bodies(service: Service, body: dict) -> None:
    with service.client() as c:
        r = c.post(f"/v1/models/{BC}/predict", json=body)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["model"] == BC and out["version"] == 3 and out["arm"] == names.CHAMPION
    assert out["classes"] == [0, 1] and len(out["predictions"]) == 2
    assert out["predictions"] == [int(np.argmax(p)) for p in out["probabilities"]]
    assert all(abs(sum(p) - 1) < 1e-9 for p in out["probabilities"])


def test_predict_log_feedback_round_trip(service: Service) -> None:
    with service.client() as c:
        r = c.post(f"/v1/models/{BC}/predict", json={**_split([ROW]), "routing_key": "alice"})
        assert r.status_code == 200
        request_id = r.json()["request_id"]
        fb = c.post("/v1/feedback", json={"request_id": request_id, "label": int(Y_TEST.iloc[0])})
    assert fb.status_code == 200 and fb.json() == {
        "request_id": request_id,
        "model": BC,
        "version": 3,
        "arm": "champion",
    }
    engine = sa.create_engine(service.settings.db_url)
    with engine.connect() as conn:
        row = conn.execute(sa.select(predictions).where(predictions.c.request_id == request_id)).mappings().one()
        label = conn.execute(sa.select(feedback.c.label).where(feedback.c.request_id == request_id)).scalar_one()
    assert (row["model"], row["version"], row["arm"], row["routing_key"]) == (BC, 3, "champion", "alice")
    logged = json.loads(row["inputs"])
    assert logged["columns"] == COLUMNS and logged["data"][0] == pytest.approx(ROW)
    assert json.loads(row["outputs"]) == r.json()["predictions"] and row["latency_ms"] > 0
    assert json.loads(label) == int(Y_TEST.iloc[0])


async def _keyed_arms(url: str, keys: list[str], concurrency: int = 16) -> list[tuple[str, str, int]]:
    limits = httpx.Limits(max_connections=concurrency)
    sem = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as client:

        async def one(key: str) -> tuple[str, str, int]:
            async with sem:
                r = await client.post(f"/v1/models/{BC}/predict", json={"inputs": [ROW], "routing_key": key})
                r.raise_for_status()
                return key, r.json()["arm"], r.json()["version"]

        return await asyncio.gather(*(one(k) for k in keys))


def test_ab_split_is_within_two_points_and_keys_are_sticky(service: Service) -> None:
    # The split's statistics over many keys are unit-tested in-process (tests/serving/test_routing.py);
    # here every answer must come from exactly the arm the key hashes to.
    _set_traffic(service, 0.2)
    try:
        results = run_async(_keyed_arms(service.url, [f"user-{i}" for i in range(1000)]))
        share = sum(arm == names.CHALLENGER for _, arm, _ in results) / len(results)
        assert abs(share - 0.2) <= 0.02, share
        expected = {k: choose_arm(TrafficConfig(BC, 0.2), k, has_challenger=True) for k, _, _ in results}
        assert {k: arm for k, arm, _ in results} == expected
        versions = {arm: v for _, arm, v in results}
        assert versions == {names.CHAMPION: 3, names.CHALLENGER: 2}
        first = {k: arm for k, arm, _ in results[:50]}
        again = run_async(_keyed_arms(service.url, list(first)))
        assert {k: arm for k, arm, _ in again} == first
    finally:
        _set_traffic(service, 0.0)


def test_shadow_mode_answers_from_champion_and_logs_a_copy(service: Service) -> None:
    _set_traffic(service, 0.5, shadow=True)
    try:
        with service.client() as c:
            arms = {
                c.post(f"/v1/models/{BC}/predict", json={"inputs": [ROW], "routing_key": f"k{i}"}).json()["arm"]
                for i in range(30)
            }
        assert arms == {names.CHAMPION}
        engine = sa.create_engine(service.settings.db_url)
        deadline = 50
        while deadline:
            with engine.connect() as conn:
                shadows = conn.execute(
                    sa.select(sa.func.count()).select_from(predictions).where(predictions.c.arm == "shadow")
                ).scalar_one()
            if shadows >= 30:
                break
            deadline -= 1
            time.sleep(0.1)
        assert shadows >= 30
    finally:
        _set_traffic(service, 0.0)


def test_mutating_routes_need_the_token(service: Service) -> None:
    with service.client() as c:
        for method, path, body in [
            ("PUT", f"/v1/models/{BC}/traffic", {"challenger_share": 0.1}),
            ("POST", "/v1/admin/reload", None),
        ]:
            assert c.request(method, path, json=body).status_code == 401
            wrong = c.request(method, path, json=body, headers={"Authorization": "Bearer nope"})
            assert wrong.status_code == 401 and "invalid bearer token" in wrong.json()["detail"]
            assert c.request(method, path, json=body, headers=service.admin()).status_code == 200
        _set_traffic(service, 0.0)


def test_traffic_split_must_be_json_numbers_and_resaving_it_keeps_the_period(service: Service) -> None:
    from core.store.traffic import load_traffic

    with service.client() as c:
        for body, field in [
            ({"challenger_share": "0.3"}, "challenger_share"),
            ({"challenger_share": True}, "challenger_share"),
            ({"challenger_share": 0.3, "shadow": "yes"}, "shadow"),
        ]:
            r = c.put(f"/v1/models/{BC}/traffic", json=body, headers=service.admin())
            assert r.status_code == 422 and field in r.text, (body, r.text)
    store = Registry.from_settings(service.settings).store
    try:
        _set_traffic(service, 0.3)
        first = load_traffic(store, BC).updated_at
        time.sleep(0.05)
        _set_traffic(service, 0.3)  # the same split saved again: the sample-ratio period is not restarted
        assert load_traffic(store, BC).updated_at == first
        _set_traffic(service, 0.4)
        assert load_traffic(store, BC).updated_at > first
    finally:
        _set_traffic(service, 0.0)


BAD_INPUTS = [
    (
        "missing feature",
        _split([ROW[:-1]]) | {"dataframe_split": {"columns": COLUMNS[:-1], "data": [ROW[:-1]]}},
        422,
        "missing feature(s): 'worst fractal dimension'",
    ),
    (
        "extra feature",
        {"dataframe_records": [{**dict(zip(COLUMNS, ROW, strict=True)), "age": 3}]},
        422,
        "unknown feature(s): 'age'",
    ),
    (
        "wrong type",
        {"dataframe_records": [{**dict(zip(COLUMNS, ROW, strict=True)), "mean radius": "big"}]},
        422,
        "feature 'mean radius' row 0 must be a number",
    ),
    (
        "null",
        {"dataframe_records": [{**dict(zip(COLUMNS, ROW, strict=True)), "mean radius": None}]},
        422,
        "'mean radius' row 0",
    ),
    ("empty rows", _split([]), 422, "no rows"),
    ("too many rows", _split([ROW] * 1001), 422, "more than the limit of 1000"),
    ("no payload", {"routing_key": "x"}, 422, "needs one of dataframe_split"),
    ("two payloads", {**_split([ROW]), "inputs": [ROW]}, 422, "several payloads"),
    ("unknown field", {**_split([ROW]), "rows": 1}, 422, "rows: Extra inputs are not permitted"),
    ("ragged rows", {"dataframe_split": {"columns": COLUMNS, "data": [ROW[:3]]}}, 422, "has 3 values for 30 columns"),
    ("positional length", {"instances": [[1.0, 2.0]]}, 422, "row 0 has 2 values; the signature has 30"),
    ("records not objects", {"dataframe_records": [1, 2]}, 422, "dataframe_records"),
]


@pytest.mark.parametrize(("case", "body", "status", "message"), BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS])
def test_bad_inputs_get_a_4xx_naming_the_problem(
    service: Service, case: str, body: dict, status: int, message: str
) -> None:
    with service.client() as c:
        r = c.post(f"/v1/models/{BC}/predict", json=body)
    assert r.status_code == status, r.text
    assert message in r.json()["detail"], r.json()["detail"]


@pytest.mark.parametrize(
    ("case", "raw", "status", "message"),
    [
        ("nan", b'{"instances": [[NaN' + b", 1.0" * 29 + b"]]}", 422, "only finite numbers"),
        ("infinity", b'{"instances": [[Infinity' + b", 1.0" * 29 + b"]]}", 422, "only finite numbers"),
        ("malformed json", b'{"instances": [[1.0,', 422, "malformed JSON"),
        ("not an object", b"[1, 2]", 422, "valid dictionary"),
        ("oversized body", b'{"instances": [' + b"1.0," * 800_000 + b"1.0]}", 413, "larger than the limit"),
    ],
)
def test_raw_bad_bodies(service: Service, case: str, raw: bytes, status: int, message: str) -> None:
    with service.client() as c:
        r = c.post(f"/v1/models/{BC}/predict", content=raw, headers={"content-type": "application/json"})
        assert r.status_code == status, r.text
        assert message in r.json()["detail"]
        assert c.get("/healthz").status_code == 200  # the worker survived


def test_unknown_model_and_request_id_are_404(service: Service) -> None:
    with service.client() as c:
        r = c.post("/v1/models/no-such-model/predict", json={"inputs": [ROW]})
        assert r.status_code == 404 and "no-such-model" in r.json()["detail"]
        fb = c.post("/v1/feedback", json={"request_id": "0" * 32, "label": 1})
        assert fb.status_code == 404 and "no served request" in fb.json()["detail"]
        wrong_route = c.post(f"/v1/models/{names.DIGITS}/predict", json={"inputs": [ROW]})
        assert wrong_route.status_code == 422 and "classify" in wrong_route.json()["detail"]


def _png(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, "PNG")
    return buf.getvalue()


def _jpeg(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.convert("RGB").save(buf, "JPEG")
    return buf.getvalue()


def test_classify_top_k_and_image_limits(service: Service) -> None:
    _, images, _, labels = digits_images()
    with service.client() as c:
        correct = flagged = 0
        for img, label in zip(images[:20], labels[:20], strict=True):
            # Samples as a user would have them: dark ink on light paper.
            r = c.post(
                f"/v1/models/{names.DIGITS}/classify",
                files={"image": ("d.png", _png(255 - img), "image/png")},
                params={"k": 3},
            )
            assert r.status_code == 200, r.text
            top = r.json()["top_k"]
            assert len(top) == 3 and top[0]["probability"] >= top[1]["probability"]
            correct += top[0]["label"] == str(label)
            flagged += r.json()["ood"]["flagged"]
        assert correct >= 16 and flagged <= 2
        # A landscape gets a digit too, but the answer says it is not like anything the model was trained on.
        scene = c.post(
            f"/v1/models/{names.DIGITS}/classify",
            files={"image": ("scene.jpg", _jpeg(landscape(np.random.default_rng(3))), "image/jpeg")},
        )
        assert scene.status_code == 200 and scene.json()["ood"]["flagged"] and scene.json()["ood"]["score"] > 1
        not_image = c.post(f"/v1/models/{names.DIGITS}/classify", files={"image": ("x.png", b"hello", "image/png")})
        assert not_image.status_code == 422 and "not an image" in not_image.json()["detail"]
        bomb = _png(np.zeros((8000, 6000), dtype=np.uint8))  # 48 Mpx of zeros compresses to ~50 kB
        r = c.post(f"/v1/models/{names.DIGITS}/classify", files={"image": ("bomb.png", bomb, "image/png")})
        assert r.status_code == 422 and "decompression bomb" in r.json()["detail"]
        huge = c.post(
            f"/v1/models/{names.DIGITS}/classify", files={"image": ("big.png", b"0" * (11 << 20), "image/png")}
        )
        assert huge.status_code == 413
        missing = c.post(f"/v1/models/{names.DIGITS}/classify")
        assert missing.status_code == 422 and "image" in missing.json()["detail"]


def test_metrics_parse_as_prometheus_text(service: Service) -> None:
    with service.client() as c:
        c.post(f"/v1/models/{BC}/predict", json={"inputs": [ROW]})
        text = c.get("/metrics").text
    families = {f.name: f for f in text_string_to_metric_families(text)}
    requests = [s for s in families["modelops_requests"].samples if s.name == "modelops_requests_total"]
    assert any(s.labels["model"] == BC and s.labels["version"] == "3" and s.value >= 1 for s in requests)
    assert "modelops_request_latency_seconds" in families
    served = {
        (s.labels["model"], s.labels["arm"]): s.labels["version"]
        for s in families["modelops_served_version_info"].samples
    }
    assert served[(BC, "champion")] == "3"
    assert any(s.labels["class_label"] in ("0", "1") for s in families["modelops_predicted_class"].samples)


def test_models_route_and_openapi(service: Service) -> None:
    with service.client() as c:
        served = {m["name"]: m for m in c.get("/v1/models").json()["models"]}
        spec = c.get("/openapi.json").json()
    bc = served[BC]
    assert (
        bc["state"] == "ready" and bc["arms"]["champion"]["version"] == 3 and bc["arms"]["challenger"]["version"] == 2
    )
    assert bc["traffic"]["champion_share"] == 1.0 and bc["last_error"] is None
    for path in ("/v1/models/{name}/predict", "/v1/models/{name}/classify", "/v1/feedback", "/v1/admin/reload"):
        assert path in spec["paths"]


async def _hammer(url: str, stop: asyncio.Event, concurrency: int) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:

        async def worker() -> None:
            while not stop.is_set():
                r = await client.post(f"/v1/models/{BC}/predict", json={"inputs": [ROW]})
                out.append((r.status_code, r.json().get("version", -1) if r.status_code == 200 else -1))

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return out


def test_reload_under_load_fails_no_request(service: Service) -> None:
    registry = Registry.from_settings(service.settings)

    async def scenario() -> list[tuple[int, int]]:
        stop = asyncio.Event()
        load = asyncio.create_task(_hammer(service.url, stop, 8))
        async with httpx.AsyncClient(base_url=service.url, timeout=60) as admin:
            for i in range(6):
                await asyncio.to_thread(registry.promote, BC, 2 if i % 2 == 0 else 3, reason="swap test")
                r = await admin.post("/v1/admin/reload", headers={"Authorization": f"Bearer {TOKEN}"})
                assert r.status_code == 200
                await asyncio.sleep(0.3)
        stop.set()
        return await load

    results = run_async(scenario())
    assert len(results) > 50
    assert {status for status, _ in results} == {200}
    assert {version for _, version in results} == {2, 3}
    assert registry.resolve_alias(BC, names.CHAMPION) == 3


def test_classify_route_answers_the_same_top_k_as_the_page_pipeline(service: Service) -> None:
    from core.runtime.classify import classify_images
    from core.runtime.handles import load_handle

    _, images, _, _ = digits_images()
    data = _png(255 - images[5])
    handle = load_handle(service.settings.tracking_uri, names.DIGITS, 2)
    (local,) = classify_images(handle, [("d.png", data)])
    with service.client() as c:
        r = c.post(
            f"/v1/models/{names.DIGITS}/classify", files={"image": ("d.png", data, "image/png")}, params={"k": 4}
        )
    api = [(s["label"], s["probability"]) for s in r.json()["top_k"]]
    assert [label for label, _ in api] == [label for label, _ in local.top_k(4)]
    np.testing.assert_allclose([p for _, p in api], [p for _, p in local.top_k(4)], rtol=1e-5)


def test_classify_logs_image_statistics_for_drift(service: Service) -> None:
    from core.analysis.image_drift import SIZE_COLUMNS, STAT_COLUMNS, logged_image_stats
    from core.registry.facade import Registry

    _, images, _, _ = digits_images()
    with service.client() as c:
        for img in images[:12]:
            c.post(f"/v1/models/{names.DIGITS}/classify", files={"image": ("d.png", _png(255 - img), "image/png")})
    stats = logged_image_stats(Registry.from_settings(service.settings).store, names.DIGITS)
    assert len(stats) >= 12 and list(stats.columns) == ["at", *STAT_COLUMNS, *SIZE_COLUMNS]
    stats = stats.sort_values("at").tail(12)  # earlier tests in this module classified other pictures
    assert (stats["width"] == 28).all()
    assert stats["input_brightness"].between(10, 120).all()  # white ink on black, as the model sees it
