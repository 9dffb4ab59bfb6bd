"""SHAP explanations: additivity, equality with raw shap, the image paths and their fallback, bad input."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import shap

from core import names
from core.analysis.explain import TabularExplainer, build_explainer
from core.analysis.explain_images import ImageExplainer, integrated_gradients
from core.config import Settings
from core.errors import InvalidInputError, RequestNotFoundError
from core.names import TARGET
from core.plots.explain import beeswarm_figure, dependence_figure, importance_figure, saliency_figure, waterfall_figure
from core.registry.facade import Registry
from core.registry.reference import load_version_frame
from core.runtime.handles import ModelHandle, load_handle
from core.runtime.inputs import reference_tensor
from core.store.log_reads import logged_request
from tests.conftest import _point_env_at


class Loaded:
    """Handles and reference frames of the seeded demo, loaded once for the module."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.registry = Registry.from_settings(settings)
        self._handles: dict[tuple[str, int], ModelHandle] = {}
        self._frames: dict[tuple[str, int], pd.DataFrame] = {}

    def handle(self, model: str, version: int) -> ModelHandle:
        key = (model, version)
        if key not in self._handles:
            self._handles[key] = load_handle(self.settings.tracking_uri, model, version)
        return self._handles[key]

    def frame(self, model: str, version: int) -> pd.DataFrame:
        key = (model, version)
        if key not in self._frames:
            self._frames[key] = load_version_frame(self.registry, model, version, "reference")
        return self._frames[key]

    def rows(self, version: int, n: int) -> np.ndarray:
        return self.frame(names.BREAST_CANCER, version).drop(columns=TARGET).to_numpy("float64")[:n]


@pytest.fixture(scope="module")
def demo(digits_template: Path) -> Iterator[Loaded]:
    with pytest.MonkeyPatch.context() as mp:
        yield Loaded(_point_env_at(digits_template, mp))


@pytest.mark.parametrize("version", [1, 3])
def test_tree_values_are_additive_and_equal_raw_shap(demo: Loaded, version: int) -> None:
    handle = demo.handle(names.BREAST_CANCER, version)
    explainer = build_explainer(handle, demo.frame(names.BREAST_CANCER, version))
    assert isinstance(explainer, TabularExplainer) and explainer.method == "tree"
    X = demo.rows(version, 200)
    expl = explainer.explain(X)
    assert expl.values.shape == (200, 30, 2)
    # Additivity against scikit-learn's own predict_proba (not the explainer's output).
    np.testing.assert_allclose(expl.outputs, handle.sklearn_proba(X), rtol=0, atol=1e-6)
    estimator = getattr(handle.model, "best_estimator_", handle.model)
    raw = shap.TreeExplainer(estimator)
    np.testing.assert_allclose(expl.values, raw.shap_values(X), rtol=0, atol=1e-12)
    np.testing.assert_allclose(expl.base_values, raw.expected_value, rtol=0, atol=1e-12)


def test_permutation_explainer_for_naive_bayes_is_exactly_additive(demo: Loaded) -> None:
    handle = demo.handle(names.BREAST_CANCER, 2)
    explainer = build_explainer(handle, demo.frame(names.BREAST_CANCER, 2))
    assert explainer.method == "permutation"
    X = demo.rows(2, 12)
    seen: list[tuple[int, int]] = []
    expl = explainer.explain(X, progress=lambda done, total: seen.append((done, total)))
    # It explains the served runtime (ONNX here) exactly, and so scikit-learn to float32 precision.
    assert handle.runtime == "onnxruntime"
    np.testing.assert_allclose(expl.outputs, handle.predict_proba(X), rtol=0, atol=1e-9)
    np.testing.assert_allclose(expl.outputs, handle.sklearn_proba(X), rtol=0, atol=1e-5)
    assert seen[-1] == (12, 12)
    # The features that move GaussianNB most are the large-scale "worst" ones, as in raw shap.
    top = list(expl.importance(1).index[:5])
    assert any("worst" in f or "area" in f for f in top)
    with pytest.raises(InvalidInputError, match="not a tree model"):
        TabularExplainer(handle, X, method="tree")


def test_tabular_bad_input_is_named(demo: Loaded) -> None:
    handle = demo.handle(names.BREAST_CANCER, 3)
    explainer = build_explainer(handle, demo.frame(names.BREAST_CANCER, 3))
    with pytest.raises(InvalidInputError, match="expected rows of 30 features"):
        explainer.explain(np.zeros((1, 29)))
    with pytest.raises(InvalidInputError, match="NaN or infinite"):
        explainer.explain(np.full((1, 30), np.nan))
    with pytest.raises(InvalidInputError, match="no rows"):
        explainer.explain(np.zeros((0, 30)))
    with pytest.raises(InvalidInputError, match="has no reference data to draw a SHAP background"):
        build_explainer(handle, None)
    with pytest.raises(InvalidInputError, match="lacks the model's features"):
        build_explainer(handle, pd.DataFrame({"x": [1.0]}))
    with pytest.raises(InvalidInputError, match="unknown tabular method"):
        TabularExplainer(handle, demo.rows(3, 5), method="kernel")
    with pytest.raises(InvalidInputError, match="not an image model"):
        ImageExplainer(handle, np.zeros((2, 28, 28, 1)))


def test_image_gradient_explainer_and_its_attributions(demo: Loaded) -> None:
    handle = demo.handle(names.DIGITS, 2)
    frame = demo.frame(names.DIGITS, 2)
    explainer = build_explainer(handle, frame)
    assert isinstance(explainer, ImageExplainer) and explainer.method == "gradient"
    images = reference_tensor(frame.iloc[200:204], handle)
    results = explainer.explain(images)
    assert len(results) == 4
    for expl, truth in zip(results, frame[TARGET].iloc[200:204], strict=True):
        assert expl.values.shape == (28, 28, 1, 10)
        k = expl.top_class
        assert str(truth) == expl.classes[k] or expl.probabilities[k] < 0.9
        # Expected gradients are additive in expectation: close, not exact (the sampling error grows with
        # how sharply the model decides; the photo-trained CNN decides sharply).
        total = expl.base_values[k] + expl.values[..., k].sum()
        assert abs(total - expl.probabilities[k]) < 0.35
        # Attributions sit where digits are drawn, not on the frame no image ever touches.
        heat = np.abs(expl.heatmap(k))
        frame_mask = np.ones_like(heat, dtype=bool)
        frame_mask[2:-2, 2:-2] = False
        assert heat[frame_mask].sum() < 0.05 * heat.sum()  # 27% of the area, <5% of the attribution
    with pytest.raises(InvalidInputError, match="expected images of shape"):
        explainer.explain(np.zeros((1, 8, 8, 1)))


def test_integrated_gradients_fallback_when_shap_fails(demo: Loaded, monkeypatch: pytest.MonkeyPatch) -> None:
    handle = demo.handle(names.DIGITS, 2)
    frame = demo.frame(names.DIGITS, 2)

    class Broken:
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            raise RuntimeError("shap's Keras path is broken on this TensorFlow")

    # shap's GradientExplainer works here; the fallback is exercised by making it fail as it
    # would on an incompatible TensorFlow.
    monkeypatch.setattr(shap, "GradientExplainer", Broken)
    explainer = build_explainer(handle, frame)
    assert explainer.method == "integrated-gradients"
    assert "GradientExplainer failed (RuntimeError" in explainer.fallback_reason
    (expl,) = explainer.explain(reference_tensor(frame.iloc[:1], handle))
    k = expl.top_class
    # Completeness: attributions sum to output(image) - output(baseline), up to the trapezoid error.
    assert abs(expl.base_values[k] + expl.values[..., k].sum() - expl.probabilities[k]) < 0.02
    with pytest.raises(InvalidInputError, match="GradientExplainer failed"):
        build_explainer(handle, frame, method="gradient")


def test_integrated_gradients_completeness_is_exact_for_a_linear_model() -> None:
    import keras

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4, 4, 1)), keras.layers.Flatten(), keras.layers.Dense(3)])
    x = np.random.default_rng(0).random((2, 4, 4, 1)).astype("float32")
    baseline = np.zeros((4, 4, 1), dtype="float32")
    attr = integrated_gradients(model, x, baseline, steps=8)
    out = model(x).numpy() - model(baseline[None]).numpy()
    np.testing.assert_allclose(attr.sum(axis=(1, 2, 3)), out, atol=1e-5)


def test_logged_request_reads_rows_and_refuses_what_it_cannot_explain(bc_home: Settings) -> None:
    import json
    from datetime import UTC, datetime

    from core.store.db import predictions

    store = Registry.from_settings(bc_home).store
    row = dict(zip([f"f{i}" for i in range(3)], [1.0, 2.0, 3.0], strict=True))
    common = {"at": datetime.now(UTC), "version": 3, "arm": "champion", "outputs": "[1]", "latency_ms": 1.0}
    with store.engine.begin() as conn:
        conn.execute(
            predictions.insert(),
            [
                {
                    "request_id": "tab",
                    "model": names.BREAST_CANCER,
                    "inputs": json.dumps({"columns": list(row), "data": [list(row.values())]}),
                    **common,
                },
                {"request_id": "img", "model": names.DIGITS, "inputs": json.dumps({"filename": "x.png"}), **common},
            ],
        )
    got = logged_request(store, " tab ")
    assert got.model == names.BREAST_CANCER and got.version == 3 and got.rows.iloc[0].tolist() == [1.0, 2.0, 3.0]
    with pytest.raises(RequestNotFoundError, match="no served request for 'digits'"):
        logged_request(store, "tab", model=names.DIGITS)
    with pytest.raises(RequestNotFoundError):
        logged_request(store, "nope")
    with pytest.raises(InvalidInputError, match="not a tabular prediction"):
        logged_request(store, "img")
    with pytest.raises(InvalidInputError, match="1 to 64 characters"):
        logged_request(store, "x" * 65)


def test_figures_draw_the_explanation(demo: Loaded) -> None:
    handle = demo.handle(names.BREAST_CANCER, 3)
    expl = build_explainer(handle, demo.frame(names.BREAST_CANCER, 3)).explain(demo.rows(3, 100))
    bars = importance_figure(expl, 1, top=10)
    assert len(bars.data[0].y) == 10 and bars.data[0].y[-1] == expl.importance(1).index[0]
    swarm = beeswarm_figure(expl, 1, top=8)
    assert len(swarm.data[0].x) == 100 * 8
    fall = waterfall_figure(expl, 0, 1, top=6)
    trace = fall.data[0]
    assert list(trace.measure) == ["absolute", *["relative"] * 7, "total"]
    assert trace.x[0] + sum(trace.x[1:-1]) == pytest.approx(trace.x[-1], abs=1e-9)
    assert trace.x[-1] == pytest.approx(expl.outputs[0, 1])
    top = expl.importance(1).index[0]
    dep = dependence_figure(expl, top, 1)
    strongest = expl.feature_names[expl.strongest_interaction(expl.feature_names.index(top), 1)]
    assert strongest in dep.layout.title.text and len(dep.data[0].x) == 100

    image_handle = demo.handle(names.DIGITS, 2)
    frame = demo.frame(names.DIGITS, 2)
    (img,) = build_explainer(image_handle, frame, method="integrated-gradients").explain(
        reference_tensor(frame.iloc[:1], image_handle)
    )
    sal = saliency_figure(img)
    assert [t.type for t in sal.data] == ["heatmap", "heatmap"]
    assert sal.data[1].zmin == -sal.data[1].zmax and sal.data[1].zmax > 0


def test_a_string_feature_dependence_plot_sorts_its_categories() -> None:
    import numpy as np

    from core.analysis.explain import TabularExplanation

    data = np.array([["two-year", 3.0], ["month-to-month", 1.0], ["one-year", 2.0]], dtype=object)
    values = np.array([[[0.2], [0.1]], [[-0.3], [0.0]], [[0.1], [0.05]]])
    expl = TabularExplanation("m", 1, "permutation", ["contract", "tenure"], ["prediction"], data, values, np.zeros(1))
    fig = dependence_figure(expl, "contract", 0, interaction="tenure")
    assert fig.layout.xaxis.categoryorder == "category ascending"
    assert list(fig.data[0].x) == ["two-year", "month-to-month", "one-year"]  # the rows as they are
