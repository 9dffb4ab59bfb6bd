"""Explanation benchmark: ModelOps' explainer vs raw ``shap.TreeExplainer`` on the 200-tree forest.

In the same run: one-row and 500-row explanations in-process, the global views (values +
figures), one image explanation, and one-row explanations through the HTTP API. Not a test.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import machine_line, seeded_demo_home, start, stop  # noqa: E402
from core import names  # noqa: E402
from core.demo.datasets import breast_cancer_split  # noqa: E402
from tests.helpers import free_port  # noqa: E402

TOKEN = "bench-token"


def timed(fn: Callable[[], object], repeat: int) -> list[float]:
    """Wall times of ``repeat`` calls, in seconds."""
    out = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        out.append(time.perf_counter() - started)
    return out


def main() -> None:
    import shap

    from core.analysis.explain import build_explainer
    from core.plots.explain import beeswarm_figure, dependence_figure, importance_figure
    from core.registry.facade import Registry
    from core.registry.reference import load_version_frame
    from core.runtime.handles import load_handle
    from core.runtime.inputs import reference_tensor

    home, env, settings = seeded_demo_home("modelops-explain-bench-", **{names.ENV_API_TOKEN: TOKEN})
    registry = Registry.from_settings(settings)

    handle = load_handle(settings.tracking_uri, names.BREAST_CANCER, 3)
    frame = load_version_frame(registry, names.BREAST_CANCER, 3, "reference")
    ours = build_explainer(handle, frame)
    raw = shap.TreeExplainer(handle.model)
    _, X_test, _, _ = breast_cancer_split()
    rows = X_test.to_numpy("float64")
    reference = frame.drop(columns="target").to_numpy("float64")
    big = np.vstack([reference, rows])[:500]

    # Interleave the two so that neither gets a warmer cache or a quieter moment.
    one_ours, one_raw, one_checked = [], [], []
    for i in range(400):
        x = rows[i % len(rows)][None, :]
        one_raw += timed(lambda x=x: raw.shap_values(x, check_additivity=False), 1)
        one_checked += timed(lambda x=x: raw.shap_values(x), 1)
        one_ours += timed(lambda x=x: ours.explain(x), 1)
    many_raw, many_ours = [], []
    for _ in range(9):
        many_raw += timed(lambda: raw.shap_values(big, check_additivity=False), 1)
        many_ours += timed(lambda: ours.explain(big), 1)

    def global_views() -> None:
        expl = ours.explain(big)
        top = expl.importance(1).index[0]
        for fig in (importance_figure(expl, 1), beeswarm_figure(expl, 1), dependence_figure(expl, top, 1)):
            fig.to_json()

    global_s = timed(global_views, 5)

    digits = load_handle(settings.tracking_uri, names.DIGITS, 2)
    digits_frame = load_version_frame(registry, names.DIGITS, 2, "reference")
    image = reference_tensor(digits_frame.iloc[:1], digits)
    image_times = {}
    for method in ("gradient", "integrated-gradients"):
        started = time.perf_counter()
        explainer = build_explainer(digits, digits_frame, method)
        build_s = time.perf_counter() - started
        image_times[method] = (build_s, timed(lambda e=explainer: e.explain(image), 5))

    api = api_latencies(env, home, X_test.columns.tolist(), rows)

    ms = lambda xs: 1000 * statistics.median(xs)  # noqa: E731
    print(f"\n{machine_line()}; breast-cancer v3 (200-tree forest, 30 features), median times\n")
    print("| measurement | ModelOps | raw shap.TreeExplainer (same call, no additivity re-check) | overhead |")
    print("|---|---|---|---|")
    print(
        f"| one row, in-process (ms, 400 calls) | {ms(one_ours):.3f} | {ms(one_raw):.3f} | "
        f"{100 * (ms(one_ours) / ms(one_raw) - 1):+.1f}% |"
    )
    print(f"| one row, raw shap with its default additivity re-check (ms) | – | {ms(one_checked):.3f} | – |")
    print(
        f"| 500 rows, in-process (s) | {statistics.median(many_ours):.3f} | {statistics.median(many_raw):.3f} | "
        f"{100 * (statistics.median(many_ours) / statistics.median(many_raw) - 1):+.1f}% |"
    )
    print(f"| global views on 500 rows: values + 3 figures (s) | {statistics.median(global_s):.3f} | – | – |")
    print(
        f"| one row through the API (ms, {len(api['explain'])} sequential requests) | "
        f"p50 {ms(api['explain']):.2f} / p95 {1000 * np.percentile(api['explain'], 95):.2f} | – | "
        f"predict p50 {ms(api['predict']):.2f} / p95 {1000 * np.percentile(api['predict'], 95):.2f} |"
    )
    print("\n| image explanation (digits v2 CNN, one 28×28 image) | build (s) | explain, median of 5 (s) |")
    print("|---|---|---|")
    for method, (build_s, times) in image_times.items():
        print(f"| {method} | {build_s:.2f} | {statistics.median(times):.3f} |")


def api_latencies(env: dict[str, str], home: Path, columns: list[str], rows: np.ndarray) -> dict[str, list[float]]:
    """Sequential one-row explain and predict requests against a real service."""
    import httpx

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = start(
        [sys.executable, "-m", "core", "serve", "--port", str(port)],
        {**env, "MODELOPS_DRIFT_INTERVAL_S": "3600"},
        url + "/readyz",
        home / "service.log",
        ROOT,
    )
    out: dict[str, list[float]] = {"explain": [], "predict": []}
    try:
        with httpx.Client(base_url=url, timeout=30) as client:
            for route in ("explain", "predict"):
                for i in range(330):
                    body = {"dataframe_split": {"columns": columns, "data": [rows[i % len(rows)].tolist()]}}
                    started = time.perf_counter()
                    r = client.post(f"/v1/models/{names.BREAST_CANCER}/{route}", json=body)
                    elapsed = time.perf_counter() - started
                    r.raise_for_status()
                    if i >= 30:  # the first requests build the explainer and warm the connection
                        out[route].append(elapsed)
    finally:
        stop(proc)
    return out


if __name__ == "__main__":
    main()
