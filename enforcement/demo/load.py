"""Write a generated demo data set into the system of record, through the importers.

The records are written as import files (``enforcement.demo.files``) and loaded with
``enforcement.importers.import_file``, kind by kind in dependency order, so the demo takes the
same validated, idempotent upsert path as real data. Only the demo accounts, which no importer
covers, are upserted here. Never commits.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, Table, bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from enforcement.demo.accounts import DEMO_PASSWORD
from enforcement.demo.files import CRS, DEMO_SOURCE, KINDS, MAPPINGS, write_import_files
from enforcement.demo.generate import DemoData
from enforcement.importers import ImportReport, import_file
from enforcement.models import (
    Base,
    Department,
    Enterprise,
    Inspector,
    Jurisdiction,
    JurisdictionLevel,
    User,
)
from enforcement.services.jurisdictions import assign_points, jurisdiction_index

# LoadReport.changes keys, as printed by `suijian demo load`, for the import kinds.
REPORT_KINDS = {"items": "inspection_items"}
SHOWN_REJECTS = 5


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

    With ``reset`` every Suijian table is emptied first. Writes through the session's
    connection (the importers use savepoints of it), so the caller's transaction decides (the
    CLI commits).
    """
    session.flush()
    report = LoadReport(seed=data.seed)
    if reset:
        report.reset_rows = wipe(session)
    conn = session.connection()
    _refuse_foreign_data(conn, data)

    imports = _import(session, data)
    conn = session.connection()
    department_ids = _ids(conn, Department.__table__, "code")
    missing = [d.code for d in data.departments if d.code not in department_ids]
    if missing:
        raise DemoError(f"demo departments were not created by the imports: {missing}")
    created = sum(r.departments_created for r in imports.values())
    # Departments are created by the item and inspector imports, never renamed.
    report.changes["departments"] = Changes(
        inserted=created, unchanged=len(data.departments) - created
    )
    for kind in KINDS:
        imported = imports[kind]
        report.changes[REPORT_KINDS.get(kind, kind)] = Changes(
            imported.inserted, imported.updated, imported.unchanged
        )
    report.changes["inspector_conflicts"] = Changes(**(imports["inspectors"].conflicts or {}))

    enterprise_ids = _ids(conn, Enterprise.__table__, "natural_key")
    inspector_ids = _ids(conn, Inspector.__table__, "credential_no")
    report.changes["users"] = _sync_users(
        conn, data, department_ids, enterprise_ids, inspector_ids, hasher or PasswordHasher()
    )
    session.expire_all()
    _verify_jurisdictions(
        session, data, enterprise_ids, _ids(conn, Jurisdiction.__table__, "adcode")
    )
    report.per_city = _per_city(data)
    return report


def _import(session: Session, data: DemoData) -> dict[str, ImportReport]:
    """Write the import files and import them, parents first; any reject is a bug."""
    reports = {}
    with tempfile.TemporaryDirectory(prefix="suijian-demo-") as directory:
        paths = write_import_files(data, Path(directory))
        for kind in KINDS:
            imported = import_file(session, kind, paths[kind], mapping=MAPPINGS.get(kind), crs=CRS)
            if imported.rejects or not imported.applied:
                shown = "; ".join(
                    f"row {r.row} {r.field} {r.value!r}: {r.reason}"
                    for r in imported.rejects[:SHOWN_REJECTS]
                )
                raise DemoError(
                    f"the importer rejected {imported.rejected} of {imported.total} demo "
                    f"{kind} (a bug in the demo or the importers; nothing was written): {shown}"
                )
            reports[kind] = imported
    return reports


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


# --------------------------------------------------------------------------- accounts


def _ids(conn: Connection, table: Table, key: str) -> dict[str, int]:
    return dict(conn.execute(select(table.c[key], table.c.id)).all())


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
    return _upsert(conn, table, "username", rows)


def _verifies(hasher: PasswordHasher, password_hash: str, password: str) -> bool:
    try:
        return hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _upsert(conn: Connection, table: Table, key: str, rows: list[dict[str, Any]]) -> Changes:
    """Insert the rows whose ``key`` is new, update those that differ, leave the rest."""
    columns = [c for c in rows[0] if c != key]
    current = {
        row[0]: (row[1], tuple(row[2:]))
        for row in conn.execute(
            select(table.c[key], table.c.id, *(table.c[c] for c in columns)).where(
                table.c[key].in_([row[key] for row in rows])
            )
        )
    }
    changes = Changes()
    to_insert, to_update = [], []
    for row in rows:
        existing = current.get(row[key])
        if existing is None:
            to_insert.append(row)
        elif existing[1] != tuple(row[c] for c in columns):
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


__all__ = [
    "DEMO_SOURCE",
    "Changes",
    "DemoError",
    "LoadReport",
    "load_demo",
    "registry_is_empty",
    "wipe",
]
