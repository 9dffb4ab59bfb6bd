"""A model whose signature has a datetime column, logged by plain MLflow code: served, validated, logged,
labelled, and every page renders it."""

from __future__ import annotations

from pathlib import Path

import mlflow.pyfunc
import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from core import names
from core.config import Settings
from core.registry.facade import Registry
from tests.serving.conftest import point_dashboard_at, start_service, stop_service

TICKETS = "ticket-minutes"
APP = str(Path(__file__).resolve().parents[2] / "dashboard" / "app.py")


class TicketMinutes(mlflow.pyfunc.PythonModel):
    """Minutes to resolve a ticket: longer at night and at weekends, longer in the 'billing' queue."""

    def predict(self, context: object, model_input: pd.DataFrame, params: object = None) -> np.ndarray:
        opened = pd.to_datetime(model_input["opened_at"])
        night = ((opened.dt.hour < 8) | (opened.dt.hour >= 20)).astype(float)
        weekend = (opened.dt.dayofweek >= 5).astype(float)
        billing = (model_input["queue"] == "billing").astype(float)
        return (30 + 25 * night + 40 * weekend + 15 * billing).to_numpy(dtype="float64")


def _frame(rows: int = 200) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    start = pd.Timestamp("2024-03-01")
    return pd.DataFrame(
        {
            "opened_at": start + pd.to_timedelta(rng.integers(0, 60 * 24 * 30, rows), unit="min"),
            "queue": rng.choice(["billing", "tech", "sales"], rows).astype(object),
        }
    )


@pytest.fixture()
def tickets_home(bc_home: Settings) -> Settings:
    from mlflow.models import infer_signature

    frame = _frame()
    model = TicketMinutes()
    mlflow.set_tracking_uri(bc_home.tracking_uri)
    mlflow.set_registry_uri(bc_home.tracking_uri)
    experiment = mlflow.create_experiment("tickets", artifact_location=(bc_home.home / "tickets").as_uri())
    with mlflow.start_run(experiment_id=experiment):
        mlflow.pyfunc.log_model(
            name="model",
            python_model=model,
            signature=infer_signature(frame, model.predict(None, frame)),
            input_example=frame.head(5),
            registered_model_name=TICKETS,
        )
    Registry.from_settings(bc_home).client.set_registered_model_alias(TICKETS, names.CHAMPION, "1")
    return bc_home


def test_datetime_columns_are_validated_served_logged_and_shown(tickets_home: Settings, monkeypatch) -> None:
    service = start_service(tickets_home.home, **{names.ENV_TRUSTED_MODELS: TICKETS})
    try:
        with service.client() as c:
            info = {m["name"]: m for m in c.get("/v1/models").json()["models"]}[TICKETS]
            assert info["task"] == "regression" and info["state"] == "ready", info
            assert [(i["name"], i["type"]) for i in info["inputs"]] == [("opened_at", "datetime"), ("queue", "string")]
            rows = [
                {"opened_at": "2024-03-02T22:15:00", "queue": "billing"},  # a Saturday night, billing: 110
                {"opened_at": "2024-03-04T10:00:00Z", "queue": "tech"},  # a Monday morning: 30
            ]
            r = c.post(f"/v1/models/{TICKETS}/predict", json={"dataframe_records": rows})
            assert r.status_code == 200, r.text
            assert r.json()["predictions"] == [110.0, 30.0]
            bad = c.post(
                f"/v1/models/{TICKETS}/predict",
                json={"dataframe_records": [{"opened_at": "yesterday", "queue": "tech"}]},
            )
            assert bad.status_code == 422 and "opened_at" in bad.json()["detail"], bad.text
            assert "ISO 8601" in bad.json()["detail"]
            number = c.post(
                f"/v1/models/{TICKETS}/predict", json={"dataframe_records": [{"opened_at": 1709300000, "queue": "x"}]}
            )
            assert number.status_code == 422 and "opened_at" in number.text
            fed = c.post("/v1/feedback", json={"request_id": r.json()["request_id"], "label": 95.0})
            assert fed.status_code == 200, fed.text
            for _ in range(40):  # some traffic for the pages
                assert c.post(f"/v1/models/{TICKETS}/predict", json={"dataframe_records": rows}).status_code == 200
        point_dashboard_at(service, monkeypatch)
        for page in ("evaluation", "explain", "drift"):  # the pages that read the columns themselves
            at = AppTest.from_file(APP, default_timeout=180).run()
            at.switch_page(f"../pages/{page}.py").run()
            box = next((b for b in at.selectbox if TICKETS in (b.options or [])), None)
            if box is not None:
                box.set_value(TICKETS).run()
            assert not at.exception, (page, at.exception)
    finally:
        stop_service(service)
