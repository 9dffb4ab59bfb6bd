"""Drift figures: distributions, ECDFs and drift over time."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from core.plots.style import CURRENT_COLOR, REFERENCE_COLOR


def distribution_figure(reference: pd.Series, current: pd.Series, column: str) -> go.Figure:
    """Overlaid histograms (as shares) of one feature in the reference and current data."""
    fig = go.Figure()
    bins = shared_bins(reference, current)
    for name, values, color in (("reference", reference, REFERENCE_COLOR), ("current", current, CURRENT_COLOR)):
        fig.add_histogram(
            x=values, name=name, histnorm="probability", opacity=0.55, marker_color=color, xbins=bins, autobinx=False
        )
    fig.update_layout(
        barmode="overlay",
        title={"text": f"{column}: distribution", "font": {"size": 14}},
        yaxis={"title": "share"},
        height=300,
        margin={"t": 40, "b": 10, "l": 10, "r": 10},
    )
    return fig


def shared_bins(reference: pd.Series, current: pd.Series, count: int = 30) -> dict[str, float] | None:
    """One set of histogram bins over both samples, so their shares compare bar by bar (``None`` if not numeric)."""
    reference, current = pd.Series(np.asarray(reference)), pd.Series(np.asarray(current))
    if not (pd.api.types.is_numeric_dtype(reference) and pd.api.types.is_numeric_dtype(current)):
        return None
    both = pd.concat([reference, current], ignore_index=True).astype(float).dropna()
    if both.empty:
        return None
    low, high = float(both.min()), float(both.max())
    if high <= low:
        return {"start": low - 0.5, "end": high + 0.5, "size": 1.0}
    size = (high - low) / count
    return {"start": low, "end": high + size * 1e-6, "size": size}


def ecdf_figure(reference: pd.Series, current: pd.Series, column: str) -> go.Figure:
    """Empirical CDFs of one numeric feature; the KS statistic is their largest vertical gap."""

    fig = go.Figure()
    for name, values, color in (("reference", reference, REFERENCE_COLOR), ("current", current, CURRENT_COLOR)):
        x = np.sort(np.asarray(values, dtype=float))
        if len(x) > 2000:  # plot a thinned curve; the shape is what matters
            x = x[np.linspace(0, len(x) - 1, 2000).astype(int)]
        fig.add_scatter(x=x, y=np.linspace(0, 1, len(x)), mode="lines", name=name, line={"color": color, "shape": "hv"})
    fig.update_layout(
        title={"text": f"{column}: ECDF", "font": {"size": 14}},
        yaxis={"range": [0, 1]},
        height=300,
        margin={"t": 40, "b": 10, "l": 10, "r": 10},
    )
    return fig


def drift_over_time_figure(windows: pd.DataFrame, threshold: float) -> go.Figure:
    """Share of drifted features per window, with the dataset-drift threshold line."""
    fig = go.Figure(
        go.Scatter(
            x=windows["end"],
            y=windows["drift_share"],
            mode="lines+markers",
            name="drift share",
            customdata=windows[["rows", "drifted"]],
            hovertemplate="%{y:.0%} of features (%{customdata[0]} rows)<br>%{customdata[1]}<extra></extra>",
        )
    )
    fig.add_hline(y=threshold, line_dash="dash", line_color=CURRENT_COLOR, annotation_text="dataset drift")
    fig.update_layout(
        yaxis={"title": "drifted features", "tickformat": ".0%", "range": [0, 1.05]},
        height=300,
        margin={"t": 20, "b": 10, "l": 10, "r": 10},
    )
    return fig
