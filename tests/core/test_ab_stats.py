"""A/B statistics checked against scipy on fixed numbers, and the sequential test's guarantees."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from core.analysis.ab import msprt_path, sample_size_per_arm, srm_p_value, two_proportion_test, wilson_interval


@pytest.mark.parametrize(("x", "n"), [(0, 10), (5, 10), (10, 10), (87, 100), (912, 1000), (1, 3)])
def test_wilson_matches_scipy(x: int, n: int) -> None:
    expected = stats.binomtest(x, n).proportion_ci(confidence_level=0.95, method="wilson")
    low, high = wilson_interval(x, n)
    assert low == pytest.approx(expected.low, abs=1e-12) and high == pytest.approx(expected.high, abs=1e-12)


def test_wilson_with_no_data_is_nan() -> None:
    assert all(math.isnan(v) for v in wilson_interval(0, 0))


@pytest.mark.parametrize(("xa", "na", "xb", "nb"), [(90, 100, 95, 100), (800, 1000, 820, 1000), (30, 40, 10, 20)])
def test_two_proportion_p_value_matches_chi_square(xa: int, na: int, xb: int, nb: int) -> None:
    table = [[xa, na - xa], [xb, nb - xb]]
    chi2, p, _, _ = stats.chi2_contingency(table, correction=False)
    result = two_proportion_test(xa, na, xb, nb)
    assert result.p_value == pytest.approx(p, rel=1e-9)
    assert result.z**2 == pytest.approx(chi2, rel=1e-9)
    assert result.low < result.diff < result.high
    assert result.diff == pytest.approx(xb / nb - xa / na)


def test_newcombe_interval_on_a_textbook_case() -> None:
    # Newcombe (1998), example (a): 56/70 vs 48/80 -> difference 0.2, 95% CI 0.0524 to 0.3339.
    r = two_proportion_test(48, 80, 56, 70)
    assert r.diff == pytest.approx(0.2)
    assert r.low == pytest.approx(0.0524, abs=5e-4) and r.high == pytest.approx(0.3339, abs=5e-4)


def test_srm_matches_scipy_and_flags_only_a_skewed_split() -> None:
    assert srm_p_value([8000, 2000], [0.8, 0.2]) == pytest.approx(stats.chisquare([8000, 2000], [8000, 2000]).pvalue)
    assert srm_p_value([8010, 1990], [0.8, 0.2]) > 0.001
    assert srm_p_value([8400, 1600], [0.8, 0.2]) < 1e-10


def test_sample_size_matches_the_standard_formula() -> None:
    # The classic 10% -> 12% at alpha 0.05, power 0.8: 3,841 per arm (Fleiss without continuity correction).
    assert sample_size_per_arm(0.10, 0.02) == 3841
    assert sample_size_per_arm(0.90, 0.05) < sample_size_per_arm(0.90, 0.02)
    with pytest.raises(ValueError):
        sample_size_per_arm(0.99, 0.05)


def _simulate(p_a: float, p_b: float, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    arm_b = rng.random(n) < 0.5
    ok = np.where(arm_b, rng.random(n) < p_b, rng.random(n) < p_a)
    return msprt_path(np.cumsum(ok & ~arm_b), np.cumsum(~arm_b), np.cumsum(ok & arm_b), np.cumsum(arm_b))


def test_sequential_test_finds_a_five_point_gap() -> None:
    found = [(_simulate(0.90, 0.95, 4000, seed) < 0.05).any() for seed in range(20)]
    assert sum(found) >= 18


def test_sequential_test_keeps_its_false_positive_rate_when_watched_continuously() -> None:
    # A/A: the p-value is checked after every label, the worst case for peeking.
    false_positives = sum((_simulate(0.9, 0.9, 3000, seed) < 0.05).any() for seed in range(200))
    assert false_positives / 200 <= 0.05


def test_sequential_p_never_increases() -> None:
    path = _simulate(0.9, 0.93, 2000, 1)
    assert np.all(np.diff(path) <= 0)


def test_decisions_on_missing_data_are_plain() -> None:
    import pandas as pd

    from core.analysis.ab import analyse

    versions = {"champion": 3, "challenger": 2}
    empty = pd.DataFrame(
        columns=["request_id", "at", "version", "arm", "latency_ms", "status", "predicted", "label", "correct"]
    )
    assert "has served no traffic yet" in analyse(empty, "m", versions, 0.2).decision
    assert "no challenger" in analyse(empty, "m", {"champion": 3}, 0.0).decision
    rows = pd.DataFrame(
        {
            "request_id": ["a", "b"],
            "at": pd.to_datetime(["2026-01-01", "2026-01-02"], utc=True),
            "version": [3, 2],
            "arm": ["champion", "challenger"],
            "latency_ms": [1.0, 2.0],
            "status": ["ok", "ok"],
            "predicted": [1, 0],
            "label": [1, None],
            "correct": pd.array([True, pd.NA], dtype="boolean"),
        }
    )
    report = analyse(rows, "m", versions, 0.5)
    assert report.verdict == "no-data" and "challenger has no labelled requests" in report.decision
