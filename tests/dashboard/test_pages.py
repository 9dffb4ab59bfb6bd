"""AppTest: every page renders with the demo data, with an empty registry, and with the registry down."""

from __future__ import annotations

from pathlib import Path

import pytest
from mlflow import MlflowClient
from streamlit.testing.v1 import AppTest

from core import names
from core.config import Settings
from core.registry.facade import Registry
from dashboard import state

APP = str(Path(__file__).resolve().parents[2] / "dashboard" / "app.py")
PAGES = ["../pages/overview.py", "../pages/registry.py"]


def _app() -> AppTest:
    return AppTest.from_file(APP, default_timeout=120)


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_with_demo_data(seeded_home: Settings, page: str) -> None:
    at = _app().run()
    at.switch_page(page).run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    text = " ".join(m.value for m in at.markdown)
    assert "champion v3" in text  # the breast-cancer badge


@pytest.mark.parametrize("page", PAGES)
def test_every_page_explains_an_empty_registry(empty_home: Settings, page: str) -> None:
    at = _app().run()
    at.switch_page(page).run()
    assert not at.exception
    assert any("no models yet" in i.value for i in at.info)


@pytest.mark.parametrize("page", PAGES)
def test_every_page_reports_an_unreachable_registry(
    empty_home: Settings, monkeypatch: pytest.MonkeyPatch, page: str
) -> None:
    monkeypatch.setenv(names.ENV_TRACKING_URI, "http://127.0.0.1:9")
    at = _app().run()
    at.switch_page(page).run()
    assert not at.exception
    assert any("127.0.0.1:9" in e.value for e in at.error)


def test_registry_rollback_asks_once_then_moves_the_champion(bc_home: Settings) -> None:
    at = _app().run()
    at.switch_page("../pages/registry.py").run()
    assert at.button(key="rollback").label == "Roll back champion: v3 → v2"
    at.button(key="rollback").click().run()
    assert "from v3 back to v2" in at.warning[0].value
    at.text_input(key="rollback_reason").input("AUC dropped").run()
    at.button(key="rollback-confirm-button").click().run()
    assert not at.exception
    assert at.success[0].value.startswith("champion: v3 → v2. The prediction service was not reloaded")
    client = MlflowClient(bc_home.tracking_uri, bc_home.tracking_uri)
    assert int(client.get_model_version_by_alias(names.BREAST_CANCER, names.CHAMPION).version) == 2
    # The page now offers the next step back, and the history shows the reason.
    assert at.button(key="rollback").label == "Roll back champion: v2 → v1"
    history = at.dataframe[-1].value
    assert history.iloc[0]["reason"] == "AUC dropped" and history.iloc[0]["action"] == "rollback"


def test_registry_rollback_cancel_changes_nothing(bc_home: Settings) -> None:
    at = _app().run()
    at.switch_page("../pages/registry.py").run()
    at.button(key="rollback").click().run()
    at.button(key="rollback-cancel").click().run()
    client = MlflowClient(bc_home.tracking_uri, bc_home.tracking_uri)
    assert int(client.get_model_version_by_alias(names.BREAST_CANCER, names.CHAMPION).version) == 3
    assert at.button(key="rollback").label == "Roll back champion: v3 → v2"


def test_registry_promote_moves_the_chosen_alias(bc_home: Settings) -> None:
    at = _app().run()
    at.switch_page("../pages/registry.py").run()
    at.selectbox(key=state.scoped(state.PROMOTE_VERSION, names.BREAST_CANCER)).select(1)
    at.selectbox(key=state.scoped(state.PROMOTE_ALIAS, names.BREAST_CANCER)).select(names.CHALLENGER)
    at.text_input(key=state.scoped(state.PROMOTE_REASON, names.BREAST_CANCER)).input("try v1")
    at.button(key="promote").click().run()
    # nothing moves before the confirmation; v1 is worse than the challenger v2 on held-out data
    client = MlflowClient(bc_home.tracking_uri, bc_home.tracking_uri)
    assert int(client.get_model_version_by_alias(names.BREAST_CANCER, names.CHALLENGER).version) == 2
    assert any("v1 is worse on held-out data than the current challenger: accuracy" in w.value for w in at.warning)
    at.button(key="promote-confirm-button").click().run()
    assert not at.exception
    assert at.success[0].value.startswith("challenger: v2 → v1.")
    assert int(client.get_model_version_by_alias(names.BREAST_CANCER, names.CHALLENGER).version) == 1
    assert at.text_input(key=state.scoped(state.PROMOTE_REASON, names.BREAST_CANCER)).value == ""
    assert Registry.from_settings(bc_home).history(names.BREAST_CANCER, limit=1)[0].reason == "try v1"
    # the next move, reason untouched, must not record the last one's reason again
    at.selectbox(key=state.scoped(state.PROMOTE_VERSION, names.BREAST_CANCER)).select(2)
    at.button(key="promote").click().run()
    at.button(key="promote-confirm-button").click().run()
    assert Registry.from_settings(bc_home).history(names.BREAST_CANCER, limit=1)[0].reason == ""


def test_registry_promote_cancel_changes_nothing(bc_home: Settings) -> None:
    at = _app().run()
    at.switch_page("../pages/registry.py").run()
    at.selectbox(key=state.scoped(state.PROMOTE_VERSION, names.BREAST_CANCER)).select(1)
    at.button(key="promote").click().run()
    assert any("v1 is worse on held-out data than the current champion" in w.value for w in at.warning)
    at.button(key="promote-cancel").click().run()
    assert not at.exception and not at.warning
    client = MlflowClient(bc_home.tracking_uri, bc_home.tracking_uri)
    assert int(client.get_model_version_by_alias(names.BREAST_CANCER, names.CHAMPION).version) == 3


def test_registry_compare_shows_metric_deltas(bc_home: Settings) -> None:
    at = _app().run()
    at.switch_page("../pages/registry.py").run()
    metrics = at.dataframe[1].value.set_index("metric")
    assert {"accuracy", "f1", "roc_auc"} <= set(metrics.index)
    accuracy = metrics.loc["accuracy"]
    assert accuracy["delta"] == pytest.approx(accuracy["v3"] - accuracy["v2"])


def test_overview_says_when_the_service_is_down(bc_home: Settings) -> None:
    at = _app().run()
    assert any("not reachable" in w.value and "python -m core serve" in w.value for w in at.warning)


def test_ab_page_without_a_challenger_says_so(bc_home: Settings) -> None:
    MlflowClient(bc_home.tracking_uri, bc_home.tracking_uri).delete_registered_model_alias(
        names.BREAST_CANCER, names.CHALLENGER
    )
    at = _app().run()
    at.switch_page("../pages/ab_testing.py").run()
    assert not at.exception
    assert any("has no challenger" in i.value for i in at.info)


def test_registry_search_and_edit_a_version(bc_home: Settings) -> None:
    at = _app().run()
    at.switch_page("../pages/registry.py").run()
    at.text_input(key=state.scoped(state.VERSION_SEARCH, names.BREAST_CANCER)).input("challenger").run()
    assert at.dataframe[0].value["version"].tolist() == [2]
    at.text_input(key=state.scoped(state.VERSION_SEARCH, names.BREAST_CANCER)).input("no-such-thing").run()
    assert any("No version of breast-cancer matches" in c.value for c in at.caption)
    at.selectbox(key=state.scoped(state.EDIT_VERSION, names.BREAST_CANCER)).set_value(1).run()
    at.text_area(key=state.scoped(state.EDIT_DESCRIPTION, names.BREAST_CANCER, 1)).input("a stump, kept for demos")
    at.text_input(key=state.scoped(state.EDIT_TAG_KEY, names.BREAST_CANCER)).input("owner")
    at.text_input(key=state.scoped(state.EDIT_TAG_VALUE, names.BREAST_CANCER)).input("ml-team")
    at.button(key=f"save-edit-{names.BREAST_CANCER}").click().run()
    assert not at.exception and at.success[0].value == "v1: description, tag:owner saved."
    v1 = Registry.from_settings(bc_home).get_version(names.BREAST_CANCER, 1)
    assert v1.description == "a stump, kept for demos" and v1.tags["owner"] == "ml-team"
    assert at.text_input(key=state.scoped(state.EDIT_TAG_KEY, names.BREAST_CANCER)).value == ""  # ready for the next
    at.text_input(key=state.scoped(state.EDIT_TAG_KEY, names.BREAST_CANCER)).input("modelops.flavor")
    at.text_input(key=state.scoped(state.EDIT_TAG_VALUE, names.BREAST_CANCER)).input("keras")
    at.button(key=f"save-edit-{names.BREAST_CANCER}").click().run()
    assert not at.exception and "written by ModelOps" in at.error[0].value
