"""CSV uploads: read as the user wrote them, or refused with the reason."""

from __future__ import annotations

import pytest

from core.analysis.uploads import read_csv_upload
from core.errors import InvalidInputError


def test_semicolon_and_tab_separated_files_read_as_well() -> None:
    """A semicolon CSV got 'missing 30 columns / 1 unexpected column'."""
    for sep in (";", "\t"):
        frame = read_csv_upload(f"a{sep}b\n1,5{sep}x\n".replace(",", ".").encode())
        assert list(frame.columns) == ["a", "b"] and frame["a"].tolist() == [1.5]


def test_a_csv_with_a_bom_reads_with_its_header() -> None:
    frame = read_csv_upload("\ufeffa,b\n1,x\n2,y\n".encode())
    assert list(frame.columns) == ["a", "b"] and frame["a"].tolist() == [1, 2]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "up.csv is empty"),
        (b"  \n", "up.csv is empty"),
        (b"a,b,a\n1,2,3\n", "names the column\\(s\\) 'a' more than once; name each column once"),
        (b"a,b\n\xff\xfe,1\n", "not UTF-8 text"),
        (b'a,b\n"1,2\n', "not a readable CSV"),
        (b"a\n" + b"1\n" * 600_000, "more than the limit of 1 MB"),
    ],
)
def test_bad_uploads_name_the_problem(data: bytes, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        read_csv_upload(data, "up.csv", max_bytes=2**20)
