"""A/B analysis for regressors: absolute errors per arm, honest intervals, a sequential decision.

The outcome of a labelled request is its absolute error ``|predicted − label|``. Each arm gets
its MAE with a t-interval and its RMSE with the interval of the mean squared error (t-interval,
square-rooted). The difference in MAE (challenger − champion; below zero is better) gets Welch's
interval and test for reference, and the decision is the mixture sequential probability ratio
test on the difference of means — always valid however often the page is watched — with the
prior scale set to :data:`MSPRT_RELATIVE_TAU` of the champion's MAE, so the test reads the same
on any unit of the target.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd
from scipy import stats

from core import names
from core.analysis.ab import ALPHA, ARMS, sample_ratio

#: The mSPRT prior's scale as a share of the champion's MAE: differences of about 10% are what we look for.
MSPRT_RELATIVE_TAU = 0.1


@dataclass(frozen=True)
class RegressionArm:
    """One arm of a regressor: counts, MAE and RMSE with 95% intervals, errors and latency."""

    arm: str
    version: int | None
    requests: int
    labelled: int
    mae: float
    mae_low: float
    mae_high: float
    rmse: float
    rmse_low: float
    rmse_high: float
    error_rate: float
    latency_p50: float
    latency_p95: float


@dataclass(frozen=True)
class MeanDiff:
    """Challenger − champion MAE, Welch's 95% interval and p-value (for reference)."""

    diff: float
    low: float
    high: float
    p_value: float


@dataclass(frozen=True)
class RegressionABReport:
    """Everything the A/B page shows for a regressor."""

    model: str
    arms: list[RegressionArm]
    diff: MeanDiff
    srm_p: float
    srm_detected: bool
    srm_requests: tuple[int, int]
    srm_since: datetime | None
    sequential_p: float
    decision: str
    verdict: str  # "better", "worse", "unknown" or "no-data"
    cumulative: pd.DataFrame  # at, arm, n, mae, low, high, sequential_p

    def table(self) -> pd.DataFrame:
        """The per-arm table: MAE and RMSE with their intervals, latencies in milliseconds."""
        rows = []
        for a in self.arms:
            rows.append(
                {
                    "arm": a.arm,
                    "version": a.version,
                    "requests": a.requests,
                    "labelled": a.labelled,
                    "MAE": a.mae,
                    "MAE 95% CI": _interval(a.mae_low, a.mae_high),
                    "RMSE": a.rmse,
                    "RMSE 95% CI": _interval(a.rmse_low, a.rmse_high),
                    "error_rate": a.error_rate,
                    "p50_ms": a.latency_p50,
                    "p95_ms": a.latency_p95,
                }
            )
        return pd.DataFrame(rows)


def absolute_errors(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` (from :func:`core.analysis.ab.load_outcomes`) with ``abs_error`` for labelled numeric rows."""
    predicted = pd.to_numeric(frame["predicted"], errors="coerce")
    label = pd.to_numeric(frame["label"], errors="coerce")
    return frame.assign(abs_error=(predicted - label).abs())


def mean_interval(values: np.ndarray, confidence: float = 0.95) -> tuple[float, float, float]:
    """Mean and its t-interval (NaN bounds below two values)."""
    n = len(values)
    if n == 0:
        return math.nan, math.nan, math.nan
    mean = float(np.mean(values))
    if n < 2:
        return mean, math.nan, math.nan
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1) * np.std(values, ddof=1) / math.sqrt(n))
    return mean, mean - half, mean + half


def welch(a: np.ndarray, b: np.ndarray, confidence: float = 0.95) -> MeanDiff:
    """Mean of ``b`` minus mean of ``a`` with Welch's interval and two-sided p-value."""
    if len(a) < 2 or len(b) < 2:
        diff = float(np.mean(b) - np.mean(a)) if len(a) and len(b) else math.nan
        return MeanDiff(diff, math.nan, math.nan, math.nan)
    va, vb = np.var(a, ddof=1) / len(a), np.var(b, ddof=1) / len(b)
    se = math.sqrt(va + vb)
    diff = float(np.mean(b) - np.mean(a))
    if se == 0:
        return MeanDiff(diff, diff, diff, 1.0 if diff == 0 else 0.0)
    dof = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    half = float(stats.t.ppf(0.5 + confidence / 2, dof) * se)
    p = float(2 * stats.t.sf(abs(diff) / se, dof))
    return MeanDiff(diff, diff - half, diff + half, p)


def msprt_means(a: np.ndarray, b: np.ndarray, tau: float) -> float:
    """Always-valid p-value for equal means after ``a`` and ``b`` (normal mixture, variance from the data)."""
    if len(a) < 2 or len(b) < 2:
        return 1.0
    var_a, var_b = float(np.var(a, ddof=1)), float(np.var(b, ddof=1))
    return _msprt(len(a), float(np.mean(a)), var_a, len(b), float(np.mean(b)), var_b, tau)


def _msprt(n_a: int, mean_a: float, var_a: float, n_b: int, mean_b: float, var_b: float, tau: float) -> float:
    """:func:`msprt_means` from each arm's count, mean and sample variance."""
    if n_a < 2 or n_b < 2 or tau <= 0:
        return 1.0
    v = max(var_a / n_a + var_b / n_b, 1e-12)
    d = mean_b - mean_a
    log_lambda = 0.5 * math.log(v / (v + tau * tau)) + tau * tau * d * d / (2 * v * (v + tau * tau))
    return math.exp(-log_lambda) if log_lambda < 700 else 0.0


def arm_numbers(frame: pd.DataFrame, arm: str, version: int | None) -> RegressionArm:
    """MAE and RMSE (with intervals), error rate and latency of one arm."""
    rows = frame[frame["arm"] == arm]
    errors = rows["abs_error"].dropna().to_numpy(dtype=float)
    mae, mae_low, mae_high = mean_interval(errors)
    mse, mse_low, mse_high = mean_interval(errors**2)
    latency = rows["latency_ms"].to_numpy(dtype=float)
    pct = np.percentile(latency, [50, 95]) if len(latency) else [math.nan] * 2
    return RegressionArm(
        arm=arm,
        version=version,
        requests=len(rows),
        labelled=len(errors),
        mae=mae,
        mae_low=mae_low,
        mae_high=mae_high,
        rmse=math.sqrt(mse) if not math.isnan(mse) else math.nan,
        rmse_low=math.sqrt(max(mse_low, 0.0)) if not math.isnan(mse_low) else math.nan,
        rmse_high=math.sqrt(mse_high) if not math.isnan(mse_high) else math.nan,
        error_rate=float((rows["status"] != "ok").mean()) if len(rows) else math.nan,
        latency_p50=float(pct[0]),
        latency_p95=float(pct[1]),
    )


def cumulative_mae(frame: pd.DataFrame, tau: float) -> pd.DataFrame:
    """Per arm, after each labelled request: cumulative MAE with its t-interval, and the running sequential p."""
    labelled = frame[frame["abs_error"].notna() & frame["arm"].isin(ARMS)].sort_values("at")
    columns = ["at", "arm", "n", "mae", "low", "high", "sequential_p"]
    if labelled.empty:
        return pd.DataFrame(columns=columns)
    # Running count, sum and sum of squares per arm: one pass, not every error re-read after each label.
    moments = {arm: [0, 0.0, 0.0] for arm in ARMS}
    running, rows = 1.0, []
    for at, arm, error in zip(labelled["at"], labelled["arm"], labelled["abs_error"], strict=True):
        m = moments[arm]
        m[0], m[1], m[2] = m[0] + 1, m[1] + float(error), m[2] + float(error) ** 2
        n, mae, var = _mean_var(m)
        low = high = math.nan
        if n >= 2:
            half = float(stats.t.ppf(0.975, n - 1) * math.sqrt(var / n))
            low, high = max(mae - half, 0.0), mae + half  # a mean of absolute errors is never negative
        a, b = (_mean_var(moments[x]) for x in ARMS)
        running = min(running, _msprt(a[0], a[1], a[2], b[0], b[1], b[2], tau))
        rows.append({"at": at, "arm": arm, "n": n, "mae": mae, "low": low, "high": high, "sequential_p": running})
    return pd.DataFrame(rows, columns=columns)


def _mean_var(moment: list) -> tuple[int, float, float]:
    """Count, mean and sample variance from ``[count, sum, sum of squares]``."""
    n, total, squares = moment
    mean = total / n if n else math.nan
    var = max(squares - n * mean * mean, 0.0) / (n - 1) if n >= 2 else math.nan
    return n, mean, var


def analyse_regression(
    frame: pd.DataFrame,
    model: str,
    versions: dict[str, int],
    challenger_share: float,
    *,
    split_since: datetime | None = None,
    alpha: float = ALPHA,
) -> RegressionABReport:
    """The A/B report of a regressor's current ``versions`` (rows of other versions are ignored)."""
    current = frame if frame.empty else frame[frame["version"] == frame["arm"].map(versions)]
    current = absolute_errors(current) if not current.empty else current.assign(abs_error=pd.Series(dtype=float))
    a, b = (arm_numbers(current, arm, versions.get(arm)) for arm in ARMS)
    errors = [current.loc[current["arm"] == arm, "abs_error"].dropna().to_numpy(dtype=float) for arm in ARMS]
    diff = welch(errors[0], errors[1])
    tau = MSPRT_RELATIVE_TAU * a.mae if not math.isnan(a.mae) else 0.0
    cumulative = cumulative_mae(current, tau)
    seq_p = float(cumulative["sequential_p"].iloc[-1]) if len(cumulative) else 1.0
    srm = sample_ratio(current, challenger_share, split_since)
    verdict, decision = _decide(model, versions, a, b, diff, seq_p, alpha)
    return RegressionABReport(
        model=model,
        arms=[a, b],
        diff=diff,
        srm_p=srm.p,
        srm_detected=srm.detected,
        srm_requests=srm.requests,
        srm_since=srm.since,
        sequential_p=seq_p,
        decision=decision,
        verdict=verdict,
        cumulative=cumulative,
    )


def _decide(
    model: str,
    versions: dict[str, int],
    a: RegressionArm,
    b: RegressionArm,
    diff: MeanDiff,
    seq_p: float,
    alpha: float,
) -> tuple[str, str]:
    if names.CHALLENGER not in versions:
        return "no-data", f"{model} has no challenger: there is nothing to compare."
    if a.requests + b.requests == 0:
        return "no-data", f"{model} has served no traffic yet."
    if b.requests == 0:
        return "no-data", "The challenger has served no requests: give it a share of the traffic."
    if a.labelled < 2 or b.labelled < 2:
        arm = "champion" if a.labelled < 2 else "challenger"
        return "no-data", f"The {arm} needs at least two labelled requests: send feedback to POST /v1/feedback."
    interval = f"MAE difference {diff.diff:+.4g} (95% CI {diff.low:+.4g} to {diff.high:+.4g})"
    if seq_p < alpha:
        verdict = "better" if diff.diff < 0 else "worse"
        lower = "lower" if diff.diff < 0 else "higher"
        return verdict, (
            f"Challenger v{versions[names.CHALLENGER]} is {verdict} than champion v{versions[names.CHAMPION]}: "
            f"its absolute errors are {lower} ({interval}), sequential p = {seq_p:.4f} < {alpha}."
        )
    return "unknown", (
        f"Not yet known: {interval}, sequential p = {seq_p:.3f}. Keep collecting labels until the sequential "
        "test decides (it stays valid however often you look)."
    )


def _interval(low: float, high: float) -> str:
    return "—" if math.isnan(low) else f"{low:.4g} – {high:.4g}"
