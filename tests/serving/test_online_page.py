"""AppTest of the Online learning page against a running service: state, evaluate, register, promote."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core import names
from core.config import Settings
from core.demo.datasets import breast_cancer_split
from core.demo.online import INITIAL_ROWS
from core.registry.facade import Registry
from core.registry.types import current_actor
from tests.conftest import copy_home
from tests.serving.conftest import TOKEN, Service, point_dashboard_at, start_service, stop_service

APP = str(Path(__file__).resolve().parents[2] / "dashboard" / "app.py")
ONLINE = names.BREAST_CANCER_ONLINE


def _table(at: AppTest, column: str):  # AppTest finds dataframes by position, not key
    return next(d.value for d in at.dataframe if column in d.value.columns)


def _decisions_shown(at: AppTest) -> list[str]:
    """Every message about a gate decision, as ``kind: first words`` (up to "candidate accuracy")."""
    shown = []
    for kind in ("success", "info", "warning", "error"):
        for m in getattr(at, kind):
            if "candidate accuracy" in m.value:
                shown.append(f"{kind}: {m.value[: m.value.index('candidate accuracy')]}candidate accuracy")
    return shown


def _chart(at: AppTest) -> str:
    """The online chart's plotly JSON."""
    return at.get("plotly_chart")[0].proto.spec


def _page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180).run()
    at.switch_page("../pages/online.py").run()
    assert not at.exception, at.exception
    return at


@pytest.fixture
def on_demand_service(online_template: Path, tmp_path: Path) -> Iterator[Service]:
    svc = start_service(copy_home(online_template, tmp_path / "home"), MODELOPS_ONLINE_EVAL_EVERY="0")
    yield svc
    stop_service(svc)


def test_online_page_evaluates_registers_and_promotes(
    on_demand_service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    fresh_service = point_dashboard_at(on_demand_service, monkeypatch)
    X, _, y, _ = breast_cancer_split()
    with fresh_service.client() as c:
        r = c.post(
            f"/v1/models/{ONLINE}/train",
            json={
                "dataframe_split": {"columns": list(X.columns), "data": X.iloc[INITIAL_ROWS:].values.tolist()},
                "labels": y.iloc[INITIAL_ROWS:].tolist(),
            },
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
        assert r.status_code == 200, r.text
    at = _page()
    values = {m.label: m.value for m in at.metric}
    assert values["Parent version"] == "v1" and values["Rows since parent"] == f"{len(X) - INITIAL_ROWS:,}"
    assert any("No decisions yet" in c.value for c in at.caption)

    at.button(key="online-evaluate").click().run()
    assert not at.exception
    assert _decisions_shown(at) == ["success: Last decision (evaluated): candidate accuracy"]  # once, no flash
    at.button(key="online-register").click().run()
    assert _decisions_shown(at) == ["success: Last decision (registered → v2): candidate accuracy"]
    assert at.get("plotly_chart")
    assert '"v2"' in _chart(at)  # the registration's marker is labelled with its version
    decisions = _table(at, "event")
    assert list(decisions["event"])[:2] == ["registered", "evaluated"]
    lineage = _table(at, "parent")
    assert lineage[lineage["version"] == 2].iloc[0]["parent"] == "1"

    at.button(key="online-promote").click().run()
    assert not at.exception
    assert any("Move **champion** of" in m.value and "from v1 to **v2**" in m.value for m in at.markdown)
    registry = Registry.from_settings(Settings.from_env())
    assert registry.resolve_alias(ONLINE, names.CHAMPION) == 1  # nothing moves before the confirmation
    at.button(key="online-promote-confirm-button").click().run()
    assert not at.exception
    assert at.success[0].value.startswith("champion: v1 → v2. Live on the prediction service")
    assert registry.resolve_alias(ONLINE, names.CHAMPION) == 2
    assert registry.history(ONLINE, alias=names.CHAMPION, limit=1)[0].actor == current_actor()  # the page's user
    assert _table(at, "event")["event"].iloc[0] == "promoted"  # in the page's timeline too
    assert "v2 promoted" in _chart(at)  # and on the chart, though it carries no accuracy
    assert any("the champion is now v2" in c.value for c in at.caption)  # the last decision was against v1

    at.button(key="online-reset").click().run()
    assert any("Throw away the" in m.value for m in at.markdown)
    at.button(key="online-reset-cancel").click().run()
    assert not any("restarted" in m.value for m in at.success)
    assert not any("Throw away the" in m.value for m in at.markdown)
    at.button(key="online-reset").click().run()
    at.button(key="online-reset-confirm-button").click().run()
    assert at.success[0].value == "Candidate restarted from v2."

    with fresh_service.client() as c:  # flipped labels: a candidate the gate must reject
        r = c.post(
            f"/v1/models/{ONLINE}/train",
            json={
                "dataframe_split": {"columns": list(X.columns), "data": X.values.tolist()},
                "labels": (1 - y).tolist(),
            },
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
        assert r.status_code == 200, r.text
    at.button(key="online-evaluate").click().run()
    assert not any("fails the gate" in m.value for m in at.success), "a rejected candidate announced in green"
    # shown once, in red, not also as a flash message
    assert _decisions_shown(at) == ["error: Last decision (rejected): candidate accuracy"]
    at.button(key="online-register").click().run()  # registering a failing candidate: rejected too
    assert _decisions_shown(at) == ["error: Last decision (rejected): candidate accuracy"]
    assert 3 not in [v.version for v in Registry.from_settings(Settings.from_env()).list_versions(ONLINE)]


def test_online_page_without_the_service_says_so(online_home: Settings) -> None:
    at = _page()
    assert not at.error
    assert any("did not answer" in w.value for w in at.warning)
    assert _table(at, "parent")["version"].tolist() == [1]
