"""Edge export and online-learning figures."""

from __future__ import annotations

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


def online_updates_figure(updates: pd.DataFrame) -> go.Figure:
    """Candidate vs champion held-out accuracy at each gate decision; rollbacks show live accuracy."""
    fig = go.Figure()
    judged = updates[updates["candidate_accuracy"].notna()]
    fig.add_scatter(
        x=judged["at"],
        y=judged["champion_accuracy"],
        mode="lines+markers",
        line={"shape": "hv", "color": "#7f7f7f"},
        name="champion (or predecessor)",
        text=[f"v{v}" for v in judged["champion_version"]],
        hovertemplate="%{x}<br>%{text}: %{y:.4f}<extra></extra>",
    )
    for event, colour in ONLINE_EVENT_COLOURS.items():
        part = judged[judged["event"] == event]
        if part.empty:
            continue
        fig.add_scatter(
            x=part["at"],
            y=part["candidate_accuracy"],
            mode="markers",
            marker={"color": colour, "size": 11, "symbol": "x" if event in ("rejected", "rollback") else "circle"},
            name=event,
            text=list(part["reason"]),
            hovertemplate="%{x}<br>%{y:.4f}<br>%{text}<extra></extra>",
        )
    fig.update_layout(
        yaxis={"title": "accuracy", "range": [0, 1.02]},
        margin={"t": 30, "b": 10, "l": 10, "r": 10},
        height=320,
        legend={"orientation": "h", "y": -0.2},
    )
    return fig
