"""AppTest of the Explain page: global views, one row from each source, what-if, two versions, images."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from streamlit.testing.v1 import AppTest

from core import names
from core.config import Settings
from core.registry.facade import Registry
from core.store.db import predictions
from dashboard import state

APP = str(Path(__file__).resolve().parents[2] / "dashboard" / "app.py")


def _page(model: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=240).run()
    at.switch_page("../pages/explain.py").run()
    at.selectbox(key="selected_model").set_value(model).run()
    assert not at.exception, at.exception
    return at


def _charts(at: AppTest) -> list:
    return at.get("plotly_chart")


def _p(at: AppTest) -> list[float]:
    return [float(m.value) for m in at.metric]


def test_tabular_global_and_row_views(bc_home: Settings) -> None:
    at = _page(names.BREAST_CANCER)
    assert not at.error, [e.value for e in at.error]
    assert "tree explainer" in " ".join(c.value for c in at.caption)
    # importance, beeswarm, dependence, and the row's waterfall
    assert len(_charts(at)) == 4
    assert len(at.metric) == 1 and 0.0 <= _p(at)[0] <= 1.0
    row_table = at.dataframe[0].value
    assert list(row_table.columns) == ["feature", "value", "shap"] and len(row_table) == 30

    at.number_input(key=state.scoped(state.EXPLAIN_ROW, names.BREAST_CANCER)).set_value(5).run()
    first = _p(at)[0]
    # What-if: move the most important feature to its bound; the prediction follows.
    at.radio(key="explain_source").set_value("What-if").run()
    assert not at.exception
    assert _p(at)[0] == first
    top = row_table.iloc[0]["feature"]
    inputs = [w for w in at.number_input if w.key and w.key.startswith("whatif-5-")]
    assert len(inputs) == 30
    moved = False
    for widget in inputs:
        if widget.label == top:
            target = widget.max if _p(at)[0] < 0.5 else widget.min
            widget.set_value(target).run()
            moved = True
            break
    assert moved and not at.exception
    assert _p(at)[0] != first

    # Side by side with v2 (the permutation explainer).
    at.radio(key="explain_source").set_value("Reference data").run()
    at.toggle(key="explain_compare").set_value(True).run()
    at.selectbox(key=state.scoped(state.EXPLAIN_COMPARE_VERSION, names.BREAST_CANCER)).set_value(2).run()
    assert not at.exception
    assert len(at.metric) == 2
    assert "v2 (challenger): permutation explainer" in " ".join(c.value for c in at.caption)


def test_row_from_the_prediction_log_and_a_bad_request_id(bc_home: Settings) -> None:
    store = Registry.from_settings(bc_home).store
    from core.demo.datasets import breast_cancer_split

    _, X_test, _, _ = breast_cancer_split()
    with store.engine.begin() as conn:
        conn.execute(
            predictions.insert().values(
                request_id="req-1",
                at=datetime.now(UTC),
                model=names.BREAST_CANCER,
                version=3,
                arm="champion",
                inputs=json.dumps({"columns": list(X_test.columns), "data": X_test.head(2).values.tolist()}),
                outputs="[1, 0]",
                latency_ms=1.0,
            )
        )
    at = _page(names.BREAST_CANCER)
    at.radio(key="explain_source").set_value("Prediction log").run()
    recent = at.selectbox(key=state.scoped(state.EXPLAIN_RECENT, names.BREAST_CANCER))
    (picked,) = [o for o in recent.options if o != "—"]  # the one logged request, listed with its answer
    assert "champion v3 · benign · req-1" in picked
    recent.select_index(1).run()  # picked, not pasted
    assert not at.exception and not at.error
    assert any("Served by v3 (champion); 2 row(s)" in c.value for c in at.caption)
    assert len(at.metric) == 1 and "P(benign)" in at.metric[0].label
    at.text_input(key="explain_request").input("req-1").run()
    assert any("Served by v3 (champion); 2 row(s)" in c.value for c in at.caption)
    at.text_input(key="explain_request").input("no-such-id").run()
    assert not at.exception
    assert [e.value for e in at.error] == ["no served request for 'breast-cancer' has id 'no-such-id'"]


def test_image_saliency_and_a_refused_upload(digits_home: Settings) -> None:
    at = _page(names.DIGITS)
    assert "gradient explainer" in " ".join(c.value for c in at.caption)
    sample = next(o for o in at.selectbox(key="explain_sample").options if "-label-" in o)
    at.selectbox(key="explain_sample").set_value(sample).run()
    assert not at.exception and not at.error
    assert len(_charts(at)) == 1
    at.toggle(key="explain_compare").set_value(True).run()
    assert len(_charts(at)) == 2
    at.file_uploader(key="explain_upload").set_value([("evil.png", b"\x89PNG\r\n\x1a\nnope", "image/png")]).run()
    assert not at.exception
    assert at.error and at.error[0].value.startswith("evil.png: the file is not an image")


def test_classify_page_saliency_overlay(digits_home: Settings) -> None:
    at = AppTest.from_file(APP, default_timeout=240).run()
    at.switch_page("../pages/classify.py").run()
    samples = [s for s in at.multiselect(key="classify_samples").options if "-label-" in s][:2]
    at.multiselect(key="classify_samples").set_value(samples).run()
    at.toggle(key="classify_saliency").set_value(True).run()
    assert not at.exception and not at.error
    # per image: the saliency overlay and the top-k chart
    assert len(at.get("plotly_chart")) == 4


def test_class_pickers_are_per_model_and_section(digits_home: Settings) -> None:
    # Seen in real use: a class chosen on a tabular model leaked into the image page's picker,
    # whose "(top class)" then explained class 1 at 0.0%.
    at = _page(names.BREAST_CANCER)
    at.selectbox(key=state.scoped(state.EXPLAIN_CLASS, names.BREAST_CANCER, "tabular")).set_value("0").run()
    at.selectbox(key="selected_model").set_value(names.DIGITS).run()
    sample = next(o for o in at.selectbox(key="explain_sample").options if "-label-" in o)
    at.selectbox(key="explain_sample").set_value(sample).run()
    assert not at.exception and not at.error
    picker = at.selectbox(key=state.scoped(state.EXPLAIN_CLASS, names.DIGITS, "image"))
    assert picker.value == "(top class)"
    title = json.loads(_charts(at)[0].proto.spec)["layout"]["title"]["text"]
    explained = float(title.rsplit("(", 1)[1].rstrip("%)"))
    assert explained > 10.0, title  # the top class, not an arbitrary one at 0.0%
