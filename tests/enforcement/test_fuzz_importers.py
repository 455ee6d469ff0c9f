"""Fuzzing the importers: the existing tests (test_import_parsing, test_import_formats, ...) feed
chosen good and bad files; here Hypothesis feeds arbitrary cells, arbitrary bytes under every
accepted suffix and arbitrary CSV rows under real headers. The importers must never crash:
a column parser returns a value or a reason for every cell, a file is read or refused with
``ImportFileError`` naming it, and a whole import reports each rejected row by number and
field (or refuses the file with the documented ``ValueError`` subclasses).
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from enforcement.importers import parsers
from enforcement.importers.core import import_file
from enforcement.importers.readers import ImportFileError, open_source

FUZZ = settings(
    max_examples=120,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

#: Cells as a CSV (text) or a spreadsheet (numbers, dates, booleans, empties) gives them.
CELL = st.one_of(
    st.none(),
    st.text(max_size=30),
    st.text(alphabet="0123456789.-+eE,; 年月日/:", max_size=24),
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.dates(min_value=dt.date(1, 1, 1)),
    st.datetimes(min_value=dt.datetime(1, 1, 1)),
)
TEXT_CELL = st.one_of(st.text(max_size=30), st.sampled_from(["", " ", "NaN", "1e400", "-0"]))

PARSERS = {
    "text": lambda v: parsers.text(v, 50),
    "industry_code": parsers.industry_code,
    "coordinates": parsers.coordinates,
    "date": parsers.date,
    "capital": parsers.capital,
    "interval_months": parsers.interval_months,
    "adcode": parsers.adcode,
    "uscc": parsers.uscc,
    "string_list": parsers.string_list,
    "boolean": lambda v: parsers.boolean(v, {"是": True, "否": False, "yes": True}),
    "choice": lambda v: parsers.choice(v, {"a": "a", "甲": "a"}, "kind", "类型"),
}


def check_parsed(result: parsers.Parsed, n: int) -> None:
    assert len(result.values) == n
    for row, why, why_zh in result.errors:
        assert 0 <= row < n
        assert isinstance(why, str) and why.strip()
        assert isinstance(why_zh, str) and why_zh.strip()
    for value in result.values:
        if isinstance(value, float):
            assert math.isfinite(value)  # NaN or infinity never passes as a value


@FUZZ
@given(name=st.sampled_from(sorted(PARSERS)), cells=st.lists(CELL, max_size=12))
def test_every_column_parser_answers_every_cell(name: str, cells: list[Any]) -> None:
    if name == "coordinates":
        cells = [cells[i : i + 2] if i % 3 else cells[i] for i in range(len(cells))]
    check_parsed(PARSERS[name](cells), len(cells))


@FUZZ
@given(name=st.sampled_from(sorted(PARSERS)), cells=st.lists(TEXT_CELL, max_size=12))
def test_every_column_parser_answers_every_text_cell(name: str, cells: list[str]) -> None:
    """All-text columns (CSV) take the parsers' fast paths: fuzz those too."""
    check_parsed(PARSERS[name](cells), len(cells))


SUFFIXES = [".csv", ".tsv", ".txt", ".xlsx", ".xlsm", ".geojson", ".json", ".csv.gz"]
BYTES = st.one_of(
    st.binary(max_size=400),
    st.text(max_size=200).map(lambda t: t.encode("utf-8")),
    st.sampled_from(
        [
            b"PK\x03\x04" + b"\x00" * 60,
            b'{"type": "FeatureCollection", "features": [null, 1, {"type": "Feature"}]}',
            b'{"type": "FeatureCollection", "features": [{"properties": {"a": [1]}}]}',
            b"\xef\xbb\xbfa,b,a\n1,2,3\n",
            b'a,b\n"unterminated,1\n',
            b"a;b\n1;2;3;4\n",
            "名称,代码\n甲,\x00\n".encode("gb18030"),
            b"\x1f\x8b\x08\x00garbage",
        ]
    ),
)


def read_all(path: Path) -> int:
    """Open and read every chunk; the number of rows read."""
    source = open_source(path)
    rows = 0
    for chunk in source.chunks(7):
        assert all(r >= 1 for r in chunk.rows)
        for column in chunk.columns.values():
            assert len(column) == len(chunk.rows)
        rows += len(chunk.rows)
    return rows


@FUZZ
@given(suffix=st.sampled_from(SUFFIXES), content=BYTES)
def test_any_bytes_under_any_suffix_read_or_are_refused_by_name(
    tmp_path_factory: pytest.TempPathFactory, suffix: str, content: bytes
) -> None:
    path = tmp_path_factory.mktemp("fuzz") / f"upload{suffix}"
    path.write_bytes(gzip.compress(content) if suffix.endswith(".gz") else content)
    try:
        read_all(path)
    except ImportFileError as exc:
        assert path.name in str(exc) or "upload" in str(exc), str(exc)


ENTERPRISE_HEADERS = [
    "uscc",
    "name",
    "industry_code",
    "longitude",
    "latitude",
    "status",
    "registration_date",
    "registered_capital",
]


@settings(
    max_examples=25,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(rows=st.lists(st.lists(TEXT_CELL, min_size=0, max_size=10), min_size=1, max_size=8))
def test_an_import_of_arbitrary_rows_names_each_reject(
    db_session: Session, tmp_path_factory: pytest.TempPathFactory, rows: list[list[str]]
) -> None:
    """A whole enterprises import (dry run) of rows of any width and content."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(ENTERPRISE_HEADERS)
    for row in rows:
        writer.writerow([cell.replace("\x00", "") for cell in row])
    path = tmp_path_factory.mktemp("fuzz-import") / "enterprises.csv"
    path.write_text(buffer.getvalue(), encoding="utf-8")
    try:
        report = import_file(db_session, "enterprises", path, skip_invalid=True, dry_run=True)
    except ValueError as exc:  # ImportFileError / MappingError: the file as a whole
        assert "enterprises.csv" in str(exc) or "column" in str(exc), str(exc)
        return
    assert report.dry_run and report.total <= len(rows)
    fields = set(ENTERPRISE_HEADERS) | {"(row)", "entity_type", "jurisdiction", "location"}
    for reject in report.rejects:
        assert 1 <= reject.row <= len(rows) + 1, reject
        assert reject.field and reject.reason.strip(), reject
        assert reject.field in fields or reject.field.split(".")[0] in fields, reject
    assert report.rejected + report.inserted + report.updated + report.unchanged >= 0
