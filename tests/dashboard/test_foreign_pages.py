"""AppTest over a registry written by plain MLflow code: a pipeline with string, integer, float and
boolean columns and string labels, its reference rows taken from the run's logged training dataset."""

from __future__ import annotations

from pathlib import Path

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
