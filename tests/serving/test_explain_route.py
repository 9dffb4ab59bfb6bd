"""POST /v1/models/{name}/explain on a real service: additivity, equality with raw shap, bad input."""

from __future__ import annotations

import numpy as np
import pytest
import shap

from core import names
from core.demo.datasets import breast_cancer_split
from core.runtime.handles import load_handle
from tests.serving.conftest import Service

BC = names.BREAST_CANCER
_, X_TEST, _, _ = breast_cancer_split()
COLUMNS = list(X_TEST.columns)


def test_explain_returns_additive_values_equal_to_raw_shap(service: Service) -> None:
    rows = X_TEST.head(5)
    with service.client() as c:
        r = c.post(f"/v1/models/{BC}/explain", json={"dataframe_records": rows.to_dict(orient="records")})
        assert r.status_code == 200, r.text
        body = r.json()
        predicted = c.post(f"/v1/models/{BC}/predict", json={"dataframe_records": rows.to_dict(orient="records")})
    assert body["model"] == BC and body["version"] == 3 and body["method"] == "tree"
    assert body["feature_names"] == COLUMNS and body["explained_class"] == [1] * 5
    values = np.asarray(body["shap_values"])
    assert values.shape == (5, 30)
    outputs = np.asarray(body["base_value"]) + values.sum(axis=1)
    np.testing.assert_allclose(outputs, body["output"], atol=1e-9)
    served = np.asarray(predicted.json()["probabilities"])[:, 1]
    np.testing.assert_allclose(outputs, served, atol=1e-5)  # the served runtime is ONNX float32

    handle = load_handle(service.settings.tracking_uri, BC, 3)
    raw = shap.TreeExplainer(handle.model)
    np.testing.assert_allclose(values, raw.shap_values(rows.to_numpy("float64"))[:, :, 1], atol=1e-12)
    np.testing.assert_allclose(body["base_value"], raw.expected_value[1], atol=1e-12)


def test_explain_a_chosen_class_and_served_version(service: Service) -> None:
    row = {"dataframe_split": {"columns": COLUMNS, "data": [X_TEST.iloc[0].tolist()]}}
    with service.client() as c:
        r = c.post(f"/v1/models/{BC}/explain", json={**row, "class": 0, "version": 2})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["version"] == 2 and body["method"] == "permutation" and body["explained_class"] == [0]
    assert body["base_value"][0] + sum(body["shap_values"][0]) == pytest.approx(body["output"][0], abs=1e-9)


@pytest.mark.parametrize(
    ("path", "body", "status", "message"),
    [
        (f"/v1/models/{BC}/explain", {"dataframe_records": [{"mean radius": 1.0}]}, 422, "missing"),
        (f"/v1/models/{BC}/explain", {"dataframe_records": []}, 422, "no rows"),
        (f"/v1/models/{BC}/explain", {"instances": [[0.0] * 30] * 101}, 422, "limit of 100"),
        (f"/v1/models/{BC}/explain", {"instances": [[0.0] * 30], "class": "maybe"}, 422, "unknown class 'maybe'"),
        (
            f"/v1/models/{BC}/explain",
            {"instances": [[0.0] * 30], "version": 1},
            404,
            "version 1 of 'breast-cancer' is not served",
        ),
        (f"/v1/models/{BC}/explain", {"instances": [[0.0] * 30], "shap": True}, 422, "shap: Extra inputs"),
        (f"/v1/models/{names.DIGITS}/explain", {"instances": [[0.0]]}, 422, "is an image model"),
        ("/v1/models/nope/explain", {"instances": [[0.0]]}, 404, "nope"),
    ],
    ids=[
        "wrong-features",
        "empty",
        "too-many-rows",
        "unknown-class",
        "unserved-version",
        "extra-key",
        "image",
        "unknown",
    ],
)
def test_explain_bad_input_is_a_4xx_naming_it(
    service: Service, path: str, body: dict, status: int, message: str
) -> None:
    with service.client() as c:
        r = c.post(path, json=body)
        assert r.status_code == status, r.text
        assert message in r.json()["detail"]
        assert c.get("/healthz").status_code == 200
