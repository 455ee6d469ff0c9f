"""Jurisdiction imports: WKT and GeoJSON, levels and parents, GCJ-02 seed counties."""

from __future__ import annotations

import csv
import gzip
import json
from pathlib import Path

import shapely
from shapely.geometry import shape
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from enforcement.importers import import_file
from enforcement.models import Enterprise, Jurisdiction
from gis.coords import gcj02_to_wgs84, transform_geometry

DATA = Path(__file__).with_name("data")


def _jurisdictions(session: Session) -> dict[str, Jurisdiction]:
    session.expire_all()
    return {j.adcode: j for j in session.scalars(select(Jurisdiction))}


def _polygon(session: Session, adcode: str):  # type: ignore[no-untyped-def]
    wkb = session.scalar(
        select(func.ST_AsBinary(Jurisdiction.polygon)).where(Jurisdiction.adcode == adcode)
    )
    return shapely.from_wkb(bytes(wkb))


def test_csv_with_wkt_levels_and_parents(db_session: Session) -> None:
    report = import_file(db_session, "jurisdictions", DATA / "jurisdictions.csv")

    assert (report.inserted, report.rejected, report.reassigned) == (4, 0, 0)
    found = _jurisdictions(db_session)
    province, city = found["330000"], found["330700"]
    assert (province.level, province.parent_id) == ("province", None)
    assert (city.level, city.parent_id) == ("city", province.id)
    assert found["330783"].level == "county"
    assert found["330783"].parent_id == city.id
    assert found["330702"].parent_id == city.id
    polygon = _polygon(db_session, "330783")
    assert polygon.geom_type == "MultiPolygon"  # a Polygon in the file, stored as MULTIPOLYGON
    assert polygon.equals(
        shapely.from_wkt("POLYGON((120.1 29, 120.7 29, 120.7 29.5, 120.1 29.5, 120.1 29))")
    )

    again = import_file(db_session, "jurisdictions", DATA / "jurisdictions.csv")
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 4)


def test_parent_found_in_the_database_and_explicit_parent(
    db_session: Session, tmp_path: Path
) -> None:
    import_file(db_session, "jurisdictions", DATA / "jurisdictions.csv")
    path = tmp_path / "more.csv"
    path.write_text(
        "adcode,name,parent_adcode\n"
        "330784,永康市,\n"  # derived: 330700 exists in the database
        "330783001,吴宁街道,330783\n"  # explicit parent; level from 9 digits
        "330785,不存在的上级,339900\n",
        encoding="utf-8",
    )
    report = import_file(db_session, "jurisdictions", path, skip_invalid=True)

    assert [(r.row, r.field, r.value) for r in report.rejects] == [(3, "parent_adcode", "339900")]
    found = _jurisdictions(db_session)
    assert found["330784"].parent_id == found["330700"].id
    assert found["330783001"].level == "township"
    assert found["330783001"].parent_id == found["330783"].id


def test_bad_rows_are_rejected(db_session: Session, tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(
        "adcode,name,level,wkt\n"
        "33078,短代码,区县,\n"
        "330783,,区县,\n"
        "330784,永康市,村,\n"
        '330785,线不是面,区县,"LINESTRING(0 0, 1 1)"\n'
        '330786,投影坐标,区县,"POLYGON((500000 3200000, 500100 3200000, 500100 3200100, '
        '500000 3200000))"\n',
        encoding="utf-8",
    )
    report = import_file(db_session, "jurisdictions", path)
    assert [(r.row, r.field) for r in report.rejects] == [
        (1, "adcode"),
        (2, "name"),
        (3, "level"),
        (4, "geometry"),
        (5, "geometry"),
    ]
    assert not report.applied
    assert _jurisdictions(db_session) == {}


def test_seed_counties_gcj02_then_enterprises_inside(
    db_session: Session, shared_data: Path, tmp_path: Path
) -> None:
    source = shared_data / "china" / "seed_city_counties.geojson"
    report = import_file(db_session, "jurisdictions", source, crs="gcj02")

    assert (report.inserted, report.rejected) == (34, 0)
    found = _jurisdictions(db_session)
    assert found["330783"].name == "东阳市" and found["330783"].level == "county"
    assert found["620881"].name == "华亭市"

    # The stored polygon is the GCJ-02 outline converted to WGS-84.
    features = json.loads(source.read_text(encoding="utf-8"))["features"]
    raw = {f["properties"]["adcode"]: shape(f["geometry"]) for f in features}
    expected = transform_geometry(raw["330783"], gcj02_to_wgs84)
    assert _polygon(db_session, "330783").equals_exact(
        shapely.multipolygons([expected]) if expected.geom_type == "Polygon" else expected, 1e-9
    )

    # One enterprise deep inside each county (WGS-84) gets that county.
    path = tmp_path / "inside.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["natural_key", "name", "longitude", "latitude"])
        for adcode, polygon in sorted(raw.items()):
            wgs = transform_geometry(polygon, gcj02_to_wgs84)
            point = shapely.maximum_inscribed_circle(wgs).coords[0]
            writer.writerow([f"TEST:{adcode}", f"企业{adcode}", point[0], point[1]])
    firms = import_file(db_session, "enterprises", path)
    assert (firms.inserted, firms.outside_jurisdictions) == (34, 0)
    rows = db_session.execute(select(Enterprise.natural_key, Enterprise.jurisdiction_id)).all()
    assert dict(rows) == {f"TEST:{adcode}": found[adcode].id for adcode in raw}


def test_import_reassigns_existing_enterprises(db_session: Session, tmp_path: Path) -> None:
    import_file(db_session, "enterprises", DATA / "enterprises.csv")
    assert (
        db_session.scalar(select(func.count()).where(Enterprise.jurisdiction_id.is_not(None))) == 0
    )

    path = tmp_path / "jurisdictions.geojson.gz"
    features = []
    with (DATA / "jurisdictions.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            geometry = shapely.geometry.mapping(shapely.from_wkt(row["wkt"]))
            features.append(
                {
                    "type": "Feature",
                    "properties": {
                        "adcode": row["adcode"],
                        "name": row["name"],
                        "level": row["level"],
                    },
                    "geometry": geometry,
                }
            )
    path.write_bytes(
        gzip.compress(json.dumps({"type": "FeatureCollection", "features": features}).encode())
    )

    report = import_file(db_session, "jurisdictions", path)

    assert report.inserted == 4
    assert report.reassigned == 4  # the located enterprises, all inside the test rectangles
    found = _jurisdictions(db_session)
    firm = db_session.scalars(
        select(Enterprise).where(Enterprise.uscc == "9133078343464097XE")
    ).one()
    assert firm.jurisdiction_id == found["330783"].id


def test_declared_coordinate_system_mismatch_is_a_warning(
    db_session: Session, tmp_path: Path
) -> None:
    square = {"type": "Polygon", "coordinates": [[[120, 29], [121, 29], [121, 30], [120, 29]]]}
    document = {
        "type": "FeatureCollection",
        "coordinate_system": "gcj02",
        "features": [
            {
                "type": "Feature",
                "properties": {"adcode": "330783", "name": "东阳市"},
                "geometry": square,
            }
        ],
    }
    path = tmp_path / "declared.geojson"
    path.write_text(json.dumps(document))
    report = import_file(db_session, "jurisdictions", path)
    assert any("coordinate_system 'gcj02'" in w for w in report.warnings)
