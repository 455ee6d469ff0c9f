"""Inspection items (随机抽查事项清单)."""

from __future__ import annotations

from typing import Any, ClassVar

from enforcement.importers import parsers
from enforcement.importers.base import (
    BaseImporter,
    Departments,
    FieldSpec,
    RowErrors,
    json_list,
    text_field,
)
from enforcement.importers.labels import BOOLEANS, ENTITY_TYPES, METHODS, normalise_label
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
from enforcement.reasons import reason

DEFAULT_INTERVAL = 12
LEGAL_BASIS_LENGTH = 10_000


def _entity_type_item(value: str) -> parsers.CellResult:
    key = normalise_label(value)
    if key in ENTITY_TYPES:
        return ENTITY_TYPES[key], None
    return None, (
        reason("unknown entity type '${value}' in the list", value=value),
        f"列表中有无法识别的主体类型“{value}”",
    )


FIELDS = (
    text_field("code", 64, required=True),
    text_field("department", 32, required=True),
    text_field("department_name", 100),
    text_field("department_name_en", 200),
    text_field("name", 300, required=True),
    text_field("legal_basis", LEGAL_BASIS_LENGTH, required=True),
    FieldSpec("scope_industries", parsers.string_list, options=(("item", parsers.industry_cell),)),
    FieldSpec("scope_entity_types", parsers.string_list, options=(("item", _entity_type_item),)),
    FieldSpec(
        "method",
        parsers.choice,
        required=True,
        options=(("table", METHODS), ("what", "method"), ("what_zh", "检查方式")),
    ),
    FieldSpec("default_interval_months", parsers.interval_months),
    FieldSpec("active", parsers.boolean, options=(("table", BOOLEANS),)),
)


class ItemImporter(BaseImporter):
    kind = "items"
    table = "inspection_items"
    key = "code"
    fields = FIELDS
    threaded: ClassVar[bool] = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.departments = Departments(self.session)

    def plan(self) -> Plan:
        d = self.dialect
        stage = [
            StageColumn("code", "text"),
            StageColumn("department_code", "text"),
            StageColumn("name", "text"),
            StageColumn("legal_basis", "text"),
            StageColumn("method", "text"),
        ]
        assigns = [
            Assign(
                "department_id",
                "(SELECT d.id FROM departments AS d WHERE d.code = s.department_code)",
            ),
            Assign("name", "s.name"),
            Assign("legal_basis", "s.legal_basis"),
            Assign("method", "s.method"),
        ]
        for field in ("scope_industries", "scope_entity_types"):
            if self.provided(field):
                stage.append(StageColumn(field, "json"))
                assigns.append(Assign(field, d.json_value(f"s.{field}"), compare="json"))
            else:
                assigns.append(Assign(field, d.json_value("'[]'"), update=False))
        if self.provided("default_interval_months"):
            stage.append(StageColumn("default_interval_months", "int"))
            assigns.append(default_if_empty("default_interval_months", str(DEFAULT_INTERVAL)))
        else:
            assigns.append(Assign("default_interval_months", str(DEFAULT_INTERVAL), update=False))
        if self.provided("active"):
            stage.append(StageColumn("active", "bool"))
            assigns.append(default_if_empty("active", "true" if d.pg else "1"))
        else:
            assigns.append(Assign("active", "true" if d.pg else "1", update=False))
        return Plan(self.table, self.key, stage, assigns)

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
        keys = values["code"]
        skipped = set(self.check_duplicates(keys, errors, "code"))
        keep = [i for i in range(n) if i not in errors and i not in skipped]
        rejects = errors.rejects()
        if not keep:
            return None, rejects
        staged: dict[str, list[Any]] = {
            "code": [keys[i] for i in keep],
            "department_code": [values["department"][i] for i in keep],
            "name": [values["name"][i] for i in keep],
            "legal_basis": [values["legal_basis"][i] for i in keep],
            "method": [values["method"][i] for i in keep],
        }
        for field in ("scope_industries", "scope_entity_types"):
            if field in values:
                staged[field] = [json_list(values[field][i]) for i in keep]
        if "default_interval_months" in values:
            staged["default_interval_months"] = [values["default_interval_months"][i] for i in keep]
        if "active" in values:
            staged["active"] = [values["active"][i] for i in keep]
        codes = set(staged["department_code"])
        return Staged(
            len(keep), staged, before=[lambda conn: self.departments.create(conn, codes)]
        ), rejects

    def finish(self, result: WriteResult) -> None:
        self.report.departments_created = self.departments.created
