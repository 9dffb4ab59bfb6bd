"""Live monitoring from the prediction log: throughput, latency, errors and class mix over time."""

from __future__ import annotations

import pandas as pd

FREQUENCIES = {"10 s": "10s", "1 min": "1min", "5 min": "5min", "1 h": "1h"}


def traffic_timeseries(frame: pd.DataFrame, freq: str = "10s") -> pd.DataFrame:
    """Per time bin: requests, requests/s, latency p50/p95/p99 (ms) and error rate."""
    columns = ["at", "requests", "rps", "p50", "p95", "p99", "error_rate"]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    seconds = pd.Timedelta(freq).total_seconds()
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
    out["rps"] = out["requests"] / seconds
    return out.reset_index()[columns]


def class_mix(frame: pd.DataFrame, freq: str = "10s") -> pd.DataFrame:
    """Per time bin and predicted class: the share of predictions."""
    if frame.empty:
        return pd.DataFrame(columns=["at", "predicted", "share"])
    ok = frame[frame["status"] == "ok"].assign(predicted=lambda f: f["predicted"].astype(str))
    counts = ok.set_index("at").groupby([pd.Grouper(freq=freq), "predicted"]).size().rename("count").reset_index()
    counts["share"] = counts["count"] / counts.groupby("at")["count"].transform("sum")
    return counts[["at", "predicted", "share"]]
