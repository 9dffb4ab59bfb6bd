"""Registry figures: held-out metrics per version, the champion's timeline."""

from __future__ import annotations

import plotly.graph_objects as go

from core import names
from core.registry.frames import HEADLINE_METRICS, LOWER_IS_BETTER
from core.registry.types import VersionInfo
from core.store.db import AliasMove


def version_metrics_figure(versions: list[VersionInfo], metrics: tuple[str, ...] = HEADLINE_METRICS) -> go.Figure:
    """Grouped bars: one group per metric, one bar per version (aliases in the legend)."""
    fig = go.Figure()
    for v in sorted(versions, key=lambda v: v.version):
        shown = [m for m in metrics if m in v.metrics]
        if not shown:
            continue
        label = f"v{v.version}" + (f" ({', '.join(v.aliases)})" if v.aliases else "")
        fig.add_bar(
            name=label,
            x=shown,
            y=[v.metrics[m] for m in shown],
            text=[f"{v.metrics[m]:.3g}" if m in LOWER_IS_BETTER else f"{v.metrics[m]:.3f}" for m in shown],
            textposition="outside",
        )
    errors = all(m in LOWER_IS_BETTER for v in versions for m in metrics if m in v.metrics)
    fig.update_layout(
        barmode="group",
        # scores on 0–1; a regressor's errors in the target's units (lower is better)
        yaxis={"title": "held-out error (lower is better)", "rangemode": "tozero"}
        if errors
        else {"title": "held-out score", "range": [0, 1.08]},
        margin={"t": 30, "b": 10, "l": 10, "r": 10},
        height=320,
        legend={"orientation": "h", "y": -0.15},
    )
    return fig


def champion_timeline_figure(moves: list[AliasMove], alias: str = names.CHAMPION) -> go.Figure:
    """A step line of which version held ``alias`` over time, one marker per move."""
    chosen = sorted((m for m in moves if m.alias == alias), key=lambda m: m.id)
    fig = go.Figure(
        go.Scatter(
            x=[m.at for m in chosen],
            y=[m.to_version for m in chosen],
            mode="lines+markers",
            line={"shape": "hv"},
            text=[f"{m.action} by {m.actor}: {m.reason}" for m in chosen],
            hovertemplate="%{x}<br>v%{y}<br>%{text}<extra></extra>",
            name=alias,
        )
    )
    fig.update_layout(
        yaxis={"title": f"{alias} version", "dtick": 1},
        # Moves seconds apart made plotly label the axis in milliseconds; whole seconds at most.
        xaxis={"tickformat": "%d %b %H:%M:%S", "nticks": 6},
        margin={"t": 30, "b": 10, "l": 10, "r": 10},
        height=260,
    )
    return fig
