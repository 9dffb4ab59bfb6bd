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

import numpy as np
import pandas as pd

from core import names
from core.analysis.uploads import read_csv_upload
from core.errors import InvalidInputError
from core.registry.facade import Registry
from core.runtime.tabular import Column, payload_to_matrix
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


def check_reference(frame: pd.DataFrame, columns: list[Column], name: str = "the file") -> pd.DataFrame:
    """``frame`` checked against the version's ``columns``: the features in order, plus ``target`` if present.

    Raises:
        InvalidInputError: unknown or missing columns, too few or too many rows, or a value that
            does not fit its column's type (named as the prediction route names it).
    """
    if not columns:
        raise InvalidInputError("this version has no known columns (no signature); it cannot take reference rows")
    wanted = [c.name for c in columns]
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
    present = [c for c in wanted if c in frame.columns]
    values = frame[present].astype(object).where(frame[present].notna(), None).to_numpy().tolist()
    rows = [[v.item() if isinstance(v, np.generic) else v for v in row] for row in values]
    try:
        payload_to_matrix({"dataframe_split": {"columns": present, "data": rows}}, columns, len(rows))
    except InvalidInputError as exc:
        raise InvalidInputError(f"{name}: {str(exc).removeprefix('dataframe_split: ')}") from None
    checked = frame[wanted].copy()
    if names.TARGET in frame.columns:
        checked[names.TARGET] = frame[names.TARGET].to_numpy()
    return checked.reset_index(drop=True)


def attach_reference(
    registry: Registry, model: str, version: int, columns: list[Column], data: bytes, name: str, actor: str
) -> str:
    """Check the uploaded file and store it as the version's reference rows; returns what was done.

    Raises:
        InvalidInputError: the file or its rows do not fit (nothing is stored).
    """
    frame = check_reference(read_table(data, name), columns, name)
    info = registry.get_version(model, version)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "reference.parquet"
        frame.to_parquet(path, index=False)
        registry.client.log_artifact(info.run_id, str(path), names.REFERENCE_DIR)
    labelled = f", labels in {names.TARGET!r}" if names.TARGET in frame.columns else ", no labels"
    what = f"{name}: {len(frame):,} rows{labelled}"
    record_edits(registry.store, [VersionEdit(model, version, "reference", None, what, actor, now())])
    return f"{model} v{version}: reference rows attached ({what}), stored as {names.REFERENCE_DIR}/reference.parquet"
