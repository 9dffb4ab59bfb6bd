"""Live traffic figures: cumulative A/B accuracy, requests over time, class mix, top-k."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from core.plots.style import ARM_COLORS, MARGIN_LEGEND_BELOW, legend_below, with_alpha


def topk_figure(top: list[tuple[str, float]], title: str = "") -> go.Figure:
    """Horizontal bars of the top-k classes, most probable on top."""
    labels = [label for label, _ in top][::-1]
    probs = [p for _, p in top][::-1]
    fig = go.Figure(
        go.Bar(
            x=probs,
            y=labels,
            orientation="h",
            text=[f"{p:.1%}" for p in probs],
            textposition="auto",
            hovertemplate="%{y}: %{x:.4f}<extra></extra>",
        )
    )
    fig.update_layout(
        title={"text": title, "font": {"size": 14}},
        xaxis={"range": [0, 1], "tickformat": ".0%"},
        yaxis={"type": "category"},
        margin={"t": 40 if title else 10, "b": 10, "l": 10, "r": 10},
        height=60 + 34 * max(len(top), 1),
    )
    return fig


def cumulative_accuracy_figure(
    cumulative: pd.DataFrame, value: str = "accuracy", title: str = "cumulative accuracy", percent: bool = True
) -> go.Figure:
    """Cumulative accuracy (or ``value``, e.g. a regressor's MAE) per arm over time with its 95% band."""
    fig = go.Figure()
    for arm, rows in cumulative.groupby("arm"):
        color = ARM_COLORS.get(str(arm), "#1565c0")
        fig.add_scatter(
            x=rows["at"], y=rows["high"], mode="lines", line={"width": 0}, showlegend=False, hoverinfo="skip"
        )
        fig.add_scatter(
            x=rows["at"],
            y=rows["low"],
            mode="lines",
            line={"width": 0},
            fill="tonexty",
            fillcolor=with_alpha(color, 0.18),
            showlegend=False,
            hoverinfo="skip",
        )
        fig.add_scatter(
            x=rows["at"],
            y=rows[value],
            mode="lines",
            name=str(arm),
            line={"color": color},
            customdata=rows["n"],
            hovertemplate="%{y:.4g} after %{customdata} labels<extra></extra>",
        )
    yaxis: dict = {"title": title, **({"tickformat": ".0%"} if percent else {})}
    if not percent and len(cumulative):
        # An error after a handful of labels (and its band) can be many times its later value: scale to the
        # line and band from each arm's 20th label on, so the comparison that matters is readable (the first
        # few points may leave the chart; hovering still shows them).
        settled = cumulative[cumulative["n"] >= 20]
        shown = settled if len(settled) else cumulative
        top = float(pd.concat([shown[value], shown["high"]]).max())
        yaxis["range"] = [0, 1.1 * top]
    fig.update_layout(
        yaxis=yaxis,
        height=320,
        margin={"t": 20, "b": 10, "l": 10, "r": 10},
        legend={"orientation": "h"},
    )
    return fig


#: Legend names of the monitoring series.
SERIES_NAMES = {"rps": "requests/s", "error_rate": "failed (5xx)", "rejected_rate": "refused (4xx)"}


def timeseries_figure(
    frame: pd.DataFrame, columns: list[str], title: str, y_title: str, percent: bool = False
) -> go.Figure:
    """Lines of ``columns`` over ``at`` (named as :data:`SERIES_NAMES` says)."""
    fig = go.Figure()
    for column in columns:
        fig.add_scatter(x=frame["at"], y=frame[column], mode="lines+markers", name=SERIES_NAMES.get(column, column))
    fig.update_layout(
        title={"text": title, "font": {"size": 14}},
        height=300,
        yaxis={"title": y_title, "tickformat": ".0%" if percent else None, "rangemode": "tozero"},
        # Under the time axis: above the plot, a half-width figure's legend ran over its title.
        margin=MARGIN_LEGEND_BELOW,
        legend=legend_below(),
    )
    return fig


def class_mix_figure(mix: pd.DataFrame) -> go.Figure:
    """Stacked shares of predicted classes over time."""
    fig = go.Figure()
    for label, rows in mix.groupby("predicted"):
        fig.add_bar(x=rows["at"], y=rows["share"], name=str(label))
    fig.update_layout(
        barmode="stack",
        title={"text": "Predicted-class mix", "font": {"size": 14}},
        height=300,
        yaxis={"tickformat": ".0%", "range": [0, 1]},
        margin=MARGIN_LEGEND_BELOW,
        legend=legend_below(),
    )
    return fig
