"""A service pointed at a registry written by plain MLflow code (tests/foreign.py): typed columns, string labels."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from core.demo.datasets import churn_frame
from tests.foreign import CHURN, build_foreign_registry
from tests.serving.conftest import Service, start_service, stop_service

X, Y = churn_frame(rows=40, seed=7)
RECORDS = X.to_dict(orient="records")


@pytest.fixture(scope="module")
def foreign(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    home = build_foreign_registry(tmp_path_factory.mktemp("foreign") / "home")
    svc = start_service(home)
    yield svc
    stop_service(svc)


def _records(rows: list[dict]) -> list[dict]:
    return [{k: (v.item() if hasattr(v, "item") else v) for k, v in r.items()} for r in rows]


def test_a_pipeline_with_string_columns_and_string_labels_is_served(foreign: Service) -> None:
    with foreign.client() as c:
        models = {m["name"]: m for m in c.get("/v1/models").json()["models"]}
        churn = models[CHURN]
        assert churn["arms"]["champion"]["version"] == 1 and churn["classes"] == ["no", "yes"]
        assert [(i["name"], i["type"]) for i in churn["inputs"]] == [
            ("contract", "string"),
            ("internet", "string"),
            ("tenure_months", "long"),
            ("monthly_charges", "double"),
            ("paperless_billing", "boolean"),
        ]
        r = c.post(f"/v1/models/{CHURN}/predict", json={"dataframe_records": _records(RECORDS)})
        assert r.status_code == 200, r.text
        answer = r.json()
        assert set(answer["predictions"]) <= {"yes", "no"} and len(answer["predictions"]) == len(RECORDS)
        split = {"dataframe_split": {"columns": list(X.columns), "data": [list(_records(RECORDS)[0].values())]}}
        assert c.post(f"/v1/models/{CHURN}/predict", json=split).status_code == 200
        fed = c.post("/v1/feedback", json={"request_id": answer["request_id"], "label": "yes"})
        assert fed.status_code == 200, fed.text


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"contract": 3}, "feature 'contract' row 0 must be a string (string), got int 3"),
        ({"contract": "weekly"}, "feature 'contract' row 0 is 'weekly', a category the model does not know"),
        ({"tenure_months": "ten"}, "feature 'tenure_months' row 0 must be an integer (long), got str 'ten'"),
        ({"tenure_months": 1.5}, "feature 'tenure_months' row 0 must be an integer (long)"),
        ({"paperless_billing": "yes"}, "feature 'paperless_billing' row 0 must be true or false (boolean)"),
        ({"monthly_charges": None}, "feature 'monthly_charges' row 0 must be a number (double)"),
    ],
)
def test_values_that_do_not_fit_the_signature_get_a_422_naming_the_column(
    foreign: Service, change: dict, message: str
) -> None:
    row = {**_records(RECORDS)[0], **change}
    with foreign.client() as c:
        r = c.post(f"/v1/models/{CHURN}/predict", json={"dataframe_records": [row]})
        assert r.status_code == 422 and message in r.json()["detail"], r.text


def test_a_numeric_label_for_string_classes_is_refused(foreign: Service) -> None:
    with foreign.client() as c:
        answer = c.post(f"/v1/models/{CHURN}/predict", json={"dataframe_records": _records(RECORDS)[:1]}).json()
        r = c.post("/v1/feedback", json={"request_id": answer["request_id"], "label": 1})
        assert r.status_code == 422 and "'no', 'yes'" in r.json()["detail"], r.text


def test_the_pickled_version_waits_for_trust_then_serves_without_a_signature(foreign: Service) -> None:
    with foreign.client() as c:
        churn = {m["name"]: m for m in c.get("/v1/models").json()["models"]}[CHURN]
        assert "challenger" not in churn["arms"] and "cloudpickle" in churn["last_error"]
        r = c.post(f"/v1/models/{CHURN}/trust", json={"reason": "our 2024 build"}, headers=foreign.admin())
        assert r.status_code == 200, r.text
        arms = r.json()["served"]["arms"]
        assert arms["challenger"]["version"] == 2
        assert r.json()["served"]["last_error"] is None and r.json()["served"]["next_retry_at"] is None
        assert "no signature logged" in arms["challenger"]["runtime_reason"]
        put = c.put(f"/v1/models/{CHURN}/traffic", json={"challenger_share": 1.0}, headers=foreign.admin())
        assert put.status_code == 200
        try:
            answer = c.post(f"/v1/models/{CHURN}/predict", json={"dataframe_records": _records(RECORDS)})
            assert answer.status_code == 200, answer.text
            assert answer.json()["version"] == 2 and set(answer.json()["predictions"]) <= {"yes", "no"}
        finally:
            c.put(f"/v1/models/{CHURN}/traffic", json={"challenger_share": 0.0}, headers=foreign.admin())


def test_a_regressor_is_served_with_numbers_and_takes_numeric_labels(foreign: Service) -> None:
    from core.demo.datasets import diabetes_frame
    from tests.foreign import DIABETES

    X, y = diabetes_frame()
    rows = _records(X.head(5).to_dict(orient="records"))
    with foreign.client() as c:
        info = {m["name"]: m for m in c.get("/v1/models").json()["models"]}[DIABETES]
        assert info["task"] == "regression" and info["classes"] == [] and info["state"] == "ready"
        assert ("region", "string") in [(i["name"], i["type"]) for i in info["inputs"]]
        r = c.post(f"/v1/models/{DIABETES}/predict", json={"dataframe_records": rows})
        assert r.status_code == 200, r.text
        answer = r.json()
        assert answer["probabilities"] is None and all(isinstance(p, float) for p in answer["predictions"])
        assert abs(sum(answer["predictions"]) / 5 - y.head(5).mean()) < 60  # progression is 25..346
        assert c.post("/v1/feedback", json={"request_id": answer["request_id"], "label": 151.0}).status_code == 200
        refused = c.post("/v1/feedback", json={"request_id": answer["request_id"], "label": "high"})
        assert refused.status_code == 422 and "regressor: the label must be a finite number" in refused.text
        explained = c.post(f"/v1/models/{DIABETES}/explain", json={"dataframe_records": rows[:2]})
        assert explained.status_code == 200, explained.text
        body = explained.json()
        assert body["classes"] == ["prediction"] and "region" in body["feature_names"]
        for row, output in zip(body["shap_values"], body["output"], strict=True):
            assert abs(body["base_value"][0] + sum(row) - output) < 1e-6 * max(1.0, abs(output))
        assert [round(o, 4) for o in body["output"]] == [round(p, 4) for p in answer["predictions"][:2]]


def test_python_function_models_wait_for_trust_then_serve_probabilities_or_labels(foreign: Service) -> None:
    import pandas as pd

    from tests.foreign import RULES, ChurnRules

    rows = _records(RECORDS[:8])
    with foreign.client() as c:
        info = {m["name"]: m for m in c.get("/v1/models").json()["models"]}[RULES]
        assert info["state"] != "ready" and "python_function model" in info["last_error"]
        assert c.get("/readyz").status_code == 200  # an untrusted champion waits; the others serve
        assert f"MODELOPS_TRUSTED_MODELS={RULES}" in info["last_error"]
        refused = c.post(f"/v1/models/{RULES}/predict", json={"dataframe_records": rows})
        assert refused.status_code == 503 and "python_function" in refused.text, refused.text
        r = c.post(f"/v1/models/{RULES}/trust", json={"reason": "our rules"}, headers=foreign.admin())
        assert r.status_code == 200, r.text
        arms = r.json()["served"]["arms"]
        assert r.json()["served"]["last_error"] is None, r.json()["served"]
        assert arms["champion"]["runtime"] == "pyfunc" and arms["challenger"]["runtime"] == "pyfunc"
        assert "labels only" in arms["challenger"]["runtime_reason"]
        served = {m["name"]: m for m in c.get("/v1/models").json()["models"]}[RULES]
        assert served["task"] == "classification" and served["classes"] == ["no", "yes"]
        answer = c.post(f"/v1/models/{RULES}/predict", json={"dataframe_records": rows})
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["version"] == 1 and set(body["predictions"]) <= {"no", "yes"}
        expected = ChurnRules().predict(None, pd.DataFrame(rows))  # the rule's own numbers, not 0/1
        assert [round(p[1], 9) for p in body["probabilities"]] == [round(v, 9) for v in expected["yes"]]
        assert c.post("/v1/feedback", json={"request_id": body["request_id"], "label": "yes"}).status_code == 200
        bad = c.post(f"/v1/models/{RULES}/predict", json={"dataframe_records": [{**rows[0], "tenure_months": "x"}]})
        assert bad.status_code == 422 and "tenure_months" in bad.text
        put = c.put(f"/v1/models/{RULES}/traffic", json={"challenger_share": 1.0}, headers=foreign.admin())
        assert put.status_code == 200
        try:
            labels = c.post(f"/v1/models/{RULES}/predict", json={"dataframe_records": rows}).json()
            assert labels["version"] == 2 and set(labels["predictions"]) <= {"no", "yes"}
            assert all(sorted(p) == [0.0, 1.0] for p in labels["probabilities"]), labels
        finally:
            c.put(f"/v1/models/{RULES}/traffic", json={"challenger_share": 0.0}, headers=foreign.admin())


def test_a_value_a_version_without_signature_cannot_use_is_a_422(foreign: Service) -> None:
    with foreign.client() as c:
        assert c.post(f"/v1/models/{CHURN}/trust", json={"reason": "ours"}, headers=foreign.admin()).status_code == 200
        put = c.put(f"/v1/models/{CHURN}/traffic", json={"challenger_share": 1.0}, headers=foreign.admin())
        assert put.status_code == 200
        try:
            row = {**_records(RECORDS)[0], "tenure_months": "ten"}  # v2 has no signature: nothing checks it first
            r = c.post(f"/v1/models/{CHURN}/predict", json={"dataframe_records": [row]})
            assert r.status_code == 422, r.text
            assert "has no signature" in r.json()["detail"] and "could not use these values" in r.json()["detail"]
            ok = c.post(f"/v1/models/{CHURN}/predict", json={"dataframe_records": _records(RECORDS)[:1]})
            assert ok.status_code == 200 and ok.json()["version"] == 2
        finally:
            c.put(f"/v1/models/{CHURN}/traffic", json={"challenger_share": 0.0}, headers=foreign.admin())
