"""A/B statistics checked against scipy on fixed numbers, and the sequential test's guarantees."""

from __future__ import annotations

import math
import re

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


def _served(arms: list[str], versions: list[int], start: str, every_s: float = 1.0, correct: float = 0.9):
    import pandas as pd

    n = len(arms)
    rng = np.random.default_rng(n)
    ok = rng.random(n) < correct
    return pd.DataFrame(
        {
            "request_id": [f"{start}-{i}" for i in range(n)],
            "at": pd.Timestamp(start, tz="UTC") + pd.to_timedelta(np.arange(n) * every_s, unit="s"),
            "version": versions,
            "arm": arms,
            "latency_ms": 1.0,
            "status": "ok",
            "predicted": 1,
            "label": np.where(ok, 1, 0).tolist(),
            "correct": pd.array(ok, dtype="boolean"),
        }
    )


def test_the_sample_ratio_check_counts_only_the_current_split_period() -> None:
    """A split changed from 10% to 50% is no mismatch; a 70/30 answer to a 50/50 split is."""
    import pandas as pd

    from core.analysis.ab import SRM_SETTLE, analyse

    rng = np.random.default_rng(7)
    versions = {"champion": 3, "challenger": 4}

    def arms(n: int, share: float) -> list[str]:
        return ["challenger" if u < share else "champion" for u in rng.random(n)]

    before = arms(2000, 0.1)
    after = arms(2000, 0.5)
    changed = pd.Timestamp("2026-01-01T01:00:00", tz="UTC")
    frame = pd.concat(
        [
            _served(before, [versions[a] for a in before], "2026-01-01T00:00:00", every_s=1.0),
            _served(after, [versions[a] for a in after], "2026-01-01T01:00:00", every_s=1.0),
        ],
        ignore_index=True,
    )
    whole = analyse(frame, "m", versions, 0.5)
    assert whole.srm_detected  # all of the log against today's split: the false alarm users saw
    report = analyse(frame, "m", versions, 0.5, split_since=changed.to_pydatetime())
    assert not report.srm_detected and report.srm_p > 0.001
    assert sum(report.srm_requests) == 2000 - SRM_SETTLE.total_seconds()  # settling seconds left out
    assert report.srm_since == (changed + SRM_SETTLE).to_pydatetime()
    assert report.arms[0].requests + report.arms[1].requests == 4000  # accuracy still uses every request

    skewed = arms(2000, 0.3)
    broken = _served(skewed, [versions[a] for a in skewed], "2026-01-01T01:00:00")
    assert analyse(broken, "m", versions, 0.5, split_since=changed.to_pydatetime()).srm_detected


def test_a_new_challenger_version_starts_a_new_sample_ratio_period() -> None:
    """Champion requests from before the new challenger began serving are not counted against it."""
    import pandas as pd

    from core.analysis.ab import analyse

    rng = np.random.default_rng(3)
    old = ["challenger" if u < 0.5 else "champion" for u in rng.random(1500)]
    new = ["challenger" if u < 0.5 else "champion" for u in rng.random(1500)]
    frame = pd.concat(
        [
            _served(old, [3 if a == "champion" else 2 for a in old], "2026-01-01T00:00:00"),
            _served(new, [3 if a == "champion" else 4 for a in new], "2026-01-01T01:00:00"),
        ],
        ignore_index=True,
    )
    report = analyse(frame, "m", {"champion": 3, "challenger": 4}, 0.5)
    assert not report.srm_detected and sum(report.srm_requests) < 1500
    assert report.srm_since >= pd.Timestamp("2026-01-01T01:00:00", tz="UTC").to_pydatetime()


def test_decisions_speak_in_points_and_say_when_enough_labels_are_in() -> None:
    from core.analysis.ab import analyse

    arms = ["champion", "challenger"] * 1000
    frame = _served(arms, [3 if a == "champion" else 4 for a in arms], "2026-01-01")
    report = analyse(frame, "m", {"champion": 3, "challenger": 4}, 0.5, min_effect=0.1)
    assert report.verdict == "unknown" and report.more_labels_needed == 0
    assert re.search(r"difference [+−]\d+\.\d points \(95% CI [+−]\d+\.\d to [+−]\d+\.\d points\)", report.decision)
    assert "Both arms have the" in report.decision and "10-point difference" in report.decision
    few = analyse(frame.head(40), "m", {"champion": 3, "challenger": 4}, 0.5, min_effect=0.05)
    assert few.more_labels_needed > 0 and f"About {few.more_labels_needed:,} more labels" in few.decision
