"""``import_file``: read, validate every row, stage and write one file, inside a savepoint."""

from __future__ import annotations

import contextlib
import gc
import time
from collections.abc import Iterator
from collections.abc import Mapping as AbstractMapping
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from enforcement.importers.base import BaseImporter
from enforcement.importers.enterprises import EnterpriseImporter
from enforcement.importers.inspectors import InspectorImporter
from enforcement.importers.items import ItemImporter
from enforcement.importers.jurisdictions import JurisdictionImporter
from enforcement.importers.mapping import Mapping, MappingError, load_mapping
from enforcement.importers.readers import DEFAULT_CHUNK, Chunk, Source, open_source
from enforcement.importers.report import ImportReport, write_rejects
from enforcement.importers.writer import ThreadedWriter, Writer

KINDS: dict[str, type[BaseImporter]] = {
    "jurisdictions": JurisdictionImporter,
    "enterprises": EnterpriseImporter,
    "inspectors": InspectorImporter,
    "items": ItemImporter,
}
CRS_CHOICES = ("wgs84", "gcj02", "bd09")
# Rebuilding secondary indexes beats maintaining them for loads at least this large that
# are at least as large as the table already is.
BULK_MIN_ROWS = 100_000


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Millions of short-lived strings and lists make the cyclic GC run for nothing (parsing
    the FSA CSV took 4.0 s with it, 1.5 s without); reference counting still frees them."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _estimated_rows(source: Source, first: Chunk, chunk_size: int) -> int:
    if len(first) < chunk_size or not source.size_hint:
        return len(first)
    chars = sum(sum(map(len, column)) + len(column) for column in first.columns.values())
    return int(source.size_hint / max(chars, 1) * len(first))


def _existing_rows(session: Session, table: str, limit: int) -> int:
    counted = session.execute(
        text(f"SELECT count(*) FROM (SELECT 1 FROM {table} LIMIT :n) AS x"), {"n": limit}
    ).scalar_one()
    return int(counted)


def import_file(
    session: Session,
    kind: str,
    path: str | Path,
    *,
    mapping: Mapping | AbstractMapping[str, Any] | str | Path | None = None,
    skip_invalid: bool = False,
    crs: str = "wgs84",
    rejects_path: str | Path | None = None,
    dry_run: bool = False,
    chunk_size: int = DEFAULT_CHUNK,
) -> ImportReport:
    """Import one CSV/XLSX/GeoJSON file (gzip accepted) of ``kind`` into the registry.

    Every row is validated. Without ``skip_invalid`` a file with any rejected row changes
    nothing (``applied`` is False); with it the good rows are written. Upserts on the natural
    key; a second import of the same file changes nothing. Never commits: the work happens in
    a savepoint of the caller's transaction (rolled back for ``dry_run``). Rejects are written
    to ``rejects_path`` when given and there are any.

    Raises ImportFileError / MappingError (both ValueError) when the file as a whole is
    unusable: unreadable, a required column missing, a mapping that does not fit.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown import kind {kind!r}; expected one of {', '.join(KINDS)}")
    if crs.strip().lower() not in CRS_CHOICES:
        raise ValueError(f"unknown coordinate system {crs!r}; expected one of {CRS_CHOICES}")
    resolved = load_mapping(mapping) if mapping is not None else None
    if resolved is not None and resolved.kind and resolved.kind != kind:
        raise MappingError(f"mapping {resolved.name} is for {resolved.kind}, not {kind}")
    report = ImportReport(kind=kind, file=str(path), dry_run=dry_run)
    timings = report.timings
    started = time.perf_counter()
    with _gc_paused():
        source = open_source(path, sheet=resolved.sheet if resolved else None)
        timings["open"] = time.perf_counter() - started
        session.flush()
        savepoint = session.begin_nested()
        sink: Writer | ThreadedWriter | None = None
        try:
            importer = KINDS[kind](session, source, resolved, crs.strip().lower(), report)
            writer = Writer(session.connection(), importer.plan())
            threaded = importer.threaded and writer.dialect.pg
            blocked = False
            read_seconds = validate_seconds = 0.0
            chunks = source.chunks(chunk_size)
            first = True
            while True:
                tick = time.perf_counter()
                chunk = next(chunks, None)
                tock = time.perf_counter()
                read_seconds += tock - tick
                if chunk is None:
                    break
                if first:
                    first = False
                    estimate = _estimated_rows(source, chunk, chunk_size)
                    if (
                        writer.dialect.pg
                        and estimate >= BULK_MIN_ROWS
                        and _existing_rows(session, importer.table, estimate) <= estimate // 2
                    ):
                        writer.enable_bulk_indexes()
                    sink = ThreadedWriter(writer) if threaded else writer
                report.total += len(chunk)
                staged, rejects = importer.validate(chunk)
                validate_seconds += time.perf_counter() - tock
                if rejects:
                    report.rejects.extend(rejects)
                    report.rejected += len({r.row for r in rejects})
                    blocked = blocked or not skip_invalid
                if staged is not None and not blocked:
                    sink.write(staged)  # type: ignore[union-attr]
            timings["read"] = read_seconds
            timings["validate"] = validate_seconds
            if sink is None:
                sink = writer
            if not blocked:
                held, late_rejects = importer.flush()
                if late_rejects:
                    report.rejects.extend(late_rejects)
                    report.rejected += len({r.row for r in late_rejects})
                    blocked = not skip_invalid
                if not blocked:
                    for staged in held:
                        sink.write(staged)
            tick = time.perf_counter()
            result = sink.close()
            timings["wait_for_database"] = time.perf_counter() - tick
            timings["prepare"] = result.prepare_seconds
            timings["db_load"] = result.load_seconds
            timings["db_write"] = result.write_seconds
            timings["db_indexes"] = result.index_seconds
            if blocked:
                savepoint.rollback()
            else:
                tick = time.perf_counter()
                importer.finish(result)
                timings["finish"] = time.perf_counter() - tick
                report.inserted = result.inserted
                report.updated = result.updated
                report.unchanged = report.accepted - result.inserted - result.updated
                if dry_run:
                    savepoint.rollback()
                else:
                    savepoint.commit()
                    report.applied = True
        except BaseException:
            if isinstance(sink, ThreadedWriter):
                sink.abandon()
            if savepoint.is_active:
                savepoint.rollback()
            raise
    if rejects_path is not None and report.rejects:
        report.rejects_path = str(write_rejects(report.rejects, rejects_path))
    timings["total"] = time.perf_counter() - started
    return report
