"""Edge export benchmark: the report card of every TFLite mode for the demo CNN (digits v2).

Per mode, in one run: size vs the float32 build and vs the .keras file, LiteRT latency vs a
direct Keras call (and the compiled Keras graph ModelOps serves), accuracy change. Not a test.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import machine_line, seeded_demo_home  # noqa: E402
from core import names  # noqa: E402


def main() -> None:
    import numpy as np

    from core.edge.export import export_version
    from core.registry.facade import Registry
    from core.runtime.handles import load_handle
    from core.runtime.tflite import MODES

    _, _, settings = seeded_demo_home("modelops-export-bench-", (names.DIGITS,))
    registry = Registry.from_settings(settings)
    handle = load_handle(settings.tracking_uri, names.DIGITS, 2)

    started = time.perf_counter()
    builds = export_version(registry, handle, list(MODES))
    builds += export_version(registry, handle, ["int8"], int8_io=True)
    total_s = time.perf_counter() - started

    one = np.zeros((1, 28, 28, 1), dtype="float32")
    graph = []
    for _ in range(200):
        t = time.perf_counter()
        handle.predict_images(one)
        graph.append(time.perf_counter() - t)
    graph_ms = 1000 * statistics.median(graph)

    float32 = next(b.report for b in builds if b.report.key == "float32")
    print(
        f"\n{machine_line()}; digits v2 CNN, {float32.holdout_images} held-out images; all builds in {total_s:.1f} s\n"
    )
    print(
        "| build | size (KiB) | vs float32 | vs .keras | LiteRT (ms) | Keras call (ms) | LiteRT / Keras | "
        "accuracy | change (points) | top-1 agreement | gate |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for b in builds:
        r = b.report
        print(
            f"| {r.key} | {r.size_bytes / 1024:.1f} | {r.size_bytes / float32.size_bytes:.2f}× | {r.size_ratio:.2f}× | "
            f"{r.tflite_ms:.3f} | {r.keras_ms:.2f} | {r.latency_ratio:.3f}× | {r.accuracy:.4f} | "
            f"{r.accuracy_change:+.2f} | {r.agreement:.4f} | {'accepted' if r.accepted else 'rejected'} |"
        )
    dynamic = next(b.report for b in builds if b.report.key == "dynamic-range")
    int8 = next(b.report for b in builds if b.report.key == "int8")
    print(f"\nKeras through the compiled graph ModelOps serves: {graph_ms:.3f} ms per image")
    ratio, drop = dynamic.size_bytes / float32.size_bytes, max(0.0, -int8.accuracy_change)
    print(
        f"targets: dynamic-range ≤ 0.30× float32 size → {ratio:.2f}× ({'met' if ratio <= 0.30 else 'MISSED'}); "
        f"int8 accuracy drop ≤ 1 point → {drop:.2f} ({'met' if drop <= 1 else 'MISSED'})"
    )


if __name__ == "__main__":
    main()
