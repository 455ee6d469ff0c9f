"""Enterprise imports on both backends: formats, field parsing, rejects, idempotency."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from enforcement.importers import ImportFileError, import_file
from enforcement.models import Enterprise, Jurisdiction
from tests.factories import JurisdictionFactory

DATA = Path(__file__).with_name("data")
OLD = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


def _enterprises(session: Session) -> dict[str, Enterprise]:
    session.expire_all()
    return {e.natural_key: e for e in session.scalars(select(Enterprise))}


def _lonlat(session: Session, natural_key: str) -> tuple[float, float] | None:
    row = session.execute(
        select(func.ST_X(Enterprise.location), func.ST_Y(Enterprise.location)).where(
            Enterprise.natural_key == natural_key
        )
    ).one()
    return None if row[0] is None else (float(row[0]), float(row[1]))


def _age_all(session: Session) -> None:
    """Backdate updated_at so that a later write is visible (now() is per transaction)."""
    session.execute(update(Enterprise).values(updated_at=OLD))
    session.flush()


def test_csv_with_chinese_headers_and_labels(db_session: Session) -> None:
    report = import_file(db_session, "enterprises", DATA / "enterprises.csv")

    assert (report.total, report.inserted, report.updated, report.unchanged) == (5, 5, 0, 0)
    assert report.rejected == 0 and report.applied
    assert report.without_location == 1
    firms = _enterprises(db_session)
    carving = firms["9133078343464097XE"]
    assert carving.uscc == "9133078343464097XE"
    assert carving.name == "东阳市歌山木雕有限公司"
    assert carving.legal_representative == "张伟"
    assert carving.entity_type == "company"
    assert carving.industry_code == "C2110"
    assert carving.status == "in_business"
    assert carving.registration_date == dt.date(2015, 6, 1)
    assert carving.registered_capital == Decimal("1000000")  # 100万元
    assert carving.extra == {}
    assert _lonlat(db_session, "9133078343464097XE") == pytest.approx((120.3712, 29.2265))
    # Entity type from USCC positions 1-2 when the cell is empty; 2018/03/15; 5,000,000.
    film = firms["91330783202466335A"]
    assert film.entity_type == "company"
    assert film.registration_date == dt.date(2018, 3, 15)
    assert film.registered_capital == Decimal("5000000")
    snack = firms["923307835299231205"]
    assert snack.entity_type == "individual_business"
    assert snack.registration_date == dt.date(2020, 7, 8)  # 2020年7月8日
    assert snack.registered_capital == Decimal("30000")  # 3万
    assert snack.location is None
    coop = firms["93330783873669467N"]
    assert (coop.entity_type, coop.status) == ("farmer_cooperative", "deregistered")
    assert coop.registration_date == dt.date(2012, 3, 1)  # 20120301
    assert firms["91330702064808949U"].status == "revoked"  # 吊销
    assert firms["91330702064808949U"].registered_capital == Decimal("200000.50")


def test_reimport_is_idempotent_and_detects_a_change(db_session: Session, tmp_path: Path) -> None:
    first = import_file(db_session, "enterprises", DATA / "enterprises.csv")
    assert first.inserted == 5
    _age_all(db_session)

    again = import_file(db_session, "enterprises", DATA / "enterprises.csv")
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 5)
    stamps = db_session.scalars(select(Enterprise.updated_at)).all()
    assert stamps and all(s == OLD for s in stamps)

    changed = tmp_path / "changed.csv"
    changed.write_text(
        (DATA / "enterprises.csv")
        .read_text(encoding="utf-8")
        .replace("东阳市歌山木雕有限公司", "东阳市歌山木雕股份有限公司"),
        encoding="utf-8",
    )
    third = import_file(db_session, "enterprises", changed)
    assert (third.inserted, third.updated, third.unchanged) == (0, 1, 4)
    firms = _enterprises(db_session)
    assert firms["9133078343464097XE"].name == "东阳市歌山木雕股份有限公司"
    assert firms["9133078343464097XE"].updated_at != OLD
    assert firms["91330783202466335A"].updated_at == OLD


def test_rejects_name_row_field_value_and_reason(db_session: Session) -> None:
    report = import_file(db_session, "enterprises", DATA / "enterprises_bad.csv")

    by_row = {(r.row, r.field): r for r in report.rejects}
    assert set(by_row) == {
        (2, "uscc"),
        (3, "name"),
        (4, "registration_date"),
        (5, "longitude"),
        (7, "industry_code"),
        (7, "registered_capital"),
    }
    uscc = by_row[2, "uscc"]
    assert uscc.value == "913307020972223384"
    assert "position 18" in uscc.reason and "第18位" in uscc.reason_zh
    assert by_row[3, "name"].reason == "required"
    assert by_row[4, "registration_date"].value == "2019-02-30"
    assert "no such date" in by_row[4, "registration_date"].reason
    assert "outside -180..180" in by_row[5, "longitude"].reason
    assert by_row[5, "longitude"].value == "190.5"
    assert "foreign currency" in by_row[7, "registered_capital"].reason
    assert report.rejected == 5 and report.total == 7


def test_any_bad_row_means_nothing_is_written(db_session: Session) -> None:
    import_file(db_session, "enterprises", DATA / "enterprises.csv")
    before = {k: (e.name, e.industry_code) for k, e in _enterprises(db_session).items()}

    report = import_file(db_session, "enterprises", DATA / "enterprises_bad.csv")

    assert not report.applied
    assert (report.inserted, report.updated, report.unchanged) == (0, 0, 0)
    after = {k: (e.name, e.industry_code) for k, e in _enterprises(db_session).items()}
    assert after == before  # the good new row (913307020972223383) was not written either


def test_skip_invalid_writes_the_good_rows(db_session: Session, tmp_path: Path) -> None:
    rejects = tmp_path / "rejects.csv"
    report = import_file(
        db_session,
        "enterprises",
        DATA / "enterprises_bad.csv",
        skip_invalid=True,
        rejects_path=rejects,
    )

    assert report.applied
    assert (report.inserted, report.rejected) == (2, 5)
    assert set(_enterprises(db_session)) == {"913307020972223383", "91330783202466335A"}
    with rejects.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["row", "field", "value", "reason", "reason_zh"]
    assert len(rows) == 1 + len(report.rejects)
    assert rows[1][:3] == ["2", "uscc", "913307020972223384"]
    assert rows[1][3].startswith("position 18")


def test_xlsx_with_typed_cells(db_session: Session, tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    sheet.append(
        ["统一社会信用代码", "企业名称", "成立日期", "注册资本", "经度", "纬度", "登记状态"]
    )
    sheet.append(
        [
            "9133078343464097XE",
            "东阳市歌山木雕有限公司",
            dt.datetime(2015, 6, 1),
            1_000_000,
            120.3712,
            29.2265,
            "存续",
        ]
    )
    sheet.append([None, None, None, None, None, None, None])  # a blank row is skipped
    sheet.append(
        ["923307835299231205", "王记小吃店", dt.date(2020, 7, 8), "3万", None, None, "在业"]
    )
    sheet.append(["91330783202466335A", "日期是数字的公司", 43000, 10, 120.3, 29.1, "存续"])
    path = tmp_path / "firms.xlsx"
    book.save(path)

    report = import_file(db_session, "enterprises", path)

    assert report.total == 3
    assert [(r.row, r.field) for r in report.rejects] == [(4, "registration_date")]
    assert "format the cell as a date" in report.rejects[0].reason
    assert not report.applied
    report = import_file(db_session, "enterprises", path, skip_invalid=True)
    firms = _enterprises(db_session)
    assert set(firms) == {"9133078343464097XE", "923307835299231205"}
    assert firms["9133078343464097XE"].registration_date == dt.date(2015, 6, 1)
    assert firms["9133078343464097XE"].registered_capital == Decimal("1000000")
    assert firms["923307835299231205"].registered_capital == Decimal("30000")
    assert report.without_location == 1


@pytest.mark.parametrize("compressed", [False, True])
def test_geojson_points(db_session: Session, tmp_path: Path, compressed: bool) -> None:
    source = DATA / "enterprises.geojson"
    if compressed:
        path = tmp_path / "enterprises.geojson.gz"
        path.write_bytes(gzip.compress(source.read_bytes()))
    else:
        path = source

    report = import_file(db_session, "enterprises", path)

    assert (report.inserted, report.without_location) == (3, 1)
    assert _lonlat(db_session, "91330702064808949U") == pytest.approx((119.629, 29.098))
    firms = _enterprises(db_session)
    assert firms["91330702064808949U"].registered_capital == Decimal("200000.50")
    assert firms["923307835299231205"].entity_type == "individual_business"
    assert firms["923307835299231205"].location is None


def test_gzip_is_sniffed_without_the_suffix(db_session: Session, tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes(gzip.compress((DATA / "enterprises.csv").read_bytes()))
    assert import_file(db_session, "enterprises", path).inserted == 5


def test_gb18030_csv(db_session: Session, tmp_path: Path) -> None:
    path = tmp_path / "gbk.csv"
    path.write_bytes((DATA / "enterprises.csv").read_text(encoding="utf-8").encode("gb18030"))
    report = import_file(db_session, "enterprises", path)
    assert report.inserted == 5
    assert _enterprises(db_session)["93330783873669467N"].name == "东阳市湖溪镇茶叶专业合作社"


def test_points_are_assigned_to_jurisdictions(db_session: Session) -> None:
    import_file(db_session, "jurisdictions", DATA / "jurisdictions.csv")
    report = import_file(db_session, "enterprises", DATA / "enterprises.csv")

    ids = dict(db_session.execute(select(Jurisdiction.adcode, Jurisdiction.id)).all())
    firms = _enterprises(db_session)
    assert firms["9133078343464097XE"].jurisdiction_id == ids["330783"]  # 东阳 (innermost)
    assert firms["91330702064808949U"].jurisdiction_id == ids["330702"]  # 婺城
    assert firms["923307835299231205"].jurisdiction_id is None  # no coordinates
    assert report.outside_jurisdictions == 0


def test_explicit_adcode_and_unknown_adcode(db_session: Session, tmp_path: Path) -> None:
    county = JurisdictionFactory(adcode="330783", name="东阳市")
    path = tmp_path / "adcode.csv"
    path.write_text(
        "uscc,name,jurisdiction\n"
        "9133078343464097XE,甲公司,330783\n"
        "91330783202466335A,乙公司,330784\n",
        encoding="utf-8",
    )
    report = import_file(db_session, "enterprises", path, skip_invalid=True)
    assert [(r.row, r.field, r.value) for r in report.rejects] == [(2, "jurisdiction", "330784")]
    assert _enterprises(db_session)["9133078343464097XE"].jurisdiction_id == county.id


def test_gcj02_coordinates_are_converted(db_session: Session, tmp_path: Path) -> None:
    from gis.coords import gcj02_to_wgs84

    path = tmp_path / "gcj.csv"
    path.write_text("uscc,name,longitude,latitude\n9133078343464097XE,甲,120.3712,29.2265\n")
    import_file(db_session, "enterprises", path, crs="gcj02")
    expected = tuple(float(v) for v in gcj02_to_wgs84(120.3712, 29.2265))
    stored = _lonlat(db_session, "9133078343464097XE")
    assert stored == pytest.approx(expected, abs=1e-9)
    assert stored != pytest.approx((120.3712, 29.2265), abs=1e-4)  # really shifted


def test_duplicate_keys_are_rejected_by_default(db_session: Session, tmp_path: Path) -> None:
    path = tmp_path / "dup.csv"
    path.write_text(
        "uscc,name\n9133078343464097XE,甲\n91330783202466335A,乙\n9133078343464097XE,丙\n"
    )
    report = import_file(db_session, "enterprises", path)
    assert [(r.row, r.field) for r in report.rejects] == [(3, "uscc")]
    assert "row 1" in report.rejects[0].reason
    keep_first = {"duplicates": "keep_first"}
    report = import_file(db_session, "enterprises", path, mapping=keep_first)
    assert (report.inserted, report.duplicates, report.rejected) == (2, 1, 0)
    assert _enterprises(db_session)["9133078343464097XE"].name == "甲"


def test_dry_run_counts_but_writes_nothing(db_session: Session) -> None:
    report = import_file(db_session, "enterprises", DATA / "enterprises.csv", dry_run=True)
    assert (report.inserted, report.applied, report.dry_run) == (5, False, True)
    assert db_session.scalar(select(func.count()).select_from(Enterprise)) == 0


def test_missing_required_column_is_a_file_error(db_session: Session, tmp_path: Path) -> None:
    path = tmp_path / "noname.csv"
    path.write_text("uscc,address\n9133078343464097XE,somewhere\n")
    with pytest.raises(ImportFileError, match="required column 'name' is missing"):
        import_file(db_session, "enterprises", path)


def test_mapping_columns_constants_and_extra(db_session: Session, tmp_path: Path) -> None:
    path = tmp_path / "city.csv"
    path.write_text(
        "LicenceNo,Trading name,Lat,Lon,Risk,Note\n"
        "L-1,Alpha Foods,29.2265,120.3712,high,x\n"
        "L-2,Beta Bakery,,,low,\n"
    )
    mapping = {
        "kind": "enterprises",
        "natural_key": {"scheme": "LIC", "column": "LicenceNo"},
        "columns": {"name": "Trading name", "latitude": "Lat", "longitude": "Lon"},
        "constants": {"entity_type": "individual_business", "status": "存续"},
        "extra": ["Risk", "Note"],
    }
    report = import_file(db_session, "enterprises", path, mapping=mapping)
    assert (report.inserted, report.without_location) == (2, 1)
    firms = _enterprises(db_session)
    assert firms["LIC:L-1"].extra == {"Risk": "high", "Note": "x"}
    assert firms["LIC:L-2"].extra == {"Risk": "low", "Note": None}
    assert firms["LIC:L-1"].entity_type == "individual_business"
    assert firms["LIC:L-1"].uscc is None
    again = import_file(db_session, "enterprises", path, mapping=mapping)
    assert (again.updated, again.unchanged) == (0, 2)


def test_rejects_before_writing_a_uscc_held_under_another_key(db_session: Session) -> None:
    db_session.add(
        Enterprise(natural_key="LIC:9", uscc="9133078343464097XE", name="x", entity_type="company")
    )
    db_session.flush()
    report = import_file(db_session, "enterprises", DATA / "enterprises.csv", skip_invalid=True)
    assert [(r.row, r.field) for r in report.rejects] == [(1, "uscc")]
    assert "LIC:9" in report.rejects[0].reason
    assert report.inserted == 4
