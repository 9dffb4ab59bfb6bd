"""Evaluation figures: confusion matrices, ROC and precision–recall curves, calibration."""

from __future__ import annotations

import plotly.graph_objects as go

from core.analysis.evaluation import Evaluation
from core.plots.style import MARGIN

SOURCE_STYLE = {"held-out": {"color": "#1565c0", "dash": "solid"}, "live": {"color": "#c62828", "dash": "dot"}}


def confusion_figure(evaluation: Evaluation) -> go.Figure:
    """Counts of true (rows) × predicted (columns) classes, each cell also as a share of its true class."""
    counts = evaluation.confusion
    shares = counts.div(counts.sum(axis=1).replace(0, 1), axis=0)
    text = [
        [f"{n:,}<br>{s:.0%}" for n, s in zip(row_n, row_s, strict=True)]
        for row_n, row_s in zip(counts.to_numpy(), shares.to_numpy(), strict=True)
    ]
    fig = go.Figure(
        go.Heatmap(
            z=shares.to_numpy(),
            x=[str(c) for c in counts.columns],
            y=[str(c) for c in counts.index],
            text=text,
            texttemplate="%{text}",
            colorscale="Blues",
            zmin=0,
            zmax=1,
            showscale=False,
            hovertemplate="true %{y}, predicted %{x}: %{text}<extra></extra>",
        )
    )
    fig.update_layout(
        title={"text": f"Confusion matrix, {evaluation.source} ({evaluation.rows:,} rows)", "font": {"size": 14}},
        xaxis={"title": "predicted", "type": "category"},
        yaxis={"title": "true", "type": "category", "autorange": "reversed"},
        margin=MARGIN,
        height=max(280, 40 * len(counts) + 120),
    )
    return fig


def curve_figure(evaluations: list[Evaluation], kind: str) -> go.Figure:
    """ROC (``kind="roc"``) or precision–recall (``"pr"``) curves of each evaluation, areas in the legend."""
    fig = go.Figure()
    area_column = "roc_auc" if kind == "roc" else "average_precision"
    for ev in evaluations:
        style = SOURCE_STYLE.get(ev.source, {})
        areas = ev.areas.set_index("class")[area_column]
        for cls, rows in ev.curves[ev.curves["kind"] == kind].groupby("class", sort=False):
            name = f"{ev.source}: {cls} ({'AUC' if kind == 'roc' else 'AP'} {areas.get(cls, float('nan')):.3f})"
            fig.add_scatter(
                x=rows["x"],
                y=rows["y"],
                mode="lines",
                name=name,
                line={"dash": style.get("dash")},
                line_color=style.get("color"),
            )
    if kind == "roc":
        fig.add_scatter(x=[0, 1], y=[0, 1], mode="lines", name="chance", line={"dash": "dash", "color": "#9e9e9e"})
    fig.update_layout(
        title={"text": "ROC curve" if kind == "roc" else "Precision–recall curve", "font": {"size": 14}},
        xaxis={"title": "false positive rate" if kind == "roc" else "recall", "range": [0, 1]},
        yaxis={"title": "true positive rate" if kind == "roc" else "precision", "range": [0, 1.02]},
        margin=MARGIN,
        height=360,
        legend=_inside("right" if kind == "roc" else "left", "bottom") if len(fig.data) <= 5 else _beside(),
    )
    return fig


def calibration_figure(evaluations: list[Evaluation]) -> go.Figure:
    """Reliability diagram: observed frequency against mean predicted probability, the diagonal is perfect."""
    fig = go.Figure()
    fig.add_scatter(
        x=[0, 1], y=[0, 1], mode="lines", name="perfectly calibrated", line={"dash": "dash", "color": "#9e9e9e"}
    )
    for ev in evaluations:
        style = SOURCE_STYLE.get(ev.source, {})
        cal = ev.calibration
        fig.add_scatter(
            x=cal["predicted"],
            y=cal["observed"],
            mode="lines+markers",
            name=ev.source,
            line={"color": style.get("color"), "dash": style.get("dash")},
            customdata=cal["count"],
            hovertemplate="predicted %{x:.2f}, observed %{y:.2f} over %{customdata} rows<extra></extra>",
        )
    binary = len(evaluations[0].confusion) == 2 if evaluations else True
    fig.update_layout(
        title={"text": "Calibration", "font": {"size": 14}},
        xaxis={"title": "mean predicted probability" + ("" if binary else " (top class)"), "range": [0, 1]},
        yaxis={"title": "observed frequency" if binary else "accuracy", "range": [0, 1.02]},
        margin=MARGIN,
        height=360,
        legend=_inside("left", "top"),
    )
    return fig


def _inside(x: str, y: str) -> dict:
    """A legend inside the plot's emptiest corner (below it, it ran into the axis title)."""
    return {
        "xanchor": x,
        "x": 0.98 if x == "right" else 0.02,
        "yanchor": y,
        "y": 0.02 if y == "bottom" else 0.98,
        "bgcolor": "rgba(255,255,255,0.8)",
        "font": {"size": 11},
    }


def _beside() -> dict:
    """A legend right of the plot, for one curve per class of a many-class model."""
    return {"xanchor": "left", "x": 1.02, "yanchor": "top", "y": 1, "font": {"size": 10}}
