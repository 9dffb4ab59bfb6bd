"""Monitoring time series: complete bins only for headline rates, every status counted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from core.analysis.monitoring import class_mix, last_complete, traffic_timeseries


def _log(start: datetime, rate: float, seconds: float, status: str = "ok") -> pd.DataFrame:
    n = int(rate * seconds)
    return pd.DataFrame(
        {
            "request_id": [f"{status}-{i}" for i in range(n)],
            "at": [start + timedelta(seconds=i / rate) for i in range(n)],
            "latency_ms": 2.0,
            "status": status,
        }
    )


def test_the_rate_is_read_from_the_last_complete_bin() -> None:
    # 2 req/s for 35 s: bins 0-10, 10-20, 20-30 are complete, 30-40 is still filling (5 s of it)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    frame = _log(start, 2.0, 35)
    series = traffic_timeseries(frame, "10s", now=start + timedelta(seconds=35))
    assert list(series["complete"]) == [True, True, True, False]
    assert series["rps"].iloc[-1] == pytest.approx(1.0)  # what the page used to show
    recent = last_complete(series)
    assert recent is not None and recent["rps"] == pytest.approx(2.0)


def test_no_complete_bin_yet() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    series = traffic_timeseries(_log(start, 2.0, 5), "10s", now=start + timedelta(seconds=5))
    assert last_complete(series) is None


def test_rejected_and_failed_requests_count_as_errors() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    frame = pd.concat(
        [_log(start, 8.0, 10), _log(start, 1.0, 10, "rejected"), _log(start, 1.0, 10, "error")], ignore_index=True
    )
    series = traffic_timeseries(frame, "10s", now=start + timedelta(seconds=60))
    assert series["requests"].iloc[0] == 100
    assert series["error_rate"].iloc[0] == pytest.approx(0.1)  # the model failed (5xx)
    assert series["rejected_rate"].iloc[0] == pytest.approx(0.1)  # bad input refused (4xx)


def test_refusals_alone_leave_latency_unknown_not_zero() -> None:
    """4xx-only traffic showed p99 0.0 ms: a refusal takes no model time."""
    start = datetime(2026, 1, 1, tzinfo=UTC)
    frame = _log(start, 2.0, 20, "rejected").assign(latency_ms=0.01)
    series = traffic_timeseries(frame, "10s", now=start + timedelta(seconds=60))
    assert series["p99"].isna().all() and (series["rejected_rate"] == 1.0).all() and (series["error_rate"] == 0).all()
    assert class_mix(frame.assign(outputs=[[]] * len(frame)), "10s").empty


def test_the_class_mix_counts_every_row_of_a_request_by_its_name() -> None:
    """A 3-row request counted once, as its first row's class; classes showed as 0/1."""
    start = datetime(2026, 1, 1, tzinfo=UTC)
    frame = _log(start, 1.0, 2).assign(outputs=[[0, 1, 1], [1]])
    mix = class_mix(frame, "10s", {"0": "malignant", "1": "benign"}).set_index("predicted")["share"]
    assert mix.to_dict() == {"benign": pytest.approx(0.75), "malignant": pytest.approx(0.25)}
