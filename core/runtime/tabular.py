"""MLflow's scoring protocol in, a validated feature matrix out.

Accepts the bodies ``mlflow models serve`` accepts — ``dataframe_split``,
``dataframe_records``, ``inputs`` and ``instances`` — and checks them against the
version's signature. Every problem raises :class:`InvalidInputError` naming it.
Parsing works on plain lists (no pandas per request): it is on every request's path.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.errors import InvalidInputError

PAYLOAD_KEYS = ("dataframe_split", "dataframe_records", "inputs", "instances")
NUMERIC_TYPES = {"double", "float", "long", "integer"}
INTEGER_TYPES = {"long", "integer"}
ANY = "any"  # a column named by the estimator (no signature logged): numbers, strings or booleans
#: What each signature type accepts, in words (for error messages).
EXPECTED = {
    "double": "a number",
    "float": "a number",
    "long": "an integer",
    "integer": "an integer",
    "string": "a string",
    "binary": "a string",
    "boolean": "true or false",
    "datetime": "an ISO 8601 date-time string",
}
_MISSING = object()


@dataclass(frozen=True)
class Column:
    """One input column of a signature."""

    name: str
    type: str
    required: bool = True
    categories: tuple[Any, ...] | None = None  # the only values the model accepts (an encoder that refuses others)


def signature_columns(signature: Any) -> list[Column]:
    """The named input columns of an MLflow ``ModelSignature`` (empty if it has none)."""
    if signature is None or signature.inputs is None:
        return []
    columns = []
    for spec in signature.inputs.inputs:
        name = getattr(spec, "name", None)
        if name is None:
            return []
        type_name = getattr(getattr(spec, "type", None), "name", str(getattr(spec, "type", "")))
        columns.append(Column(name, str(type_name), bool(getattr(spec, "required", True))))
    return columns


def payload_to_matrix(body: dict[str, Any], columns: list[Column], max_rows: int) -> np.ndarray:
    """Turn one scoring-protocol body into a float64 matrix with ``columns`` in order.

    Raises:
        InvalidInputError: no or several payload keys, malformed payload, empty or too many
            rows, missing or extra features, non-numeric or non-finite values.
    """
    present = [k for k in PAYLOAD_KEYS if body.get(k) is not None]
    if not present:
        raise InvalidInputError(f"the body needs one of {', '.join(PAYLOAD_KEYS)}")
    if len(present) > 1:
        raise InvalidInputError(f"the body has several payloads ({', '.join(present)}); send exactly one")
    if not columns:
        raise InvalidInputError("this model version has no column signature; re-log it with a signature")
    key = present[0]
    names = [c.name for c in columns]
    got, rows = _to_rows(key, body[key], names)
    if not rows:
        raise InvalidInputError(f"{key}: no rows to predict")
    if len(rows) > max_rows:
        raise InvalidInputError(f"{key}: {len(rows)} rows is more than the limit of {max_rows} per request")
    return _check(key, got, rows, columns)


def _to_rows(key: str, payload: Any, names: list[str]) -> tuple[list[str], list[list[Any]]]:
    """``(column names, rows)`` from any accepted payload shape."""
    if key == "dataframe_split":
        if not isinstance(payload, dict) or "data" not in payload:
            raise InvalidInputError("dataframe_split must be an object with 'columns' and 'data'")
        data, cols = payload["data"], payload.get("columns") or names
        if not isinstance(data, list) or not all(isinstance(r, list) for r in data):
            raise InvalidInputError("dataframe_split.data must be a list of rows (lists)")
        if not isinstance(cols, list) or not all(isinstance(c, str) for c in cols):
            raise InvalidInputError("dataframe_split.columns must be a list of names")
        twice = sorted({c for c in cols if cols.count(c) > 1})
        if twice:
            shown = ", ".join(repr(c) for c in twice)
            raise InvalidInputError(f"dataframe_split.columns names {shown} more than once; name each column once")
        for i, r in enumerate(data):
            if len(r) != len(cols):
                raise InvalidInputError(f"dataframe_split.data row {i} has {len(r)} values for {len(cols)} columns")
        return cols, data
    if key == "dataframe_records" or (isinstance(payload, list) and payload and isinstance(payload[0], dict)):
        if not isinstance(payload, list) or not all(isinstance(r, dict) for r in payload):
            raise InvalidInputError(f"{key} must be a list of objects (one per row)")
        cols = list(dict.fromkeys(k for r in payload for k in r))
        return cols, [[r.get(c, _MISSING) for c in cols] for r in payload]
    if isinstance(payload, dict):  # {"col": [values...]}
        lengths = {len(v) if isinstance(v, list) else -1 for v in payload.values()}
        if -1 in lengths or len(lengths) > 1:
            raise InvalidInputError(f"{key} as an object must map each column to a list of equal length")
        cols = list(payload)
        return cols, [list(r) for r in zip(*payload.values(), strict=True)]
    if isinstance(payload, list):
        rows = payload if payload and isinstance(payload[0], list) else [payload] if payload else []
        if not all(isinstance(r, list) for r in rows):
            raise InvalidInputError(f"{key} must be a list of rows")
        for i, r in enumerate(rows):
            if len(r) != len(names):
                raise InvalidInputError(f"{key} row {i} has {len(r)} values; the signature has {len(names)} columns")
        return names, rows
    raise InvalidInputError(f"{key} must be a list or an object")


#: Name prefix of the columns of a version with no signature and no feature names (see :func:`positional_columns`).
POSITIONAL = "#"


def positional_columns(count: int) -> list[Column]:
    """``count`` numeric columns taken by position, whatever a request calls them.

    For a version logged without a signature whose estimator was fitted on an array (no
    ``feature_names_in_``): like MLflow's own scoring server, it takes the columns each request
    brings, in their order; only their number and their values are checked.
    """
    return [Column(f"{POSITIONAL}{i}", "double", True) for i in range(count)]


def _check(key: str, got: list[str], rows: list[list[Any]], columns: list[Column]) -> np.ndarray:
    if columns and all(c.name.startswith(POSITIONAL) for c in columns):
        if len(got) != len(columns):
            raise InvalidInputError(
                f"{key}: {len(got)} column(s) for a model that takes {len(columns)} (no signature, fitted without "
                "column names: any names, in the order the model was trained on)"
            )
        got = [c.name for c in columns]  # by position
    expected = [c.name for c in columns]
    position = {name: i for i, name in enumerate(got)}
    missing = [c.name for c in columns if c.required and c.name not in position]
    extra = [c for c in got if c not in set(expected)]
    problems = []
    if missing:
        problems.append(f"missing feature(s): {', '.join(repr(m) for m in missing)}")
    if extra:
        problems.append(f"unknown feature(s): {', '.join(repr(e) for e in extra)}")
    if problems:
        raise InvalidInputError(f"{key}: " + "; ".join(problems))
    left_out = {c.name for c in columns if not c.required and c.name not in position}
    if not all(c.type in NUMERIC_TYPES for c in columns):
        return _check_typed(key, got, rows, columns, position, left_out)
    if got != expected:
        # An optional column the request leaves out is missing (NaN) in every row, as in MLflow.
        order = [position.get(name) for name in expected]
        rows = [[row[i] if i is not None else math.nan for i in order] for row in rows]
    for i, row in enumerate(rows):
        for name, value in zip(expected, row, strict=True):
            kind = type(value)
            if name in left_out:
                continue
            if kind is float:
                if not math.isfinite(value):
                    raise InvalidInputError(
                        f"{key}: feature {name!r} row {i} is {value}; only finite numbers are allowed"
                    )
            elif kind is not int:
                shown = "missing" if value is _MISSING else f"{kind.__name__} {value!r}"[:200]
                raise InvalidInputError(f"{key}: feature {name!r} row {i} must be a number, got {shown}")
            elif abs(value) > _MAX_DOUBLE:
                raise InvalidInputError(f"{key}: feature {name!r} row {i} is an integer too large for a number")
    return np.asarray(rows, dtype="float64")


def is_typed(columns: list[Column]) -> bool:
    """True when some column is not numeric (string, boolean, datetime): rows travel as objects."""
    return any(c.type not in NUMERIC_TYPES for c in columns)


def _check_typed(
    key: str,
    got: list[str],
    rows: list[list[Any]],
    columns: list[Column],
    position: dict[str, int],
    left_out: set[str],
) -> np.ndarray:
    """Rows of a signature with string/boolean/datetime columns: each value checked against its column's type."""
    order = [position.get(c.name) for c in columns]
    checked = np.empty((len(rows), len(columns)), dtype=object)
    for i, row in enumerate(rows):
        for j, (column, at) in enumerate(zip(columns, order, strict=True)):
            if at is None or column.name in left_out:
                checked[i, j] = None
                continue
            checked[i, j] = _typed_value(key, column, i, row[at])
    return checked


#: The integers a ``long`` column takes (NumPy's int64), and the largest number a ``double`` holds.
_INT64 = (-(2**63), 2**63 - 1)
_MAX_DOUBLE = 1.7976931348623157e308


def _typed_value(key: str, column: Column, row: int, value: Any) -> Any:
    kind = column.type
    ok = False
    if value is _MISSING:
        pass
    elif kind in ("double", "float"):
        ok = type(value) in (int, float) and abs(value) <= _MAX_DOUBLE and math.isfinite(value)
        value = float(value) if ok else value
    elif kind in INTEGER_TYPES:
        ok = (type(value) is int or (type(value) is float and value.is_integer())) and _INT64[0] <= value <= _INT64[1]
        value = int(value) if ok else value
    elif kind in ("string", "binary"):
        ok = type(value) is str
    elif kind == "boolean":
        ok = type(value) is bool
    elif kind == "datetime":
        ok = type(value) is str and _parses_as_datetime(value)
    else:
        ok = value is None or type(value) in (int, float, str, bool)
    if ok and column.categories is not None and value not in column.categories:
        known = ", ".join(repr(c) for c in column.categories[:20]) + (", ..." if len(column.categories) > 20 else "")
        shown_value = repr(value) if len(repr(value)) <= 80 else repr(value)[:77] + "..."  # never echo a huge body
        raise InvalidInputError(
            f"{key}: feature {column.name!r} row {row} is {shown_value}, a category the model does not know ({known})"
        )
    if ok:
        return value
    shown = "missing" if value is _MISSING else f"{type(value).__name__} {value!r}"[:200]
    raise InvalidInputError(
        f"{key}: feature {column.name!r} row {row} must be {EXPECTED.get(kind, kind)} ({kind}), got {shown}"
    )


def _parses_as_datetime(text: str) -> bool:
    from datetime import datetime

    try:
        datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def typed_frame(matrix: np.ndarray, columns: list[Column]) -> Any:
    """A pandas DataFrame of ``matrix`` with each column in its signature's dtype (what the model was fitted on)."""
    import pandas as pd

    if matrix.dtype != object:
        return pd.DataFrame(matrix, columns=[c.name for c in columns])
    # dtype=object: text stays plain Python strings. pandas 3 would otherwise store it Arrow-backed,
    # and the encoders in a pipeline convert it back on every call (a quarter of a churn request's time).
    frame = pd.DataFrame(matrix, columns=[c.name for c in columns], dtype=object)
    for c in columns:
        values = frame[c.name]
        has_missing = values.isna().any()
        if c.type in ("double", "float"):
            frame[c.name] = values.astype("float64")
        elif c.type in INTEGER_TYPES:
            frame[c.name] = values.astype("float64" if has_missing else "int64")
        elif c.type == "boolean" and not has_missing:
            frame[c.name] = values.astype(bool)
        elif c.type == "datetime":
            # Naive times are taken as UTC and offsets converted to it, so "…T10:00" and "…T10:00Z" mix
            # in one batch; the model gets naive datetime64 values, as MLflow's datetime type is.
            frame[c.name] = pd.to_datetime(values, format="ISO8601", utc=True).dt.tz_localize(None)
        elif c.type == ANY and values.map(lambda v: type(v) in (int, float)).all():
            frame[c.name] = values.astype("float64")
    return frame


def with_known_categories(columns: list[Column], model: Any) -> list[Column]:
    """``columns`` with the categories of every encoder in ``model`` that refuses unknown ones.

    Walks scikit-learn pipelines and column transformers for ``OneHotEncoder``/``OrdinalEncoder``
    steps with ``handle_unknown="error"`` fitted on named columns; other models are returned as is.
    """
    from dataclasses import replace

    known: dict[str, tuple[Any, ...]] = {}
    _collect_categories(model, None, known)
    if not known:
        return columns
    return [replace(c, categories=known[c.name]) if c.name in known else c for c in columns]


def _collect_categories(step: Any, names: list[str] | None, known: dict[str, tuple[Any, ...]]) -> None:
    kind = type(step).__name__
    if kind == "Pipeline":
        for _, inner in step.steps:
            _collect_categories(inner, names, known)
            names = None  # after the first step, columns are no longer the input's
    elif kind == "ColumnTransformer":
        for _, inner, cols in getattr(step, "transformers_", []):
            if isinstance(cols, (list, tuple)) and all(isinstance(c, str) for c in cols):
                _collect_categories(inner, list(cols), known)
    elif kind in ("OneHotEncoder", "OrdinalEncoder") and getattr(step, "handle_unknown", "") == "error":
        fitted = getattr(step, "categories_", None)
        names = names if names is not None else [str(n) for n in getattr(step, "feature_names_in_", [])] or None
        if names is not None and fitted is not None and len(fitted) == len(names):
            for name, values in zip(names, fitted, strict=True):
                known[name] = tuple(v.item() if hasattr(v, "item") else v for v in values)


def estimator_columns(model: Any) -> list[Column]:
    """Columns named by a fitted estimator's ``feature_names_in_`` (fitted on a DataFrame), else none.

    Their types are unknown without a signature: each takes numbers, strings or booleans (``any``).
    """
    found = getattr(model, "feature_names_in_", None)
    return [Column(str(n), ANY, True) for n in found] if found is not None else []


def example_columns(local: Path) -> list[Column]:
    """The columns of the version's logged input example (type ``any``), else none."""

    try:
        data = json.loads((local / "input_example.json").read_text())
        return [Column(str(n), ANY, True) for n in data["columns"]]
    except Exception:
        return []


def output_types(signature: Any) -> list[str]:
    """The type names of a signature's outputs (``double``, ``string``, ``float32``...), or none."""
    if signature is None or signature.outputs is None:
        return []
    found = []
    for spec in signature.outputs.inputs:
        kind = getattr(spec, "type", None)
        found.append(str(getattr(kind, "name", kind)).replace("float64", "double").replace("float32", "float"))
    return found


def probe_rows(local: Path, columns: list[Column]) -> np.ndarray | None:
    """Rows to warm and verify with: the logged input example, else zeros (``None``: nothing safe to send)."""

    names = [c.name for c in columns]
    example = local / "input_example.json"
    if is_typed(columns):  # zeros are not a string or a date: only a logged example warms a typed model
        try:
            data = json.loads(example.read_text())
            return payload_to_matrix({"dataframe_split": data}, columns, max_rows=1000)
        except Exception:
            return None
    try:
        data = json.loads(example.read_text())
        cols, rows = data.get("columns", names), data["data"]
        frame = pd.DataFrame(rows, columns=cols)[names]
        return np.vstack([frame.to_numpy(dtype="float64"), np.zeros((1, len(names)))])
    except Exception:
        return np.zeros((1, len(names)))
