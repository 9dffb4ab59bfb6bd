"""Every table's numbers go through one set of column formats."""

from __future__ import annotations

import pandas as pd
import pytest

from dashboard.formats import MILLISECONDS, P_VALUE, PERCENT, column_config, number_format


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
