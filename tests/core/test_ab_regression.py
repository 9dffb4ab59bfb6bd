"""A/B statistics for regressors: checked against scipy, valid under continuous monitoring, decisive on a real gap."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from core import names
from core.analysis.ab_regression import analyse_regression, mean_interval, msprt_means, welch


def test_welch_and_the_mean_interval_match_scipy() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.exponential(10, 80), rng.exponential(12, 120)
    diff = welch(a, b)
    reference = stats.ttest_ind(b, a, equal_var=False)
    assert diff.diff == pytest.approx(b.mean() - a.mean())
    assert diff.p_value == pytest.approx(reference.pvalue, rel=1e-9)
    low, high = reference.confidence_interval(0.95)
    assert (diff.low, diff.high) == pytest.approx((low, high), rel=1e-9)
    mean, lo, hi = mean_interval(a)
    assert (lo, hi) == pytest.approx(stats.t.interval(0.95, len(a) - 1, loc=a.mean(), scale=stats.sem(a)), rel=1e-9)
    assert mean == pytest.approx(a.mean()) and math.isnan(mean_interval(a[:1])[1])


def test_the_sequential_test_keeps_its_error_rate_when_watched_after_every_label() -> None:
    """Equal arms, checked after every pair of labels: the always-valid p falls below 0.05 in ≤ 5% of runs."""
    rng = np.random.default_rng(1)
    false_alarms = 0
    runs, steps = 200, 150
    for _ in range(runs):
        a, b = rng.exponential(10, steps), rng.exponential(10, steps)
        p = 1.0
        for n in range(5, steps, 5):
            p = min(p, msprt_means(a[:n], b[:n], tau=1.0))
        false_alarms += p < 0.05
    assert false_alarms / runs <= 0.05


def _outcomes(errors_a: float, errors_b: float, n: int) -> pd.DataFrame:
    rng = np.random.default_rng(2)
    start = datetime(2026, 11, 1, tzinfo=UTC)
    rows = []
    for i in range(2 * n):
        arm = names.CHAMPION if i % 2 == 0 else names.CHALLENGER
        truth = float(rng.normal(150, 40))
        noise = rng.normal(0, errors_a if arm == names.CHAMPION else errors_b)
        rows.append(
            {
                "request_id": str(i),
                "at": pd.Timestamp(start + timedelta(seconds=i)),
                "version": 1 if arm == names.CHAMPION else 2,
                "arm": arm,
                "latency_ms": 5.0,
                "status": "ok",
                "predicted": truth + noise,
                "label": truth if i % 5 else None,  # 80% labelled, as the simulator does
            }
        )
    return pd.DataFrame(rows)


def test_a_clearly_better_regressor_is_called_better_and_equal_ones_are_not_called() -> None:
    versions = {names.CHAMPION: 1, names.CHALLENGER: 2}
    better = analyse_regression(_outcomes(60, 30, 400), "m", versions, 0.5)
    assert better.verdict == "better" and better.diff.diff < 0 and better.sequential_p < 0.05
    champion, challenger = better.arms
    assert champion.labelled == 320 and challenger.mae < champion.mae
    assert champion.mae_low < champion.mae < champion.mae_high and champion.rmse > champion.mae
    table = better.table()
    assert list(table["arm"]) == [names.CHAMPION, names.CHALLENGER] and "MAE 95% CI" in table.columns
    assert (better.cumulative["low"].dropna() >= 0).all()
    same = analyse_regression(_outcomes(40, 40, 200), "m", versions, 0.5)
    assert same.verdict == "unknown" and "Not yet known" in same.decision
    empty = analyse_regression(_outcomes(40, 40, 200).iloc[:0], "m", versions, 0.5)
    assert empty.verdict == "no-data"


def test_the_cumulative_mae_chart_is_scaled_to_the_settled_band() -> None:
    from core.analysis.ab_regression import cumulative_mae
    from core.plots.traffic import cumulative_accuracy_figure

    rng = np.random.default_rng(4)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    rows = [
        {
            "at": start + timedelta(seconds=i),
            "arm": "champion" if i % 2 else "challenger",
            "version": 1 if i % 2 else 2,
            "label": 100.0,
            "predicted": 100.0 + (400.0 if i < 4 else float(rng.normal(0, 40))),  # wild first errors
        }
        for i in range(400)
    ]
    from core.analysis.ab_regression import absolute_errors

    path = cumulative_mae(absolute_errors(pd.DataFrame(rows)), tau=4.0)
    top = cumulative_accuracy_figure(path, "mae", "cumulative MAE", percent=False).layout.yaxis.range[1]
    assert path["high"].max() > 5 * top  # the first labels' errors and band are cut off…
    settled = path[path["n"] >= 20]
    assert top >= 1.1 * max(settled["high"].max(), settled["mae"].max()) - 1e-9  # …the settled ones are not
