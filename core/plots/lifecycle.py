"""Edge export and online-learning figures."""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go

from core.plots.style import MARGIN
from core.runtime.tflite import BuildReport


def export_report_figure(reports: list[BuildReport]) -> go.Figure:
    """The report card as three panels: size vs Keras, LiteRT latency vs Keras, accuracy change."""
    from plotly.subplots import make_subplots

    keys = [r.key for r in reports]
    colours = ["#2ca02c" if r.accepted else "#d62728" for r in reports]
    fig = make_subplots(
        rows=1,
        cols=3,
        subplot_titles=("size vs Keras (×)", "latency vs served Keras graph (×)", "accuracy change (points)"),
    )
    panels = (
        [r.size_ratio for r in reports],
        [r.latency_ratio for r in reports],
        [r.accuracy_change for r in reports],
    )
    for col, values in enumerate(panels, start=1):
        fig.add_bar(
            x=keys,
            y=values,
            marker_color=colours,
            text=None if col == 3 else [f"{v:.3g}" for v in values],
            textposition="outside",
            showlegend=False,
            row=1,
            col=col,
        )
    # A change of +0.00 draws no bar: a labelled marker at every value keeps each build visible.
    fig.add_scatter(
        x=keys,
        y=panels[2],
        mode="markers+text",
        marker={"symbol": "line-ew-open", "size": 26, "color": colours, "line": {"width": 3}},
        text=[f"{v:+.2f}" for v in panels[2]],
        textposition="top center",
        showlegend=False,
        row=1,
        col=3,
    )
    limit = reports[0].max_accuracy_drop if reports else 1.0
    fig.add_hline(y=-limit, line_dash="dash", line_color="#d62728", row=1, col=3)
    changes = panels[2] or [0.0]
    # Keep zero and the gate line in view, with room for the labels of bars of any sign.
    low, high = min(min(changes), -limit, 0.0), max(max(changes), 0.0)
    pad = max(0.5, 0.2 * (high - low))
    fig.update_yaxes(range=[low - pad, high + pad], zeroline=True, row=1, col=3)
    fig.update_traces(cliponaxis=False)
    fig.update_layout(margin=MARGIN, height=340)
    return fig


ONLINE_EVENT_COLOURS = {
    "promoted": "#2ca02c",
    "registered": "#1f77b4",
    "evaluated": "#9467bd",
    "rejected": "#d62728",
    "rollback": "#ff7f0e",
}

#: events that move the champion, drawn as labelled vertical lines across the chart
CHAMPION_MOVES = ("promoted", "rollback")

#: the narrowest time window shown: one or a few decisions get whole-minute ticks, not milliseconds
MIN_WINDOW = pd.Timedelta(minutes=4)

#: tick labels by tick spacing (ms): seconds only when ticks are under a minute apart, never milliseconds;
#: the day once ticks are hours apart
TIME_TICKS = [
    {"dtickrange": [None, 60_000], "value": "%H:%M:%S"},
    {"dtickrange": [60_000, 3_600_000], "value": "%H:%M"},
    {"dtickrange": [3_600_000, 86_400_000], "value": "%b %d, %H:%M"},
    {"dtickrange": [86_400_000, None], "value": "%b %d"},
]

#: room beyond the outermost whole-minute ticks of a short window, so their labels are not cut off
EDGE = pd.Timedelta(seconds=20)


def _utc(times: pd.Series) -> pd.Series:
    """Timestamps as naive UTC, so the axis, its range and the table agree."""
    return pd.to_datetime(times, utc=True).dt.tz_localize(None)


def _version(value: Any) -> str:
    return "" if pd.isna(value) else f"v{int(value)}"


def _time_axis(times: pd.Series) -> dict[str, Any]:
    """The x axis: a window of at least :data:`MIN_WINDOW`, ticks never finer than seconds."""
    if times.empty:
        return {"title": {"text": "time (UTC)"}, "type": "date", "tickformatstops": TIME_TICKS}
    low, high = times.min(), times.max()
    span = high - low
    if span < MIN_WINDOW:
        # one tick a minute on whole minutes ("12:00 12:01 12:02 ..."), the day in the title
        middle = low + span / 2
        low = (middle - MIN_WINDOW / 2).floor("min") - EDGE
        high = (middle + MIN_WINDOW / 2).ceil("min") + EDGE
        title = f"time (UTC) on {middle:%b %d, %Y}"
        ticks: dict[str, Any] = {"tickformat": "%H:%M", "dtick": 60_000, "tick0": middle.floor("min").isoformat()}
    else:
        pad = span * 0.05
        low, high = low - pad, high + pad
        title = "time (UTC)"
        ticks = {"tickformatstops": TIME_TICKS}
    return {"title": {"text": title}, "type": "date", "range": [low.isoformat(), high.isoformat()], **ticks}


def _mark_champion_moves(fig: go.Figure, updates: pd.DataFrame, at: pd.Series) -> None:
    """A vertical line and a label ("v4 promoted", "rollback → v2") at every change of champion."""
    moves = updates[updates["event"].isin(CHAMPION_MOVES)]
    window = _time_axis(at)["range"] if not moves.empty else None
    width = (pd.Timestamp(window[1]) - pd.Timestamp(window[0])) if window else pd.Timedelta(0)
    last_on_row: dict[int, pd.Timestamp] = {}
    for i, row in moves.iterrows():
        # a label goes on the lowest of three rows where it keeps clear of the previous one
        clear = [n for n in range(3) if n not in last_on_row or at[i] - last_on_row[n] > width * 0.12]
        level = clear[0] if clear else min(last_on_row, key=lambda n: last_on_row[n])
        last_on_row[level] = at[i]
        colour = ONLINE_EVENT_COLOURS[row["event"]]
        x = at[i].isoformat()
        version = _version(row.get("new_version"))
        if row["event"] == "promoted":
            label = f"{version} promoted" if version else "promoted"
        else:
            label = f"rollback → {version}" if version else "rollback"
        fig.add_shape(
            type="line",
            x0=x,
            x1=x,
            xref="x",
            y0=0,
            y1=1,
            yref="paper",
            line={"color": colour, "width": 2, "dash": "solid" if row["event"] == "promoted" else "dash"},
            layer="below",
            name=label,
        )
        actor = row.get("actor") or ""
        fig.add_annotation(
            x=x,
            y=1,
            xref="x",
            yref="paper",
            yanchor="bottom",
            yshift=2 + 14 * level,
            text=label,
            showarrow=False,
            font={"color": colour, "size": 12},
            hovertext=f"{at[i]:%Y-%m-%d %H:%M:%S} UTC: {row.get('reason') or ''}" + (f" ({actor})" if actor else ""),
            name=label,
        )


def online_updates_figure(updates: pd.DataFrame, metric: str = "accuracy") -> go.Figure:
    """Candidate vs champion held-out accuracy at each gate decision; rollbacks show live accuracy.

    Registered versions are labelled ("v3") on their markers; promotions and rollbacks, which
    move the champion, are vertical lines labelled "v4 promoted" / "rollback → v3", also when
    they carry no accuracy (a promotion made on the page).
    """
    fig = go.Figure()
    if updates.empty:
        fig.update_layout(xaxis=_time_axis(pd.Series(dtype="datetime64[ns]")), height=320)
        return fig
    updates = updates.reset_index(drop=True)
    at = _utc(updates["at"])
    judged = updates[updates["candidate_accuracy"].notna()]
    fig.add_scatter(
        x=at[judged.index],
        y=judged["champion_accuracy"],
        mode="lines+markers",
        line={"shape": "hv", "color": "#7f7f7f"},
        name="champion (or predecessor)",
        text=[_version(v) for v in judged["champion_version"]],
        hovertemplate="%{x}<br>%{text}: %{y:.4f}<extra></extra>",
    )
    for event, colour in ONLINE_EVENT_COLOURS.items():
        part = judged[judged["event"] == event]
        if part.empty:
            continue
        labelled = event in ("registered", "promoted")  # the version it made
        fig.add_scatter(
            x=at[part.index],
            y=part["candidate_accuracy"],
            mode="markers+text" if labelled else "markers",
            marker={"color": colour, "size": 11, "symbol": "x" if event in ("rejected", "rollback") else "circle"},
            name=event,
            text=[_version(v) for v in part["new_version"]] if labelled else None,
            textposition="bottom center",
            textfont={"color": colour},
            customdata=list(part["reason"]),
            hovertemplate="%{x}<br>%{y:.4f}<br>%{customdata}<extra></extra>",
        )
    _mark_champion_moves(fig, updates, at)
    fig.update_layout(
        xaxis=_time_axis(at),
        # accuracy on a fixed 0–1 scale; a regressor's MAE (lower is better) on its own
        yaxis={"title": "accuracy", "range": [0, 1.02]}
        if metric == "accuracy"
        else {"title": f"{metric} (lower is better)"},
        margin={"t": 58, "b": 10, "l": 10, "r": 10},
        height=340,
        legend={"orientation": "h", "y": -0.25},
    )
    return fig
