"""Tables users upload (CSV), read with errors that name the problem."""

from __future__ import annotations

import csv
import io

import pandas as pd

from core.errors import InvalidInputError

MAX_CSV_BYTES = 20 * 1024 * 1024


def read_csv_upload(data: bytes, name: str = "the file", max_bytes: int = MAX_CSV_BYTES) -> pd.DataFrame:
    """``data`` as a DataFrame with its header as column names.

    Raises:
        InvalidInputError: larger than ``max_bytes``, empty, not text, not a CSV, or a header
            that names a column twice (pandas would silently rename the second to ``name.1``).
    """
    if len(data) > max_bytes:
        raise InvalidInputError(f"{name} is {len(data) / 2**20:.1f} MB, more than the limit of {max_bytes // 2**20} MB")
    if not data.strip():
        raise InvalidInputError(f"{name} is empty")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInputError(f"{name} is not UTF-8 text; save it as a UTF-8 CSV") from None
    first_line = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t", "|"), key=first_line.count)  # Excel in many locales writes ";"
    header = next(csv.reader(io.StringIO(text), delimiter=delimiter), [])
    twice = sorted({c for c in header if header.count(c) > 1})
    if twice:
        raise InvalidInputError(
            f"{name} names the column(s) {', '.join(repr(c) for c in twice)} more than once; name each column once"
        )
    try:
        return pd.read_csv(io.StringIO(text), sep=delimiter)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        raise InvalidInputError(f"{name} is not a readable CSV: {str(exc)[:200]}") from None
