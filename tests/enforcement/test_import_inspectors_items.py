"""Inspector and inspection-item imports: departments, conflicts, labels, idempotency."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from enforcement.importers import import_file
from enforcement.models import Department, InspectionItem, Inspector, InspectorConflict
from tests.factories import DepartmentFactory, EnterpriseFactory, JurisdictionFactory

DATA = Path(__file__).with_name("data")
OLD = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


@pytest.fixture
def registry(db_session: Session) -> dict[str, object]:
    """The department, county and enterprises that inspectors.csv refers to."""
    return {
        "department": DepartmentFactory(code="SJJ-DY", name="东阳市市场监督管理局"),
        "county": JurisdictionFactory(adcode="330783", name="东阳市"),
        "carving": EnterpriseFactory(uscc="9133078343464097XE", natural_key="9133078343464097XE"),
        "film": EnterpriseFactory(uscc="91330783202466335A", natural_key="91330783202466335A"),
    }


def _inspectors(session: Session) -> dict[str, Inspector]:
    session.expire_all()
    return {i.credential_no: i for i in session.scalars(select(Inspector))}


def _conflicts(
    session: Session, credential_no: str
) -> set[tuple[int | None, str | None, str | None]]:
    rows = session.execute(
        select(
            InspectorConflict.enterprise_id,
            InspectorConflict.person_name,
            InspectorConflict.relation,
        )
        .join(Inspector)
        .where(Inspector.credential_no == credential_no)
    ).all()
    return {tuple(r) for r in rows}  # type: ignore[misc]


def test_inspectors_with_specialties_and_conflicts(db_session: Session, registry: dict) -> None:
    report = import_file(db_session, "inspectors", DATA / "inspectors.csv")

    assert (report.inserted, report.rejected, report.departments_created) == (3, 0, 0)
    found = _inspectors(db_session)
    zhao = found["33078300001"]
    assert zhao.name == "赵敏"
    assert zhao.department_id == registry["department"].id
    assert zhao.jurisdiction_id == registry["county"].id
    assert zhao.specialties == ["食品安全", "特种设备"]
    assert zhao.active is True
    assert found["33078300003"].active is False
    assert found["33078300003"].specialties == []
    assert found["33078300003"].jurisdiction_id is None
    assert _conflicts(db_session, "33078300001") == {(registry["carving"].id, None, None)}
    assert _conflicts(db_session, "33078300002") == {
        (None, "钱大海", "父子"),
        (registry["film"].id, None, None),
    }


def test_reimport_replaces_conflicts_idempotently(
    db_session: Session, registry: dict, tmp_path: Path
) -> None:
    import_file(db_session, "inspectors", DATA / "inspectors.csv")
    db_session.execute(update(Inspector).values(updated_at=OLD))
    db_session.flush()

    again = import_file(db_session, "inspectors", DATA / "inspectors.csv")
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 3)
    assert all(i.updated_at == OLD for i in _inspectors(db_session).values())

    changed = tmp_path / "changed.csv"
    changed.write_text(
        (DATA / "inspectors.csv")
        .read_text(encoding="utf-8")
        .replace("person:钱大海（父子）;91330783202466335A", "person:钱小海"),
        encoding="utf-8",
    )
    third = import_file(db_session, "inspectors", changed)
    assert (third.inserted, third.updated, third.unchanged) == (0, 1, 2)
    assert _conflicts(db_session, "33078300002") == {(None, "钱小海", None)}
    assert _inspectors(db_session)["33078300002"].updated_at != OLD
    assert _inspectors(db_session)["33078300001"].updated_at == OLD


def test_unknown_department_and_conflict_are_rejected(
    db_session: Session, registry: dict, tmp_path: Path
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(
        "credential_no,name,department,conflicts\n"
        "33078300009,周八,NO-SUCH-DEPT,\n"
        "33078300010,吴九,SJJ-DY,enterprise:91330783MA2EXAMPLE\n"
        "33078300011,郑十,SJJ-DY,913307020972223383\n"
        "33078300012,王十一,SJJ-DY,enterprise:FHRS:1\n",
        encoding="utf-8",
    )
    report = import_file(db_session, "inspectors", path)

    rejects = {(r.row, r.field): r for r in report.rejects}
    assert set(rejects) == {(1, "department"), (2, "conflicts"), (3, "conflicts"), (4, "conflicts")}
    assert "NO-SUCH-DEPT" in rejects[1, "department"].reason
    assert rejects[3, "conflicts"].value == "913307020972223383"
    assert not report.applied
    assert _inspectors(db_session) == {}


def test_department_names_create_departments(db_session: Session, tmp_path: Path) -> None:
    path = tmp_path / "new_dept.csv"
    path.write_text(
        "执法证号,姓名,部门代码,部门名称\n"
        "33070200001,冯一,SJJ-WC,金华市婺城区市场监督管理局\n"
        "33070200002,陈二,SJJ-WC,金华市婺城区市场监督管理局\n",
        encoding="utf-8",
    )
    report = import_file(db_session, "inspectors", path)
    assert (report.inserted, report.departments_created) == (2, 1)
    department = db_session.scalars(select(Department).where(Department.code == "SJJ-WC")).one()
    assert department.name == "金华市婺城区市场监督管理局"
    assert {i.department_id for i in _inspectors(db_session).values()} == {department.id}
    again = import_file(db_session, "inspectors", path)
    assert (again.departments_created, again.unchanged) == (0, 2)


def test_items_with_labels_lists_and_intervals(db_session: Session, registry: dict) -> None:
    report = import_file(db_session, "items", DATA / "items.csv")

    assert (report.inserted, report.rejected) == (3, 0)
    db_session.expire_all()
    items = {i.code: i for i in db_session.scalars(select(InspectionItem))}
    food = items["SJ-FOOD-001"]
    assert food.department_id == registry["department"].id
    assert food.method == "on_site"
    assert food.default_interval_months == 12  # 每年一次
    assert food.scope_industries == ["H62", "F522"]
    assert food.scope_entity_types == ["company", "individual_business"]
    assert food.active is True
    assert items["SJ-AD-002"].method == "online"
    assert items["SJ-AD-002"].default_interval_months == 24
    assert items["SJ-PRICE-003"].method == "documents"
    assert items["SJ-PRICE-003"].default_interval_months == 6  # 每半年一次
    assert items["SJ-PRICE-003"].scope_entity_types == []

    again = import_file(db_session, "items", DATA / "items.csv")
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 3)


def test_items_from_xlsx_with_rejects(db_session: Session, registry: dict, tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    sheet.append(
        ["事项编码", "部门代码", "事项名称", "法律依据", "检查方式", "检查频次", "行业范围"]
    )
    sheet.append(["SJ-1", "SJJ-DY", "特种设备检查", "《特种设备安全法》", "现场检查", 12, "C; D44"])
    sheet.append(["SJ-2", "SJJ-DY", "无依据事项", None, "现场检查", 12, None])
    sheet.append(["SJ-3", "NOPE", "未知部门", "依据", "现场检查", 12, None])
    sheet.append(["SJ-4", "SJJ-DY", "坏频次", "依据", "现场检查", "每周两次", "Z9"])
    path = tmp_path / "items.xlsx"
    book.save(path)

    report = import_file(db_session, "items", path, skip_invalid=True)

    assert sorted((r.row, r.field) for r in report.rejects) == [
        (2, "legal_basis"),
        (3, "department"),
        (4, "default_interval_months"),
        (4, "scope_industries"),
    ]
    assert report.inserted == 1
    item = db_session.scalars(select(InspectionItem)).one()
    assert (item.code, item.scope_industries, item.method) == ("SJ-1", ["C", "D44"], "on_site")


def test_department_english_names_are_set_on_creation_only(
    db_session: Session, registry: dict, tmp_path: Path
) -> None:
    path = tmp_path / "items_en.csv"
    path.write_text(
        "code,department,department_name,部门英文名称,name,legal_basis,method\n"
        "SJ-1,SPAQ,食品安全监督管理,Food Safety Supervision,食品检查,《食品安全法》,现场检查\n"
        "SJ-2,SJJ-DY,改名,Renamed,价格检查,《价格法》,书面检查\n",
        encoding="utf-8",
    )
    report = import_file(db_session, "items", path)

    assert (report.inserted, report.departments_created) == (2, 1)
    db_session.expire_all()
    departments = {d.code: d for d in db_session.scalars(select(Department))}
    assert (departments["SPAQ"].name, departments["SPAQ"].name_en) == (
        "食品安全监督管理",
        "Food Safety Supervision",
    )
    # An existing department is never renamed by an import.
    assert (departments["SJJ-DY"].name, departments["SJJ-DY"].name_en) == (
        "东阳市市场监督管理局",
        registry["department"].name_en,
    )


def test_conflict_row_changes_are_counted(
    db_session: Session, registry: dict, tmp_path: Path
) -> None:
    first = import_file(db_session, "inspectors", DATA / "inspectors.csv")
    assert first.conflicts == {"inserted": 3, "updated": 0, "deleted": 0, "unchanged": 0}
    again = import_file(db_session, "inspectors", DATA / "inspectors.csv")
    assert again.conflicts == {"inserted": 0, "updated": 0, "deleted": 0, "unchanged": 3}

    changed = tmp_path / "changed.csv"
    changed.write_text(
        (DATA / "inspectors.csv")
        .read_text(encoding="utf-8")
        .replace("person:钱大海（父子）;91330783202466335A", "person:钱大海（叔侄）;person:钱小海"),
        encoding="utf-8",
    )
    third = import_file(db_session, "inspectors", changed)
    assert third.conflicts == {"inserted": 1, "updated": 1, "deleted": 1, "unchanged": 1}
    assert _conflicts(db_session, "33078300002") == {
        (None, "钱大海", "叔侄"),
        (None, "钱小海", None),
    }

    without = tmp_path / "without.csv"
    without.write_text("credential_no,name,department\n33078300001,赵敏,SJJ-DY\n", "utf-8")
    assert import_file(db_session, "inspectors", without).conflicts is None
