"""Pure figure builders: typed results in, plotly figures out (no Streamlit)."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from core import names
from core.analysis.explain import ImageExplanation, TabularExplanation
from core.registry.facade import VersionInfo
from core.runtime.tflite import BuildReport
from core.store.db import AliasMove

HEADLINE_METRICS = ("accuracy", "f1", "roc_auc")


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
            text=[f"{v.metrics[m]:.3f}" for m in shown],
            textposition="outside",
        )
    fig.update_layout(
        barmode="group",
        yaxis={"title": "held-out score", "range": [0, 1.08]},
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
        margin={"t": 30, "b": 10, "l": 10, "r": 10},
        height=260,
    )
    return fig


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


ARM_COLORS = {"champion": "#2e7d32", "challenger": "#ef6c00"}


def cumulative_accuracy_figure(cumulative: pd.DataFrame) -> go.Figure:
    """Cumulative accuracy per arm over time with its Wilson 95% band."""
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
            fillcolor=_alpha(color, 0.18),
            showlegend=False,
            hoverinfo="skip",
        )
        fig.add_scatter(
            x=rows["at"],
            y=rows["accuracy"],
            mode="lines",
            name=str(arm),
            line={"color": color},
            customdata=rows["n"],
            hovertemplate="%{y:.3f} after %{customdata} labels<extra></extra>",
        )
    fig.update_layout(
        yaxis={"title": "cumulative accuracy", "tickformat": ".0%"},
        height=320,
        margin={"t": 20, "b": 10, "l": 10, "r": 10},
        legend={"orientation": "h"},
    )
    return fig


def timeseries_figure(
    frame: pd.DataFrame, columns: list[str], title: str, y_title: str, percent: bool = False
) -> go.Figure:
    """Lines of ``columns`` over ``at``."""
    fig = go.Figure()
    for column in columns:
        fig.add_scatter(x=frame["at"], y=frame[column], mode="lines+markers", name=column)
    fig.update_layout(
        title={"text": title, "font": {"size": 14}},
        height=260,
        yaxis={"title": y_title, "tickformat": ".0%" if percent else None, "rangemode": "tozero"},
        margin={"t": 40, "b": 10, "l": 10, "r": 10},
        legend={"orientation": "h"},
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
        height=260,
        yaxis={"tickformat": ".0%", "range": [0, 1]},
        margin={"t": 40, "b": 10, "l": 10, "r": 10},
    )
    return fig


def _alpha(hex_color: str, alpha: float) -> str:
    r, g, b = (int(hex_color[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


REFERENCE_COLOR, CURRENT_COLOR = "#1565c0", "#c62828"


def distribution_figure(reference: pd.Series, current: pd.Series, column: str) -> go.Figure:
    """Overlaid histograms (as shares) of one feature in the reference and current data."""
    fig = go.Figure()
    fig.add_histogram(x=reference, name="reference", histnorm="probability", opacity=0.55, marker_color=REFERENCE_COLOR)
    fig.add_histogram(x=current, name="current", histnorm="probability", opacity=0.55, marker_color=CURRENT_COLOR)
    fig.update_layout(
        barmode="overlay",
        title={"text": f"{column}: distribution", "font": {"size": 14}},
        yaxis={"title": "share"},
        height=300,
        margin={"t": 40, "b": 10, "l": 10, "r": 10},
    )
    return fig


def ecdf_figure(reference: pd.Series, current: pd.Series, column: str) -> go.Figure:
    """Empirical CDFs of one numeric feature; the KS statistic is their largest vertical gap."""
    import numpy as np

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


# -- explanations --------------------------------------------------------------------------------
_MARGIN = {"t": 40, "b": 10, "l": 10, "r": 10}


def _class_title(expl: TabularExplanation, k: int) -> str:
    return f"contribution to P({expl.classes[k]})"


def importance_figure(expl: TabularExplanation, k: int, top: int = 15) -> go.Figure:
    """Global importance: mean |SHAP| per feature for class ``k``, the ``top`` largest."""
    imp = expl.importance(k).head(top)[::-1]
    fig = go.Figure(go.Bar(x=imp.to_numpy(), y=list(imp.index), orientation="h", marker_color="#1f77b4"))
    fig.update_layout(
        title=f"Mean |SHAP| over {expl.data.shape[0]} rows ({expl.method})",
        xaxis={"title": f"mean |{_class_title(expl, k)}|"},
        margin=_MARGIN,
        height=max(260, 22 * len(imp) + 90),
    )
    return fig


def beeswarm_figure(expl: TabularExplanation, k: int, top: int = 15) -> go.Figure:
    """One dot per row and feature: SHAP value across, feature rank (low→high) as colour."""
    import numpy as np

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
        texts.extend(f"{feature} = {v:.4g}" for v in column)
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
        margin=_MARGIN,
        height=max(300, 26 * len(order) + 100),
    )
    return fig


def waterfall_figure(expl: TabularExplanation, row: int, k: int, top: int = 10, title: str = "") -> go.Figure:
    """One row: from the base value through the largest contributions to the model output."""
    frame = expl.row_frame(row, k)
    shown, rest = frame.head(top), frame.iloc[top:]
    labels = [f"{f} = {v:.4g}" for f, v in zip(shown["feature"], shown["value"], strict=True)]
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
        )
    )
    fig.update_layout(
        title=title or f"Row explanation: P({expl.classes[k]}) = {output:.3f}",
        yaxis={"autorange": "reversed"},
        xaxis={"title": _class_title(expl, k)},
        margin=_MARGIN,
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
        marker.update(color=expl.data[:, c], colorscale="Bluered", colorbar={"title": interaction[:18]})
    fig = go.Figure(
        go.Scattergl(
            x=expl.data[:, j],
            y=expl.for_class(k)[:, j],
            mode="markers",
            marker=marker,
            hovertemplate=f"{feature} %{{x:.4g}}<br>SHAP %{{y:.4f}}<extra></extra>",
        )
    )
    fig.add_hline(y=0, line_color="#888", line_width=1)
    fig.update_layout(
        title=f"Dependence: {feature}" + (f" (colour: {interaction})" if interaction else ""),
        xaxis={"title": feature},
        yaxis={"title": f"SHAP for {feature}"},
        margin=_MARGIN,
        height=360,
    )
    return fig


def saliency_figure(expl: ImageExplanation, k: int | None = None, title: str = "") -> go.Figure:
    """The model input in grey with the attributions to class ``k`` (default: top class) on top.

    Red pixels pushed the class up, blue pushed it down; the colour scale is symmetric.
    """
    import numpy as np

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
            colorbar={"title": "attribution"},
            hovertemplate="x %{x}, y %{y}<br>%{z:.4f}<extra></extra>",
            name="attribution",
        )
    )
    fig.update_layout(
        title=title or f"Why {expl.classes[k]} ({expl.probabilities[k]:.1%}, {expl.method})",
        yaxis={"autorange": "reversed", "scaleanchor": "x", "visible": False},
        xaxis={"visible": False},
        margin=_MARGIN,
        height=320,
    )
    return fig


def export_report_figure(reports: list[BuildReport]) -> go.Figure:
    """The report card as three panels: size vs Keras, LiteRT latency vs Keras, accuracy change."""
    from plotly.subplots import make_subplots

    keys = [r.key for r in reports]
    colours = ["#2ca02c" if r.accepted else "#d62728" for r in reports]
    fig = make_subplots(
        rows=1,
        cols=3,
        subplot_titles=("size vs Keras (×)", "latency vs Keras call (×)", "accuracy change (points)"),
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
            text=[f"{v:+.2f}" if col == 3 else f"{v:.3g}" for v in values],
            textposition="outside",
            showlegend=False,
            row=1,
            col=col,
        )
    limit = reports[0].max_accuracy_drop if reports else 1.0
    fig.add_hline(y=-limit, line_dash="dash", line_color="#d62728", row=1, col=3)
    changes = panels[2] or [0.0]
    # Keep zero and the gate line in view, with room for the labels of bars of any sign.
    low, high = min(min(changes), -limit, 0.0), max(max(changes), 0.0)
    pad = max(0.5, 0.2 * (high - low))
    fig.update_yaxes(range=[low - pad, high + pad], zeroline=True, row=1, col=3)
    fig.update_traces(cliponaxis=False)
    fig.update_layout(margin=_MARGIN, height=340)
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
