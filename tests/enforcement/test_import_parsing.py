"""Importer building blocks without a database: readers, column parsers, mappings."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import random
from pathlib import Path

import pytest

from enforcement.importers import parsers
from enforcement.importers.enterprises import ewkb_points, extra_json
from enforcement.importers.inspectors import parse_conflicts
from enforcement.importers.mapping import MappingError, load_mapping
from enforcement.importers.readers import ImportFileError, open_source
from enforcement.importers.writer import Writer, _copy_text
from enforcement.uscc import CHARSET, known_divisions, make_uscc, validate_uscc


def _rows(path: Path, size: int = 3) -> list[tuple[int, dict]]:
    source = open_source(path)
    out = []
    for chunk in source.chunks(size):
        for i, row in enumerate(chunk.rows):
            out.append((row, {h: chunk.columns[h][i] for h in source.headers}))
    return out


# --------------------------------------------------------------------------- readers


TRICKY = (
    "id,name,note\n"
    "1,plain,x\n"
    '2,"quoted, with comma","say ""hi"""\n'
    "\n"
    "3,short\n"
    "4,trailing,,\n"
    '5,"中文，逗号",末\n'
)


def test_fast_csv_split_equals_the_csv_module(tmp_path: Path) -> None:
    path = tmp_path / "tricky.csv"
    path.write_text(TRICKY, encoding="utf-8")
    got = _rows(path)
    expected = [r for r in csv.reader(io.StringIO(TRICKY)) if r][1:]
    assert [row for row, _ in got] == [1, 2, 4, 5, 6]  # the blank line keeps its number
    assert [d["name"] for _, d in got] == [r[1] for r in expected]
    assert got[1][1]["note"] == 'say "hi"'
    assert got[2][1]["note"] == ""  # a short row is padded


def test_multiline_quoted_field_falls_back_to_csv(tmp_path: Path) -> None:
    path = tmp_path / "multi.csv"
    path.write_text('id,name\r\n1,"two\r\nlines"\r\n2,b\r\n', encoding="utf-8")
    assert [(n, d["name"]) for n, d in _rows(path)] == [(1, "two\r\nlines"), (2, "b")]


def test_row_with_too_many_fields_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "wide.csv"
    path.write_text("a,b\n1,2,3\n4,5,\n", encoding="utf-8")
    chunk = next(open_source(path).chunks())
    assert chunk.errors == [
        (1, "row has 3 fields but the header has 2", "该行有3个字段，表头只有2列")
    ]
    assert list(chunk.columns["b"]) == ["2", "5"]


def test_tab_separated_and_bom(tmp_path: Path) -> None:
    path = tmp_path / "tabs.txt"
    path.write_bytes("\ufeffa\tb\n1\t2\n".encode())
    source = open_source(path)
    assert source.headers == ["a", "b"]
    assert list(next(source.chunks()).columns["b"]) == ["2"]


def test_duplicate_header_is_a_file_error(tmp_path: Path) -> None:
    path = tmp_path / "dup.csv"
    path.write_text("a,a\n1,2\n")
    with pytest.raises(ImportFileError, match="column 'a' appears twice"):
        open_source(path)


def test_geojson_properties_become_columns(tmp_path: Path) -> None:
    path = tmp_path / "f.geojson"
    point = {"type": "Point", "coordinates": [1, 2]}
    features = [
        {"type": "Feature", "properties": {"a": 1}, "geometry": None},
        {"type": "Feature", "properties": {"b": "x"}, "geometry": point},
        {"type": "Polygon"},
    ]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    source = open_source(path)
    chunk = next(source.chunks())
    assert source.headers == ["a", "b"]
    assert chunk.columns["a"] == [1, "", ""]
    assert chunk.geometries[1] == {"type": "Point", "coordinates": [1, 2]}
    assert chunk.errors == [(3, "not a GeoJSON Feature", "不是GeoJSON要素（Feature）")]


# --------------------------------------------------------------------------- parsers


def test_vectorised_uscc_check_agrees_with_validate_uscc() -> None:
    rng = random.Random(42)
    divisions = sorted(known_divisions())
    codes = []
    for _ in range(5000):
        code = make_uscc(
            rng.choice("9915N"), "1", rng.choice(divisions), f"{rng.randrange(10**8):08d}"
        )
        if rng.random() < 0.5:
            position = rng.randrange(18)
            code = code[:position] + rng.choice(CHARSET) + code[position + 1 :]
        codes.append(code)
    parsed = parsers.uscc(codes)
    rejected = {i for i, _, _ in parsed.errors}
    assert rejected == {i for i, c in enumerate(codes) if validate_uscc(c) is not None}
    assert 1000 < len(rejected) < 4000


def test_uscc_reasons_name_positions() -> None:
    parsed = parsers.uscc(["9133078343464097XE", "9133078343464097X0", "", "9133078343464097xe"])
    assert parsed.values == ["9133078343464097XE", None, None, None]
    reasons = {i: reason for i, reason, _ in parsed.errors}
    assert reasons[1].startswith("position 18")
    assert reasons[3].startswith("position 17: lowercase")


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("2015-06-01", "2015-06-01"),
        ("2015/6/1", "2015-06-01"),
        ("2015.06.01", "2015-06-01"),
        ("20150601", "2015-06-01"),
        ("2015年6月1日", "2015-06-01"),
        ("2015-06-01 00:00:00", "2015-06-01"),
        (dt.datetime(2015, 6, 1, 8, 30), "2015-06-01"),
        (dt.date(2015, 6, 1), "2015-06-01"),
    ],
)
def test_dates(cell: object, expected: str) -> None:
    assert parsers.date([cell]).values == [expected]


@pytest.mark.parametrize("cell", ["2015-13-01", "01/06/2015", "1899-12-31", 42000, "soon"])
def test_bad_dates(cell: object) -> None:
    parsed = parsers.date([cell])
    assert parsed.values == [None] and len(parsed.errors) == 1


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("100", "100.00"),
        ("1,000,000.5", "1000000.50"),
        ("100万", "1000000.00"),
        ("100万元", "1000000.00"),
        ("人民币 12.5 万元", "125000.00"),
        ("300元", "300.00"),
        (2500, "2500.00"),
        (0.5, "0.50"),
    ],
)
def test_capital(cell: object, expected: str) -> None:
    assert parsers.capital([cell]).values == [expected]


@pytest.mark.parametrize("cell", ["-5", "100万美元", "lots", "1e30"])
def test_bad_capital(cell: str) -> None:
    assert parsers.capital([cell]).errors


@pytest.mark.parametrize(
    ("cell", "months"),
    [
        (12, 12),
        ("24", 24),
        ("每年一次", 12),
        ("每两年一次", 24),
        ("每2年一次", 24),
        ("每半年一次", 6),
        ("每季度一次", 3),
        ("每月一次", 1),
        ("18个月", 18),
        ("3年", 36),
    ],
)
def test_intervals(cell: object, months: int) -> None:
    assert parsers.interval_months([cell]).values == [months]


@pytest.mark.parametrize("cell", [0, "0", "每周两次", 500, "sometimes"])
def test_bad_intervals(cell: object) -> None:
    assert parsers.interval_months([cell]).errors


def test_industry_codes_and_adcodes() -> None:
    parsed = parsers.industry_code(["f5212", "H62", "A", "U12", "F5", "F52123"])
    assert parsed.values[:3] == ["F5212", "H62", "A"]
    assert [i for i, _, _ in parsed.errors] == [3, 4, 5]
    codes = parsers.adcode(["330783", 330783, "330783000000", "330783001000", "33078", "000001"])
    assert codes.values[:4] == ["330783", "330783", "330783", "330783001"]
    assert [i for i, _, _ in codes.errors] == [4, 5]


def test_text_length_and_coordinates() -> None:
    parsed = parsers.text(["  a  ", "", "x" * 11, 7, 1.0], 10)
    assert parsed.values == ["a", None, "x" * 11, "7", "1"]
    assert [i for i, _, _ in parsed.errors] == [2]
    numbers = parsers.coordinates(["1.5", "", "abc", "nan", 2])
    assert numbers.values == [1.5, None, None, None, 2.0]
    assert [i for i, _, _ in numbers.errors] == [2, 3]


def test_conflict_syntax() -> None:
    entries, problems = parse_conflicts(
        "9133078343464097XE；person:李四（配偶）;张三; enterprise:FHRS:1"
    )
    assert entries == [
        ("enterprise", "9133078343464097XE", None),
        ("person", "李四", "配偶"),
        ("person", "张三", None),
        ("enterprise", "FHRS:1", None),
    ]
    assert problems == []


def test_extra_json_equals_json_dumps() -> None:
    names = ["Rating", "Authority", "Note%", 'Q"uote']
    columns = [
        ["5", "", "3"],
        ["Cambridge", "Bath", ""],
        ["a\\b", "tab\there", "é"],
        ["1", "2", "3"],
    ]
    made = extra_json(names, columns, 3, text_only=True).strings()
    assert made == [
        json.dumps({n: (c[i] or None) for n, c in zip(names, columns, strict=True)})
        for i in range(3)
    ]


def test_copy_text_escapes_and_ewkb_matches_shapely() -> None:
    import numpy as np
    import shapely

    assert _copy_text(["a\tb", None, "c\\d"], "text") == ["a\\tb", "\\N", "c\\\\d"]
    assert _copy_text([True, None], "bool") == ["t", "\\N"]
    lon, lat = np.array([120.3712, np.nan]), np.array([29.2265, np.nan])
    expected = shapely.to_wkb(
        shapely.set_srid(shapely.points([120.3712], [29.2265]), 4326), hex=True, include_srid=True
    )
    assert ewkb_points(lon, lat) == [expected[0], None]
    payload = Writer._copy_payload([("a", "text", ["x%", "y"]), ("b", "int", [1, None])], 2)
    assert payload == "x%\t1\ny\t\\N\n"


# --------------------------------------------------------------------------- mappings


def test_bundled_and_bad_mappings(tmp_path: Path) -> None:
    fsa = load_mapping("fsa")
    assert (fsa.kind, fsa.natural_key_scheme, fsa.natural_key_column) == (
        "enterprises",
        "FHRS",
        "FHRSID",
    )
    assert fsa.lookups["industry_code"].table["Restaurant/Cafe/Canteen"] == "H62"
    with pytest.raises(MappingError, match="unknown keys"):
        load_mapping({"colums": {}})
    with pytest.raises(MappingError, match="'duplicates' must be one of"):
        load_mapping({"duplicates": "last"})
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    with pytest.raises(MappingError, match="cannot read JSON"):
        load_mapping(bad)


# --------------------------------------------------------------------------- writer thread


class _FailingWriter:
    """Stands in for a Writer whose database write fails on the second chunk."""

    def __init__(self) -> None:
        self.written: list[int] = []
        self.closed = False

    def prepare(self, staged: int) -> int:
        return staged

    def write(self, prepared: int) -> None:
        if prepared == 2:
            raise RuntimeError("database said no")
        self.written.append(prepared)

    def close(self) -> str:
        self.closed = True
        return "result"


def test_threaded_writer_reraises_the_workers_error_in_the_caller() -> None:
    from enforcement.importers.writer import ThreadedWriter

    inner = _FailingWriter()
    threaded = ThreadedWriter(inner)  # type: ignore[arg-type]
    threaded.write(1)  # type: ignore[arg-type]
    threaded.write(2)  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match="database said no"):
        for n in range(3, 10):
            threaded.write(n)  # type: ignore[arg-type]
        threaded.close()
    assert inner.written == [1]  # nothing after the failure
    threaded.abandon()
    assert not inner.closed


def test_threaded_writer_writes_in_order_and_closes() -> None:
    from enforcement.importers.writer import ThreadedWriter

    class Recorder(_FailingWriter):
        def write(self, prepared: int) -> None:
            self.written.append(prepared)

    inner = Recorder()
    threaded = ThreadedWriter(inner)  # type: ignore[arg-type]
    for n in range(20):
        threaded.write(n)  # type: ignore[arg-type]
    assert threaded.close() == "result"
    assert inner.written == list(range(20)) and inner.closed


def test_mapping_natural_key_is_for_enterprises_only(db_session, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from enforcement.importers import import_file

    path = tmp_path / "items.csv"
    path.write_text("code\nx\n")
    with pytest.raises(MappingError, match="apply to enterprises only"):
        import_file(
            db_session, "items", path, mapping={"natural_key": {"scheme": "A", "column": "code"}}
        )
