"""Shared styling of every figure: colours, margins."""

from __future__ import annotations

ARM_COLORS = {"champion": "#2e7d32", "challenger": "#ef6c00"}


def with_alpha(hex_color: str, alpha: float) -> str:
    r, g, b = (int(hex_color[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


# -- explanations --------------------------------------------------------------------------------
MARGIN = {"t": 40, "b": 10, "l": 10, "r": 10}
REFERENCE_COLOR, CURRENT_COLOR = "#1565c0", "#c62828"
