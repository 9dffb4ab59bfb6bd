"""AppTest over a registry written by plain MLflow code: a pipeline with string, integer, float and
boolean columns and string labels, its reference rows taken from the run's logged training dataset."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from core.config import Settings
from tests.foreign import CHURN

APP = str(Path(__file__).resolve().parents[2] / "dashboard" / "app.py")
PAGES = ["overview", "registry", "evaluation", "explain", "ab_testing", "drift", "monitoring", "online"]


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_the_foreign_model_or_says_what_it_lacks(foreign_home: Settings, page: str) -> None:
    at = AppTest.from_file(APP, default_timeout=180).run()
    at.switch_page(f"../pages/{page}.py").run()
    assert not at.exception, at.exception
    for error in at.error:  # only a missing held-out set, named with the fix
        assert "has no holdout data" in error.value and "reference/holdout.parquet" in error.value


def test_explain_uses_the_original_columns_and_a_category_picker(foreign_home: Settings) -> None:
    at = AppTest.from_file(APP, default_timeout=180).run()
    at.switch_page("../pages/explain.py").run()
    assert not at.exception, at.exception
    assert at.selectbox[0].value == CHURN
    at.radio[0].set_value("What-if").run()
    assert not at.exception, at.exception
    contract = next(s for s in at.selectbox if s.label == "contract")
    assert contract.options == ["month-to-month", "one-year", "two-year"]  # the encoder's categories
    paperless = next(s for s in at.selectbox if s.label == "paperless_billing")
    assert paperless.options == ["False", "True"]
    before = at.metric[0].value
    contract.set_value("month-to-month" if contract.value != "month-to-month" else "two-year").run()
    assert not at.exception, at.exception
    assert at.metric[0].value != before  # the contract moves the churn probability
    rows = [df.value for df in at.dataframe if "feature" in df.value.columns]
    assert rows and set(rows[0]["feature"]) == {
        "contract",
        "internet",
        "tenure_months",
        "monthly_charges",
        "paperless_billing",
    }


def test_the_registry_shows_how_versions_are_stored_and_records_trust(foreign_home: Settings) -> None:
    from core.registry.facade import Registry
    from core.store.trust import trust_history

    at = AppTest.from_file(APP, default_timeout=180).run()
    at.switch_page("../pages/registry.py").run()
    assert not at.exception, at.exception
    table = next(df.value for df in at.dataframe if "stored as" in df.value.columns)
    assert dict(zip(table["version"], table["stored as"], strict=True)) == {1: "skops", 2: "cloudpickle"}
    assert any("v2 is stored with pickle" in m.value for m in at.markdown)
    at.text_input(key=f"trust_reason:{CHURN}").input("our 2024 build, from our own CI").run()
    at.button(key=f"trust-{CHURN}").click().run()
    assert not at.exception, at.exception
    assert "churn trusted: its pickled versions may load" in at.success[0].value
    assert at.button(key=f"trust-{CHURN}").label == "Withdraw trust"
    decisions = trust_history(Registry.from_settings(foreign_home).store, CHURN)
    assert decisions["trusted"].tolist() == [True] and decisions["who"].iloc[0] == "pytest"
    assert decisions["reason"].iloc[0] == "our 2024 build, from our own CI"
    assert at.text_input(key=f"trust_reason:{CHURN}").value == ""  # cleared after the decision
    # Trusted, the pickled version can be adopted: re-registered in skops, verified, with its lineage.
    assert at.selectbox(key=f"adopt-v-{CHURN}").options == ["v2"]
    at.button(key=f"adopt-{CHURN}").click().run()
    assert not at.exception, at.exception
    assert "churn v2 adopted as v3 (skops); identical answers on 2,000 rows" in at.success[0].value
    table = next(df.value for df in at.dataframe if "stored as" in df.value.columns)
    assert dict(zip(table["version"], table["stored as"], strict=True)) == {1: "skops", 2: "cloudpickle", 3: "skops"}
    assert not [b for b in at.button if b.key == f"adopt-{CHURN}"]  # nothing left to adopt


def _log_regressor_traffic(settings: Settings, requests: int = 120) -> None:
    """Served requests of the regressor on both arms, 80% labelled, written as the service writes them."""
    from tests.foreign import DIABETES

    rng = np.random.default_rng(0)
    ROW = {"columns": ["age"], "data": [[0.0]]}
    served = []
    for i in range(requests):
        arm, version = ("champion", 1) if i % 2 == 0 else ("challenger", 2)
        truth = float(rng.normal(150, 50))
        predicted = truth + float(rng.normal(0, 50 if version == 1 else 25))
        served.append(Served(f"r{i}", version, arm, ROW, predicted, None, truth if i % 5 else None))
    _write_served(settings, DIABETES, served)


@dataclass
class Served:
    """One request as the service logs it, and its label (``None``: never labelled)."""

    request_id: str
    version: int
    arm: str
    row: dict
    predicted: object
    probabilities: object
    truth: object


def _write_served(settings: Settings, model: str, served: list[Served]) -> None:
    """Write ``served`` through the service's own prediction log, then post the labels as feedback."""
    import asyncio
    import time

    from core.registry.facade import Registry
    from core.store.predlog import PredictionLog, PredictionRecord, record_feedback

    store = Registry.from_settings(settings).store
    log = PredictionLog(store)

    class Arm:
        model_name = model

        def __init__(self, version: int) -> None:
            self.version = version

    async def write() -> None:
        for s in served:
            await log.append(
                PredictionRecord.served(
                    s.request_id,
                    Arm(s.version),
                    s.arm,
                    None,
                    s.row,
                    [s.predicted],
                    s.probabilities,
                    time.perf_counter(),
                )
            )

    try:
        asyncio.run(write())
    finally:
        log.close()
    for s in served:
        if s.truth is not None:
            record_feedback(store, s.request_id, s.truth)


def test_a_regressor_is_compared_by_its_errors_on_the_ab_and_monitoring_pages(foreign_home: Settings) -> None:
    from tests.foreign import DIABETES

    _log_regressor_traffic(foreign_home)
    for page in ("ab_testing", "monitoring"):
        at = AppTest.from_file(APP, default_timeout=180).run()
        at.switch_page(f"../pages/{page}.py").run()
        box = next(b for b in at.selectbox if DIABETES in (b.options or []))
        box.set_value(DIABETES).run()
        assert not at.exception, at.exception
        if page == "ab_testing":
            labels = [m.label for m in at.metric]
            assert "MAE difference (challenger − champion)" in labels and "Welch t-test p (reference)" in labels
            table = next(df.value for df in at.dataframe if "MAE" in df.value.columns)
            assert table["labelled"].tolist() == [48, 48]
            assert table["MAE"].iloc[1] < table["MAE"].iloc[0]  # the challenger's errors are half as wide
            assert not any("Sample-size" in e.label for e in at.expander)


def test_a_regressor_is_explained_in_its_own_units(foreign_home: Settings) -> None:
    from tests.foreign import DIABETES

    at = AppTest.from_file(APP, default_timeout=180).run()
    at.switch_page("../pages/explain.py").run()
    next(b for b in at.selectbox if DIABETES in (b.options or [])).set_value(DIABETES).run()
    assert not at.exception, at.exception
    assert not any(b.label == "Explain the probability of class" for b in at.selectbox)
    assert any("explain its predicted value" in c.value for c in at.caption)
    at.radio[0].set_value("What-if").run()
    assert not at.exception, at.exception
    assert next(s for s in at.selectbox if s.label == "region").options == ["east", "north", "south", "west"]
    assert at.metric[0].label.endswith(": the prediction")


@pytest.mark.parametrize("page", ["registry", "evaluation", "explain", "ab_testing", "drift", "monitoring"])
def test_every_page_renders_a_python_function_model_once_trusted(foreign_home: Settings, page: str) -> None:
    from tests.foreign import RULES

    if page in ("explain", "evaluation"):  # pages that load the model say why it does not, untrusted
        at = AppTest.from_file(APP, default_timeout=180).run()
        at.switch_page(f"../pages/{page}.py").run()
        at.selectbox[0].set_value(RULES).run()
        assert not at.exception, at.exception
        untrusted = " ".join(e.value for e in [*at.error, *at.warning, *at.info])
        assert "python_function" in untrusted and "Trust this model" in untrusted, untrusted
    from core.registry.facade import Registry
    from core.store.trust import record_trust
    from dashboard.resources import trust_changed

    record_trust(Registry.from_settings(foreign_home).store, RULES, True, "pytest", "our rules")
    trust_changed()  # AppTest runs in this process: forget the decision cached a moment ago
    at = AppTest.from_file(APP, default_timeout=180).run()
    at.switch_page(f"../pages/{page}.py").run()
    at.selectbox[0].set_value(RULES).run()
    assert not at.exception, at.exception
    shown = " ".join(e.value for e in at.error)
    assert "python_function" not in shown and "Traceback" not in shown, shown


def test_a_classifier_without_held_out_rows_is_evaluated_on_live_traffic(foreign_home: Settings) -> None:

    import numpy as np

    rng = np.random.default_rng(1)
    served = []
    for i in range(60):
        p_yes = float(rng.uniform())
        truth = "yes" if rng.uniform() < p_yes else "no"  # calibrated: accuracy ≈ 0.67
        row = {"columns": ["contract"], "data": [["two-year"]]}
        predicted = "yes" if p_yes > 0.5 else "no"
        served.append(Served(f"c{i}", 1, "champion", row, predicted, np.array([[1 - p_yes, p_yes]]), truth))
    _write_served(foreign_home, CHURN, served)
    at = AppTest.from_file(APP, default_timeout=180).run()
    at.switch_page("../pages/evaluation.py").run()
    at.selectbox[0].set_value(CHURN).run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Held-out accuracy"] == "—" and metrics["Live accuracy"].endswith("%")
    assert 45 <= float(metrics["Live accuracy"].rstrip("%")) <= 90
    assert any("No held-out figures" in c.value for c in at.caption)
    assert len(at.get("plotly_chart")) >= 4  # confusion matrix, ROC, precision–recall, calibration
