"""What every kind of import shares: column resolution, per-field parsing, rejects, dedup."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from sqlalchemy import Connection, insert, select
from sqlalchemy.orm import Session

from enforcement.importers import parsers
from enforcement.importers.labels import HEADER_ALIASES
from enforcement.importers.mapping import Mapping, MappingError
from enforcement.importers.readers import Chunk, ImportFileError, Source
from enforcement.importers.report import ImportReport, Reject
from enforcement.importers.writer import Plan, SqlDialect, Staged, WriteResult
from enforcement.models import Department
from enforcement.reasons import reason

Parser = Callable[..., parsers.Parsed]


@dataclass(frozen=True)
class FieldSpec:
    """A field read from the file: ``parser(cells, text_only=..., **options)``."""

    name: str
    parser: Parser
    required: bool = False
    options: tuple[tuple[str, Any], ...] = ()

    def parse(self, cells: Sequence[Any], text_only: bool) -> parsers.Parsed:
        return self.parser(cells, text_only=text_only, **dict(self.options))


def text_field(name: str, max_length: int, required: bool = False) -> FieldSpec:
    return FieldSpec(name, parsers.text, required, (("max_length", max_length),))


class RowErrors:
    """Collects rejects of one chunk, keyed by the row's index in the chunk."""

    def __init__(self, chunk: Chunk) -> None:
        self.chunk = chunk
        self.by_index: dict[int, list[Reject]] = {}

    def add(self, index: int, field: str, value: Any, why: str, why_zh: str = "") -> None:
        """``why`` is a reason (``enforcement.reasons``): the console shows it translated."""
        shown = "" if value is None else value if isinstance(value, str) else str(value)
        self.by_index.setdefault(index, []).append(
            Reject(self.chunk.rows[index], field, shown, why, why_zh)
        )

    @classmethod
    def for_chunk(cls, chunk: Chunk) -> RowErrors:
        """Start with the reader's own problems (malformed rows)."""
        errors = cls(chunk)
        if chunk.errors:
            index = {row: i for i, row in enumerate(chunk.rows)}
            for row, why, why_zh in chunk.errors:
                if row in index:
                    errors.add(index[row], "(row)", "", why, why_zh)
        return errors

    def __contains__(self, index: int) -> bool:
        return index in self.by_index

    def rejects(self) -> list[Reject]:
        return [r for index in sorted(self.by_index) for r in self.by_index[index]]


class Departments:
    """Department codes referenced by inspectors and items.

    An unknown code is a reject, unless the row also gives a department name: then the
    department is created, with the row's English name if any (existing departments are never
    renamed by an import).
    """

    def __init__(self, session: Session) -> None:
        self.table = Department.__table__
        self.ids: dict[str, int] = dict(
            session.execute(select(Department.code, Department.id)).all()
        )
        self.to_create: dict[str, tuple[str, str | None]] = {}  # code -> (name, name_en)
        self.created = 0

    def check(
        self,
        codes: list[Any],
        names: list[Any] | None,
        errors: RowErrors,
        cells: Sequence[Any],
        names_en: list[Any] | None = None,
    ) -> None:
        for i, code in enumerate(codes):
            if code is None or code in self.ids or code in self.to_create:
                continue
            name = names[i] if names is not None else None
            if name:
                self.to_create[code] = (name, names_en[i] if names_en is not None else None)
            elif i not in errors:
                errors.add(
                    i,
                    "department",
                    cells[i],
                    reason(
                        "unknown department code '${code}' (add a department_name column to "
                        "create it, or import the department first)",
                        code=code,
                    ),
                    f"未知的部门代码“{code}”（可增加department_name列以新建该部门）",
                )

    def create(self, conn: Connection, codes: set[str]) -> None:
        """Create the pending departments among ``codes`` (those of accepted rows)."""
        new = {c: n for c, n in self.to_create.items() if c in codes and c not in self.ids}
        if not new:
            return
        conn.execute(
            insert(self.table),
            [{"code": c, "name": name, "name_en": en} for c, (name, en) in new.items()],
        )
        self.ids.update(
            conn.execute(
                select(self.table.c.code, self.table.c.id).where(self.table.c.code.in_(list(new)))
            ).all()
        )
        self.created += len(new)


class BaseImporter:
    kind: ClassVar[str]
    table: ClassVar[str]
    key: ClassVar[str]
    #: Fields read from the file, in the order they are validated.
    fields: ClassVar[tuple[FieldSpec, ...]]
    #: Write in a second thread on PostgreSQL (large files).
    threaded: ClassVar[bool] = False
    #: Validate the whole file before staging anything (needed to order or cross-check rows).
    whole_file: ClassVar[bool] = False

    def __init__(
        self,
        session: Session,
        source: Source,
        mapping: Mapping | None,
        crs: str,
        report: ImportReport,
    ) -> None:
        self.session = session
        self.source = source
        self.mapping = mapping or Mapping()
        self.crs = crs
        self.report = report
        self.dialect = SqlDialect(session.connection().dialect.name)
        self.specs = {spec.name: spec for spec in self.fields}
        if self.kind != "enterprises" and (self.mapping.extra or self.mapping.natural_key_scheme):
            raise MappingError(
                f"mapping {self.mapping.name}: 'natural_key' and 'extra' apply to enterprises only"
            )
        self.columns = self._resolve_columns()
        self._seen_keys: dict[str, int] = {}
        self._check_required()
        self._warn_ignored()

    # -- columns --------------------------------------------------------------------------

    def _resolve_columns(self) -> dict[str, str]:
        """Target field -> source column, from the mapping, exact names or aliases."""
        headers = self.source.headers
        header_set = set(headers)
        resolved: dict[str, str] = {}
        for target, column in self.mapping.columns.items():
            if target not in self.specs and target not in self.extra_targets():
                raise MappingError(
                    f"mapping {self.mapping.name}: {target!r} is not a field of {self.kind} "
                    f"(fields: {', '.join(self.field_names())})"
                )
            if column not in header_set:
                raise ImportFileError(
                    f"{self.source.path.name}: column {column!r} (mapped to {target}) is not "
                    "in the file"
                )
            resolved[target] = column
        for target in (*self.mapping.constants, *self.mapping.lookups):
            if target not in self.specs:
                raise MappingError(
                    f"mapping {self.mapping.name}: {target!r} is not a field of {self.kind}"
                )
        for target, lookup in self.mapping.lookups.items():
            if lookup.column not in header_set:
                raise ImportFileError(
                    f"{self.source.path.name}: column {lookup.column!r} (lookup for {target}) "
                    "is not in the file"
                )
        folded = {h.casefold(): h for h in headers}
        aliases = HEADER_ALIASES.get(self.kind, {})
        taken = set(resolved.values())
        for target in (*self.field_names(), *self.extra_targets()):
            if target in resolved or target in self.mapping.constants:
                continue
            if target in self.mapping.lookups:
                continue
            for candidate in (target, *aliases.get(target, ())):
                column = folded.get(candidate.casefold())
                if column is not None and column not in taken:
                    resolved[target] = column
                    taken.add(column)
                    break
        return resolved

    def field_names(self) -> list[str]:
        return [spec.name for spec in self.fields]

    def extra_targets(self) -> tuple[str, ...]:
        """Source-only inputs that are not stored fields (e.g. 'natural_key', 'wkt')."""
        return ()

    def provided(self, field: str) -> bool:
        return (
            field in self.columns
            or field in self.mapping.constants
            or field in self.mapping.lookups
        )

    def _check_required(self) -> None:
        aliases = HEADER_ALIASES.get(self.kind, {})
        for spec in self.fields:
            if spec.required and not self.provided(spec.name) and not self.fallback(spec.name):
                also = aliases.get(spec.name)
                hint = f" (also accepted: {', '.join(also)})" if also else ""
                raise ImportFileError(
                    f"{self.source.path.name}: required column {spec.name!r} is missing{hint}"
                )

    def fallback(self, field: str) -> bool:
        """True when a required field can be derived without its column."""
        return False

    def used_columns(self) -> set[str]:
        used = set(self.columns.values())
        used.update(lookup.column for lookup in self.mapping.lookups.values())
        if self.mapping.natural_key_column:
            used.add(self.mapping.natural_key_column)
        return used

    def _warn_ignored(self) -> None:
        used = self.used_columns() | set(self.extra_columns())
        ignored = [h for h in self.source.headers if h not in used]
        if ignored:
            self.report.warnings.append(f"columns not imported: {', '.join(ignored)}")

    def extra_columns(self) -> list[str]:
        return []

    # -- values ---------------------------------------------------------------------------

    def raw(self, chunk: Chunk, field: str, errors: RowErrors) -> Sequence[Any] | None:
        """The cells feeding ``field`` (a column, a constant or a looked-up column)."""
        if field in self.columns:
            return chunk.columns[self.columns[field]]
        if field in self.mapping.constants:
            return [self.mapping.constants[field]] * len(chunk)
        lookup = self.mapping.lookups.get(field)
        if lookup is None:
            return None
        source = chunk.columns[lookup.column]
        table = lookup.table

        def translate(value: Any) -> tuple[Any, bool]:
            key = value.strip() if isinstance(value, str) else value
            if key in table:
                return table[key], False
            if parsers.is_empty(value) or lookup.unmapped == "null":
                return None, False
            if lookup.unmapped == "keep":
                return value, False
            return None, True

        try:
            cache = {value: translate(value) for value in set(source)}
        except TypeError:  # unhashable GeoJSON values
            results = [translate(value) for value in source]
        else:
            results = list(map(cache.__getitem__, source))
        out = [r[0] for r in results]
        for i in [i for i, r in enumerate(results) if r[1]]:
            errors.add(
                i,
                field,
                source[i],
                reason(
                    "no ${field} for ${column} '${value}' in mapping ${mapping}",
                    field=field,
                    column=lookup.column,
                    value=source[i],
                    mapping=self.mapping.name,
                ),
                f"映射{self.mapping.name}中没有{lookup.column}“{source[i]}”对应的{field}",
            )
        return out

    def parse_fields(self, chunk: Chunk, errors: RowErrors) -> dict[str, list[Any]]:
        """Parse every provided field; record errors; required fields must not be empty."""
        values: dict[str, list[Any]] = {}
        for spec in self.fields:
            cells = self.raw(chunk, spec.name, errors)
            if cells is None:
                continue
            # Constants and looked-up values are Python objects, not cells of the file.
            text_only = chunk.text_only and spec.name in self.columns
            parsed = spec.parse(cells, text_only)
            for i, why, why_zh in parsed.errors:
                errors.add(i, spec.name, cells[i], why, why_zh)
            if spec.required:
                failed = {e[0] for e in parsed.errors}
                for i in [i for i, value in enumerate(parsed.values) if value is None]:
                    if i not in failed:
                        errors.add(i, spec.name, cells[i], reason("required"), "必填")
            values[spec.name] = parsed.values
        return values

    def check_duplicates(self, keys: list[Any], errors: RowErrors, field: str) -> list[int]:
        """Second and later rows with an accepted key: rejected, or skipped ("keep_first").

        Returns the indexes of rows skipped as duplicates.
        """
        skipped: list[int] = []
        seen = self._seen_keys
        chunk_rows = errors.chunk.rows
        present = [k for k in keys if k is not None]
        if len(set(present)) == len(present) and seen.keys().isdisjoint(present):
            # The common case: no duplicates at all.
            if errors.by_index or len(present) != len(keys):
                seen.update(
                    (k, r)
                    for i, (k, r) in enumerate(zip(keys, chunk_rows, strict=True))
                    if k is not None and i not in errors
                )
            else:
                seen.update(zip(keys, chunk_rows, strict=True))
            return skipped
        for i, key in enumerate(keys):
            if key is None or i in errors:
                continue
            first = seen.get(key)
            if first is None:
                seen[key] = chunk_rows[i]
                continue
            if self.mapping.duplicates == "keep_first":
                skipped.append(i)
            else:
                errors.add(
                    i,
                    field,
                    key,
                    reason(
                        "duplicate ${field}: row ${row} has the same value", field=field, row=first
                    ),
                    f"{field}重复：第{first}行的值相同",
                )
        if skipped:
            self.report.duplicates += len(skipped)
        return skipped

    # -- the per-kind parts -------------------------------------------------------------

    def plan(self) -> Plan:
        raise NotImplementedError

    def validate(self, chunk: Chunk) -> tuple[Staged | None, list[Reject]]:
        raise NotImplementedError

    def flush(self) -> tuple[list[Staged], list[Reject]]:
        """Staged chunks held back by a whole-file importer, in write order, and the rejects
        that only the whole file reveals."""
        return [], []

    def finish(self, result: WriteResult) -> None:
        """After every chunk is written (inside the import's savepoint); may adjust counts."""


def json_list(values: list[Any]) -> str:
    # The same text SQLAlchemy's JSON type writes (json.dumps defaults), so that rows written
    # by the application and by an import compare equal.
    return json.dumps(values)
