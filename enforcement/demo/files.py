"""The demo data set as import files: what ``suijian import`` reads, written to a directory.

The demo is loaded through the importers (one write path for the registry), so the records
are written in their formats: GeoJSON for the jurisdictions (already WGS-84), CSV (UTF-8) for
the items, enterprises and inspectors. Values are written so that they read back exactly:
floats as their shortest round-trip text, dates ISO, enums by value.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import shapely.geometry

from enforcement.demo.generate import ConflictRecord, DemoData

DEMO_SOURCE = "suijian-demo"  # extra["source"] of generated enterprises
ENTERPRISE_EXTRA = ("source", "legal_representative_ref")  # kept in enterprises.extra
# Import order: each kind refers only to rows of the kinds before it.
KINDS = ("jurisdictions", "items", "enterprises", "inspectors")
CRS = "wgs84"  # geography.bundled_areas() already converted the polygons from GCJ-02
MAPPINGS: dict[str, dict[str, Any]] = {
    "enterprises": {"kind": "enterprises", "extra": list(ENTERPRISE_EXTRA)},
}


def write_import_files(data: DemoData, directory: Path) -> dict[str, Path]:
    """Write one import file per kind into ``directory``; returns kind -> path."""
    departments = {d.code: d for d in data.departments}
    paths = {
        "jurisdictions": directory / "jurisdictions.geojson",
        "items": directory / "items.csv",
        "enterprises": directory / "enterprises.csv",
        "inspectors": directory / "inspectors.csv",
    }
    features = [
        {
            "type": "Feature",
            "properties": {
                "adcode": area.adcode,
                "name": area.name,
                "level": area.level.value,
                "parent_adcode": area.parent_adcode,
            },
            # json writes floats as repr: the importer reads back the very same polygon.
            "geometry": shapely.geometry.mapping(area.polygon),
        }
        for area in data.areas
    ]
    collection = {"type": "FeatureCollection", "coordinate_system": CRS, "features": features}
    paths["jurisdictions"].write_text(json.dumps(collection, ensure_ascii=False), "utf-8")

    _write_csv(
        paths["items"],
        (
            "code",
            "department",
            "department_name",
            "department_name_en",
            "name",
            "legal_basis",
            "scope_industries",
            "scope_entity_types",
            "method",
            "default_interval_months",
            "active",
        ),
        (
            (
                item.code,
                item.department_code,
                departments[item.department_code].name,
                departments[item.department_code].name_en,
                item.name,
                item.legal_basis,
                ";".join(item.scope_industries),
                ";".join(item.scope_entity_types),
                item.method.value,
                item.default_interval_months,
                "true",
            )
            for item in data.items
        ),
    )
    _write_csv(
        paths["enterprises"],
        (
            "uscc",
            "name",
            "legal_representative",
            "entity_type",
            "industry_code",
            "registered_address",
            "longitude",
            "latitude",
            "jurisdiction",
            "status",
            "registration_date",
            "registered_capital",
            *ENTERPRISE_EXTRA,
        ),
        (
            (
                firm.uscc,
                firm.name,
                firm.legal_representative,
                firm.entity_type.value,
                firm.industry_code,
                firm.registered_address,
                repr(float(firm.lon)),
                repr(float(firm.lat)),
                firm.county_adcode,  # explicit; load_demo checks the polygons agree
                firm.status.value,
                firm.registration_date.isoformat(),
                "" if firm.registered_capital is None else f"{firm.registered_capital:f}",
                DEMO_SOURCE,
                firm.legal_representative_ref,
            )
            for firm in data.enterprises
        ),
    )
    conflicts: dict[str, list[str]] = {}
    for conflict in data.conflicts:
        conflicts.setdefault(conflict.credential_no, []).append(_conflict_cell(conflict))
    _write_csv(
        paths["inspectors"],
        (
            "credential_no",
            "name",
            "department",
            "department_name",
            "department_name_en",
            "jurisdiction",
            "specialties",
            "active",
            "conflicts",  # every inspector: its conflicts become exactly these (or none)
        ),
        (
            (
                officer.credential_no,
                officer.name,
                officer.department_code,
                departments[officer.department_code].name,
                departments[officer.department_code].name_en,
                officer.jurisdiction_adcode,
                ";".join(officer.specialties),
                "true" if officer.active else "false",
                ";".join(conflicts.get(officer.credential_no, ())),
            )
            for officer in data.inspectors
        ),
    )
    return paths


def _conflict_cell(conflict: ConflictRecord) -> str:
    """``enterprise:<USCC>（relation）`` or ``person:<name>（relation）`` (docs/importing.md)."""
    target = (
        f"enterprise:{conflict.enterprise_uscc}"
        if conflict.enterprise_uscc
        else f"person:{conflict.person_name}"
    )
    return f"{target}（{conflict.relation}）" if conflict.relation else target


def _write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
