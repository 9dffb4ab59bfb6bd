"""AppTest of the Evaluation page: held-out views for every demo model, live ones once labels arrive."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from streamlit.testing.v1 import AppTest

from core import names
from core.config import Settings
from core.demo.datasets import breast_cancer_split
from core.registry.facade import Registry
from core.runtime.handles import load_handle
from core.store.db import feedback, predictions
from dashboard import resources, state

APP = str(Path(__file__).resolve().parents[2] / "dashboard" / "app.py")
BC = names.BREAST_CANCER


def _page(model: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=240).run()
    at.switch_page("../pages/evaluation.py").run()
    at.selectbox(key=state.SELECTED_MODEL).set_value(model).run()
    assert not at.exception, at.exception
    return at


def _metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_held_out_then_live_views_of_a_tabular_version(seeded_home: Settings) -> None:
    registry = Registry.from_settings(seeded_home)
    at = _page(BC)
    held_out = registry.get_version(BC, 3).metrics["accuracy"]
    assert _metrics(at)["Held-out accuracy"] == f"{held_out:.1%}"  # the figure logged at training time
    assert _metrics(at)["Live accuracy"] == "—" and not at.error
    captions = " ".join(c.value for c in at.caption)
    assert "rows logged with v3 as its held-out (test) data" in captions and "No labelled request yet" in captions
    assert len(at.get("plotly_chart")) == 4  # confusion, ROC, PR, calibration

    # 60 served requests with probabilities, 50 of them labelled: live figures appear beside held-out.
    _, X_test, _, y_test = breast_cancer_split()
    handle = load_handle(seeded_home.tracking_uri, BC, 3)
    proba = handle.predict_proba(X_test.head(60).to_numpy())
    with registry.store.engine.begin() as conn:
        for i in range(60):
            conn.execute(
                predictions.insert().values(
                    request_id=f"r{i}",
                    at=datetime.now(UTC),
                    model=BC,
                    version=3,
                    arm="champion",
                    inputs="{}",
                    outputs=json.dumps([int(proba[i].argmax())]),
                    probabilities=json.dumps([proba[i].tolist()]),
                    latency_ms=1.0,
                )
            )
            if i < 50:
                label = int(y_test.iloc[i]) if i % 10 else float(y_test.iloc[i])  # some arrive as 1.0
                conn.execute(
                    feedback.insert().values(request_id=f"r{i}", label=json.dumps(label), at=datetime.now(UTC))
                )
    resources.live_evaluation.clear()  # the page refreshes it every 10 s; the test does not wait
    at = _page(BC)
    live = _metrics(at)["Live accuracy"]
    expected = (proba[:50].argmax(axis=1) == y_test.head(50).to_numpy()).mean()
    assert live == f"{expected:.1%}", live
    assert len(at.get("plotly_chart")) == 5  # a live confusion matrix too
    # each side says what data it is: every labelled request the version served, no time window
    assert "All 50 requests v3 has served that got a feedback label" in " ".join(c.value for c in at.caption)
    table = at.dataframe[0].value  # one row per class and data set: 7 columns, not 11
    assert list(table.columns) == ["class", "data", "precision", "recall", "f1", "support", "roc_auc"]
    assert list(table["class"]) == ["malignant", "malignant", "benign", "benign"]
    assert list(table["data"]) == ["held-out set", "live traffic"] * 2
    assert table.loc[table["data"] == "live traffic", "support"].sum() == 50


def test_an_image_model_is_evaluated_per_digit(seeded_home: Settings) -> None:
    at = _page(names.DIGITS)
    assert not at.error
    assert float(_metrics(at)["Held-out accuracy"].rstrip("%")) > 80
    assert len(at.dataframe[0].value) == 10


def test_a_regressor_is_judged_by_its_errors_held_out_and_live(bc_home) -> None:
    from core import names
    from core.demo.seed import seed_demo
    from tests.dashboard.test_foreign_pages import _log_regressor_traffic

    seed_demo(bc_home, models=(names.DIABETES,), progress=lambda _l: None)
    _log_regressor_traffic(bc_home)  # 120 requests on v1 and v2, 96 labelled
    at = AppTest.from_file(APP, default_timeout=180).run()
    at.switch_page("../pages/evaluation.py").run()
    at.selectbox[0].set_value(names.DIABETES).run()
    assert not at.exception, at.exception
    metrics = [(m.label, m.value) for m in at.metric]
    assert [label for label, _ in metrics] == ["MAE", "RMSE", "R²"] * 2
    held_mae, live_mae = float(metrics[0][1]), float(metrics[3][1])
    assert 30 < held_mae < 60  # diabetes progression (25..346) by ridge regression: MAE ≈ 43
    assert 25 < live_mae < 60  # the logged errors are normal with sd 50: MAE ≈ 40
    assert len(at.get("plotly_chart")) == 2
    quantiles = next(df.value for df in at.dataframe if "quantile" in df.value.columns)
    assert list(quantiles["quantile"]) == ["50%", "80%", "90%", "95%", "99%"]
    assert {"held-out set", "live traffic"} <= set(quantiles.columns)
