"""Evaluation figures: confusion matrices, ROC and precision–recall curves, calibration.

The curves are drawn three abreast (about 270 px each on a 1280 px screen): legends go under the
plot, horizontally, pinned to the bottom of the figure, so they never cover a curve, a tick label or
an axis title, and the margin grows with them.
"""

from __future__ import annotations

import plotly.graph_objects as go

from core.analysis.evaluation import Evaluation
from core.analysis.evaluation_regression import RegressionEvaluation
from core.plots.style import MARGIN, legend_below

SOURCE_STYLE = {"held-out": {"color": "#1565c0", "dash": "solid"}, "live": {"color": "#c62828", "dash": "dot"}}
SOURCE_LABEL = {"held-out": "held-out set", "live": "live traffic"}
TITLE_FONT = {"size": 14}
CURVE_HEIGHT = 420  # the plot area stays near square at 270 px wide once the legend takes its rows
# Room under the plot for the x-axis title and a three-row legend: the same for every curve figure,
# so the three plot areas side by side line up (an auto-grown margin differs with the legend's rows).
CURVE_MARGIN = {**MARGIN, "b": 125}


def source_label(source: str) -> str:
    """``held-out set`` or ``live traffic``: what an evaluation's rows are, in a figure's words."""
    return SOURCE_LABEL.get(source, source)


def confusion_figure(evaluation: Evaluation) -> go.Figure:
    """Counts of true (rows) × predicted (columns) classes, each cell also as a share of its true class."""
    counts = evaluation.confusion
    shares = counts.div(counts.sum(axis=1).replace(0, 1), axis=0)
    text = [
        [f"{n:,}<br>{s:.0%}" for n, s in zip(row_n, row_s, strict=True)]
        for row_n, row_s in zip(counts.to_numpy(), shares.to_numpy(), strict=True)
    ]
    many = len(counts) > 6  # ten digits: smaller cell text, so "100%" fits a 35-px cell
    fig = go.Figure(
        go.Heatmap(
            z=shares.to_numpy(),
            x=[str(c) for c in counts.columns],
            y=[str(c) for c in counts.index],
            text=text,
            texttemplate="%{text}",
            textfont={"size": 9 if many else 12},
            colorscale="Blues",
            zmin=0,
            zmax=1,
            showscale=False,
            hovertemplate="true %{y}, predicted %{x}: %{text}<extra></extra>",
        )
    )
    unit = "rows" if evaluation.source == "held-out" else "labelled requests"
    fig.update_layout(
        title={"text": f"{source_label(evaluation.source)}: {evaluation.rows:,} {unit}", "font": TITLE_FONT},
        xaxis={"title": "predicted", "type": "category"},
        yaxis={"title": "true", "type": "category", "autorange": "reversed"},
        margin={**MARGIN, "b": 40},
        height=max(300, 40 * len(counts) + 140),
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
            area = f"{'AUC' if kind == 'roc' else 'AP'} {areas.get(cls, float('nan')):.3f}"
            fig.add_scatter(
                x=rows["x"],
                y=rows["y"],
                mode="lines",
                name=f"{ev.source}: {cls} ({area})",
                line={"dash": style.get("dash")},
                line_color=style.get("color"),
                hovertemplate=f"{source_label(ev.source)}, {cls}<br>%{{x:.3f}}, %{{y:.3f}}<extra></extra>",
            )
    if kind == "roc":
        fig.add_scatter(x=[0, 1], y=[0, 1], mode="lines", name="chance", line={"dash": "dash", "color": "#9e9e9e"})
    fig.update_layout(
        title={"text": "ROC curve" if kind == "roc" else "Precision–recall", "font": TITLE_FONT},
        xaxis={"title": "false positive rate" if kind == "roc" else "recall", "range": [0, 1]},
        yaxis={"title": "true positive rate" if kind == "roc" else "precision", "range": [0, 1.02]},
        margin=CURVE_MARGIN,
        height=CURVE_HEIGHT,
        legend=_below(),
    )
    return fig


def calibration_figure(evaluations: list[Evaluation]) -> go.Figure:
    """Reliability diagram: observed frequency against mean predicted probability, the diagonal is perfect."""
    fig = go.Figure()
    fig.add_scatter(x=[0, 1], y=[0, 1], mode="lines", name="perfect", line={"dash": "dash", "color": "#9e9e9e"})
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
            hovertemplate=f"{source_label(ev.source)}<br>predicted %{{x:.2f}}, observed %{{y:.2f}} "
            "over %{customdata} rows<extra></extra>",
        )
    binary = len(evaluations[0].confusion) == 2 if evaluations else True
    fig.update_layout(
        title={"text": "Calibration", "font": TITLE_FONT},
        # multiclass: the top class's probability (the confidence) against how often the top class is right
        xaxis={"title": "predicted probability" if binary else "top-class probability", "range": [0, 1]},
        yaxis={"title": "observed frequency" if binary else "accuracy", "range": [0, 1.02]},
        margin=CURVE_MARGIN,
        height=CURVE_HEIGHT,
        legend=_below(),
    )
    return fig


def _below() -> dict:
    """A horizontal legend at the foot of the figure (:func:`core.plots.style.legend_below`)."""
    return legend_below()


def predicted_actual_figure(evaluations: list[RegressionEvaluation]) -> go.Figure:
    """Predicted against actual values, one colour per data set, with the line of perfect predictions."""
    fig = go.Figure()
    points = [ev.points for ev in evaluations]
    low = min(float(min(p["actual"].min(), p["predicted"].min())) for p in points)
    high = max(float(max(p["actual"].max(), p["predicted"].max())) for p in points)
    fig.add_trace(
        go.Scatter(
            x=[low, high], y=[low, high], mode="lines", name="perfect", line={"color": "#9e9e9e", "dash": "dash"}
        )
    )
    for ev in evaluations:
        style = SOURCE_STYLE.get(ev.source, {"color": "#616161"})
        fig.add_trace(
            go.Scattergl(
                x=ev.points["actual"],
                y=ev.points["predicted"],
                mode="markers",
                name=f"{source_label(ev.source)} ({ev.rows:,})",
                marker={"color": style["color"], "size": 5, "opacity": 0.55},
            )
        )
    fig.update_layout(
        title={"text": "Predicted vs actual", "font": TITLE_FONT},
        xaxis_title="actual",
        yaxis_title="predicted",
        height=CURVE_HEIGHT,
        margin=CURVE_MARGIN,
        legend=_below(),
    )
    return fig


def error_distribution_figure(evaluations: list[RegressionEvaluation]) -> go.Figure:
    """Histogram of ``predicted - actual`` per data set (share of rows), overlaid."""
    fig = go.Figure()
    for ev in evaluations:
        style = SOURCE_STYLE.get(ev.source, {"color": "#616161"})
        fig.add_trace(
            go.Histogram(
                x=ev.points["error"],
                histnorm="probability",
                name=f"{source_label(ev.source)} (mean {ev.bias:+.3g})",
                marker={"color": style["color"]},
                opacity=0.55,
                nbinsx=40,
            )
        )
    fig.update_layout(
        title={"text": "Errors (predicted − actual)", "font": TITLE_FONT},
        barmode="overlay",
        xaxis_title="error",
        yaxis_title="share of rows",
        height=CURVE_HEIGHT,
        margin=CURVE_MARGIN,
        legend=_below(),
    )
    return fig
