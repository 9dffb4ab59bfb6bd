"""Drift detector: equal to scipy, quiet on same-distribution data, loud on a known shift."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from core.analysis.drift import DriftDetector, drift_by_segment, drift_over_time
from core.analysis.drift_stats import benjamini_hochberg, ks_statistic_sorted
from core.errors import InvalidInputError

RNG = np.random.default_rng(42)


def _frame(n: int, shift: float = 0.0, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "a": rng.normal(shift, 1, n),
            "b": rng.exponential(1 + shift, n),
            "c": rng.integers(0, 1000, n).astype(float),
            "colour": rng.choice(["red", "green", "blue"], n, p=[0.5, 0.3, 0.2]),
        }
    )


@pytest.mark.parametrize(("n", "m"), [(200, 150), (5000, 5000), (100_000, 10_000), (20_000, 300), (50, 30_000)])
def test_ks_equals_scipy(n: int, m: int) -> None:
    ref, cur = RNG.normal(0, 1, n), RNG.normal(0.05, 1.1, m)
    ref[:10] = cur[:10] = 0.5  # ties
    det = DriftDetector().fit(pd.DataFrame({"x": ref}))
    row = det.compare(pd.DataFrame({"x": cur})).features.iloc[0]
    expected = stats.ks_2samp(ref, cur)
    assert row["statistic"] == pytest.approx(expected.statistic, abs=1e-12)
    assert row["p_value"] == pytest.approx(expected.pvalue, abs=1e-9)


def test_ks_statistic_on_discrete_data_with_many_ties() -> None:
    ref, cur = RNG.integers(0, 20, 30_000).astype(float), RNG.integers(0, 22, 12_000).astype(float)
    assert ks_statistic_sorted(np.sort(ref), cur) == pytest.approx(stats.ks_2samp(ref, cur).statistic, abs=1e-12)


def test_benjamini_hochberg_matches_scipy() -> None:
    p = np.array([0.01, 0.04, 0.03, 0.2, 0.5, 0.001, np.nan])
    expected = stats.false_discovery_control(p[:-1], method="bh")
    np.testing.assert_allclose(benjamini_hochberg(p)[:-1], expected, rtol=1e-12)
    assert np.isnan(benjamini_hochberg(p)[-1])


@pytest.mark.parametrize(("numeric", "categorical"), [("ks", "chi2"), ("wasserstein", "js"), ("psi", "chi2")])
def test_known_shift_is_flagged_and_same_distribution_is_not(numeric: str, categorical: str) -> None:
    det = DriftDetector(numeric_test=numeric, categorical_test=categorical).fit(_frame(5000, seed=1))
    same = det.compare(_frame(2000, seed=2))
    assert not same.dataset_drift and same.drifted == []
    shifted = _frame(2000, shift=1.0, seed=3)
    shifted["colour"] = RNG.choice(["red", "green", "blue"], 2000, p=[0.2, 0.3, 0.5])
    report = det.compare(shifted)
    assert {"a", "b", "colour"} <= set(report.drifted) and report.dataset_drift


def test_false_positive_rate_is_nominal() -> None:
    ref = pd.DataFrame({"x": RNG.normal(size=3000)})
    det = DriftDetector().fit(ref)
    flagged = sum(
        det.compare(pd.DataFrame({"x": np.random.default_rng(s).normal(size=500)})).features["drifted"][0]
        for s in range(400)
    )
    assert flagged / 400 <= 0.05 + 2 * np.sqrt(0.05 * 0.95 / 400)


def test_kinds_are_detected() -> None:
    det = DriftDetector().fit(_frame(1000))
    assert det.kinds_ == {"a": "numeric", "b": "numeric", "c": "numeric", "colour": "categorical"}


def test_unseen_category_counts_as_drift() -> None:
    det = DriftDetector().fit(_frame(3000))
    cur = _frame(500, seed=5)
    cur.loc[:200, "colour"] = "purple"
    assert "colour" in det.compare(cur).drifted


def test_over_time_and_by_segment() -> None:
    det = DriftDetector().fit(_frame(4000))
    early, late = _frame(300, seed=6), _frame(300, shift=1.0, seed=7)
    current = pd.concat([early, late], ignore_index=True)
    current["at"] = pd.date_range("2026-01-01", periods=600, freq="1s", tz="UTC")
    windows = drift_over_time(det, current, size=300)
    assert list(windows["dataset_drift"]) == [False, True]
    by_time = drift_over_time(det, current, freq="1h")
    assert len(by_time) == 1 and by_time["rows"].iloc[0] == 600
    segments = drift_by_segment(det, current.drop(columns=["at"]), pd.Series(["early"] * 300 + ["late"] * 300))
    assert dict(zip(segments["segment"], segments["dataset_drift"], strict=True)) == {"early": False, "late": True}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda f: f.drop(columns=["a", "b"]), "missing column(s): a, b"),
        (lambda f: f.assign(extra=1), "unexpected column(s): extra"),
        (lambda f: f.assign(a="x"), "column 'a' must be numeric: 200 value(s) are not, e.g. 'x'"),
        (lambda f: f.assign(b=np.nan), "column 'b' is empty (all values missing)"),
        (lambda f: f.iloc[0:0], "no rows"),
    ],
)
def test_bad_current_data_lists_what_is_wrong(change, message: str) -> None:
    det = DriftDetector().fit(_frame(1000))
    with pytest.raises(InvalidInputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        det.compare(change(_frame(200)))


def test_unfitted_and_unknown_test_are_clear_errors() -> None:
    with pytest.raises(InvalidInputError, match="not fitted"):
        DriftDetector().compare(_frame(10))
    with pytest.raises(InvalidInputError, match="unknown numeric test"):
        DriftDetector(numeric_test="t-test").fit(_frame(10))


@pytest.mark.parametrize("n", [141, 2000, 9091, 50_000])
def test_fast_kstwo_tail_equals_scipy(n: int) -> None:
    from core.analysis.drift_stats import kstwo_sf

    for d in np.linspace(0.5 / n, 0.6, 60):
        assert kstwo_sf(float(d), n) == pytest.approx(stats.kstwo.sf(d, n), abs=1e-12)


def test_ks_p_values_equal_scipy_on_drifted_columns() -> None:
    ref = RNG.normal(0, 1, 100_000)
    det = DriftDetector().fit(pd.DataFrame({"x": ref}))
    for shift in (0.02, 0.03, 0.05, 0.1):
        cur = RNG.normal(shift, 1, 10_000)
        row = det.compare(pd.DataFrame({"x": cur})).features.iloc[0]
        expected = stats.ks_2samp(ref, cur)
        assert row["statistic"] == pytest.approx(expected.statistic, abs=1e-12)
        assert row["p_value"] == pytest.approx(expected.pvalue, abs=1e-9)
