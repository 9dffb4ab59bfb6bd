"""Drift benchmark: the fitted detector vs a per-column ``scipy.stats.ks_2samp`` loop.

100,000 × 50 reference rows against 10,000 current rows, in one run. Not a test.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import machine_line
from core.analysis.drift import DriftDetector


def main() -> None:
    rng = np.random.default_rng(0)
    columns = [f"f{i}" for i in range(50)]
    reference = pd.DataFrame(rng.normal(size=(100_000, 50)), columns=columns)
    print(f"\n{machine_line()}; 100,000 × 50 reference vs 10,000 current rows; median of 5 runs")
    for label, shift in (("same distribution", 0.0), ("shifted by 0.05 sd", 0.05)):
        current = pd.DataFrame(rng.normal(shift, 1.0, size=(10_000, 50)), columns=columns)
        run(label, reference, current)


def run(label: str, reference: pd.DataFrame, current: pd.DataFrame) -> None:
    """Time both ways on one current data set and print a table."""
    columns = list(reference.columns)

    def median_time(fn, repeat: int = 5) -> tuple[float, object]:
        times, result = [], None
        for _ in range(repeat):
            started = time.perf_counter()
            result = fn()
            times.append(time.perf_counter() - started)
        return float(np.median(times)), result

    loop_s, loop = median_time(
        lambda: [stats.ks_2samp(reference[c].to_numpy(), current[c].to_numpy()) for c in columns]
    )
    fit_s, detector = median_time(lambda: DriftDetector().fit(reference))
    compare_s, report = median_time(lambda: detector.compare(current))

    stat_diff = max(abs(r.statistic - s) for r, s in zip(loop, report.features["statistic"], strict=True))
    p_diff = max(abs(r.pvalue - p) for r, p in zip(loop, report.features["p_value"], strict=True))
    print(f"\n{label} ({len(report.drifted)} of 50 features flagged)\n")
    print("| step | ModelOps DriftDetector | ks_2samp loop | ratio |")
    print("|---|---|---|---|")
    print(f"| compare (s) | {compare_s:.3f} | {loop_s:.3f} | {loop_s / compare_s:.1f}× |")
    print(f"| fit + compare (s) | {fit_s + compare_s:.3f} | {loop_s:.3f} | {loop_s / (fit_s + compare_s):.1f}× |")
    print(f"\nlargest difference from ks_2samp: statistic {stat_diff:.2e}, p-value {p_diff:.2e}")


if __name__ == "__main__":
    main()
