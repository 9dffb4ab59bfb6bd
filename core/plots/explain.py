"""Explanation figures: importance, beeswarm, waterfall, dependence, saliency."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from core.analysis.explain import PREDICTION, TabularExplanation
from core.analysis.explain_images import ImageExplanation
from core.plots.style import MARGIN


def _class_title(expl: TabularExplanation, k: int) -> str:
    return f"contribution to {output_name(expl, k)}"


def output_name(expl: TabularExplanation, k: int) -> str:
    """What is explained: ``P(benign)`` for a class, ``the prediction`` for a regressor."""
    return "the prediction" if expl.classes == [PREDICTION] else f"P({expl.class_label(k)})"


def importance_figure(expl: TabularExplanation, k: int, top: int = 15) -> go.Figure:
    """Global importance: mean |SHAP| per feature for class ``k``, the ``top`` largest."""
    imp = expl.importance(k).head(top)[::-1]
    fig = go.Figure(go.Bar(x=imp.to_numpy(), y=list(imp.index), orientation="h", marker_color="#1f77b4"))
    fig.update_layout(
        title=f"Mean |SHAP| over {expl.data.shape[0]} rows ({expl.method})",
        xaxis={"title": f"mean |{_class_title(expl, k)}|"},
        margin=MARGIN,
        height=max(260, 22 * len(imp) + 90),
    )
    return fig


def shown_value(value: object) -> str:
    """A feature value as text: numbers to 4 significant digits, strings, booleans and dates as they are."""
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_)):
        return f"{value:.4g}"
    return str(value)


def beeswarm_figure(expl: TabularExplanation, k: int, top: int = 15) -> go.Figure:
    """One dot per row and feature: SHAP value across, feature rank (low→high) as colour."""

    order = list(expl.importance(k).head(top).index)[::-1]
    values = expl.for_class(k)
    rng = np.random.default_rng(0)
    xs, ys, colours, texts = [], [], [], []
    for pos, feature in enumerate(order):
        j = expl.feature_names.index(feature)
        column = expl.data[:, j]
        ranks = pd.Series(column).rank(pct=True).to_numpy()
        xs.append(values[:, j])
        ys.append(pos + rng.uniform(-0.3, 0.3, size=len(column)))
        colours.append(ranks)
        texts.extend(f"{feature} = {shown_value(v)}" for v in column)
    fig = go.Figure(
        go.Scattergl(
            x=np.concatenate(xs) if xs else [],
            y=np.concatenate(ys) if ys else [],
            mode="markers",
            marker={
                "color": np.concatenate(colours) if colours else [],
                "colorscale": "Bluered",
                "size": 5,
                "opacity": 0.7,
                "cmin": 0.0,
                "cmax": 1.0,
                "colorbar": {"title": "feature value", "tickvals": [0, 1], "ticktext": ["low", "high"]},
            },
            text=texts,
            hovertemplate="%{text}<br>SHAP %{x:.4f}<extra></extra>",
        )
    )
    fig.add_vline(x=0, line_color="#888", line_width=1)
    fig.update_layout(
        title="Beeswarm: each dot is one row",
        xaxis={"title": _class_title(expl, k)},
        yaxis={"tickvals": list(range(len(order))), "ticktext": order},
        margin=MARGIN,
        height=max(300, 26 * len(order) + 100),
    )
    return fig


def waterfall_figure(expl: TabularExplanation, row: int, k: int, top: int = 10, title: str = "") -> go.Figure:
    """One row: from the base value through the largest contributions to the model output."""
    frame = expl.row_frame(row, k)
    shown, rest = frame.head(top), frame.iloc[top:]
    labels = [f"{f} = {shown_value(v)}" for f, v in zip(shown["feature"], shown["value"], strict=True)]
    deltas = list(shown["shap"])
    if len(rest):
        labels.append(f"{len(rest)} other features")
        deltas.append(float(rest["shap"].sum()))
    base = float(expl.base_values[k])
    output = float(expl.outputs[row, k])
    # Read bottom-up like shap's waterfall: base first, then the contributions, output last.
    fig = go.Figure(
        go.Waterfall(
            orientation="h",
            measure=["absolute", *["relative"] * len(deltas), "total"],
            y=["base value", *labels, "model output"],
            x=[base, *deltas, output],
            text=[f"{base:.3f}", *[f"{d:+.3f}" for d in deltas], f"{output:.3f}"],
            textposition="outside",
            increasing={"marker": {"color": "#d62728"}},
            decreasing={"marker": {"color": "#1f77b4"}},
            totals={"marker": {"color": "#7f7f7f"}},
            connector={"line": {"color": "#bbb"}},
            cliponaxis=False,
        )
    )
    # Room for the value labels outside the bars at both ends (two figures side by side are narrow).
    path = [base, *(base + float(v) for v in np.cumsum(deltas)), output]
    low, high = min(path), max(path)
    pad = 0.3 * (high - low) if high > low else 0.1
    fig.update_layout(
        title={"text": title or f"Row explanation: {output_name(expl, k)} = {output:.4g}", "font": {"size": 14}},
        yaxis={"autorange": "reversed", "automargin": True},
        xaxis={"title": _class_title(expl, k), "range": [low - pad, high + pad], "automargin": True},
        margin=MARGIN,
        height=max(300, 28 * len(labels) + 140),
        showlegend=False,
    )
    return fig


def dependence_figure(expl: TabularExplanation, feature: str, k: int, interaction: str | None = None) -> go.Figure:
    """A feature's value against its SHAP value, coloured by ``interaction`` (default: the strongest)."""
    j = expl.feature_names.index(feature)
    if interaction is None:
        strongest = expl.strongest_interaction(j, k)
        interaction = expl.feature_names[strongest] if strongest is not None else None
    marker: dict = {"size": 6, "opacity": 0.75}
    if interaction is not None:
        c = expl.feature_names.index(interaction)
        colour = pd.Series(expl.data[:, c]).rank(pct=True).to_numpy() if expl.data.dtype == object else expl.data[:, c]
        marker.update(color=colour, colorscale="Bluered", colorbar={"title": interaction[:18]})
    numeric = expl.data.dtype != object
    fig = go.Figure(
        go.Scattergl(
            x=expl.data[:, j],
            y=expl.for_class(k)[:, j],
            mode="markers",
            marker=marker,
            hovertemplate=f"{feature} %{{x{':.4g' if numeric else ''}}}<br>SHAP %{{y:.4f}}<extra></extra>",
        )
    )
    fig.add_hline(y=0, line_color="#888", line_width=1)
    fig.update_layout(
        title=f"Dependence: {feature}" + (f" (colour: {interaction})" if interaction else ""),
        # categories in a stable, sorted order (not the order the rows happened to show them)
        xaxis={"title": feature, **({} if numeric else {"categoryorder": "category ascending"})},
        yaxis={"title": f"SHAP for {feature}"},
        margin=MARGIN,
        height=360,
    )
    return fig


def saliency_figure(expl: ImageExplanation, k: int | None = None, title: str = "") -> go.Figure:
    """The model input in grey with the attributions to class ``k`` (default: top class) on top.

    Red pixels pushed the class up, blue pushed it down; the colour scale is symmetric.
    """

    k = expl.top_class if k is None else k
    heat = expl.heatmap(k)
    grey = expl.image.mean(axis=-1)
    limit = float(np.abs(heat).max()) or 1.0
    fig = go.Figure()
    fig.add_trace(go.Heatmap(z=grey, colorscale="gray", showscale=False, hoverinfo="skip", name="input"))
    fig.add_trace(
        go.Heatmap(
            z=heat,
            colorscale="RdBu_r",
            zmin=-limit,
            zmax=limit,
            opacity=0.6,
            colorbar={"title": {"text": "attribution", "side": "right"}, "thickness": 12, "len": 0.9},
            hovertemplate="x %{x}, y %{y}<br>%{z:.4f}<extra></extra>",
            name="attribution",
        )
    )
    fig.update_layout(
        title=title or f"Why {expl.classes[k]} ({expl.probabilities[k]:.1%}, {expl.method})",
        yaxis={"autorange": "reversed", "scaleanchor": "x", "visible": False},
        xaxis={"visible": False},
        margin=MARGIN,
        height=320,
    )
    return fig
