"""A/B analysis from the prediction log and feedback: honest statistics per arm.

Every statistic is a small function on counts (checked against scipy in the tests); the
analysis composes them. The sequential test (mSPRT) decides: its always-valid p-value
does not inflate false positives however often the dashboard is watched.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
from scipy import stats

from core import names
from core.labels import as_label_of, labels_match
from core.store.db import Store
from core.store.log_reads import outcome_rows

ALPHA = 0.05
SRM_ALPHA = 0.001  # the usual threshold: a sample-ratio mismatch is a bug, not noise
#: Requests this soon after a split or version change are left out of the sample-ratio check:
#: replicas pick up a change on their next poll, and answer with the old split until then.
SRM_SETTLE = timedelta(seconds=10)
MSPRT_TAU = 0.05  # prior scale of the accuracy difference mixed over (≈ the effects we care about)


# -- statistics on counts -----------------------------------------------------------------
def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a proportion (``(nan, nan)`` when ``n`` is 0)."""
    if n == 0:
        return (math.nan, math.nan)
    z = stats.norm.ppf(0.5 + confidence / 2)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


@dataclass(frozen=True)
class ProportionDiff:
    """Challenger minus champion accuracy, its 95% interval and the two-sided p-value."""

    diff: float
    low: float
    high: float
    z: float
    p_value: float


def two_proportion_test(x_a: int, n_a: int, x_b: int, n_b: int, confidence: float = 0.95) -> ProportionDiff:
    """``b - a`` with a Newcombe (Wilson-based) interval and the pooled two-proportion z-test."""
    if n_a == 0 or n_b == 0:
        return ProportionDiff(math.nan, math.nan, math.nan, math.nan, math.nan)
    p_a, p_b = x_a / n_a, x_b / n_b
    l_a, u_a = wilson_interval(x_a, n_a, confidence)
    l_b, u_b = wilson_interval(x_b, n_b, confidence)
    diff = p_b - p_a
    low = diff - math.sqrt((p_b - l_b) ** 2 + (u_a - p_a) ** 2)
    high = diff + math.sqrt((u_b - p_b) ** 2 + (p_a - l_a) ** 2)
    pooled = (x_a + x_b) / (n_a + n_b)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b))
    if se == 0:
        return ProportionDiff(diff, low, high, 0.0, 1.0)
    z = diff / se
    return ProportionDiff(diff, low, high, z, float(2 * stats.norm.sf(abs(z))))


def srm_p_value(observed: list[int], expected_shares: list[float]) -> float:
    """Chi-square p-value of observed arm counts against the configured split."""
    total = sum(observed)
    shares = np.asarray(expected_shares, dtype=float)
    if total == 0 or np.any(shares <= 0):
        return math.nan
    expected = shares / shares.sum() * total
    return float(stats.chisquare(observed, expected).pvalue)


def sample_size_per_arm(p_base: float, min_effect: float, alpha: float = ALPHA, power: float = 0.8) -> int:
    """Labels needed per arm to detect ``p_base -> p_base + min_effect`` (two-sided z-test)."""
    p_alt = p_base + min_effect
    if not (0 < p_base < 1 and 0 < p_alt < 1) or min_effect == 0:
        raise ValueError("p_base and p_base + min_effect must lie strictly between 0 and 1, and differ")
    z_a, z_b = stats.norm.ppf(1 - alpha / 2), stats.norm.ppf(power)
    p_bar = (p_base + p_alt) / 2
    n = (z_a * math.sqrt(2 * p_bar * (1 - p_bar)) + z_b * math.sqrt(p_base * (1 - p_base) + p_alt * (1 - p_alt))) ** 2
    return math.ceil(n / min_effect**2)


def msprt_path(
    x_a: np.ndarray, n_a: np.ndarray, x_b: np.ndarray, n_b: np.ndarray, tau: float = MSPRT_TAU
) -> np.ndarray:
    """Always-valid p-values after each step, from cumulative successes ``x`` and trials ``n`` per arm.

    The mixture likelihood ratio for the difference ``d = p_b - p_a`` under H0: d = 0, with
    a N(0, tau²) mixing prior and the normal approximation (variance ``V`` of the estimated
    difference): Λ = sqrt(V / (V + τ²)) · exp(τ² d̂² / (2 V (V + τ²))). p = min over time of 1/Λ.
    """
    x_a, n_a, x_b, n_b = (np.asarray(v, dtype=float) for v in (x_a, n_a, x_b, n_b))
    p = np.ones(len(n_a))
    running = 1.0
    for i in range(len(n_a)):
        if n_a[i] < 1 or n_b[i] < 1:
            p[i] = running
            continue
        pa, pb = x_a[i] / n_a[i], x_b[i] / n_b[i]
        # Pooled variance under H0 keeps V > 0 when both arms are still perfect.
        pooled = (x_a[i] + x_b[i]) / (n_a[i] + n_b[i])
        v = max(pooled * (1 - pooled), 1e-6) * (1 / n_a[i] + 1 / n_b[i])
        d = pb - pa
        log_lambda = 0.5 * math.log(v / (v + tau * tau)) + tau * tau * d * d / (2 * v * (v + tau * tau))
        running = min(running, math.exp(-log_lambda) if log_lambda < 700 else 0.0)
        p[i] = running
    return p


# -- from the log to a decision -----------------------------------------------------------
ARMS = (names.CHAMPION, names.CHALLENGER)


def load_outcomes(store: Store, model: str, since: datetime | None = None) -> pd.DataFrame:
    """Served requests of ``model`` with their feedback, oldest first.

    Columns: ``request_id, at, version, arm, latency_ms, status, predicted, label, correct``;
    ``label``/``correct`` are missing until feedback arrives (the last label given wins). Labels
    are in the model's own type (see :mod:`core.labels`), so ``correct`` never compares 0 with 0.0.
    """
    frame = outcome_rows(store, model, since)
    if frame.empty:
        return frame.assign(correct=pd.Series(dtype="boolean"))
    # object dtype: a column of ints with a missing label must not turn into floats (0 -> 0.0).
    typed = [as_label_of(p, lbl) for p, lbl in zip(frame["predicted"], frame["label"], strict=True)]
    frame["label"] = pd.Series(typed, index=frame.index, dtype=object)
    frame["correct"] = pd.Series(
        [labels_match(p, lbl) for p, lbl in zip(frame["predicted"], frame["label"], strict=True)],
        index=frame.index,
        dtype="boolean",
    )
    return frame


@dataclass(frozen=True)
class ArmStats:
    """One arm's numbers."""

    arm: str
    version: int | None
    requests: int
    labelled: int
    correct: int
    accuracy: float
    accuracy_low: float
    accuracy_high: float
    error_rate: float
    latency_p50: float
    latency_p95: float
    latency_p99: float


@dataclass(frozen=True)
class ABReport:
    """Everything the A/B page shows for one model."""

    model: str
    arms: list[ArmStats]
    diff: ProportionDiff
    srm_p: float
    srm_detected: bool
    srm_requests: tuple[int, int]  # champion, challenger requests the sample-ratio check counted
    srm_since: datetime | None  # start of the period the check covers (current split and versions)
    sequential_p: float
    decision: str
    verdict: str  # "better", "worse", "unknown" or "no-data"
    more_labels_needed: int | None
    cumulative: pd.DataFrame

    def table(self) -> pd.DataFrame:
        """The per-arm table: the accuracy interval as one column, latencies in milliseconds."""
        rows = []
        for a in self.arms:
            interval = "—" if math.isnan(a.accuracy_low) else f"{a.accuracy_low:.1%} – {a.accuracy_high:.1%}"
            rows.append(
                {
                    "arm": a.arm,
                    "version": a.version,
                    "requests": a.requests,
                    "labelled": a.labelled,
                    "accuracy": a.accuracy,
                    "95% CI": interval,
                    "error_rate": a.error_rate,
                    "p50 (ms)": a.latency_p50,
                    "p95 (ms)": a.latency_p95,
                    "p99 (ms)": a.latency_p99,
                }
            )
        return pd.DataFrame(rows)


def arm_stats(frame: pd.DataFrame, arm: str, version: int | None) -> ArmStats:
    """Counts, accuracy with its Wilson interval, error rate and latency of one arm."""
    rows = frame[frame["arm"] == arm]
    labelled = rows[rows["correct"].notna()]
    correct = int(labelled["correct"].astype(bool).sum())
    low, high = wilson_interval(correct, len(labelled))
    latency = rows["latency_ms"].to_numpy(dtype=float)
    pct = np.percentile(latency, [50, 95, 99]) if len(latency) else [math.nan] * 3
    return ArmStats(
        arm=arm,
        version=version,
        requests=len(rows),
        labelled=len(labelled),
        correct=correct,
        accuracy=correct / len(labelled) if len(labelled) else math.nan,
        accuracy_low=low,
        accuracy_high=high,
        error_rate=float((rows["status"] != "ok").mean()) if len(rows) else math.nan,
        latency_p50=float(pct[0]),
        latency_p95=float(pct[1]),
        latency_p99=float(pct[2]),
    )


def cumulative_accuracy(frame: pd.DataFrame) -> pd.DataFrame:
    """Per arm, after each labelled request: cumulative accuracy with Wilson bands, and the mSPRT p."""
    labelled = frame[frame["correct"].notna() & frame["arm"].isin(ARMS)].sort_values("at")
    if labelled.empty:
        return pd.DataFrame(columns=["at", "arm", "n", "accuracy", "low", "high", "sequential_p"])
    is_b = (labelled["arm"] == names.CHALLENGER).to_numpy()
    ok = labelled["correct"].astype(bool).to_numpy()
    n_b, x_b = np.cumsum(is_b), np.cumsum(ok & is_b)
    n_a, x_a = np.cumsum(~is_b), np.cumsum(ok & ~is_b)
    seq = msprt_path(x_a, n_a, x_b, n_b)
    rows = []
    for i, (at, arm) in enumerate(zip(labelled["at"], labelled["arm"], strict=True)):
        x, n = (x_b[i], n_b[i]) if arm == names.CHALLENGER else (x_a[i], n_a[i])
        low, high = wilson_interval(int(x), int(n))
        rows.append(
            {"at": at, "arm": arm, "n": int(n), "accuracy": x / n, "low": low, "high": high, "sequential_p": seq[i]}
        )
    return pd.DataFrame(rows)


def srm_period(frame: pd.DataFrame, split_since: datetime | None) -> tuple[pd.DataFrame, datetime | None]:
    """The rows a sample-ratio check may count, and where that period starts.

    The configured split only describes requests served after it was set, and after both
    current versions were serving; earlier rows (another split, another challenger) would
    raise a false alarm. The period starts at the latest of: the split's change, the first
    request of each arm's current version; plus :data:`SRM_SETTLE`.
    """
    starts: list[pd.Timestamp] = []
    if split_since is not None:
        since = pd.Timestamp(split_since)
        starts.append(since.tz_localize(UTC) if since.tzinfo is None else since)
    for arm in ARMS:
        served = frame.loc[frame["arm"] == arm, "at"]
        if len(served):
            starts.append(pd.Timestamp(served.min()))
    if not starts:
        return frame, None
    start = max(starts) + SRM_SETTLE
    return frame[frame["at"] >= start], start.to_pydatetime()


@dataclass(frozen=True)
class SampleRatio:
    """The sample-ratio check over the requests served under the current split and versions."""

    p: float
    detected: bool
    requests: tuple[int, int]  # champion, challenger
    since: datetime | None


def sample_ratio(current: pd.DataFrame, challenger_share: float, split_since: datetime | None) -> SampleRatio:
    """Chi-square of the arms' requests against the configured split, over :func:`srm_period`'s rows."""
    counted, since = srm_period(current, split_since) if not current.empty else (current, None)
    observed = [int((counted["arm"] == arm).sum()) for arm in ARMS] if not counted.empty else [0, 0]
    p = srm_p_value(observed, [1 - challenger_share, challenger_share]) if 0 < challenger_share < 1 else math.nan
    return SampleRatio(p, bool(p < SRM_ALPHA) if not math.isnan(p) else False, (observed[0], observed[1]), since)


def analyse(
    frame: pd.DataFrame,
    model: str,
    versions: dict[str, int],
    challenger_share: float,
    *,
    split_since: datetime | None = None,
    min_effect: float = 0.05,
    alpha: float = ALPHA,
) -> ABReport:
    """The A/B report for ``model``'s current ``versions`` (rows of other versions are ignored).

    ``split_since`` is when ``challenger_share`` was set: the sample-ratio check counts only
    requests served under it (see :func:`srm_period`).
    """
    current = frame if frame.empty else frame[frame["version"] == frame["arm"].map(versions)]
    arms = [arm_stats(current, arm, versions.get(arm)) for arm in ARMS]
    a, b = arms
    diff = two_proportion_test(a.correct, a.labelled, b.correct, b.labelled)
    srm = sample_ratio(current, challenger_share, split_since)
    cumulative = cumulative_accuracy(current)
    seq_p = float(cumulative["sequential_p"].iloc[-1]) if len(cumulative) else 1.0
    verdict, decision, more = _decide(model, versions, a, b, diff, seq_p, challenger_share, min_effect, alpha)
    return ABReport(
        model=model,
        arms=arms,
        diff=diff,
        srm_p=srm.p,
        srm_detected=srm.detected,
        srm_requests=srm.requests,
        srm_since=srm.since,
        sequential_p=seq_p,
        decision=decision,
        verdict=verdict,
        more_labels_needed=more,
        cumulative=cumulative,
    )


def _decide(
    model: str,
    versions: dict[str, int],
    a: ArmStats,
    b: ArmStats,
    diff: ProportionDiff,
    seq_p: float,
    share: float,
    min_effect: float,
    alpha: float,
) -> tuple[str, str, int | None]:
    if names.CHALLENGER not in versions:
        return "no-data", f"{model} has no challenger: there is nothing to compare.", None
    if a.requests + b.requests == 0:
        return "no-data", f"{model} has served no traffic yet.", None
    if b.requests == 0:
        return "no-data", "The challenger has served no requests: give it a share of the traffic.", None
    if a.labelled == 0 or b.labelled == 0:
        arm = "champion" if a.labelled == 0 else "challenger"
        return "no-data", f"The {arm} has no labelled requests yet: send feedback to POST /v1/feedback.", None
    if seq_p < alpha:
        verdict = "better" if diff.diff > 0 else "worse"
        return (
            verdict,
            (
                f"Challenger v{versions[names.CHALLENGER]} is {verdict} than champion v{versions[names.CHAMPION]}: "
                f"accuracy {_points(diff.diff)} (95% CI {_points(diff.low, unit=False)} to {_points(diff.high)}), "
                f"sequential p = {seq_p:.4f} < {alpha}."
            ),
            0,
        )
    base = min(max(a.accuracy, 0.01), 0.99 - min_effect) if not math.isnan(a.accuracy) else 0.5
    needed = sample_size_per_arm(base, min_effect, alpha)
    share_b = min(max(share, 1e-9), 1 - 1e-9)
    more = max(needed - a.labelled, 0) + max(needed - b.labelled, 0)
    so_far = (
        f"Not yet known: accuracy difference {_points(diff.diff)} "
        f"(95% CI {_points(diff.low, unit=False)} to {_points(diff.high)}), sequential p = {seq_p:.3f}. "
    )
    effect = f"{min_effect * 100:.0f}-point difference"
    if more == 0 and -min_effect < diff.low and diff.high < min_effect:
        plan = (
            f"Both arms have the ≈{needed:,} labels each planned to detect a {effect}, and the interval lies "
            f"within ±{min_effect * 100:.0f} points: the versions are probably closer than that. Stop here, or "
            "keep going to detect a smaller difference."
        )
    elif more == 0:
        plan = (
            f"Both arms have the ≈{needed:,} labels each planned for a {effect}, but the interval still allows "
            "one that large: keep collecting until the sequential test decides."
        )
    else:
        plan = (
            f"About {more:,} more labels are needed to detect a {effect} "
            f"(≈{needed:,} per arm; the challenger gets {share_b:.0%} of the traffic)."
        )
    if diff.p_value < alpha:
        plan += (
            f" (The fixed-sample z-test's p = {diff.p_value:.3f} would call it, but that test is only valid at a "
            "sample size fixed in advance; watched as it runs, it calls too many.)"
        )
    return "unknown", so_far + plan, more


def _points(fraction: float, *, unit: bool = True) -> str:
    """A difference of two proportions in percentage points: ``+2.3 points``."""
    text = f"{fraction * 100:+.1f}".replace("-", "−")
    return f"{text} points" if unit else text
