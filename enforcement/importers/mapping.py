"""Mapping files: which source column feeds which field, constants, value lookups, extras.

A mapping is JSON (see docs/importing.md)::

    {"kind": "enterprises",
     "natural_key": {"scheme": "FHRS", "column": "FHRSID"},
     "columns": {"name": "BusinessName", "longitude": "Longitude"},
     "constants": {"entity_type": "company"},
     "lookups": {"industry_code": {"column": "BusinessType", "map": {"Restaurant": "H62"}}},
     "extra": ["RatingValue", "LocalAuthorityName"],
     "duplicates": "keep_first"}

A bare name (``fsa``) means a mapping bundled in ``enforcement/importers/mappings/``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping as AbstractMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BUNDLED = Path(__file__).resolve().parent / "mappings"
DUPLICATE_POLICIES = ("reject", "keep_first")
_KEYS = {
    "kind",
    "description",
    "natural_key",
    "columns",
    "constants",
    "lookups",
    "extra",
    "duplicates",
    "sheet",
    "notes",
    "source",
    "licence",
}


class MappingError(ValueError):
    """The mapping file is malformed or does not fit the file being imported."""


@dataclass(frozen=True)
class Lookup:
    """Translate a source column's values (e.g. FSA business types to GB/T 4754 codes)."""

    column: str
    table: dict[str, Any]
    unmapped: str = "reject"  # "reject" | "null" | "keep"


@dataclass(frozen=True)
class Mapping:
    name: str = "(inline)"
    kind: str | None = None
    columns: dict[str, str] = field(default_factory=dict)
    constants: dict[str, Any] = field(default_factory=dict)
    lookups: dict[str, Lookup] = field(default_factory=dict)
    natural_key_scheme: str | None = None
    natural_key_column: str | None = None
    extra: tuple[str, ...] | str = ()  # source columns kept verbatim, or "*" = all unmapped
    duplicates: str = "reject"
    sheet: str | None = None

    @classmethod
    def from_dict(cls, data: AbstractMapping[str, Any], name: str = "(inline)") -> Mapping:
        unknown = set(data) - _KEYS
        if unknown:
            raise MappingError(f"mapping {name}: unknown keys {', '.join(sorted(unknown))}")
        columns = data.get("columns") or {}
        constants = data.get("constants") or {}
        if not isinstance(columns, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in columns.items()
        ):
            raise MappingError(f"mapping {name}: 'columns' must map field names to column names")
        if not isinstance(constants, dict):
            raise MappingError(f"mapping {name}: 'constants' must be an object")
        lookups = {}
        for target, spec in (data.get("lookups") or {}).items():
            if not isinstance(spec, dict) or "column" not in spec or "map" not in spec:
                raise MappingError(f"mapping {name}: lookup {target!r} needs 'column' and 'map'")
            unmapped = spec.get("unmapped", "reject")
            if unmapped not in ("reject", "null", "keep"):
                raise MappingError(
                    f"mapping {name}: lookup {target!r}: 'unmapped' must be reject, null or keep"
                )
            lookups[target] = Lookup(str(spec["column"]), dict(spec["map"]), unmapped)
        key = data.get("natural_key") or {}
        if key and not (isinstance(key, dict) and key.get("scheme") and key.get("column")):
            raise MappingError(f"mapping {name}: 'natural_key' needs 'scheme' and 'column'")
        scheme = key.get("scheme")
        if scheme is not None and (":" in scheme or not scheme.strip()):
            raise MappingError(f"mapping {name}: natural key scheme {scheme!r} must not hold ':'")
        extra = data.get("extra") or ()
        if extra != "*":
            if not isinstance(extra, list | tuple) or not all(isinstance(e, str) for e in extra):
                raise MappingError(f"mapping {name}: 'extra' must be a list of columns or '*'")
            extra = tuple(extra)
        duplicates = data.get("duplicates", "reject")
        if duplicates not in DUPLICATE_POLICIES:
            raise MappingError(
                f"mapping {name}: 'duplicates' must be one of {', '.join(DUPLICATE_POLICIES)}"
            )
        overlap = (set(columns) & set(constants)) | (set(columns) & set(lookups))
        if overlap:
            raise MappingError(
                f"mapping {name}: fields given twice (columns/constants/lookups): "
                f"{', '.join(sorted(overlap))}"
            )
        return cls(
            name=name,
            kind=data.get("kind"),
            columns=dict(columns),
            constants=dict(constants),
            lookups=lookups,
            natural_key_scheme=scheme,
            natural_key_column=key.get("column"),
            extra=extra,
            duplicates=duplicates,
            sheet=data.get("sheet"),
        )


def bundled_mappings() -> list[str]:
    return sorted(p.stem for p in BUNDLED.glob("*.json"))


def load_mapping(spec: Mapping | AbstractMapping[str, Any] | str | Path) -> Mapping:
    """A Mapping from an instance, a dict, a JSON file path, or a bundled mapping's name."""
    if isinstance(spec, Mapping):
        return spec
    if isinstance(spec, AbstractMapping):
        return Mapping.from_dict(spec)
    path = Path(spec)
    if not path.is_file():
        bundled = BUNDLED / f"{spec}.json"
        if path.suffix or not bundled.is_file():
            names = ", ".join(bundled_mappings()) or "none"
            raise MappingError(f"mapping not found: {spec} (bundled mappings: {names})")
        path = bundled
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MappingError(f"mapping {path}: cannot read JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise MappingError(f"mapping {path}: must be a JSON object")
    return Mapping.from_dict(data, name=str(spec) if not Path(spec).is_file() else path.name)
