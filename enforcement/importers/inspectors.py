"""Inspectors (执法检查人员名录库) and their declared conflicts of interest (回避)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, ClassVar

from sqlalchemy import Connection, bindparam, delete, func, insert, or_, select, update

from enforcement.importers import parsers
from enforcement.importers.base import (
    BaseImporter,
    Departments,
    FieldSpec,
    RowErrors,
    json_list,
    text_field,
)
from enforcement.importers.labels import BOOLEANS
from enforcement.importers.readers import Chunk
from enforcement.importers.report import Reject
from enforcement.importers.writer import (
    Assign,
    Plan,
    StageColumn,
    Staged,
    WriteResult,
    default_if_empty,
)
from enforcement.models import Enterprise, Inspector, InspectorConflict, Jurisdiction
from enforcement.reasons import reason
from enforcement.uscc import CHARSET

_USCC_LIKE = re.compile(f"[{CHARSET}]{{18}}\\Z")
# "name(relation)" with ASCII or full-width brackets.
_RELATION = re.compile(r"(.+?)\s*[(（]\s*(.*?)\s*[)）]\s*\Z")
_CONFLICT_SPLIT = re.compile(r"[;；\n]")
BATCH = 500


def _raw(values: Sequence[Any], **_: Any) -> parsers.Parsed:
    return parsers.Parsed(list(values))


FIELDS = (
    text_field("credential_no", 32, required=True),
    text_field("name", 100, required=True),
    text_field("department", 32, required=True),
    text_field("department_name", 100),
    text_field("department_name_en", 200),
    FieldSpec("jurisdiction", parsers.adcode),
    FieldSpec("specialties", parsers.string_list),
    FieldSpec("active", parsers.boolean, options=(("table", BOOLEANS),)),
    FieldSpec("conflicts", _raw),
)

Conflict = tuple[str, str, str | None]  # ("enterprise" | "person", reference or name, relation)


def parse_conflicts(cell: Any) -> tuple[list[Conflict], list[tuple[str, str]]]:
    """``enterprise:<USCC or natural key>``, ``person:<name>``, or bare values: an 18-character
    USCC-like value is an enterprise, anything else a person. ``name(relation)`` is allowed."""
    if parsers.is_empty(cell):
        return [], []
    items = cell if isinstance(cell, list) else _CONFLICT_SPLIT.split(str(cell))
    out: list[Conflict] = []
    problems: list[tuple[str, str]] = []
    for item in items:
        item = str(item).strip()
        if not item:
            continue
        kind, _, rest = item.partition(":")
        if kind.strip().lower() in ("enterprise", "person") and rest.strip():
            kind, value = kind.strip().lower(), rest.strip()
        else:
            value = item
            kind = "enterprise" if _USCC_LIKE.match(item) else "person"
        relation = None
        match = _RELATION.match(value)
        if match:
            value, relation = match.group(1).strip(), match.group(2) or None
        if kind == "person" and len(value) > 100:
            problems.append(
                (
                    reason("person name longer than 100 characters: ${start}…", start=value[:20]),
                    "人名过长",
                )
            )
            continue
        if relation is not None and len(relation) > 200:
            problems.append((reason("relation longer than 200 characters"), "关系说明过长"))
            continue
        entry = (kind, value, relation)
        if entry not in out:
            out.append(entry)
    return out, problems


class InspectorImporter(BaseImporter):
    kind = "inspectors"
    table = "inspectors"
    key = "credential_no"
    fields = FIELDS
    threaded: ClassVar[bool] = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.departments = Departments(self.session)
        self.adcodes: dict[str, int] = dict(
            self.session.execute(select(Jurisdiction.adcode, Jurisdiction.id)).all()
        )
        # credential_no -> {(enterprise_id, person_name): relation}
        self.conflicts: dict[str, dict[tuple[int | None, str | None], str | None]] = {}

    def plan(self) -> Plan:
        d = self.dialect
        stage = [
            StageColumn("credential_no", "text"),
            StageColumn("name", "text"),
            StageColumn("department_code", "text"),
        ]
        assigns = [
            Assign("name", "s.name"),
            Assign(
                "department_id",
                "(SELECT d.id FROM departments AS d WHERE d.code = s.department_code)",
            ),
        ]
        if self.provided("jurisdiction"):
            stage.append(StageColumn("jurisdiction_id", "int"))
            assigns.append(Assign("jurisdiction_id", "s.jurisdiction_id"))
        if self.provided("specialties"):
            stage.append(StageColumn("specialties", "json"))
            assigns.append(Assign("specialties", d.json_value("s.specialties"), compare="json"))
        else:
            assigns.append(Assign("specialties", d.json_value("'[]'"), update=False))
        if self.provided("active"):
            stage.append(StageColumn("active", "bool"))
            assigns.append(default_if_empty("active", "true" if d.pg else "1"))
        else:
            assigns.append(Assign("active", "true" if d.pg else "1", update=False))
        return Plan(self.table, self.key, stage, assigns, returning_keys=True)

    def _enterprise_ids(self, references: set[str]) -> dict[str, int]:
        found: dict[str, int] = {}
        refs = sorted(references)
        for start in range(0, len(refs), BATCH):
            batch = refs[start : start + BATCH]
            rows = self.session.execute(
                select(Enterprise.id, Enterprise.uscc, Enterprise.natural_key).where(
                    or_(Enterprise.uscc.in_(batch), Enterprise.natural_key.in_(batch))
                )
            ).all()
            for eid, code, key in rows:
                if code:
                    found[code] = eid
                found[key] = eid
        return found

    def _check_conflicts(
        self, chunk: Chunk, cells: Sequence[Any], errors: RowErrors
    ) -> list[list[Conflict]]:
        parsed = []
        for i, cell in enumerate(cells):
            entries, problems = parse_conflicts(cell)
            for why, why_zh in problems:
                errors.add(i, "conflicts", cell, why, why_zh)
            parsed.append(entries)
        references = {
            value for entries in parsed for kind, value, _ in entries if kind == "enterprise"
        }
        self._enterprises = self._enterprise_ids(references) if references else {}
        for i, entries in enumerate(parsed):
            for kind, value, _ in entries:
                if kind == "enterprise" and value not in self._enterprises:
                    errors.add(
                        i,
                        "conflicts",
                        value,
                        reason("no enterprise with USCC or key ${key} in the directory", key=value),
                        f"名录库中没有统一社会信用代码或标识为{value}的主体",
                    )
        return parsed

    def validate(self, chunk: Chunk) -> tuple[Staged | None, list[Reject]]:
        n = len(chunk)
        errors = RowErrors.for_chunk(chunk)
        values = self.parse_fields(chunk, errors)
        department_cells = self.raw(chunk, "department", errors) or [None] * n
        self.departments.check(
            values["department"],
            values.get("department_name"),
            errors,
            department_cells,
            values.get("department_name_en"),
        )
        jurisdiction_ids: list[int | None] = [None] * n
        if "jurisdiction" in values:
            for i, code in enumerate(values["jurisdiction"]):
                if code is None:
                    continue
                if code in self.adcodes:
                    jurisdiction_ids[i] = self.adcodes[code]
                else:
                    errors.add(
                        i,
                        "jurisdiction",
                        code,
                        reason("unknown jurisdiction adcode ${code}", code=code),
                        f"未知的行政区划代码{code}",
                    )
        conflicts = None
        if "conflicts" in values:
            conflicts = self._check_conflicts(chunk, values["conflicts"], errors)
        keys = values["credential_no"]
        skipped = set(self.check_duplicates(keys, errors, "credential_no"))
        keep = [i for i in range(n) if i not in errors and i not in skipped]
        rejects = errors.rejects()
        if not keep:
            return None, rejects
        if conflicts is not None:
            for i in keep:
                self.conflicts[keys[i]] = {
                    (self._enterprises[value], None) if kind == "enterprise" else (None, value): rel
                    for kind, value, rel in conflicts[i]
                }
        staged: dict[str, list[Any]] = {
            "credential_no": [keys[i] for i in keep],
            "name": [values["name"][i] for i in keep],
            "department_code": [values["department"][i] for i in keep],
        }
        if "jurisdiction" in values:
            staged["jurisdiction_id"] = [jurisdiction_ids[i] for i in keep]
        if "specialties" in values:
            staged["specialties"] = [json_list(values["specialties"][i]) for i in keep]
        if "active" in values:
            staged["active"] = [values["active"][i] for i in keep]
        codes = set(staged["department_code"])
        return Staged(
            len(keep), staged, before=[lambda conn: self.departments.create(conn, codes)]
        ), rejects

    def finish(self, result: WriteResult) -> None:
        self.report.departments_created = self.departments.created
        changed = self._sync_conflicts() if self.provided("conflicts") else set()
        inserted = set(result.inserted_keys)
        updated = set(result.updated_keys)
        only_conflicts = changed - updated - inserted
        conn = self.session.connection()
        table = Inspector.__table__
        keys = sorted(only_conflicts)
        for start in range(0, len(keys), BATCH):
            conn.execute(
                update(table)
                .where(table.c.credential_no.in_(keys[start : start + BATCH]))
                .values(updated_at=func.current_timestamp())
            )
        result.updated = len((updated | changed) - inserted)

    def _sync_conflicts(self) -> set[str]:
        """Make each listed inspector's declared conflicts exactly the file's; returns the
        credential numbers whose conflicts changed."""
        conn: Connection = self.session.connection()
        inspectors = Inspector.__table__
        conflicts = InspectorConflict.__table__
        keys = sorted(self.conflicts)
        ids: dict[str, int] = {}
        for start in range(0, len(keys), BATCH):
            ids.update(
                conn.execute(
                    select(inspectors.c.credential_no, inspectors.c.id).where(
                        inspectors.c.credential_no.in_(keys[start : start + BATCH])
                    )
                ).all()
            )
        by_id = {v: k for k, v in ids.items()}
        current: dict[int, dict[tuple[int | None, str | None], tuple[int, str | None]]] = {}
        id_list = sorted(by_id)
        for start in range(0, len(id_list), BATCH):
            rows = conn.execute(
                select(
                    conflicts.c.id,
                    conflicts.c.inspector_id,
                    conflicts.c.enterprise_id,
                    conflicts.c.person_name,
                    conflicts.c.relation,
                ).where(conflicts.c.inspector_id.in_(id_list[start : start + BATCH]))
            ).all()
            for cid, iid, eid, person, relation in rows:
                current.setdefault(iid, {})[(eid, person)] = (cid, relation)
        to_delete, to_insert, to_relabel = [], [], []
        changed: set[str] = set()
        for key, wanted in self.conflicts.items():
            iid = ids[key]
            have = current.get(iid, {})
            for target, (cid, relation) in have.items():
                if target not in wanted:
                    to_delete.append(cid)
                    changed.add(key)
                elif wanted[target] != relation:
                    to_relabel.append({"cid": cid, "rel": wanted[target]})
                    changed.add(key)
            for (eid, person), relation in wanted.items():
                if (eid, person) not in have:
                    to_insert.append(
                        {
                            "inspector_id": iid,
                            "enterprise_id": eid,
                            "person_name": person,
                            "relation": relation,
                        }
                    )
                    changed.add(key)
        for start in range(0, len(to_delete), BATCH):
            conn.execute(
                delete(conflicts).where(conflicts.c.id.in_(to_delete[start : start + BATCH]))
            )
        if to_insert:
            conn.execute(insert(conflicts), to_insert)
        if to_relabel:
            conn.execute(
                update(conflicts)
                .where(conflicts.c.id == bindparam("cid"))
                .values(relation=bindparam("rel")),
                to_relabel,
            )
        wanted_total = sum(len(wanted) for wanted in self.conflicts.values())
        self.report.conflicts = {
            "inserted": len(to_insert),
            "updated": len(to_relabel),
            "deleted": len(to_delete),
            "unchanged": wanted_total - len(to_insert) - len(to_relabel),
        }
        return changed
