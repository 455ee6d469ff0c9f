"""Jurisdictions (辖区): adcodes, names, levels, parents and polygons; then re-assignment."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import shapely
from sqlalchemy import select

from enforcement.importers import parsers
from enforcement.importers.base import BaseImporter, FieldSpec, RowErrors, text_field
from enforcement.importers.labels import LEVELS
from enforcement.importers.readers import Chunk
from enforcement.importers.report import Reject
from enforcement.importers.writer import Assign, Plan, StageColumn, Staged, WriteResult
from enforcement.models import Jurisdiction, JurisdictionLevel
from enforcement.reasons import reason
from enforcement.services.jurisdictions import reassign_enterprises
from gis.coords import to_wgs84, transform_geometry

FIELDS = (
    FieldSpec("adcode", parsers.adcode, required=True),
    text_field("name", 100),
    FieldSpec(
        "level", parsers.choice, options=(("table", LEVELS), ("what", "level"), ("what_zh", "级别"))
    ),
    FieldSpec("parent_adcode", parsers.adcode),
)
# Name columns of the cnmaps/Amap exports, by level, used when there is no name column.
NAME_BY_LEVEL = {"province": "province", "city": "city", "county": "district"}
RANK = {level.value: level.rank for level in JurisdictionLevel}


def level_of(adcode: str) -> str:
    """Level implied by a division code: XX0000 province, XXYY00 city, 9 digits township."""
    if len(adcode) > 6:
        return JurisdictionLevel.TOWNSHIP.value
    if adcode.endswith("0000"):
        return JurisdictionLevel.PROVINCE.value
    if adcode.endswith("00"):
        return JurisdictionLevel.CITY.value
    return JurisdictionLevel.COUNTY.value


def parent_candidates(adcode: str, level: str) -> list[str]:
    """Possible parents, nearest first: township -> county, county -> city -> province
    (municipalities and province-administered counties have no city), city -> province."""
    province = adcode[:2] + "0000"
    if level == "township":
        return [adcode[:6], adcode[:4] + "00", province]
    if level == "county":
        return [adcode[:4] + "00", province]
    if level == "city":
        return [province]
    return []


def _polygonal(geometry: Any) -> Any:
    """A valid MultiPolygon (repairing an invalid one), or None when nothing areal is left."""
    if not shapely.is_valid(geometry):
        geometry = shapely.make_valid(geometry)
    parts = shapely.get_parts(geometry)
    polygons = [p for p in parts if shapely.get_type_id(p) == 3 and not p.is_empty]
    if not polygons:
        multi = [p for p in parts if shapely.get_type_id(p) == 6]
        polygons = [q for m in multi for q in shapely.get_parts(m)]
    if not polygons:
        return None
    return shapely.multipolygons(polygons)


class JurisdictionImporter(BaseImporter):
    kind = "jurisdictions"
    table = "jurisdictions"
    key = "adcode"
    fields = FIELDS
    whole_file: ClassVar[bool] = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.existing: set[str] = set(
            self.session.execute(select(Jurisdiction.adcode)).scalars().all()
        )
        self.has_geometry = self.source.format == "geojson" or "wkt" in self.columns
        self.rows: list[dict[str, Any]] = []
        self.repaired = 0
        declared = self.source.meta.get("coordinate_system")
        if isinstance(declared, str) and declared.strip().lower() != self.crs:
            self.report.warnings.append(
                f"the file declares coordinate_system {declared!r} but it was read as {self.crs} "
                "(use --crs to change)"
            )

    def extra_targets(self) -> tuple[str, ...]:
        return ("wkt", "province", "city", "district")

    def fallback(self, field: str) -> bool:
        return field == "name" and any(c in self.columns for c in NAME_BY_LEVEL.values())

    def plan(self) -> Plan:
        stage = [
            StageColumn("adcode", "text"),
            StageColumn("name", "text"),
            StageColumn("level", "text"),
            StageColumn("parent_adcode", "text"),
        ]
        assigns = [
            Assign("name", "s.name"),
            Assign("level", "s.level"),
            Assign(
                "parent_id",
                "(SELECT p.id FROM jurisdictions AS p WHERE p.adcode = s.parent_adcode)",
            ),
        ]
        if self.has_geometry:
            stage.append(StageColumn("wkb", "bytes"))
            assigns.append(Assign("polygon", self.dialect.geometry_from_wkb("s.wkb")))
        return Plan(self.table, self.key, stage, assigns)

    def _geometries(self, chunk: Chunk, errors: RowErrors) -> list[Any]:
        n = len(chunk)
        geoms: list[Any] = [None] * n
        if self.source.format == "geojson" and "wkt" not in self.columns:
            for i, geometry in enumerate(chunk.geometries or ()):
                if geometry is None:
                    continue
                try:
                    geoms[i] = shapely.geometry.shape(geometry)
                except Exception as exc:  # shapely raises several kinds for bad GeoJSON
                    errors.add(
                        i,
                        "geometry",
                        str(geometry)[:80],
                        reason("invalid geometry: ${error}", error=str(exc)),
                        "几何对象无效",
                    )
        elif "wkt" in self.columns:
            cells = chunk.columns[self.columns["wkt"]]
            for i, cell in enumerate(cells):
                if parsers.is_empty(cell):
                    continue
                try:
                    geoms[i] = shapely.from_wkt(str(cell))
                except shapely.errors.GEOSException as exc:
                    errors.add(
                        i,
                        "wkt",
                        str(cell)[:80],
                        reason("invalid WKT: ${error}", error=str(exc)),
                        "WKT格式无效",
                    )
        present = [i for i, g in enumerate(geoms) if g is not None]
        for i in present:
            kind = geoms[i].geom_type
            if kind not in ("Polygon", "MultiPolygon") or geoms[i].is_empty:
                errors.add(
                    i,
                    "geometry",
                    kind,
                    reason(
                        "a jurisdiction's boundary must be a (Multi)Polygon, got ${kind}", kind=kind
                    ),
                    f"辖区边界必须是（多）多边形，实际为{kind}",
                )
                geoms[i] = None
        present = [i for i in present if geoms[i] is not None]
        if present and self.crs != "wgs84":
            converted = transform_geometry(
                np.array([geoms[i] for i in present], dtype=object),
                lambda x, y: to_wgs84(x, y, self.crs),
            )
            for i, geometry in zip(present, converted, strict=True):
                geoms[i] = geometry
        for i in present:
            bounds = geoms[i].bounds
            if bounds[0] < -180 or bounds[2] > 180 or bounds[1] < -90 or bounds[3] > 90:
                errors.add(
                    i,
                    "geometry",
                    str(bounds),
                    reason("coordinates outside -180..180 / -90..90 (projected coordinates?)"),
                    "坐标超出经纬度范围（是否为投影坐标？）",
                )
                geoms[i] = None
                continue
            was_valid = bool(shapely.is_valid(geoms[i]))
            fixed = _polygonal(geoms[i])
            if fixed is None:
                errors.add(i, "geometry", "", reason("the boundary has no area"), "边界没有面积")
            elif not was_valid:
                self.repaired += 1
            geoms[i] = fixed
        return geoms

    def validate(self, chunk: Chunk) -> tuple[Staged | None, list[Reject]]:
        errors = RowErrors.for_chunk(chunk)
        values = self.parse_fields(chunk, errors)
        n = len(chunk)
        adcodes = values["adcode"]
        levels = values.get("level") or [None] * n
        levels = [
            lv if lv is not None else (level_of(code) if code else None)
            for lv, code in zip(levels, adcodes, strict=True)
        ]
        names = values.get("name") or [None] * n
        for i in range(n):
            if names[i] is None and levels[i] in NAME_BY_LEVEL:
                column = self.columns.get(NAME_BY_LEVEL[levels[i]])
                if column is not None:
                    names[i] = parsers.text([chunk.columns[column][i]], 100).values[0]
            if names[i] is None and i not in errors:
                errors.add(i, "name", "", reason("required"), "必填")
        geoms = self._geometries(chunk, errors)
        skipped = set(self.check_duplicates(adcodes, errors, "adcode"))
        parents = values.get("parent_adcode") or [None] * n
        for i in range(n):
            if i in errors or i in skipped:
                continue
            self.rows.append(
                {
                    "row": chunk.rows[i],
                    "adcode": adcodes[i],
                    "name": names[i],
                    "level": levels[i],
                    "parent": parents[i],
                    "wkb": None if geoms[i] is None else shapely.to_wkb(geoms[i]),
                }
            )
        return None, errors.rejects()

    def flush(self) -> tuple[list[Staged], list[Reject]]:
        if self.repaired:
            self.report.warnings.append(
                f"{self.repaired} invalid boundaries were repaired (shapely.make_valid)"
            )
        known = self.existing | {row["adcode"] for row in self.rows}
        rejects: list[Reject] = []
        kept = []
        for row in self.rows:
            if row["parent"] is not None:
                if row["parent"] not in known:
                    rejects.append(
                        Reject(
                            row["row"],
                            "parent_adcode",
                            row["parent"],
                            reason(
                                "unknown parent adcode ${code} (not in the file or the database)",
                                code=row["parent"],
                            ),
                            f"上级区划代码{row['parent']}不存在（文件和数据库中均无）",
                        )
                    )
                    continue
                if row["parent"] == row["adcode"]:
                    rejects.append(
                        Reject(
                            row["row"],
                            "parent_adcode",
                            row["parent"],
                            reason("a jurisdiction cannot be its own parent"),
                            "辖区不能是自己的上级",
                        )
                    )
                    continue
            else:
                row["parent"] = next(
                    (c for c in parent_candidates(row["adcode"], row["level"]) if c in known),
                    None,
                )
            kept.append(row)
        # Parents first: each level's statement sees the rows the previous one wrote.
        staged = []
        for level in sorted({row["level"] for row in kept}, key=RANK.__getitem__):
            group = [row for row in kept if row["level"] == level]
            columns = {
                "adcode": [r["adcode"] for r in group],
                "name": [r["name"] for r in group],
                "level": [r["level"] for r in group],
                "parent_adcode": [r["parent"] for r in group],
            }
            if self.has_geometry:
                columns["wkb"] = [r["wkb"] for r in group]
            staged.append(Staged(len(group), columns))
        return staged, rejects

    def finish(self, result: WriteResult) -> None:
        changes = reassign_enterprises(self.session)
        self.report.reassigned = changes["changed"]
