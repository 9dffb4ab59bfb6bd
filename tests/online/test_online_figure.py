"""The Online learning page's chart: readable time ticks, promotions and registrations marked."""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go

from core.plots.lifecycle import MIN_WINDOW, ONLINE_EVENT_COLOURS, online_updates_figure

START = pd.Timestamp("2026-11-28 12:01:03.450", tz="UTC")


def _event(seconds: float, event: str, candidate: float | None = None, **values: Any) -> dict[str, Any]:
    """One row as ``core.store.events.updates_frame`` returns it."""
    row: dict[str, Any] = {
        "at": START + pd.Timedelta(seconds=seconds),
        "event": event,
        "parent_version": 1,
        "rows": 100,
        "candidate_accuracy": candidate,
        "champion_version": 1 if candidate is not None else None,
        "champion_accuracy": 0.94 if candidate is not None else None,
        "new_version": None,
        "reason": f"{event} at {seconds}s",
        "actor": "alice",
    }
    return row | values


def _figure(*rows: dict[str, Any]) -> go.Figure:
    return online_updates_figure(pd.DataFrame(list(rows)))


def _range(fig: go.Figure) -> tuple[pd.Timestamp, pd.Timestamp]:
    low, high = fig.layout.xaxis.range
    return pd.Timestamp(low), pd.Timestamp(high)


def _labels(fig: go.Figure) -> list[str]:
    return [a.text for a in fig.layout.annotations]


def _vertical_lines(fig: go.Figure) -> list[Any]:
    return [s for s in fig.layout.shapes if s.type == "line" and s.x0 == s.x1 and s.yref == "paper"]


def test_one_decision_gets_whole_minute_ticks_not_milliseconds() -> None:
    fig = _figure(_event(0, "evaluated", 0.95))
    axis = fig.layout.xaxis
    assert axis.type == "date"
    assert axis.tickformat == "%H:%M" and axis.dtick == 60_000
    low, high = _range(fig)
    assert high - low >= MIN_WINDOW
    at = START.tz_localize(None)
    assert low < at < high
    assert low.second == 40 and high.second == 20  # whole minutes, plus a little room for the edge labels
    assert "Nov 28, 2026" in axis.title.text and "UTC" in axis.title.text  # the day the ticks no longer show


def test_a_few_decisions_within_a_minute_keep_the_minute_window() -> None:
    fig = _figure(_event(0, "evaluated", 0.95), _event(0.2, "registered", 0.95, new_version=2))
    assert fig.layout.xaxis.tickformat == "%H:%M"
    low, high = _range(fig)
    assert high - low >= MIN_WINDOW


def test_long_timelines_never_tick_in_milliseconds() -> None:
    fig = _figure(_event(0, "evaluated", 0.95), _event(3 * 3600, "rejected", 0.5))
    axis = fig.layout.xaxis
    assert axis.tickformat is None and axis.dtick is None  # plotly chooses the spacing ...
    stops = {tuple(s.dtickrange): s.value for s in axis.tickformatstops}
    assert stops[(None, 60_000)] == "%H:%M:%S"  # ... and the finest label is seconds
    assert not any("%L" in v or "%f" in v for v in stops.values())
    low, high = _range(fig)
    assert low < START.tz_localize(None) and high > START.tz_localize(None) + pd.Timedelta(hours=3)


def test_a_promotion_from_the_page_is_a_labelled_vertical_line() -> None:
    # the page records a promotion without accuracies: it used to be dropped from the chart
    fig = _figure(
        _event(0, "registered", 0.95, new_version=4),
        _event(30, "promoted", new_version=4, champion_version=4, reason="promoted from the Online learning page"),
    )
    lines = _vertical_lines(fig)
    assert len(lines) == 1
    assert pd.Timestamp(lines[0].x0) == (START + pd.Timedelta(seconds=30)).tz_localize(None)
    assert lines[0].line.color == ONLINE_EVENT_COLOURS["promoted"]
    assert "v4 promoted" in _labels(fig)
    label = next(a for a in fig.layout.annotations if a.text == "v4 promoted")
    assert label.x == lines[0].x0 and label.yref == "paper"
    assert "promoted from the Online learning page" in label.hovertext and "alice" in label.hovertext


def test_registrations_are_labelled_with_their_version() -> None:
    fig = _figure(_event(0, "registered", 0.95, new_version=2), _event(60, "registered", 0.96, new_version=3))
    registered = next(t for t in fig.data if t.name == "registered")
    assert list(registered.text) == ["v2", "v3"]
    assert "text" in registered.mode
    assert list(registered.customdata) == ["registered at 0s", "registered at 60s"]  # the reason on hover


def test_an_automatic_promotion_is_a_marker_and_a_line() -> None:
    fig = _figure(_event(0, "promoted", 0.96, new_version=3))
    promoted = next(t for t in fig.data if t.name == "promoted")
    assert list(promoted.text) == ["v3"]
    assert len(_vertical_lines(fig)) == 1 and _labels(fig) == ["v3 promoted"]


def test_a_rollback_is_marked_with_the_version_it_returned_to() -> None:
    fig = _figure(_event(0, "rollback", 0.4, new_version=1, champion_version=2))
    assert _labels(fig) == ["rollback → v1"]
    assert _vertical_lines(fig)[0].line.color == ONLINE_EVENT_COLOURS["rollback"]


def test_close_promotions_put_their_labels_on_different_rows() -> None:
    fig = _figure(
        _event(0, "promoted", new_version=2),
        _event(5, "promoted", new_version=3),
        _event(3600, "promoted", new_version=4),
    )
    shifts = {a.text: a.yshift for a in fig.layout.annotations}
    assert shifts["v2 promoted"] != shifts["v3 promoted"]
    assert shifts["v4 promoted"] == shifts["v2 promoted"]  # far away: back on the first row


def test_events_without_accuracy_and_no_decisions() -> None:
    fig = _figure(_event(0, "discarded"), _event(10, "rebased"))
    assert not _vertical_lines(fig) and not fig.layout.annotations
    assert fig.layout.xaxis.tickformat == "%H:%M"
    assert online_updates_figure(pd.DataFrame()).layout.xaxis.type == "date"


def test_timestamps_as_stored_naive_or_aware_land_on_the_same_utc_minute() -> None:
    aware = _figure(_event(0, "evaluated", 0.95))
    naive_row = _event(0, "evaluated", 0.95)
    naive_row["at"] = naive_row["at"].tz_localize(None)
    naive = online_updates_figure(pd.DataFrame([naive_row]))
    assert aware.layout.xaxis.range == naive.layout.xaxis.range
    assert pd.Timestamp(aware.data[0].x[0]) == START.tz_localize(None)
