"""Live monitoring from the prediction log: throughput, latency, errors and class mix over time."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd

FREQUENCIES = {"10 s": "10s", "1 min": "1min", "5 min": "5min", "1 h": "1h"}


def traffic_timeseries(frame: pd.DataFrame, freq: str = "10s", now: datetime | None = None) -> pd.DataFrame:
    """Per time bin: requests, requests/s, latency p50/p95/p99 (ms), error rate, and whether the bin is complete.

    A bin is ``complete`` once its end has passed (``now`` defaults to the current time): the
    still-filling last bin would understate the rate, so headline figures read the last complete one.
    Empty bins between requests count as zero requests. Every answered request counts, by status:
    ``error`` (the model failed) and ``rejected`` (4xx) both count as errors.
    """
    columns = ["at", "requests", "rps", "p50", "p95", "p99", "error_rate", "complete"]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    now = now or datetime.now(UTC)
    width = pd.Timedelta(freq)
    grouped = frame.set_index("at").groupby(pd.Grouper(freq=freq))
    out = pd.DataFrame(
        {
            "requests": grouped["request_id"].count(),
            "p50": grouped["latency_ms"].quantile(0.50),
            "p95": grouped["latency_ms"].quantile(0.95),
            "p99": grouped["latency_ms"].quantile(0.99),
            "error_rate": grouped["status"].apply(lambda s: float((s != "ok").mean()) if len(s) else 0.0),
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


def class_mix(frame: pd.DataFrame, freq: str = "10s") -> pd.DataFrame:
    """Per time bin and predicted class: the share of predictions."""
    if frame.empty:
        return pd.DataFrame(columns=["at", "predicted", "share"])
    ok = frame[frame["status"] == "ok"].assign(predicted=lambda f: f["predicted"].astype(str))
    counts = ok.set_index("at").groupby([pd.Grouper(freq=freq), "predicted"]).size().rename("count").reset_index()
    counts["share"] = counts["count"] / counts.groupby("at")["count"].transform("sum")
    return counts[["at", "predicted", "share"]]
