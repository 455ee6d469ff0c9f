"""Write a generated demo data set into the system of record (upsert on natural keys).

Set-based: one bulk INSERT and one executemany UPDATE per table, only for rows that are new or
differ, so loading the same seed twice writes nothing the second time. Never commits.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np
import shapely
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, Table, bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from enforcement.demo.accounts import DEMO_PASSWORD
from enforcement.demo.generate import DemoData
from enforcement.demo.geography import POINT_DECIMALS
from enforcement.models import (
    SRID,
    Base,
    Department,
    Enterprise,
    InspectionItem,
    Inspector,
    InspectorConflict,
    Jurisdiction,
    JurisdictionLevel,
    User,
)
from enforcement.services.jurisdictions import assign_points, jurisdiction_index

DEMO_SOURCE = "suijian-demo"  # extra["source"] of generated enterprises


class DemoError(RuntimeError):
    """The demo cannot be loaded as asked (the message says why and what to do)."""


@dataclass
class Changes:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0

    @property
    def total(self) -> int:
        return self.inserted + self.updated + self.unchanged


@dataclass
class LoadReport:
    seed: int
    reset_rows: int = 0
    changes: dict[str, Changes] = field(default_factory=dict)
    # city name -> {"enterprises": n, "inspectors": n}
    per_city: dict[str, Counter[str]] = field(default_factory=dict)

    @property
    def written(self) -> int:
        return sum(c.inserted + c.updated + c.deleted for c in self.changes.values())


def registry_is_empty(session: Session) -> bool:
    """No enterprises and no inspectors yet."""
    return (
        session.scalar(select(Enterprise.id).limit(1)) is None
        and session.scalar(select(Inspector.id).limit(1)) is None
    )


def wipe(session: Session) -> int:
    """Delete every row of every Suijian table, children first; the schema stays."""
    conn = session.connection()
    deleted = 0
    for table in reversed(Base.metadata.sorted_tables):
        deleted += conn.execute(table.delete()).rowcount or 0
    session.expire_all()
    return deleted


def load_demo(
    session: Session,
    data: DemoData,
    *,
    reset: bool = False,
    hasher: PasswordHasher | None = None,
) -> LoadReport:
    """Load ``data``; refuses when the registry holds enterprises or inspectors of other data.

    With ``reset`` every Suijian table is emptied first. Flushes and writes through the
    session's connection, so the caller's transaction decides (the CLI commits).
    """
    session.flush()
    report = LoadReport(seed=data.seed)
    if reset:
        report.reset_rows = wipe(session)
    conn = session.connection()
    _refuse_foreign_data(conn, data)

    report.changes["departments"] = _sync(
        conn,
        Department.__table__,
        "code",
        [{"code": d.code, "name": d.name, "name_en": d.name_en} for d in data.departments],
    )
    department_ids = _ids(conn, Department.__table__, "code")
    report.changes["jurisdictions"] = _sync_jurisdictions(conn, data)
    jurisdiction_ids = _ids(conn, Jurisdiction.__table__, "adcode")
    report.changes["inspection_items"] = _sync(
        conn,
        InspectionItem.__table__,
        "code",
        [
            {
                "code": item.code,
                "department_id": department_ids[item.department_code],
                "name": item.name,
                "legal_basis": item.legal_basis,
                "scope_industries": list(item.scope_industries),
                "scope_entity_types": list(item.scope_entity_types),
                "method": item.method,
                "default_interval_months": item.default_interval_months,
                "active": True,
            }
            for item in data.items
        ],
    )
    report.changes["enterprises"] = _sync(
        conn,
        Enterprise.__table__,
        "natural_key",
        [
            {
                "natural_key": firm.natural_key,
                "uscc": firm.uscc,
                "name": firm.name,
                "legal_representative": firm.legal_representative,
                "entity_type": firm.entity_type,
                "industry_code": firm.industry_code,
                "registered_address": firm.registered_address,
                "location": _point(firm.lon, firm.lat),
                "jurisdiction_id": jurisdiction_ids[firm.county_adcode],
                "status": firm.status,
                "registration_date": firm.registration_date,
                "registered_capital": firm.registered_capital,
                "extra": {
                    "source": DEMO_SOURCE,
                    "legal_representative_ref": firm.legal_representative_ref,
                },
            }
            for firm in data.enterprises
        ],
        read={"location": _point_read(Enterprise.__table__.c.location)},
    )
    enterprise_ids = _ids(conn, Enterprise.__table__, "natural_key")
    report.changes["inspectors"] = _sync(
        conn,
        Inspector.__table__,
        "credential_no",
        [
            {
                "credential_no": officer.credential_no,
                "name": officer.name,
                "department_id": department_ids[officer.department_code],
                "jurisdiction_id": jurisdiction_ids[officer.jurisdiction_adcode],
                "specialties": list(officer.specialties),
                "active": officer.active,
            }
            for officer in data.inspectors
        ],
    )
    inspector_ids = _ids(conn, Inspector.__table__, "credential_no")
    report.changes["inspector_conflicts"] = _sync_conflicts(
        conn, data, inspector_ids, enterprise_ids
    )
    report.changes["users"] = _sync_users(
        conn, data, department_ids, enterprise_ids, inspector_ids, hasher or PasswordHasher()
    )
    session.expire_all()
    _verify_jurisdictions(session, data, enterprise_ids, jurisdiction_ids)
    report.per_city = _per_city(data)
    return report


# --------------------------------------------------------------------------- guards and checks


def _refuse_foreign_data(conn: Connection, data: DemoData) -> None:
    """Mixing two seeds, or the demo and real data, would make a confusing registry."""
    ours_firms = {firm.natural_key for firm in data.enterprises}
    ours_officers = {officer.credential_no for officer in data.inspectors}
    firms = conn.execute(select(Enterprise.__table__.c.natural_key)).scalars()
    officers = conn.execute(select(Inspector.__table__.c.credential_no)).scalars()
    foreign_firms = sum(1 for key in firms if key not in ours_firms)
    foreign_officers = sum(1 for key in officers if key not in ours_officers)
    if foreign_firms or foreign_officers:
        raise DemoError(
            f"the database already holds {foreign_firms} enterprises and {foreign_officers} "
            f"inspectors that are not part of this demo data set (seed {data.seed}, "
            f"{len(data.enterprises)} enterprises, {len(data.inspectors)} inspectors); "
            "load into an empty database, repeat the earlier seed and sizes, or pass --reset "
            "to delete ALL data first"
        )


def _verify_jurisdictions(
    session: Session,
    data: DemoData,
    enterprise_ids: dict[str, int],
    jurisdiction_ids: dict[str, int],
) -> None:
    """Every enterprise must be assigned, by the stored polygons, to the county it was made in."""
    table = Enterprise.__table__
    rows = session.execute(
        select(table.c.id, func.ST_X(table.c.location), func.ST_Y(table.c.location)).where(
            table.c.location.is_not(None)
        )
    ).all()
    if not rows:
        return
    ids, lon, lat = (np.array(column) for column in zip(*rows, strict=True))
    assigned = dict(
        zip(
            ids.tolist(),
            assign_points(jurisdiction_index(session), lon.astype(float), lat.astype(float)),
            strict=True,
        )
    )
    wrong = [
        firm.uscc
        for firm in data.enterprises
        if assigned[enterprise_ids[firm.natural_key]] != jurisdiction_ids[firm.county_adcode]
    ]
    if wrong:
        raise DemoError(
            f"{len(wrong)} demo enterprises fall outside their county with the stored "
            f"polygons (first: {wrong[0]}); other jurisdiction polygons overlap the demo's"
        )


def _per_city(data: DemoData) -> dict[str, Counter[str]]:
    by_code = {area.adcode: area for area in data.areas}

    def city_of(adcode: str) -> str:
        area = by_code[adcode]
        if area.level is JurisdictionLevel.COUNTY:
            area = by_code[area.parent_adcode or ""]
        return area.name

    result: dict[str, Counter[str]] = {}
    for firm in data.enterprises:
        result.setdefault(city_of(firm.county_adcode), Counter())["enterprises"] += 1
    for officer in data.inspectors:
        result.setdefault(city_of(officer.jurisdiction_adcode), Counter())["inspectors"] += 1
    return result


# --------------------------------------------------------------------------- generic upsert


@dataclass(frozen=True)
class _Read:
    """How to read a column back comparably (geometries): SQL, then both sides normalised."""

    expressions: tuple[Any, ...]
    stored: Callable[..., Any]  # the selected values -> comparable
    wanted: Callable[[Any], Any]  # the value written -> comparable


def _point(lon: float, lat: float) -> str:
    return f"SRID={SRID};POINT({float(lon)!r} {float(lat)!r})"


def _point_read(column: Any) -> _Read:
    def wanted(ewkt: str) -> tuple[float, float]:
        lon, lat = ewkt.split("POINT(", 1)[1].rstrip(")").split()
        return round(float(lon), POINT_DECIMALS), round(float(lat), POINT_DECIMALS)

    def stored(lon: float | None, lat: float | None) -> tuple[float, float] | None:
        if lon is None or lat is None:
            return None
        return round(float(lon), POINT_DECIMALS), round(float(lat), POINT_DECIMALS)

    return _Read((func.ST_X(column), func.ST_Y(column)), stored, wanted)


def _polygon_read(column: Any) -> _Read:
    def wanted(ewkt: str) -> bytes:
        return shapely.to_wkb(shapely.from_wkt(ewkt.split(";", 1)[1]))

    def stored(wkb: Any) -> bytes | None:
        return None if wkb is None else shapely.to_wkb(shapely.from_wkb(bytes(wkb)))

    return _Read((func.ST_AsBinary(column),), stored, wanted)


def _ids(conn: Connection, table: Table, key: str) -> dict[str, int]:
    return dict(conn.execute(select(table.c[key], table.c.id)).all())


def _comparable(value: Any) -> Any:
    """Normalise values so that what was written compares equal to what is read back."""
    if isinstance(value, Decimal):
        return value.normalize()
    if isinstance(value, list):
        return tuple(value)
    return value


def _sync(
    conn: Connection,
    table: Table,
    key: str,
    rows: Sequence[dict[str, Any]],
    *,
    read: dict[str, _Read] | None = None,
) -> Changes:
    """Insert the rows whose ``key`` is new, update those that differ, leave the rest."""
    read = read or {}
    columns = [c for c in rows[0] if c != key] if rows else []
    expressions: list[Any] = [table.c[key], table.c.id]
    for column in columns:
        expressions.extend(read[column].expressions if column in read else (table.c[column],))
    current: dict[Any, tuple[int, tuple[Any, ...]]] = {}
    for row in conn.execute(select(*expressions)):
        values, position = [], 2
        for column in columns:
            if column in read:
                width = len(read[column].expressions)
                values.append(read[column].stored(*row[position : position + width]))
            else:
                width = 1
                values.append(_comparable(row[position]))
            position += width
        current[row[0]] = (row[1], tuple(values))

    def wanted(row: dict[str, Any]) -> tuple[Any, ...]:
        return tuple(read[c].wanted(row[c]) if c in read else _comparable(row[c]) for c in columns)

    changes = Changes()
    to_insert, to_update = [], []
    for row in rows:
        existing = current.get(row[key])
        if existing is None:
            to_insert.append(row)
        elif existing[1] != wanted(row):
            to_update.append({"b_id": existing[0], **{f"b_{c}": row[c] for c in columns}})
        else:
            changes.unchanged += 1
    if to_insert:
        conn.execute(insert(table), to_insert)
    if to_update:
        statement = (
            update(table)
            .where(table.c.id == bindparam("b_id"))
            .values({c: bindparam(f"b_{c}", type_=table.c[c].type) for c in columns})
        )
        conn.execute(statement, to_update)
    changes.inserted, changes.updated = len(to_insert), len(to_update)
    return changes


# --------------------------------------------------------------------------- specific kinds


def _wkt(polygon: shapely.Geometry) -> str:
    # Full precision: what is read back must equal what the enterprises were sampled in.
    return f"SRID={SRID};{shapely.to_wkt(polygon, rounding_precision=-1)}"


def _sync_jurisdictions(conn: Connection, data: DemoData) -> Changes:
    """Parents first, so that every parent_id is known when its children are written."""
    total = Changes()
    table = Jurisdiction.__table__
    for level in (JurisdictionLevel.PROVINCE, JurisdictionLevel.CITY, JurisdictionLevel.COUNTY):
        ids = _ids(conn, table, "adcode")
        rows = [
            {
                "adcode": area.adcode,
                "name": area.name,
                "level": area.level,
                "parent_id": ids.get(area.parent_adcode) if area.parent_adcode else None,
                "polygon": _wkt(area.polygon),
            }
            for area in data.areas
            if area.level is level
        ]
        changes = _sync(
            conn,
            table,
            "adcode",
            rows,
            read={"polygon": _polygon_read(table.c.polygon)},
        )
        total.inserted += changes.inserted
        total.updated += changes.updated
        total.unchanged += changes.unchanged
    return total


def _sync_conflicts(
    conn: Connection,
    data: DemoData,
    inspector_ids: dict[str, int],
    enterprise_ids: dict[str, int],
) -> Changes:
    """The demo inspectors' declared conflicts become exactly the generated ones."""
    table = InspectorConflict.__table__
    ours = sorted({inspector_ids[o.credential_no] for o in data.inspectors})
    wanted = {
        (
            inspector_ids[c.credential_no],
            enterprise_ids[c.enterprise_uscc] if c.enterprise_uscc else None,
            c.person_name,
        ): c.relation
        for c in data.conflicts
    }
    current = {}
    for chunk in _chunks(ours, 500):
        for row in conn.execute(
            select(
                table.c.id,
                table.c.inspector_id,
                table.c.enterprise_id,
                table.c.person_name,
                table.c.relation,
            ).where(table.c.inspector_id.in_(chunk))
        ):
            current[(row.inspector_id, row.enterprise_id, row.person_name)] = (row.id, row.relation)
    changes = Changes()
    stale = [row_id for k, (row_id, _) in current.items() if k not in wanted]
    for chunk in _chunks(stale, 500):
        conn.execute(table.delete().where(table.c.id.in_(chunk)))
    changes.deleted = len(stale)
    inserts, updates = [], []
    for (inspector_id, enterprise_id, person), relation in wanted.items():
        existing = current.get((inspector_id, enterprise_id, person))
        if existing is None:
            inserts.append(
                {
                    "inspector_id": inspector_id,
                    "enterprise_id": enterprise_id,
                    "person_name": person,
                    "relation": relation,
                }
            )
        elif existing[1] != relation:
            updates.append({"b_id": existing[0], "b_relation": relation})
        else:
            changes.unchanged += 1
    if inserts:
        conn.execute(insert(table), inserts)
    if updates:
        conn.execute(
            update(table)
            .where(table.c.id == bindparam("b_id"))
            .values(relation=bindparam("b_relation")),
            updates,
        )
    changes.inserted, changes.updated = len(inserts), len(updates)
    return changes


def _sync_users(
    conn: Connection,
    data: DemoData,
    department_ids: dict[str, int],
    enterprise_ids: dict[str, int],
    inspector_ids: dict[str, int],
    hasher: PasswordHasher,
) -> Changes:
    """Demo accounts; the password hash is kept while it still verifies (hashes are salted)."""
    table = User.__table__
    stored = {
        row.username: row.password_hash
        for row in conn.execute(
            select(table.c.username, table.c.password_hash).where(
                table.c.username.in_([u.username for u in data.users])
            )
        )
    }
    rows = []
    for user in data.users:
        password_hash = stored.get(user.username)
        if password_hash is None or not _verifies(hasher, password_hash, DEMO_PASSWORD):
            password_hash = hasher.hash(DEMO_PASSWORD)
        rows.append(
            {
                "username": user.username,
                "display_name": user.display_name,
                "role": user.role,
                "password_hash": password_hash,
                "locale": "zh_CN",
                "active": True,
                "failed_logins": 0,
                "locked_until": None,
                "department_id": department_ids[user.department_code]
                if user.department_code
                else None,
                "enterprise_id": enterprise_ids[user.enterprise_uscc]
                if user.enterprise_uscc
                else None,
                "inspector_id": inspector_ids[user.inspector_credential_no]
                if user.inspector_credential_no
                else None,
            }
        )
    return _sync(conn, table, "username", rows)


def _verifies(hasher: PasswordHasher, password_hash: str, password: str) -> bool:
    try:
        return hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


__all__ = [
    "DEMO_SOURCE",
    "Changes",
    "DemoError",
    "LoadReport",
    "load_demo",
    "registry_is_empty",
    "wipe",
]
