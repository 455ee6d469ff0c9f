"""The demo data set: deterministic generation, valid codes, real polygons, idempotent load."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from collections import Counter
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import shapely
from argon2 import PasswordHasher
from click.testing import CliRunner
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from enforcement import migrate
from enforcement.cli import main
from enforcement.db import make_engine
from enforcement.demo import DEMO_LOGINS, DEMO_PASSWORD, DemoData, generate
from enforcement.demo.catalogue import DEPARTMENTS, ITEMS, items_of
from enforcement.demo.geography import JURISDICTIONS_FILE, bundled_areas, counties
from enforcement.demo.load import DemoError, load_demo
from enforcement.models import (
    Department,
    Enterprise,
    EntityType,
    InspectionItem,
    Inspector,
    InspectorConflict,
    Jurisdiction,
    JurisdictionLevel,
    Role,
    User,
)
from enforcement.services.jurisdictions import reassign_enterprises
from enforcement.uscc import validate_uscc

SMALL = {"enterprises": 600, "inspectors": 30}
SEED = 11
ENTITY_DIGIT = {
    EntityType.COMPANY: "1",
    EntityType.INDIVIDUAL: "2",
    EntityType.COOPERATIVE: "3",
}


@pytest.fixture(scope="module")
def small() -> DemoData:
    return generate(SEED, **SMALL)


@pytest.fixture(scope="module")
def medium() -> DemoData:
    """Large enough for the shares (conflicts, inactive officers, shared representatives)."""
    return generate(SEED, enterprises=5000, inspectors=200)


# --------------------------------------------------------------------------- generation


def test_same_seed_gives_identical_records(small: DemoData) -> None:
    again = generate(SEED, **SMALL)
    assert again == small
    # Spelled out for the fields that matter most, so a failure says which.
    assert [(e.uscc, e.name, e.lon, e.lat) for e in again.enterprises] == [
        (e.uscc, e.name, e.lon, e.lat) for e in small.enterprises
    ]
    assert again.inspectors == small.inspectors
    assert again.conflicts == small.conflicts
    assert again.users == small.users


_DIGEST = """
import hashlib
from enforcement.demo import generate
d = generate(7, 300, 20)
text = repr((d.enterprises, d.inspectors, d.conflicts, d.users))
print(hashlib.sha256(text.encode()).hexdigest())
"""


def test_same_seed_gives_identical_records_across_processes() -> None:
    """Independent of string-hash randomisation (no set or hash order leaks into the data)."""
    digests = set()
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        out = subprocess.run(
            [sys.executable, "-c", _DIGEST], env=env, capture_output=True, text=True, check=True
        )
        digests.add(out.stdout.strip())
    here = generate(7, 300, 20)
    digests.add(
        hashlib.sha256(
            repr((here.enterprises, here.inspectors, here.conflicts, here.users)).encode()
        ).hexdigest()
    )
    assert len(digests) == 1


def test_different_seed_gives_different_records(small: DemoData) -> None:
    other = generate(SEED + 1, **SMALL)
    assert len(other.enterprises) == len(small.enterprises)
    assert not {e.uscc for e in other.enterprises} & {e.uscc for e in small.enterprises}
    assert [e.name for e in other.enterprises] != [e.name for e in small.enterprises]
    assert [(e.lon, e.lat) for e in other.enterprises] != [
        (e.lon, e.lat) for e in small.enterprises
    ]
    assert [i.credential_no for i in other.inspectors] != [
        i.credential_no for i in small.inspectors
    ]


def test_usccs_are_valid_unique_and_carry_the_county_code(medium: DemoData) -> None:
    codes = [e.uscc for e in medium.enterprises]
    assert len(set(codes)) == len(codes)
    for firm in medium.enterprises:
        assert validate_uscc(firm.uscc) is None, firm.uscc
        assert firm.uscc[0] == "9"  # registered by market regulation
        assert firm.uscc[1] == ENTITY_DIGIT[firm.entity_type]
        assert firm.uscc[2:8] == firm.county_adcode
        assert firm.natural_key == firm.uscc


def test_enterprises_lie_inside_their_generating_county(medium: DemoData) -> None:
    polygons = {area.adcode: area.polygon for area in counties()}
    assert set(polygons) == {e.county_adcode for e in medium.enterprises}  # all 34 used
    for adcode, polygon in polygons.items():
        firms = [e for e in medium.enterprises if e.county_adcode == adcode]
        lon = np.array([e.lon for e in firms])
        lat = np.array([e.lat for e in firms])
        assert shapely.contains_xy(polygon, lon, lat).all(), adcode
        # Uniform over the county, not clustered in one corner.
        minx, miny, maxx, maxy = polygon.bounds
        if len(firms) >= 50:
            assert np.ptp(lon) > 0.4 * (maxx - minx)
            assert np.ptp(lat) > 0.4 * (maxy - miny)


def test_enterprise_fields_are_plausible(medium: DemoData) -> None:
    firms = medium.enterprises
    names = [e.name for e in firms]
    assert len(set(names)) == len(names)
    types = Counter(e.entity_type for e in firms)
    assert types[EntityType.INDIVIDUAL] > types[EntityType.COMPANY] > types[EntityType.COOPERATIVE]
    for firm in firms:
        assert (firm.registered_capital is None) == (firm.entity_type is EntityType.INDIVIDUAL)
        if firm.registered_capital is not None:
            assert firm.registered_capital > 0
        assert 1995 <= firm.registration_date.year <= 2026
        assert re.fullmatch(r"[A-Z]\d{4}", firm.industry_code)
        assert re.search(r"(街道|镇|开发区).+\d+号$", firm.registered_address)
        if firm.entity_type is EntityType.COOPERATIVE:
            assert firm.name.endswith("专业合作社")
    companies = [e.name for e in firms if e.entity_type is EntityType.COMPANY]
    assert sum(n.endswith("有限公司") for n in companies) > 0.8 * len(companies)
    recent = sum(e.registration_date.year >= 2015 for e in firms)
    assert recent > 0.6 * len(firms)  # more recent registrations are more frequent
    statuses = Counter(e.status.value for e in firms)
    assert 0.9 < statuses["in_business"] / len(firms) < 0.98
    assert statuses["deregistered"] and statuses["revoked"]


def test_about_two_percent_share_a_legal_representative(medium: DemoData) -> None:
    refs = Counter(e.legal_representative_ref for e in medium.enterprises)
    sharing = sum(n for n in refs.values() if n > 1)
    assert 0.01 * len(medium.enterprises) <= sharing <= 0.03 * len(medium.enterprises)
    by_ref: dict[str, set[str]] = {}
    for firm in medium.enterprises:
        by_ref.setdefault(firm.legal_representative_ref, set()).add(firm.legal_representative)
    assert all(len(names) == 1 for names in by_ref.values())  # same person, same name


def test_items_reference_departments_and_cite_a_legal_basis(small: DemoData) -> None:
    codes = {d.code for d in small.departments}
    assert {"SCJG", "SPAQ", "TZSB", "STHJ"} <= codes
    assert all(d.name_en for d in small.departments)
    item_codes = [item.code for item in small.items]
    assert len(set(item_codes)) == len(item_codes) >= 30
    entity_types = {t.value for t in EntityType}
    for item in small.items:
        assert item.department_code in codes
        assert re.search(r"《[^》]+》(第[一二三四五六七八九十百零]+条)?", item.legal_basis), (
            item.code
        )
        assert set(item.scope_entity_types) <= entity_types
        assert item.default_interval_months in (6, 12, 24)
    assert all(items_of(d.code) for d in DEPARTMENTS)  # every department has items


def test_every_item_has_targets_in_the_full_data_set(medium: DemoData) -> None:
    from enforcement.demo.catalogue import item_applies

    for item in ITEMS:
        assert any(
            item_applies(item, e.industry_code, e.entity_type.value) for e in medium.enterprises
        ), item.code


def test_inspectors_credentials_specialties_and_conflicts(medium: DemoData) -> None:
    officers = medium.inspectors
    credentials = [o.credential_no for o in officers]
    assert len(set(credentials)) == len(credentials)
    for officer in officers:
        assert re.fullmatch(r"\d{14}", officer.credential_no)
        assert officer.credential_no.startswith(officer.jurisdiction_adcode)
        own = {item.code for item in items_of(officer.department_code)}
        assert officer.specialties and set(officer.specialties) <= own
    inactive = sum(not o.active for o in officers)
    assert 0.01 * len(officers) <= inactive <= 0.10 * len(officers)
    conflicted = {c.credential_no for c in medium.conflicts}
    assert 0.08 * len(officers) <= len(conflicted) <= 0.12 * len(officers)
    uscc = {e.uscc for e in medium.enterprises}
    with_firm = [c for c in medium.conflicts if c.enterprise_uscc]
    with_person = [c for c in medium.conflicts if c.person_name]
    assert with_firm and with_person
    for conflict in medium.conflicts:
        assert (conflict.enterprise_uscc is None) != (conflict.person_name is None)
        assert conflict.relation
        assert conflict.credential_no in credentials
        if conflict.enterprise_uscc:
            assert conflict.enterprise_uscc in uscc


def test_conflicts_exist_at_the_small_size(small: DemoData) -> None:
    assert any(c.enterprise_uscc for c in small.conflicts)
    assert any(c.person_name for c in small.conflicts)


def test_bundled_polygons_are_small_valid_and_complete() -> None:
    assert JURISDICTIONS_FILE.stat().st_size < 400_000
    assert (JURISDICTIONS_FILE.parent / "ATTRIBUTION.md").is_file()
    areas = bundled_areas()
    levels = Counter(a.level for a in areas)
    assert levels == {
        JurisdictionLevel.PROVINCE: 4,
        JurisdictionLevel.CITY: 5,
        JurisdictionLevel.COUNTY: 34,
    }
    by_code = {a.adcode: a for a in areas}
    assert by_code["330783"].name == "东阳市"
    for area in areas:
        assert area.polygon.is_valid and area.polygon.geom_type == "MultiPolygon"
        if area.parent_adcode:
            assert by_code[area.parent_adcode].level.rank == area.level.rank - 1


def test_polygons_are_converted_from_gcj02(shared_data: Path) -> None:
    """The stored polygons are WGS-84: the source (GCJ-02) shifted by a few hundred metres."""
    import json

    from gis import haversine_m

    source = json.loads((shared_data / "china" / "seed_city_counties.geojson").read_text())
    gcj = {
        f["properties"]["adcode"]: shapely.geometry.shape(f["geometry"]) for f in source["features"]
    }
    for area in counties():
        a, b = shapely.centroid(gcj[area.adcode]), shapely.centroid(area.polygon)
        shift = haversine_m(a.x, a.y, b.x, b.y)
        assert 100 < shift < 800, (area.adcode, shift)
        assert b.x < a.x  # GCJ-02 lies east of WGS-84 in these provinces


# --------------------------------------------------------------------------- loading


def _snapshot(session: Session) -> dict[str, list[tuple]]:
    """Every demo table's rows without timestamps (geometries as WKB)."""
    result = {}
    for table in (Department, Jurisdiction, InspectionItem, Enterprise, Inspector):
        t = table.__table__
        columns = [
            func.ST_AsBinary(c) if c.name in ("polygon", "location") else c
            for c in t.columns
            if c.name not in ("created_at", "updated_at")
        ]
        result[t.name] = [
            tuple(bytes(v) if isinstance(v, memoryview) else v for v in row)
            for row in session.execute(select(*columns).order_by(t.c.id))
        ]
    result["conflicts"] = [
        tuple(row) for row in session.execute(select(InspectorConflict.__table__).order_by("id"))
    ]
    result["users"] = [
        tuple(row)
        for row in session.execute(
            select(User.username, User.role, User.department_id, User.enterprise_id).order_by(
                User.id
            )
        )
    ]
    return result


def test_load_writes_the_data_set_and_assigns_counties(
    db_session: Session, small: DemoData
) -> None:
    report = load_demo(db_session, small)
    assert report.changes["enterprises"].inserted == len(small.enterprises)
    assert report.changes["jurisdictions"].inserted == 43

    county_ids = dict(db_session.execute(select(Jurisdiction.adcode, Jurisdiction.id)).all())
    stored = dict(db_session.execute(select(Enterprise.uscc, Enterprise.jurisdiction_id)).all())
    assert len(stored) == len(small.enterprises)
    for firm in small.enterprises:
        assert stored[firm.uscc] == county_ids[firm.county_adcode]
    # Recomputing from the stored polygons changes nothing.
    assert reassign_enterprises(db_session) == {
        "located": len(small.enterprises),
        "changed": 0,
        "outside": 0,
    }
    dongyang = db_session.scalars(select(Jurisdiction).where(Jurisdiction.adcode == "330783")).one()
    assert dongyang.level is JurisdictionLevel.COUNTY
    assert dongyang.parent is not None and dongyang.parent.adcode == "330700"
    assert dongyang.parent.parent is not None and dongyang.parent.parent.name == "浙江省"

    items = db_session.scalars(select(InspectionItem)).all()
    assert len(items) == len(ITEMS)
    assert all(item.department is not None and item.legal_basis for item in items)
    conflicts = db_session.scalars(select(InspectorConflict)).all()
    assert len(conflicts) == len(small.conflicts)
    assert any(c.enterprise_id for c in conflicts) and any(c.person_name for c in conflicts)
    firm = db_session.scalars(select(Enterprise).limit(1)).one()
    assert firm.extra["source"] == "suijian-demo"
    assert firm.extra["legal_representative_ref"].startswith("P")


def test_demo_users_have_verifiable_argon2id_passwords(
    db_session: Session, small: DemoData
) -> None:
    load_demo(db_session, small)
    users = {u.username: u for u in db_session.scalars(select(User))}
    assert set(users) == {login.username for login in DEMO_LOGINS}
    hasher = PasswordHasher()
    for login in DEMO_LOGINS:
        user = users[login.username]
        assert user.role is login.role
        assert user.password_hash.startswith("$argon2id$")
        assert hasher.verify(user.password_hash, DEMO_PASSWORD)
        assert login.password == DEMO_PASSWORD
    assert users["supervisor"].department is not None
    assert users["supervisor"].department.code == "SCJG"
    for name in ("inspector", "inspector2"):
        officer = users[name].inspector
        assert officer is not None and officer.active
        assert officer.jurisdiction is not None and officer.jurisdiction.adcode == "330783"
        assert users[name].role is Role.INSPECTOR
    assert users["inspector"].inspector.conflicts  # the demo shows recusal
    assert users["inspector"].inspector_id != users["inspector2"].inspector_id
    firm = users["enterprise"].enterprise
    assert firm is not None and firm.status.value == "in_business"
    assert users["enterprise"].display_name == firm.name


def test_second_load_with_the_same_seed_changes_nothing(
    db_session: Session, small: DemoData
) -> None:
    load_demo(db_session, small)
    db_session.commit()
    before = _snapshot(db_session)
    report = load_demo(db_session, generate(SEED, **SMALL))
    assert report.written == 0
    assert all(c.unchanged == c.total for c in report.changes.values())
    assert _snapshot(db_session) == before


def test_load_repairs_changed_demo_rows(db_session: Session, small: DemoData) -> None:
    load_demo(db_session, small)
    firm = db_session.scalars(select(Enterprise).order_by(Enterprise.id).limit(1)).one()
    original = firm.name
    firm.name = "改名后的企业"
    db_session.flush()
    report = load_demo(db_session, small)
    assert report.changes["enterprises"].updated == 1
    db_session.refresh(firm)
    assert firm.name == original


def test_other_data_is_refused_unless_reset(db_session: Session, small: DemoData) -> None:
    load_demo(db_session, small)
    other = generate(SEED + 1, **SMALL)
    with pytest.raises(DemoError, match="--reset"):
        load_demo(db_session, other)
    report = load_demo(db_session, other, reset=True)
    assert report.reset_rows > 0
    keys = set(db_session.scalars(select(Enterprise.natural_key)))
    assert keys == {e.uscc for e in other.enterprises}
    assert db_session.scalar(select(func.count()).select_from(Department)) == len(DEPARTMENTS)


def test_departments_get_their_chinese_and_english_names(
    db_session: Session, small: DemoData
) -> None:
    report = load_demo(db_session, small)
    assert report.changes["departments"].inserted == len(DEPARTMENTS)
    stored = {d.code: (d.name, d.name_en) for d in db_session.scalars(select(Department))}
    assert stored == {d.code: (d.name, d.name_en) for d in DEPARTMENTS}


def test_importer_rejects_stop_the_load(db_session: Session, small: DemoData) -> None:
    """The demo is written through the importers; a rejected row is a bug, never skipped."""
    firm = small.enterprises[0]
    wrong = "0" if firm.uscc[-1] != "0" else "1"
    broken = replace(
        small, enterprises=(replace(firm, uscc=firm.uscc[:-1] + wrong), *small.enterprises[1:])
    )
    with pytest.raises(DemoError, match=r"rejected 1 of 600 demo enterprises.*row 1 uscc"):
        load_demo(db_session, broken)
    assert db_session.scalar(select(func.count()).select_from(Enterprise)) == 0


# --------------------------------------------------------------------------- command line


def test_cli_loads_the_demo_into_a_spatialite_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'demo.sqlite'}"
    ini = tmp_path / "demo.ini"
    ini.write_text(
        f"[app:main]\nuse = egg:suijian\nsqlalchemy.url = {url}\n"
        "spatialite.library_path = mod_spatialite\n",
        encoding="utf-8",
    )
    engine = make_engine(url)
    migrate.upgrade(engine)
    runner = CliRunner()
    args = ["-c", str(ini), "demo", "load", "--seed", "5", "--enterprises", "300"]
    args += ["--inspectors", "20"]

    first = runner.invoke(main, args)
    assert first.exit_code == 0, first.output
    assert "enterprises" in first.output and "金华市" in first.output
    assert "suijian-demo" in first.output

    second = runner.invoke(main, args)
    assert second.exit_code == 0, second.output
    line = next(x for x in second.output.splitlines() if x.strip().startswith("enterprises"))
    assert line.split()[1:] == ["300", "0", "0", "300"]

    refused = runner.invoke(main, [*args[:4], "--seed", "6", *args[6:]])
    assert refused.exit_code == 1
    assert "--reset" in refused.output
    skipped = runner.invoke(main, [*args[:4], "--seed", "6", *args[6:], "--if-empty"])
    assert skipped.exit_code == 0, skipped.output
    assert "nothing loaded" in skipped.output

    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Enterprise)) == 300
        assert session.scalar(select(func.count()).select_from(Inspector)) == 20
        assert session.scalar(select(func.count()).select_from(User)) == len(DEMO_LOGINS)
    engine.dispose()


def test_cli_logins_lists_every_account() -> None:
    result = CliRunner().invoke(main, ["demo", "logins"])
    assert result.exit_code == 0, result.output
    for login in DEMO_LOGINS:
        assert login.username in result.output
    assert DEMO_PASSWORD in result.output
