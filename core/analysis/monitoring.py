"""Live monitoring from the prediction log: throughput, latency, errors and class mix over time."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd

FREQUENCIES = {"10 s": "10s", "1 min": "1min", "5 min": "5min", "1 h": "1h"}


def traffic_timeseries(frame: pd.DataFrame, freq: str = "10s", now: datetime | None = None) -> pd.DataFrame:
    """Per time bin: requests, requests/s, latency p50/p95/p99 (ms), error and refusal rates, completeness.

    A bin is ``complete`` once its end has passed (``now`` defaults to the current time): the
    still-filling last bin would understate the rate, so headline figures read the last complete one.
    Empty bins between requests count as zero requests. Every answered request counts, by status
    class: ``error_rate`` is the share the model failed (5xx), ``rejected_rate`` the share refused
    as bad input (4xx). Latency percentiles are over answered (2xx) requests only: a refusal takes
    no model time and would drag them to zero.
    """
    columns = ["at", "requests", "rps", "p50", "p95", "p99", "error_rate", "rejected_rate", "complete"]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    now = now or datetime.now(UTC)
    width = pd.Timedelta(freq)
    indexed = frame.set_index("at")
    grouped = indexed.groupby(pd.Grouper(freq=freq))
    answered = indexed.loc[indexed["status"] == "ok", "latency_ms"].groupby(pd.Grouper(freq=freq))
    status = grouped["status"]
    out = pd.DataFrame(
        {
            "requests": grouped["request_id"].count(),
            "p50": answered.quantile(0.50),
            "p95": answered.quantile(0.95),
            "p99": answered.quantile(0.99),
            "error_rate": status.apply(lambda s: float((s == "error").mean()) if len(s) else 0.0),
            "rejected_rate": status.apply(lambda s: float((s == "rejected").mean()) if len(s) else 0.0),
        }
    )
    out["rps"] = out["requests"] / width.total_seconds()
    out = out.reset_index()
    out["complete"] = (out["at"] + width) <= pd.Timestamp(now)
    return out[columns]


def last_complete(series: pd.DataFrame) -> pd.Series | None:
    """The newest complete bin of :func:`traffic_timeseries` (``None`` before one has closed)."""
    done = series[series["complete"]]
    return None if done.empty else done.iloc[-1]


def class_mix(frame: pd.DataFrame, freq: str = "10s", names: dict[str, str] | None = None) -> pd.DataFrame:
    """Per time bin and predicted class: the share of predicted rows (every row of a request counts).

    ``names`` maps a class (as text) to its display name (``{"1": "benign"}``).
    """
    ok = frame[frame["status"] == "ok"] if not frame.empty else frame
    if ok.empty:
        return pd.DataFrame(columns=["at", "predicted", "share"])
    rows = ok[["at", "outputs"]].explode("outputs").dropna(subset=["outputs"])
    labels = rows["outputs"].astype(str)
    rows = rows.assign(predicted=labels.map(names).fillna(labels) if names else labels)
    counts = rows.set_index("at").groupby([pd.Grouper(freq=freq), "predicted"]).size().rename("count").reset_index()
    counts["share"] = counts["count"] / counts.groupby("at")["count"].transform("sum")
    return counts[["at", "predicted", "share"]]


def prediction_quantiles(frame: pd.DataFrame, freq: str = "10s") -> pd.DataFrame:
    """A regressor's predicted values per time bin: their 10th, 50th and 90th percentiles (every row counts)."""
    ok = frame[frame["status"] == "ok"] if not frame.empty else frame
    columns = ["at", "p10", "median", "p90"]  # of the predicted values
    if ok.empty:
        return pd.DataFrame(columns=columns)
    rows = ok[["at", "outputs"]].explode("outputs").dropna(subset=["outputs"])
    values = pd.to_numeric(rows["outputs"], errors="coerce")
    binned = pd.Series(values.to_numpy(), index=rows["at"]).groupby(pd.Grouper(freq=freq))
    out = pd.DataFrame(
        {
            "p10": binned.quantile(0.10),
            "median": binned.quantile(0.50),
            "p90": binned.quantile(0.90),
        }
    ).reset_index(names="at")
    return out.dropna(subset=["median"])[columns]
