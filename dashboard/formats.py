"""One set of column formats for every table the dashboard shows.

p-values in scientific notation (never sixty zeros), latencies in ms with one decimal, shares
and accuracies as percentages, a missing value as an em dash (never "None"), and free-text columns
(a reason, an error) wide and last, so they read at 1280 px. Columns are matched by name, so a table
from any core function gets the same formats as every other page: ``formats.table(frame, key=...)``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import streamlit as st

P_VALUE = "%.3g"  # 0.423 and 6.12e-05 alike: readable at both ends
P_FLOOR = 1e-300
P_FLOOR_HELP = "p-values below 1e-300 (too small for a float) are shown as 1.00e-300"
MILLISECONDS = "%.1f ms"
PERCENT = "%.1f%%"  # of the value × 100: :func:`displayed` scales the column (Streamlit's "percent" shows 83.33%)
COMPACT = "%.4g"
SIGNED = "%+.4f"
METRIC = "%.4f"
MISSING = "—"  # what an empty cell shows (Streamlit's own placeholder reads "None")
TEXT_WIDTH = "large"
WRAPPED_ROW_HEIGHT = 88  # px: above 4 rem, Streamlit wraps a cell's text (four lines of it)
HEADER_HEIGHT = 36  # px, with the table's border: what a table of n rows needs above them
LONG_TEXT = 60  # characters: a text column with a longer value gets wrapped rows

_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(^|[_ ])p([_ -]?value|_adjusted)?$|^p[_ -]|sequential_p|srm_p"), P_VALUE),
    (re.compile(r"\(ms\)$"), "%.2f"),
    (re.compile(r"(_ms$|^latency)"), MILLISECONDS),
    (re.compile(r"(share|accuracy|error_rate|agreement|rate$)"), PERCENT),
    (re.compile(r"^delta$"), SIGNED),
    (re.compile(r"^(statistic|threshold|shap|value)$"), COMPACT),
)

# Free text that runs to a sentence: a reason given for a promotion, why an arm runs where it does,
# an error message, the list of drifted features of a segment.
_TEXT = re.compile(r"(^|[_ ])(reasons?|why|errors?|messages?|descriptions?|details?|notes?|comments?|drifted)$")


def is_text_column(frame: pd.DataFrame, column: Any) -> bool:
    """Whether ``column`` of ``frame`` is free text, shown wide and last (by its name, and not a number or flag)."""
    series = frame[column]
    if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
        return False
    return bool(_TEXT.search(str(column).strip().lower()))


def number_format(column: str) -> str | None:
    """The format for a numeric column named ``column`` (``None``: Streamlit's default)."""
    name = column.strip().lower()
    if "ratio" in name or " vs " in name:
        return "%.3g"  # a ratio, e.g. "latency ratio": not milliseconds
    if "(points)" in name or "change" in name:
        return "%+.2f"
    for pattern, fmt in _RULES:
        if pattern.search(name):
            return fmt
    return None


def column_config(frame: pd.DataFrame) -> dict[str, Any]:
    """``st.dataframe`` column configuration: formats of the numeric columns, widths of the text ones."""
    config: dict[str, Any] = {}
    for column in frame.columns:
        if is_text_column(frame, column):
            config[str(column)] = st.column_config.TextColumn(width=TEXT_WIDTH)
            continue
        if not pd.api.types.is_numeric_dtype(frame[column]) or pd.api.types.is_bool_dtype(frame[column]):
            continue
        fmt = number_format(str(column))
        if fmt == P_VALUE:
            config[str(column)] = st.column_config.NumberColumn(format=fmt, help=P_FLOOR_HELP)
        elif fmt is not None:
            config[str(column)] = st.column_config.NumberColumn(format=fmt)
    return config


def displayed(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` as a table shows it: shares in percent, p-values that underflowed to 0 raised to :data:`P_FLOOR`.

    A p-value of exactly 0 is a number too small for a float, not a certainty; ``0.00e+0`` read as
    one. The floor keeps the column numeric, so it still sorts.
    """
    numeric = [
        c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])
    ]
    p_values = [c for c in numeric if number_format(str(c)) == P_VALUE]
    percents = [c for c in numeric if number_format(str(c)) == PERCENT]
    if not p_values and not percents:
        return frame
    out = frame.copy()
    for c in p_values:
        out[c] = out[c].where(out[c].isna() | (out[c] >= P_FLOOR), P_FLOOR)
    for c in percents:
        out[c] = out[c] * 100.0
    return out


def metric_columns(columns: list[str]) -> dict[str, Any]:
    """One format (4 decimals) for held-out metrics side by side, whatever their names say."""
    return {c: st.column_config.NumberColumn(format=METRIC) for c in columns}


def column_order(frame: pd.DataFrame) -> list[str] | None:
    """The columns with the free-text ones moved last (``None``: the frame's own order already is)."""
    names = [str(c) for c in frame.columns]
    text = [str(c) for c in frame.columns if is_text_column(frame, c)]
    order = [c for c in names if c not in text] + text
    return None if order == names else order


def wrapped_row_height(frame: pd.DataFrame) -> int | None:
    """:data:`WRAPPED_ROW_HEIGHT` when a free-text value is longer than a line (``None``: one-line rows)."""
    for column in frame.columns:
        if is_text_column(frame, column) and frame[column].dropna().astype(str).str.len().gt(LONG_TEXT).any():
            return WRAPPED_ROW_HEIGHT
    return None


def table(
    frame: pd.DataFrame,
    *,
    key: str | None = None,
    container: Any = st,
    columns: dict[str, Any] | None = None,
    height: int | str = "auto",
    row_height: int | None = None,
) -> None:
    """Show ``frame`` as a full-width table without its index, numbers formatted by :func:`number_format`.

    Missing values show as :data:`MISSING`; free-text columns wide and last, their cells wrapped
    onto four lines when a value is longer than :data:`LONG_TEXT` (unless ``row_height`` says
    otherwise). ``columns`` adds or overrides column configurations (e.g. a link column).
    """
    config = {**column_config(frame), **(columns or {})}
    # a column given its own format keeps its values (a percent scaling would show 94.4056)
    shown = displayed(frame.drop(columns=list(columns or {}), errors="ignore"))
    shown = pd.concat([shown, frame[[c for c in frame.columns if c in (columns or {})]]], axis=1)[list(frame.columns)]
    row_height = row_height if row_height is not None else wrapped_row_height(frame)
    if height == "auto" and row_height is not None and len(frame) <= 10:
        height = HEADER_HEIGHT + row_height * len(frame) + 2  # every row, not a 400-px window of them
    container.dataframe(
        shown,
        hide_index=True,
        width="stretch",
        height=height,
        row_height=row_height,
        key=key,
        column_config=config,
        column_order=column_order(frame),
        placeholder=MISSING,
    )


def moment(at: datetime | None) -> str:
    """A timestamp as people read it in a sentence: ``09:14:05 UTC`` today, ``28 Nov 09:14 UTC`` before."""
    if at is None:
        return "the start"
    at = at if at.tzinfo is not None else at.replace(tzinfo=UTC)
    at = at.astimezone(UTC)
    today = datetime.now(UTC).date()
    return at.strftime("%H:%M:%S UTC") if at.date() == today else at.strftime("%d %b %H:%M UTC")
