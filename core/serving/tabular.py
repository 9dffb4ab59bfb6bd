"""MLflow's scoring protocol in, a validated DataFrame out.

Accepts the bodies ``mlflow models serve`` accepts — ``dataframe_split``,
``dataframe_records``, ``inputs`` and ``instances`` — and checks them against the
version's signature. Every problem raises :class:`InvalidInputError` naming it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from core.errors import InvalidInputError

PAYLOAD_KEYS = ("dataframe_split", "dataframe_records", "inputs", "instances")
NUMERIC_TYPES = {"double", "float", "long", "integer"}


@dataclass(frozen=True)
class Column:
    """One input column of a signature."""

    name: str
    type: str
    required: bool = True


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


def payload_to_frame(body: dict[str, Any], columns: list[Column], max_rows: int) -> pd.DataFrame:
    """Turn one scoring-protocol body into a DataFrame with exactly ``columns``.

    Raises:
        InvalidInputError: no or several payload keys, malformed payload, empty or too many
            rows, missing or extra features, non-numeric or non-finite values.
    """
    present = [k for k in PAYLOAD_KEYS if body.get(k) is not None]
    if not present:
        raise InvalidInputError(f"the body needs one of {', '.join(PAYLOAD_KEYS)}")
    if len(present) > 1:
        raise InvalidInputError(f"the body has several payloads ({', '.join(present)}); send exactly one")
    key = present[0]
    frame = _to_frame(key, body[key], columns)
    if len(frame) == 0:
        raise InvalidInputError(f"{key}: no rows to predict")
    if len(frame) > max_rows:
        raise InvalidInputError(f"{key}: {len(frame)} rows is more than the limit of {max_rows} per request")
    return _check_columns(frame, columns, key)


def _to_frame(key: str, payload: Any, columns: list[Column]) -> pd.DataFrame:
    names = [c.name for c in columns]
    try:
        if key == "dataframe_split":
            if not isinstance(payload, dict) or "data" not in payload:
                raise InvalidInputError("dataframe_split must be an object with 'columns' and 'data'")
            data = payload["data"]
            cols = payload.get("columns") or names
            if not isinstance(data, list) or not all(isinstance(r, list) for r in data):
                raise InvalidInputError("dataframe_split.data must be a list of rows (lists)")
            if not isinstance(cols, list):
                raise InvalidInputError("dataframe_split.columns must be a list of names")
            bad = [i for i, r in enumerate(data) if len(r) != len(cols)]
            if bad:
                raise InvalidInputError(
                    f"dataframe_split.data row {bad[0]} has {len(data[bad[0]])} values for {len(cols)} columns"
                )
            return pd.DataFrame(data, columns=cols)
        if key == "dataframe_records" or (isinstance(payload, list) and payload and isinstance(payload[0], dict)):
            if not isinstance(payload, list) or not all(isinstance(r, dict) for r in payload):
                raise InvalidInputError(f"{key} must be a list of objects (one per row)")
            return pd.DataFrame.from_records(payload)
        if isinstance(payload, dict):  # {"col": [values...]} (tensor-style dict input)
            lengths = {len(v) if isinstance(v, list) else -1 for v in payload.values()}
            if -1 in lengths or len(lengths) > 1:
                raise InvalidInputError(f"{key} as an object must map each column to a list of equal length")
            return pd.DataFrame(payload)
        if isinstance(payload, list):
            rows = payload if payload and isinstance(payload[0], list) else [payload] if payload else []
            if not all(isinstance(r, list) for r in rows):
                raise InvalidInputError(f"{key} must be a list of rows")
            bad = [i for i, r in enumerate(rows) if len(r) != len(names)]
            if bad:
                raise InvalidInputError(
                    f"{key} row {bad[0]} has {len(rows[bad[0]])} values; the signature has {len(names)} columns"
                )
            return pd.DataFrame(rows, columns=names)
    except InvalidInputError:
        raise
    except (ValueError, TypeError) as exc:
        raise InvalidInputError(f"{key} is malformed: {exc}") from None
    raise InvalidInputError(f"{key} must be a list or an object")


def _check_columns(frame: pd.DataFrame, columns: list[Column], key: str) -> pd.DataFrame:
    if not columns:
        return frame
    expected = [c.name for c in columns]
    got = [str(c) for c in frame.columns]
    missing = [c.name for c in columns if c.required and c.name not in got]
    extra = [c for c in got if c not in expected]
    problems = []
    if missing:
        problems.append(f"missing feature(s): {', '.join(repr(m) for m in missing)}")
    if extra:
        problems.append(f"unknown feature(s): {', '.join(repr(e) for e in extra)}")
    if problems:
        raise InvalidInputError(f"{key}: " + "; ".join(problems))
    frame = frame[expected]
    out = {}
    for col in columns:
        if col.type not in NUMERIC_TYPES:
            out[col.name] = frame[col.name]
            continue
        values = frame[col.name].tolist()
        for i, value in enumerate(values):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value is None:
                raise InvalidInputError(
                    f"{key}: feature {col.name!r} row {i} must be a number, got {type(value).__name__} {value!r}"[:300]
                )
            if not math.isfinite(value):
                raise InvalidInputError(
                    f"{key}: feature {col.name!r} row {i} is {value}; only finite numbers are allowed"
                )
        out[col.name] = np.asarray(values, dtype="float64")
    return pd.DataFrame(out, columns=expected)
