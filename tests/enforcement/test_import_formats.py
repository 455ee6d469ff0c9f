"""The same rows as CSV, XLSX and gzip-compressed GeoJSON give the same records, per kind."""

from __future__ import annotations

import csv
import gzip
import json
from pathlib import Path

import pytest
import shapely
from openpyxl import Workbook
from sqlalchemy.orm import Session

from enforcement.importers import import_file
from tests.factories import DepartmentFactory, EnterpriseFactory, JurisdictionFactory

DATA = Path(__file__).with_name("data")


def _rows(name: str) -> tuple[list[str], list[dict[str, str]]]:
    with (DATA / name).open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or ()), list(reader)


def _xlsx(name: str, directory: Path) -> Path:
    headers, rows = _rows(name)
    book = Workbook()
    sheet = book.active
    sheet.append(headers)
    for row in rows:
        sheet.append([row[h] or None for h in headers])
    path = directory / (Path(name).stem + ".xlsx")
    book.save(path)
    return path


def _geojson_gz(name: str, directory: Path) -> Path:
    _, rows = _rows(name)
    features = []
    for row in rows:
        geometry = None
        if "wkt" in row:
            geometry = shapely.geometry.mapping(shapely.from_wkt(row.pop("wkt")))
        features.append({"type": "Feature", "properties": row, "geometry": geometry})
    path = directory / (Path(name).stem + ".geojson.gz")
    document = {"type": "FeatureCollection", "features": features}
    path.write_bytes(gzip.compress(json.dumps(document, ensure_ascii=False).encode()))
    return path


@pytest.mark.parametrize(
    ("kind", "name", "n"),
    [
        ("jurisdictions", "jurisdictions.csv", 4),
        ("enterprises", "enterprises.csv", 5),
        ("inspectors", "inspectors.csv", 3),
        ("items", "items.csv", 3),
    ],
)
def test_csv_xlsx_and_geojson_agree(
    db_session: Session, tmp_path: Path, kind: str, name: str, n: int
) -> None:
    if kind in ("inspectors", "items"):
        DepartmentFactory(code="SJJ-DY", name="东阳市市场监督管理局")
        JurisdictionFactory(adcode="330783", name="东阳市")
        EnterpriseFactory(uscc="9133078343464097XE", natural_key="9133078343464097XE")
        EnterpriseFactory(uscc="91330783202466335A", natural_key="91330783202466335A")

    first = import_file(db_session, kind, DATA / name)
    assert (first.inserted, first.rejected) == (n, 0)

    for path in (_xlsx(name, tmp_path), _geojson_gz(name, tmp_path)):
        report = import_file(db_session, kind, path)
        assert (report.inserted, report.updated, report.unchanged, report.rejected) == (
            0,
            0,
            n,
            0,
        ), path.name
