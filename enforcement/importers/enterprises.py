"""Enterprises (检查对象名录库): validation, point-in-polygon assignment, staging."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Sequence
from json.encoder import encode_basestring_ascii  # type: ignore[attr-defined]
from typing import Any, ClassVar

import numpy as np
from sqlalchemy import select

from enforcement.importers import parsers
from enforcement.importers.base import BaseImporter, FieldSpec, RowErrors, text_field
from enforcement.importers.labels import ENTITY_TYPES, STATUSES
from enforcement.importers.readers import Chunk, ImportFileError
from enforcement.importers.report import Reject
from enforcement.importers.writer import (
    Assign,
    Constant,
    JsonObjects,
    Plan,
    StageColumn,
    Staged,
    Values,
    default_if_empty,
)
from enforcement.models import Enterprise, Jurisdiction
from enforcement.reasons import reason
from enforcement.services.jurisdictions import assign_points, jurisdiction_index
from gis.coords import to_wgs84

NATURAL_KEY_LENGTH = 64


FIELDS = (
    FieldSpec("uscc", parsers.uscc),
    text_field("name", 300, required=True),
    text_field("legal_representative", 100),
    FieldSpec(
        "entity_type",
        parsers.choice,
        options=(("table", ENTITY_TYPES), ("what", "entity type"), ("what_zh", "主体类型")),
    ),
    FieldSpec("industry_code", parsers.industry_code),
    text_field("registered_address", 500),
    FieldSpec("longitude", parsers.coordinates),
    FieldSpec("latitude", parsers.coordinates),
    FieldSpec("jurisdiction", parsers.adcode),
    FieldSpec(
        "status",
        parsers.choice,
        options=(("table", STATUSES), ("what", "status"), ("what_zh", "登记状态")),
    ),
    FieldSpec("registration_date", parsers.date),
    FieldSpec("registered_capital", parsers.capital),
)


def _json_cell(value: Any) -> Any:
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return None if value == "" else value


# Characters that json.dumps (ensure_ascii) would escape.
_JSON_ESCAPED = re.compile(r'[\x00-\x1f"\\\x7f-\U0010ffff]')


def extra_json(
    names: list[str], columns: list[Sequence[Any]], n: int, text_only: bool = False
) -> JsonObjects:
    """Per row, the JSON object {name: cell} with cells kept verbatim ("" becomes null).

    The text equals ``json.dumps(dict)`` (what SQLAlchemy writes). Built column-wise: a column
    whose cells need no escaping is pasted between quotes, the others are encoded once per
    distinct value; the rows are only formatted when written.
    """
    if not (text_only or all(map(parsers.all_text, columns))):
        return JsonObjects(
            "%s",
            [
                [
                    json.dumps({k: _json_cell(c[i]) for k, c in zip(names, columns, strict=True)})
                    for i in range(n)
                ]
            ],
        )
    slots, cells = [], []
    for column in columns:
        if _JSON_ESCAPED.search("".join(column)) is None and "" not in column:
            slots.append('"%s"')
            cells.append(column)
        else:
            table = {v: encode_basestring_ascii(v) if v else "null" for v in set(column)}
            slots.append("%s")
            cells.append(list(map(table.__getitem__, column)))
    keys = [json.dumps(name).replace("%", "%%") for name in names]
    template = "{" + ", ".join(f"{k}: {slot}" for k, slot in zip(keys, slots, strict=True)) + "}"
    return JsonObjects(template, cells)


# EWKB header of a little-endian 2D point with SRID 4326: byte order 01, type 0x20000001,
# SRID 0x000010E6; then x and y as little-endian doubles.
_EWKB_POINT_4326 = "0101000020E6100000"


def ewkb_points(lon: np.ndarray, lat: np.ndarray) -> Values:
    """Hex EWKB of SRID 4326 points (None where NaN), as PostGIS reads geometry text."""
    located = ~np.isnan(lon)
    if not located.any():
        return Constant(None)
    xy = np.empty((int(located.sum()), 2), dtype="<f8")
    xy[:, 0], xy[:, 1] = lon[located], lat[located]
    digits = xy.tobytes().hex().upper()
    points = [_EWKB_POINT_4326 + digits[i : i + 32] for i in range(0, len(digits), 32)]
    if located.all():
        return points
    out: list[str | None] = [None] * len(lon)
    for index, point in zip(np.flatnonzero(located).tolist(), points, strict=True):
        out[index] = point
    return out


class EnterpriseImporter(BaseImporter):
    kind = "enterprises"
    table = "enterprises"
    key = "natural_key"
    fields = FIELDS
    threaded: ClassVar[bool] = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.provided("longitude") != self.provided("latitude"):
            missing = "latitude" if self.provided("longitude") else "longitude"
            raise ImportFileError(
                f"{self.source.path.name}: column {missing!r} is missing (coordinates need both)"
            )
        self.located = self.provided("longitude") and self.provided("latitude")
        self.geojson_points = self.source.format == "geojson" and not self.located
        session = self.session
        self.index = jurisdiction_index(session) if self.located or self.geojson_points else None
        self.adcodes: dict[str, int] = dict(
            session.execute(select(Jurisdiction.adcode, Jurisdiction.id)).all()
        )
        # Codes already held by an enterprise under another natural key would break the
        # unique USCC constraint: reject those rows instead.
        self.foreign_uscc: dict[str, str] = dict(
            session.execute(
                select(Enterprise.uscc, Enterprise.natural_key).where(
                    Enterprise.uscc.is_not(None), Enterprise.uscc != Enterprise.natural_key
                )
            ).all()
        )
        extra = self.mapping.extra
        if extra == "*":
            used = self.used_columns()
            self.extra = [h for h in self.source.headers if h not in used]
        else:
            missing_extra = [c for c in extra if c not in self.source.headers]
            if missing_extra:
                raise ImportFileError(
                    f"{self.source.path.name}: extra column(s) {', '.join(missing_extra)} "
                    "named by the mapping are not in the file"
                )
            self.extra = list(extra)
        self.entity_type_provided = self.provided("entity_type") or self.provided("uscc")
        self.has_location = self.located or self.geojson_points

    def extra_targets(self) -> tuple[str, ...]:
        return ("natural_key",)

    def extra_columns(self) -> list[str]:
        extra = self.mapping.extra
        if extra == "*":
            return list(self.source.headers)
        return list(extra)

    # -- plan -----------------------------------------------------------------------------

    def plan(self) -> Plan:
        d = self.dialect
        stage = [StageColumn("natural_key", "text"), StageColumn("name", "text")]
        assigns = [Assign("name", "s.name")]
        for field in ("uscc", "legal_representative", "industry_code", "registered_address"):
            if self.provided(field):
                stage.append(StageColumn(field, "text"))
                assigns.append(Assign(field, f"s.{field}"))
        if self.entity_type_provided:
            stage.append(StageColumn("entity_type", "text"))
            assigns.append(Assign("entity_type", "s.entity_type"))
        else:
            assigns.append(Assign("entity_type", "'other'", update=False))
        if self.provided("status"):
            stage.append(StageColumn("status", "text"))
            assigns.append(default_if_empty("status", "'in_business'"))
        else:
            assigns.append(Assign("status", "'in_business'", update=False))
        if self.provided("registration_date"):
            stage.append(StageColumn("registration_date", "date"))
            assigns.append(Assign("registration_date", "s.registration_date"))
        if self.provided("registered_capital"):
            stage.append(StageColumn("registered_capital", "numeric"))
            assigns.append(Assign("registered_capital", "s.registered_capital"))
        if self.has_location:
            stage += [StageColumn("lon", "float"), StageColumn("lat", "float")]
            assigns.append(Assign("location", d.point("s.lon", "s.lat")))
        if self.has_location or self.provided("jurisdiction"):
            stage.append(StageColumn("jurisdiction_id", "int"))
            assigns.append(Assign("jurisdiction_id", "s.jurisdiction_id"))
        if self.extra:
            stage.append(StageColumn("extra", "json"))
            assigns.append(Assign("extra", d.json_value("s.extra"), compare="json"))
        else:
            assigns.append(Assign("extra", d.json_value("'{}'"), update=False))
        return Plan(self.table, self.key, stage, assigns, direct=self._direct_columns)

    def _direct_columns(self, staged: Staged) -> list[tuple[str, str, Values]]:
        """The final column values of a fresh load, equal to what :meth:`plan`'s SQL makes."""
        columns = staged.columns
        kinds = {"registration_date": "date", "registered_capital": "numeric"}
        out: list[tuple[str, str, Values]] = [
            (field, kinds.get(field, "text"), columns[field])
            for field in (
                "natural_key",
                "name",
                "uscc",
                "legal_representative",
                "industry_code",
                "registered_address",
                "status",
                "registration_date",
                "registered_capital",
                "entity_type",
            )
            if field in columns
        ]
        if "entity_type" not in columns:
            out.append(("entity_type", "text", Constant("other")))
        if "status" not in columns:
            out.append(("status", "text", Constant("in_business")))
        elif not isinstance(columns["status"], Constant) and None in columns["status"]:
            status = ["in_business" if v is None else v for v in columns["status"]]
            out = [(f, k, status if f == "status" else v) for f, k, v in out]
        if "lon" in staged.arrays:
            out.append(
                ("location", "text", ewkb_points(staged.arrays["lon"], staged.arrays["lat"]))
            )
        if "jurisdiction_id" in columns:
            out.append(("jurisdiction_id", "int", columns["jurisdiction_id"]))
        out.append(("extra", "json", columns.get("extra", Constant("{}"))))
        return out

    # -- validation -----------------------------------------------------------------------

    def _natural_keys(self, chunk: Chunk, uscc: list[Any], errors: RowErrors) -> list[Any]:
        n = len(chunk)
        scheme, column = self.mapping.natural_key_scheme, self.mapping.natural_key_column
        if scheme and column:
            ids = parsers.text(
                chunk.columns[column],
                NATURAL_KEY_LENGTH - len(scheme) - 1,
                text_only=chunk.text_only,
            )
            for i, why, why_zh in ids.errors:
                errors.add(i, column, chunk.columns[column][i], why, why_zh)
            prefix = scheme + ":"
            local = [None if v is None else prefix + v for v in ids.values]
            missing_field = column
            missing = reason(
                "no USCC and no ${column}: the enterprise cannot be identified", column=column
            )
        elif "natural_key" in self.columns:
            source = chunk.columns[self.columns["natural_key"]]
            parsed = parsers.text(source, NATURAL_KEY_LENGTH, text_only=chunk.text_only)
            for i, why, why_zh in parsed.errors:
                errors.add(i, "natural_key", source[i], why, why_zh)
            local = parsed.values
            missing_field = "uscc"
            missing = reason("no USCC and no natural_key: the enterprise cannot be identified")
        else:
            local = [None] * n
            missing_field = "uscc"
            missing = reason(
                "no USCC (and the mapping names no natural key): the enterprise cannot be "
                "identified"
            )
        keys = [u if u is not None else k for u, k in zip(uscc, local, strict=True)]
        for i in [i for i, key in enumerate(keys) if key is None]:
            if i not in errors:
                errors.add(
                    i,
                    missing_field,
                    "",
                    missing,
                    "既无统一社会信用代码也无其他标识，无法识别该主体",
                )
        return keys

    def _coordinates(
        self, chunk: Chunk, values: dict[str, list[Any]], errors: RowErrors
    ) -> tuple[np.ndarray, np.ndarray]:
        n = len(chunk)
        if self.located:
            lon = np.array(values["longitude"], dtype=np.float64)
            lat = np.array(values["latitude"], dtype=np.float64)
        elif self.geojson_points:
            lon, lat = self._geojson_points(chunk, errors)
        else:
            return np.full(n, np.nan), np.full(n, np.nan)
        has_lon, has_lat = ~np.isnan(lon), ~np.isnan(lat)
        for i in np.flatnonzero(has_lon != has_lat).tolist():
            field = "latitude" if has_lon[i] else "longitude"
            errors.add(
                i,
                field,
                "",
                reason("longitude and latitude must be given together"),
                "经纬度须同时提供",
            )
        with np.errstate(invalid="ignore"):
            bad_lon = has_lon & ((lon < -180) | (lon > 180))
            bad_lat = has_lat & ((lat < -90) | (lat > 90))
        for i in np.flatnonzero(bad_lon).tolist():
            errors.add(
                i,
                "longitude",
                self._cell(chunk, "longitude", i, lon),
                reason("longitude ${value} is outside -180..180", value=float(lon[i])),
                f"经度{float(lon[i])}超出-180至180",
            )
        for i in np.flatnonzero(bad_lat).tolist():
            errors.add(
                i,
                "latitude",
                self._cell(chunk, "latitude", i, lat),
                reason("latitude ${value} is outside -90..90", value=float(lat[i])),
                f"纬度{float(lat[i])}超出-90至90",
            )
        ok = has_lon & has_lat & ~bad_lon & ~bad_lat
        lon = np.where(ok, lon, np.nan)
        lat = np.where(ok, lat, np.nan)
        if ok.any() and self.crs.strip().lower() not in ("wgs84", "wgs-84", "epsg:4326"):
            lon[ok], lat[ok] = to_wgs84(lon[ok], lat[ok], self.crs)
        return lon, lat

    def _cell(self, chunk: Chunk, field: str, i: int, fallback: np.ndarray) -> Any:
        column = self.columns.get(field)
        return chunk.columns[column][i] if column else str(float(fallback[i]))

    def _geojson_points(self, chunk: Chunk, errors: RowErrors) -> tuple[np.ndarray, np.ndarray]:
        n = len(chunk)
        lon, lat = np.full(n, np.nan), np.full(n, np.nan)
        for i, geometry in enumerate(chunk.geometries or ()):
            if geometry is None:
                continue
            coordinates = geometry.get("coordinates") if isinstance(geometry, dict) else None
            if (
                not isinstance(geometry, dict)
                or geometry.get("type") != "Point"
                or not isinstance(coordinates, list)
                or len(coordinates) < 2
            ):
                kind = geometry.get("type") if isinstance(geometry, dict) else type(geometry)
                errors.add(
                    i,
                    "geometry",
                    str(kind),
                    reason("an enterprise's geometry must be a Point"),
                    "主体的几何对象必须是点（Point）",
                )
                continue
            try:
                lon[i], lat[i] = float(coordinates[0]), float(coordinates[1])
            except (TypeError, ValueError):
                errors.add(
                    i,
                    "geometry",
                    str(coordinates),
                    reason("point coordinates are not numbers"),
                    "坐标不是数字",
                )
        return lon, lat

    def validate(self, chunk: Chunk) -> tuple[Staged | None, list[Reject]]:
        n = len(chunk)
        errors = RowErrors.for_chunk(chunk)
        values = self.parse_fields(chunk, errors)
        uscc = values.get("uscc") or [None] * n
        keys = self._natural_keys(chunk, uscc, errors)
        if self.foreign_uscc:
            for i, code in enumerate(uscc):
                if code is not None and code in self.foreign_uscc:
                    errors.add(
                        i,
                        "uscc",
                        code,
                        reason(
                            "USCC already belongs to enterprise ${key}",
                            key=self.foreign_uscc[code],
                        ),
                        f"该统一社会信用代码已属于主体{self.foreign_uscc[code]}",
                    )

        entity = values.get("entity_type")
        if self.entity_type_provided:
            entity = entity or [None] * n
            entity = [
                e if e is not None else (parsers.entity_type_from_uscc(u) if u else "other")
                for e, u in zip(entity, uscc, strict=True)
            ]

        lon, lat = self._coordinates(chunk, values, errors)
        located = ~np.isnan(lon)
        jurisdiction = np.full(n, -1, dtype=np.int64)
        explicit = np.zeros(n, dtype=bool)
        if "jurisdiction" in values:
            for i, code in enumerate(values["jurisdiction"]):
                if code is None:
                    continue
                jid = self.adcodes.get(code)
                if jid is None:
                    errors.add(
                        i,
                        "jurisdiction",
                        code,
                        reason(
                            "unknown jurisdiction adcode ${code} (import the jurisdictions first)",
                            code=code,
                        ),
                        f"未知的行政区划代码{code}（请先导入辖区）",
                    )
                else:
                    jurisdiction[i] = jid
                    explicit[i] = True
        by_point = located & ~explicit
        if by_point.any():
            jurisdiction[by_point] = assign_points(self.index, lon[by_point], lat[by_point])

        skipped = self.check_duplicates(
            keys, errors, "uscc" if self.provided("uscc") else "natural_key"
        )
        bad = set(errors.by_index) | set(skipped)
        keep = [i for i in range(n) if i not in bad] if bad else None
        accepted = n - len(bad)
        if keep is None:
            self.report.without_location += int(n - located.sum())
            self.report.outside_jurisdictions += int((by_point & (jurisdiction < 0)).sum())
        else:
            idx = np.array(keep, dtype=np.int64)
            self.report.without_location += int(len(idx) - located[idx].sum())
            self.report.outside_jurisdictions += int(
                (by_point[idx] & (jurisdiction[idx] < 0)).sum()
            )
        rejects = errors.rejects()
        if accepted == 0:
            return None, rejects

        def pick(column: Sequence[Any]) -> list[Any]:
            return column if keep is None else [column[i] for i in keep]  # type: ignore[return-value]

        constants = self.mapping.constants
        staged: dict[str, Values] = {"natural_key": pick(keys), "name": pick(values["name"])}
        for field in (
            "uscc",
            "legal_representative",
            "industry_code",
            "registered_address",
            "status",
            "registration_date",
            "registered_capital",
        ):
            if field in constants:
                staged[field] = Constant(values[field][0] if values[field] else None)
            elif self.provided(field):
                staged[field] = pick(values[field] if field != "uscc" else uscc)
        if "entity_type" in constants:
            staged["entity_type"] = Constant(entity[0] if entity else None)  # type: ignore[index]
        elif self.entity_type_provided:
            staged["entity_type"] = pick(entity)  # type: ignore[arg-type]
        arrays: dict[str, Any] = {}
        if self.has_location:
            lon_sel = lon if keep is None else lon[keep]
            lat_sel = lat if keep is None else lat[keep]
            arrays["lon"], arrays["lat"] = lon_sel, lat_sel
            if np.isnan(lon_sel).all():
                staged["lon"] = staged["lat"] = Constant(None)
            else:
                staged["lon"] = [None if x != x else x for x in lon_sel.tolist()]
                staged["lat"] = [None if y != y else y for y in lat_sel.tolist()]
        if self.has_location or self.provided("jurisdiction"):
            jur = jurisdiction if keep is None else jurisdiction[keep]
            if (jur < 0).all():
                staged["jurisdiction_id"] = Constant(None)
            else:
                staged["jurisdiction_id"] = [None if j < 0 else j for j in jur.tolist()]
        if self.extra:
            columns = [chunk.columns[name] for name in self.extra]
            if keep is not None:
                columns = [[c[i] for i in keep] for c in columns]
            staged["extra"] = extra_json(self.extra, columns, accepted, chunk.text_only)
        return Staged(accepted, staged, arrays=arrays), rejects
