"""Attach reference rows to a version from a file: checked against its columns, stored with its run, recorded.

For versions registered without ModelOps' ``reference/reference.parquet`` whose run logged no
readable training dataset: Drift, Explain and the simulator read these rows. A CSV or Parquet
file with the version's feature columns (and optionally its labels in a ``target`` column) is
validated value by value with the same rules as the prediction route, written as
``reference/reference.parquet`` of the version's run and recorded in the edit history.
"""

from __future__ import annotations

import io
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core import names
from core.analysis.uploads import read_csv_upload
from core.errors import InvalidInputError
from core.registry.facade import Registry
from core.runtime.tabular import NUMERIC_TYPES, POSITIONAL, Column, payload_to_matrix
from core.store.edits import VersionEdit, now, record_edits

MAX_REFERENCE_BYTES = 50 * 1024 * 1024
MAX_REFERENCE_ROWS = 200_000
MIN_REFERENCE_ROWS = 30


def read_table(data: bytes, name: str) -> pd.DataFrame:
    """A CSV or Parquet upload as a DataFrame (Parquet by its ``.parquet`` name or its magic bytes).

    Raises:
        InvalidInputError: too large, empty, or not a readable CSV/Parquet file.
    """
    if len(data) > MAX_REFERENCE_BYTES:
        raise InvalidInputError(
            f"{name} is {len(data) / 2**20:.1f} MB, more than the limit of {MAX_REFERENCE_BYTES // 2**20} MB"
        )
    if name.lower().endswith(".parquet") or data[:4] == b"PAR1":
        try:
            return pd.read_parquet(io.BytesIO(data))
        except Exception as exc:  # pyarrow raises several kinds for a damaged file
            raise InvalidInputError(f"{name} is not a readable Parquet file: {str(exc)[:200]}") from None
    return read_csv_upload(data, name, max_bytes=MAX_REFERENCE_BYTES)


def check_reference(
    frame: pd.DataFrame,
    columns: list[Column],
    name: str = "the file",
    *,
    task: str = "classification",
    classes: list[Any] | None = None,
) -> pd.DataFrame:
    """``frame`` checked against the version's ``columns``: the features in order, plus ``target`` if present.

    ``target`` must hold numbers for a regressor and the model's ``classes`` for a classifier.

    Raises:
        InvalidInputError: unknown or missing columns, too few or too many rows, a value that does
            not fit its column's type (named as the prediction route names it, with its row), or a
            label the model cannot have produced.
    """
    if not columns:
        raise InvalidInputError("this version has no known columns (no signature); it cannot take reference rows")
    wanted = [c.name for c in columns]
    if wanted[0].startswith(POSITIONAL):  # no names to match: the file's feature columns, in order
        features = [c for c in frame.columns if c != names.TARGET]
        if len(features) != len(wanted):
            raise InvalidInputError(
                f"{name} has {len(features)} feature column(s); the model takes {len(wanted)}, by position"
            )
        frame = frame.rename(columns=dict(zip(features, wanted, strict=True)))
    extra = [str(c) for c in frame.columns if c not in wanted and c != names.TARGET]
    if extra:
        raise InvalidInputError(
            f"{name} has column(s) the model does not take: {', '.join(extra[:8])}; keep the model's columns "
            f"and, optionally, the label in a column named {names.TARGET!r}"
        )
    if len(frame) < MIN_REFERENCE_ROWS:
        raise InvalidInputError(f"{name} has {len(frame)} rows; at least {MIN_REFERENCE_ROWS} are needed")
    if len(frame) > MAX_REFERENCE_ROWS:
        raise InvalidInputError(f"{name} has {len(frame):,} rows, more than the limit of {MAX_REFERENCE_ROWS:,}")
    frame = _numbers_from_text(frame, columns, name)
    present = [c for c in wanted if c in frame.columns]
    values = frame[present].astype(object).where(frame[present].notna(), None).to_numpy().tolist()
    rows = [[v.item() if isinstance(v, np.generic) else v for v in row] for row in values]
    try:
        payload_to_matrix({"dataframe_split": {"columns": present, "data": rows}}, columns, len(rows))
    except InvalidInputError as exc:
        raise InvalidInputError(f"{name}: {str(exc).removeprefix('dataframe_split: ')}") from None
    checked = frame[wanted].copy()
    if names.TARGET in frame.columns:
        checked[names.TARGET] = _labels(frame[names.TARGET], name, task, classes)
    return checked.reset_index(drop=True)


def _numbers_from_text(frame: pd.DataFrame, columns: list[Column], name: str) -> pd.DataFrame:
    """Numeric columns a CSV reader left as text (one bad cell makes a column text): the first bad cell named."""
    frame = frame.copy()
    for column in columns:
        if column.name not in frame.columns or column.type not in NUMERIC_TYPES:
            continue
        values = frame[column.name]
        if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            continue
        numbers = pd.to_numeric(values, errors="coerce")
        bad = values.notna() & numbers.isna()
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise InvalidInputError(
                f"{name}: column {column.name!r} row {row} must be a number ({column.type}), got {values.iloc[row]!r}"[
                    :300
                ]
            )
        integral = column.type not in ("double", "float") and bool((numbers.dropna() % 1 == 0).all())
        frame[column.name] = numbers.astype("Int64") if integral else numbers
    return frame


def _labels(target: pd.Series, name: str, task: str, classes: list[Any] | None) -> np.ndarray:
    """The ``target`` column checked against the model: finite numbers for a regressor, its classes otherwise."""
    if task == "regression":
        numbers = pd.to_numeric(target, errors="coerce")
        bad = ~np.isfinite(numbers.to_numpy(dtype="float64"))
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise InvalidInputError(
                f"{name}: {names.TARGET!r} row {row} must be a number (the model is a regressor), "
                f"got {target.iloc[row]!r}"[:300]
            )
        return numbers.to_numpy(dtype="float64")
    if classes:
        known = {str(c) for c in classes}
        unknown = sorted({str(v) for v in target.dropna() if str(v) not in known})
        if unknown:
            raise InvalidInputError(
                f"{name}: {names.TARGET!r} holds label(s) {', '.join(repr(u) for u in unknown[:5])} that are not "
                f"classes of the model ({', '.join(repr(c) for c in classes[:10])})"[:400]
            )
    return target.to_numpy()


def attach_reference(
    registry: Registry,
    model: str,
    version: int,
    columns: list[Column],
    data: bytes,
    name: str,
    actor: str,
    *,
    task: str = "classification",
    classes: list[Any] | None = None,
) -> str:
    """Check the uploaded file and store it as the version's reference rows; returns what was done.

    Raises:
        InvalidInputError: the file or its rows do not fit (nothing is stored).
    """
    frame = check_reference(read_table(data, name), columns, name, task=task, classes=classes)
    info = registry.get_version(model, version)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "reference.parquet"
        frame.to_parquet(path, index=False)
        registry.client.log_artifact(info.run_id, str(path), names.REFERENCE_DIR)
    labelled = f", labels in {names.TARGET!r}" if names.TARGET in frame.columns else ", no labels"
    what = f"{name}: {len(frame):,} rows{labelled}"
    record_edits(registry.store, [VersionEdit(model, version, "reference", None, what, actor, now())])
    return f"{model} v{version}: reference rows attached ({what}), stored as {names.REFERENCE_DIR}/reference.parquet"
