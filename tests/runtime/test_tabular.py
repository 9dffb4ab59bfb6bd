"""``payload_to_matrix``: every MLflow scoring-protocol shape in, a float64 matrix in signature order out.

Table-driven and in-process; the service's HTTP tests check the same messages reach a client.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import pandas as pd
import pytest

from core.errors import InvalidInputError
from core.runtime.tabular import PAYLOAD_KEYS, Column, payload_to_matrix, signature_columns

COLUMNS = [Column("a", "double"), Column("b", "double"), Column("c", "long")]
ROWS = [[1.0, 2.0, 3], [4.5, -5.0, 6]]
EXPECTED = np.array([[1.0, 2.0, 3.0], [4.5, -5.0, 6.0]])
RECORDS = [{"a": 1.0, "b": 2.0, "c": 3}, {"a": 4.5, "b": -5.0, "c": 6}]


GOOD: list[tuple[str, dict[str, Any], np.ndarray]] = [
    ("dataframe_split", {"dataframe_split": {"columns": ["a", "b", "c"], "data": ROWS}}, EXPECTED),
    (
        "dataframe_split-reordered",
        {"dataframe_split": {"columns": ["c", "a", "b"], "data": [[3, 1.0, 2.0], [6, 4.5, -5.0]]}},
        EXPECTED,
    ),
    ("dataframe_split-no-columns", {"dataframe_split": {"data": ROWS}}, EXPECTED),
    ("dataframe_records", {"dataframe_records": RECORDS}, EXPECTED),
    ("dataframe_records-key-order", {"dataframe_records": [{"c": 3, "b": 2.0, "a": 1.0}]}, EXPECTED[:1]),
    ("inputs-records", {"inputs": RECORDS}, EXPECTED),
    ("instances-records", {"instances": RECORDS}, EXPECTED),
    ("inputs-rows", {"inputs": ROWS}, EXPECTED),
    ("instances-rows", {"instances": ROWS}, EXPECTED),
    ("instances-one-flat-row", {"instances": [1.0, 2.0, 3]}, EXPECTED[:1]),
    ("inputs-columns", {"inputs": {"a": [1.0, 4.5], "b": [2.0, -5.0], "c": [3, 6]}}, EXPECTED),
    ("instances-columns-reordered", {"instances": {"c": [3, 6], "b": [2.0, -5.0], "a": [1.0, 4.5]}}, EXPECTED),
    ("ints-everywhere", {"instances": [[1, 2, 3]]}, np.array([[1.0, 2.0, 3.0]])),
    ("other-keys-ignored", {"instances": ROWS, "routing_key": "alice", "inputs": None}, EXPECTED),
]


@pytest.mark.parametrize(("case", "body", "expected"), GOOD, ids=[g[0] for g in GOOD])
def test_accepted_payload_shapes(case: str, body: dict[str, Any], expected: np.ndarray) -> None:
    matrix = payload_to_matrix(body, COLUMNS, max_rows=10)
    assert matrix.dtype == np.float64 and matrix.shape == expected.shape
    np.testing.assert_array_equal(matrix, expected)


def test_exactly_max_rows_is_accepted() -> None:
    assert payload_to_matrix({"instances": [[0, 0, 0]] * 3}, COLUMNS, max_rows=3).shape == (3, 3)


BAD: list[tuple[str, Any, str]] = [
    # which payload
    ("no-payload", {"routing_key": "x"}, "the body needs one of dataframe_split, dataframe_records, inputs, instances"),
    ("only-null-payload", {"inputs": None}, "the body needs one of"),
    (
        "two-payloads",
        {"dataframe_split": {"data": ROWS}, "inputs": ROWS},
        "the body has several payloads (dataframe_split, inputs); send exactly one",
    ),
    # malformed shapes
    ("split-not-object", {"dataframe_split": ROWS}, "dataframe_split must be an object with 'columns' and 'data'"),
    ("split-without-data", {"dataframe_split": {"columns": ["a"]}}, "must be an object with 'columns' and 'data'"),
    ("split-data-not-rows", {"dataframe_split": {"data": [1, 2, 3]}}, "dataframe_split.data must be a list of rows"),
    (
        "split-columns-not-names",
        {"dataframe_split": {"columns": ["a", 2, "c"], "data": [[1, 2, 3]]}},
        "dataframe_split.columns must be a list of names",
    ),
    (
        "split-duplicate-column",
        {"dataframe_split": {"columns": ["a", "b", "a"], "data": [[1, 2, 3]]}},
        "dataframe_split.columns names 'a' more than once; name each column once",
    ),
    (
        "split-ragged",
        {"dataframe_split": {"columns": ["a", "b", "c"], "data": [[1, 2, 3], [1, 2]]}},
        "dataframe_split.data row 1 has 2 values for 3 columns",
    ),
    ("records-not-objects", {"dataframe_records": [1, 2]}, "dataframe_records must be a list of objects (one per row)"),
    ("records-mixed", {"inputs": [{"a": 1, "b": 2, "c": 3}, [1, 2, 3]]}, "inputs must be a list of objects"),
    ("records-as-object", {"dataframe_records": {"a": 1}}, "dataframe_records must be a list of objects"),
    (
        "columns-unequal",
        {"inputs": {"a": [1, 2], "b": [1], "c": [1, 2]}},
        "inputs as an object must map each column to a list of equal length",
    ),
    ("columns-scalar", {"instances": {"a": 1, "b": 2, "c": 3}}, "instances as an object must map each column"),
    ("rows-mixed", {"instances": [[1, 2, 3], 4]}, "instances must be a list of rows"),
    ("rows-short", {"instances": [[1.0, 2.0]]}, "instances row 0 has 2 values; the signature has 3 columns"),
    ("flat-row-long", {"inputs": [1, 2, 3, 4]}, "inputs row 0 has 4 values; the signature has 3 columns"),
    ("payload-string", {"inputs": "1,2,3"}, "inputs must be a list or an object"),
    ("payload-number", {"instances": 7}, "instances must be a list or an object"),
    # empty and too many
    ("split-empty", {"dataframe_split": {"columns": ["a", "b"], "data": []}}, "dataframe_split: no rows to predict"),
    ("records-empty", {"dataframe_records": []}, "dataframe_records: no rows to predict"),
    ("rows-empty", {"instances": []}, "instances: no rows to predict"),
    ("columns-empty", {"inputs": {}}, "inputs: no rows to predict"),
    ("too-many-rows", {"instances": [[0, 0, 0]] * 4}, "instances: 4 rows is more than the limit of 3 per request"),
    # features
    ("missing", {"dataframe_records": [{"a": 1, "b": 2}]}, "dataframe_records: missing feature(s): 'c'"),
    ("extra", {"dataframe_records": [{**RECORDS[0], "age": 3}]}, "dataframe_records: unknown feature(s): 'age'"),
    (
        "missing-and-extra",
        {"dataframe_split": {"columns": ["a", "x", "y"], "data": [[1, 2, 3]]}},
        "dataframe_split: missing feature(s): 'b', 'c'; unknown feature(s): 'x', 'y'",
    ),
    (
        "key-missing-in-one-record",
        {"dataframe_records": [RECORDS[0], {"a": 1.0, "c": 3}]},
        "dataframe_records: feature 'b' row 1 must be a number, got missing",
    ),
    # types and values
    ("string", {"instances": [[1.0, "big", 3]]}, "instances: feature 'b' row 0 must be a number, got str 'big'"),
    ("numeric-string", {"instances": [["1.0", 2.0, 3]]}, "feature 'a' row 0 must be a number, got str '1.0'"),
    ("null", {"dataframe_records": [{**RECORDS[0], "c": None}]}, "feature 'c' row 0 must be a number, got NoneType"),
    ("bool", {"instances": [[True, 2.0, 3]]}, "feature 'a' row 0 must be a number, got bool True"),
    ("nested", {"instances": [[1.0, [2.0], 3]]}, "feature 'b' row 0 must be a number, got list [2.0]"),
    ("nan", {"instances": [ROWS[0], [math.nan, 1.0, 2]]}, "feature 'a' row 1 is nan; only finite numbers are allowed"),
    ("inf", {"inputs": {"a": [1.0], "b": [math.inf], "c": [1]}}, "feature 'b' row 0 is inf; only finite numbers"),
    ("minus-inf", {"dataframe_records": [{**RECORDS[0], "a": -math.inf}]}, "feature 'a' row 0 is -inf"),
]


@pytest.mark.parametrize(("case", "body", "message"), BAD, ids=[b[0] for b in BAD])
def test_bad_payloads_raise_a_message_naming_the_problem(case: str, body: Any, message: str) -> None:
    with pytest.raises(InvalidInputError, match=re.escape(message)):
        payload_to_matrix(body, COLUMNS, max_rows=3)


def test_long_values_are_cut_in_the_message() -> None:
    with pytest.raises(InvalidInputError) as info:
        payload_to_matrix({"instances": [["x" * 10_000, 1, 2]]}, COLUMNS, max_rows=3)
    assert len(str(info.value)) < 300 and "got str 'xxx" in str(info.value)


def test_a_version_without_a_column_signature_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="has no column signature"):
        payload_to_matrix({"instances": ROWS}, [], max_rows=10)


def test_every_payload_key_is_accepted() -> None:
    for key in PAYLOAD_KEYS:
        body = {key: {"data": ROWS}} if key == "dataframe_split" else {key: RECORDS}
        np.testing.assert_array_equal(payload_to_matrix(body, COLUMNS, max_rows=10), EXPECTED)


def test_an_optional_column_may_be_left_out() -> None:
    # It was a KeyError (a 500): a column the signature marks optional may be absent, and is then missing.
    columns = [Column("a", "double"), Column("b", "double", required=False)]
    matrix = payload_to_matrix({"dataframe_records": [{"a": 1.0}, {"a": 2.0}]}, columns, max_rows=10)
    assert matrix.shape == (2, 2) and list(matrix[:, 0]) == [1.0, 2.0] and np.isnan(matrix[:, 1]).all()


@pytest.mark.filterwarnings("ignore:Hint. Inferred schema contains integer")
def test_signature_columns_reads_names_types_and_required() -> None:
    from mlflow.models import infer_signature

    frame = pd.DataFrame({"x": [1.0, 2.0], "n": [1, 2]})
    columns = signature_columns(infer_signature(frame, np.array([0, 1])))
    assert [(c.name, c.type, c.required) for c in columns] == [("x", "double", True), ("n", "long", True)]
    assert signature_columns(None) == []
    # a tensor signature has no column names: nothing to check rows against
    assert signature_columns(infer_signature(np.zeros((2, 3)), np.array([0, 1]))) == []


def test_numbers_out_of_range_and_huge_categories_are_refused_briefly() -> None:
    from core.runtime.tabular import Column, payload_to_matrix

    typed = [Column("tenure", "long", True), Column("plan", "string", True, categories=["a", "b"])]
    with pytest.raises(InvalidInputError, match="feature 'tenure' row 0 must be an integer"):
        payload_to_matrix({"dataframe_records": [{"tenure": 10**25, "plan": "a"}]}, typed, 10)
    with pytest.raises(InvalidInputError) as caught:
        payload_to_matrix({"dataframe_records": [{"tenure": 3, "plan": "x" * 100_000}]}, typed, 10)
    assert "a category the model does not know" in str(caught.value) and len(str(caught.value)) < 400
    numeric = [Column("a", "double", True)]
    with pytest.raises(InvalidInputError, match="feature 'a' row 0 is an integer too large for a number"):
        payload_to_matrix({"dataframe_records": [{"a": 10**400}]}, numeric, 10)
