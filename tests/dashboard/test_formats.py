"""Every table's numbers go through one set of column formats."""

from __future__ import annotations

import pandas as pd
import pytest

from dashboard.formats import (
    MILLISECONDS,
    MISSING,
    P_FLOOR,
    P_VALUE,
    PERCENT,
    TEXT_WIDTH,
    column_config,
    column_order,
    displayed,
    number_format,
)


@pytest.mark.parametrize(
    ("column", "expected"),
    [
        ("p_value", P_VALUE),
        ("p_adjusted", P_VALUE),
        ("sequential_p", P_VALUE),
        ("latency_p50", MILLISECONDS),
        ("latency_ms", MILLISECONDS),
        ("drift_share", PERCENT),
        ("accuracy", PERCENT),
        ("error_rate", PERCENT),
        ("top-1 agreement", PERCENT),
        ("change (points)", "%+.2f"),
        ("latency ratio", "%.3g"),
        ("size vs Keras", "%.3g"),
        ("delta", "%+.4f"),
        ("rows", None),
        ("version", None),
    ],
)
def test_number_format_by_column_name(column: str, expected: str | None) -> None:
    assert number_format(column) == expected


def test_only_numeric_columns_are_configured() -> None:
    frame = pd.DataFrame({"column": ["a"], "p_value": [6e-61], "drifted": [True], "rows": [3]})
    config = column_config(frame)
    assert set(config) == {"p_value"}
    assert config["p_value"]["type_config"]["format"] == P_VALUE


def test_p_values_that_underflowed_show_as_the_floor_not_zero() -> None:
    """Image drift printed p = 0.00e+0."""
    frame = pd.DataFrame({"column": ["a", "b", "c"], "p_value": [0.0, 3e-5, None], "statistic": [0.0, 1.0, 2.0]})
    shown = displayed(frame)
    assert (
        shown["p_value"].iloc[0] == P_FLOOR and shown["p_value"].iloc[1] == 3e-5 and pd.isna(shown["p_value"].iloc[2])
    )
    assert shown["statistic"].iloc[0] == 0.0 and frame["p_value"].iloc[0] == 0.0  # only p-values; the input is kept
    assert "1e-300" in column_config(frame)["p_value"]["help"]


def test_shares_show_as_percent_with_one_decimal() -> None:
    """drift_share printed as 83.33%."""
    shown = displayed(pd.DataFrame({"drift_share": [0.8333333, 0.05], "rows": [3, 4]}))
    assert shown["drift_share"].round(4).tolist() == [83.3333, 5.0] and shown["rows"].tolist() == [3, 4]
    assert number_format("drift_share") == "%.1f%%"


def test_a_column_with_its_own_format_is_not_scaled() -> None:
    """The Registry's accuracy column (own format %.4f) showed 94.4056."""
    from streamlit.testing.v1 import AppTest

    def page() -> None:
        import pandas as pd

        from dashboard import formats

        frame = pd.DataFrame({"version": [3], "accuracy": [0.944056], "drift_share": [0.25]})
        formats.table(frame, key="t", columns=formats.metric_columns(["accuracy"]))

    at = AppTest.from_function(page).run()
    shown = at.dataframe[0].value
    assert shown["accuracy"].iloc[0] == 0.944056 and shown["drift_share"].iloc[0] == 25.0
    assert list(shown.columns) == ["version", "accuracy", "drift_share"]


def test_missing_values_show_as_a_dash_not_none() -> None:
    """A PSI row's p_value, a small segment's drift_share, a reason never given all printed "None"."""
    from streamlit.testing.v1 import AppTest

    def page() -> None:
        import pandas as pd

        from dashboard import formats

        frame = pd.DataFrame(
            {"column": ["a", "b"], "test": ["psi", "ks"], "p_value": [None, 0.03], "reason": [None, "looks fine"]}
        )
        formats.table(frame, key="t")

    at = AppTest.from_function(page).run()
    assert not at.exception
    shown = at.dataframe[0]
    assert MISSING == "—" and shown.proto.placeholder == MISSING
    # still missing in the data (so a numeric column sorts), only shown as a dash
    assert pd.isna(shown.value["p_value"].iloc[0]) and shown.value["p_value"].iloc[1] == 0.03


def test_text_columns_are_wide_and_last() -> None:
    """The alias history's reason was cut off at 1280 px."""
    frame = pd.DataFrame(
        {
            "reason": ["accuracy 0.944 > 0.923, and a sentence more"],
            "alias": ["champion"],
            "drifted": [True],  # a flag, not text
            "why": [None],
            "error_rate": [0.1],  # a number, not text
        }
    )
    config = column_config(frame)
    assert config["reason"]["width"] == TEXT_WIDTH == "large" and config["why"]["width"] == "large"
    assert "drifted" not in config and config["error_rate"]["type_config"]["format"] == PERCENT
    assert column_order(frame) == ["alias", "drifted", "error_rate", "reason", "why"]
    assert column_order(frame[["alias", "reason"]]) is None  # already last: the frame's own order
    segments = pd.DataFrame({"segment": ["champion"], "drifted": ["mean radius, mean texture"]})
    assert column_config(segments)["drifted"]["width"] == "large"  # a segment's list of drifted features


def test_long_text_wraps_onto_taller_rows() -> None:
    """A reason of a sentence or two ran off its cell; wrapped rows show four lines of it."""
    from dashboard.formats import LONG_TEXT, WRAPPED_ROW_HEIGHT, wrapped_row_height

    short = pd.DataFrame({"alias": ["champion"], "reason": ["runner-up"]})
    long = pd.DataFrame({"alias": ["champion", "challenger"], "reason": [None, "x" * (LONG_TEXT + 1)]})
    assert wrapped_row_height(short) is None and wrapped_row_height(long) == WRAPPED_ROW_HEIGHT > 64
    assert wrapped_row_height(pd.DataFrame({"column": ["x" * 100]})) is None  # not free text by name
