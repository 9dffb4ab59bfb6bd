"""Every table's numbers go through one set of column formats."""

from __future__ import annotations

import pandas as pd
import pytest

from dashboard.formats import MILLISECONDS, P_FLOOR, P_VALUE, PERCENT, column_config, displayed, number_format


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
