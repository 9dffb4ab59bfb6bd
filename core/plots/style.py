"""Shared styling of every figure: colours, margins."""

from __future__ import annotations

ARM_COLORS = {"champion": "#2e7d32", "challenger": "#ef6c00"}


def with_alpha(hex_color: str, alpha: float) -> str:
    r, g, b = (int(hex_color[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def legend_below() -> dict:
    """A horizontal legend at the foot of the figure, under the x-axis labels.

    Anchored to the container, not the plot: at ``y=-0.2`` of the plot it ran into the axis title
    at one height and left a gap at another; above the plot it covered a half-width figure's title.
    Give the figure a bottom margin that fits it (:data:`MARGIN_LEGEND_BELOW`).
    """
    return {
        "orientation": "h",
        "xanchor": "left",
        "x": 0,
        "yref": "container",
        "yanchor": "bottom",
        "y": 0,
        "font": {"size": 11},
    }


#: Room under a time axis (tick labels and the date line) for a one-row legend.
MARGIN_LEGEND_BELOW = {"t": 40, "b": 70, "l": 10, "r": 10}


# -- explanations --------------------------------------------------------------------------------
MARGIN = {"t": 40, "b": 10, "l": 10, "r": 10}
REFERENCE_COLOR, CURRENT_COLOR = "#1565c0", "#c62828"
