"""The drift tests themselves: one small function per test on a fitted column state.

A numeric test takes the column state kept by :meth:`DriftDetector.fit` (sorted reference
values, bin edges) and the current values; a categorical test the reference frequencies and the
current series. Each returns a :class:`TestResult`. Adding a test is one function and one entry
in :data:`NUMERIC_TESTS` or :data:`CATEGORICAL_TESTS`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import special, stats
from scipy.spatial.distance import jensenshannon

KS_EXACT_MAX_N = 10_000  # scipy's 'auto' switches from the exact to the asymptotic p-value here


PSI_EPS = 1e-4


@dataclass(frozen=True)
class TestResult:
    """One test's verdict on one feature: a p-value test or a distance with a threshold."""

    statistic: float
    p_value: float  # nan for distance tests
    threshold: float  # the p-value level or the distance threshold


# -- numeric tests: (fitted column state, current values) -> TestResult ------------------------
def ks_statistic_sorted(ref_sorted: np.ndarray, cur: np.ndarray) -> float:
    """The two-sample KS statistic from an already sorted reference, in O(m log n).

    Both empirical CDFs are step functions, so the largest gap sits at a current value,
    just at it or just before it; evaluating the reference CDF there (both sides) is enough.
    """
    n, m = len(ref_sorted), len(cur)
    values, counts = np.unique(cur, return_counts=True)
    cur_right = np.cumsum(counts) / m
    cur_left = cur_right - counts / m
    ref_right = np.searchsorted(ref_sorted, values, side="right") / n
    ref_left = np.searchsorted(ref_sorted, values, side="left") / n
    return float(max(np.max(np.abs(ref_right - cur_right)), np.max(np.abs(ref_left - cur_left))))


def smirnov_sf(n: int, x: float) -> float:
    """One-sided exact Smirnov tail P(D+_n >= x) by the Birnbaum–Tingey sum, vectorised.

    Equal to ``scipy.special.smirnov`` (within 2e-14 on n = 9,091 across 0.0156..0.2) and
    ≈45× faster there: all terms are positive, summed from log-space in one numpy pass.
    """
    j = np.arange(0, int(np.floor(n * (1 - x))) + 1, dtype=float)
    a, b = 1 - x - j / n, x + j / n
    keep = a > 0  # a == 0 only at j = n(1-x), where the term vanishes (n - j > 0)
    j, a, b = j[keep], a[keep], b[keep]
    log_terms = (
        special.gammaln(n + 1)
        - special.gammaln(j + 1)
        - special.gammaln(n - j + 1)
        + (n - j) * np.log(a)
        + (j - 1) * np.log(b)
    )
    return float(x * np.exp(log_terms).sum())


def kstwo_sf(d: float, n: int) -> float:
    """``scipy.stats.kstwo.sf(d, n)`` with its slow exact branch computed by :func:`smirnov_sf`.

    scipy's own algorithm choice (Simard & L'Ecuyer) is kept; only where it evaluates
    ``2 * smirnov(n, d)`` for large n (n > 140, 2.2 <= n·d² < 370, d < 0.5) is the faster
    equivalent used.
    """
    nxsquared = n * d * d
    if n > 140 and 1.0 < n * d < n - 1 and d < 0.5 and 2.2 <= nxsquared < 370.0:
        return float(np.clip(2 * smirnov_sf(n, d), 0.0, 1.0))
    return float(stats.kstwo.sf(d, n))


def ks_test(state: dict, cur: np.ndarray, alpha: float) -> TestResult:
    """Kolmogorov–Smirnov, equal to ``scipy.stats.ks_2samp`` (two-sided, method 'auto')."""
    ref = state["sorted"]
    n, m = len(ref), len(cur)
    if max(n, m) <= KS_EXACT_MAX_N:
        result = stats.ks_2samp(ref, cur)
        return TestResult(float(result.statistic), float(result.pvalue), alpha)
    d = ks_statistic_sorted(ref, cur)
    big, small = max(n, m), min(n, m)
    en = big * small / (big + small)
    return TestResult(d, float(np.clip(kstwo_sf(d, int(np.round(en))), 0, 1)), alpha)


def wasserstein_test(state: dict, cur: np.ndarray, threshold: float) -> TestResult:
    """Wasserstein distance divided by the reference's standard deviation."""
    scale = state["std"] or 1.0
    return TestResult(float(stats.wasserstein_distance(state["sorted"], cur) / scale), math.nan, threshold)


def psi_test(state: dict, cur: np.ndarray, threshold: float) -> TestResult:
    """Population stability index over the reference's quantile bins."""
    edges = state["edges"]
    cur_share = np.histogram(np.clip(cur, edges[0], edges[-1]), bins=edges)[0] / len(cur)
    ref_share = state["ref_share"]
    a, b = np.maximum(ref_share, PSI_EPS), np.maximum(cur_share, PSI_EPS)
    return TestResult(float(np.sum((b - a) * np.log(b / a))), math.nan, threshold)


# -- categorical tests ------------------------------------------------------------------------
def _category_counts(state: dict, cur: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    categories = state["categories"]
    cur_counts = cur.astype(str).value_counts()
    observed = np.array(
        [cur_counts.get(c, 0) for c in categories] + [cur_counts.drop(categories, errors="ignore").sum()]
    )
    expected_share = np.append(state["shares"], 0.0)
    return observed.astype(float), expected_share


def chi2_test(state: dict, cur: pd.Series, alpha: float) -> TestResult:
    """Chi-square goodness of fit of current category counts to the reference frequencies."""
    observed, share = _category_counts(state, cur)
    if observed[-1] > 0:  # unseen categories: a smoothed reference so the test stays defined
        share = (share + 0.5 / state["n"]) / (share + 0.5 / state["n"]).sum()
    else:
        observed, share = observed[:-1], share[:-1]
    expected = share * observed.sum()
    result = stats.chisquare(observed, expected)
    return TestResult(float(result.statistic), float(result.pvalue), alpha)


def js_test(state: dict, cur: pd.Series, threshold: float) -> TestResult:
    """Jensen–Shannon distance (base 2) between reference and current category shares."""
    observed, share = _category_counts(state, cur)
    return TestResult(float(jensenshannon(share, observed / observed.sum(), base=2)), math.nan, threshold)


NUMERIC_TESTS: dict[str, tuple[Callable[..., TestResult], float]] = {
    "ks": (ks_test, 0.05),
    "wasserstein": (wasserstein_test, 0.1),
    "psi": (psi_test, 0.2),
}


CATEGORICAL_TESTS: dict[str, tuple[Callable[..., TestResult], float]] = {
    "chi2": (chi2_test, 0.05),
    "js": (js_test, 0.1),
}


def benjamini_hochberg(p_values: np.ndarray) -> np.ndarray:
    """Benjamini–Hochberg adjusted p-values (nan stays nan)."""
    p = np.asarray(p_values, dtype=float)
    out = np.full_like(p, np.nan)
    ok = ~np.isnan(p)
    if not ok.any():
        return out
    q = p[ok]
    order = np.argsort(q)
    ranked = q[order] * len(q) / np.arange(1, len(q) + 1)
    adjusted = np.minimum.accumulate(ranked[::-1])[::-1]
    result = np.empty_like(q)
    result[order] = np.clip(adjusted, 0, 1)
    out[ok] = result
    return out
