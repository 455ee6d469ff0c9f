"""Import benchmark: the whole FSA directory through ``import_file`` against a row-by-row ORM
baseline, on PostgreSQL+PostGIS. Used by ``suijian bench import``; see docs/benchmarks.md."""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import gzip
import os
import platform
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from enforcement import devservices, migrate
from enforcement.db import is_sqlite, make_engine
from enforcement.importers import import_file, load_mapping
from enforcement.models import Enterprise, EnterpriseStatus, EntityType

FSA_FILE = "fhrs_uk_snapshot_2020-11-15.csv.gz"
#: The shared data directory next to the project (development machines and CI only).
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
DEFAULT_SAMPLE = 2_000


def default_fsa_path() -> Path:
    return SHARED_DATA / "fsa" / FSA_FILE


def machine() -> dict[str, Any]:
    info: dict[str, Any] = {"nproc": os.cpu_count(), "python": platform.python_version()}
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                info["ram_gb"] = round(int(line.split()[1]) / 1024**2, 1)
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
    return info


def _sample_rows(path: Path, n: int) -> list[dict[str, str]]:
    """The first ``n`` establishments, one row per FHRSID (the first, as the mapping keeps)."""
    rows: dict[str, dict[str, str]] = {}
    with gzip.open(path, "rt", encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            rows.setdefault(row["FHRSID"], row)
            if len(rows) == n:
                break
    return list(rows.values())


def orm_baseline(engine: Engine, path: Path, sample: int) -> dict[str, Any]:
    """The naive way: one ORM object per row, ``session.add`` + ``flush`` each (rolled back).

    Mapped like the bundled FSA mapping (same columns, extra and industry lookup), without its
    validation: the baseline is flattered, not handicapped.
    """
    mapping = load_mapping("fsa")
    industries = mapping.lookups["industry_code"].table
    rows = _sample_rows(path, sample)
    extra_columns = list(mapping.extra)
    with Session(engine) as session:
        started = time.perf_counter()
        for row in rows:
            lon, lat = row["Longitude"], row["Latitude"]
            session.add(
                Enterprise(
                    # Its own scheme: the database may already hold the FHRS rows.
                    natural_key=f"BENCH:{row['FHRSID']}",
                    name=row["BusinessName"],
                    entity_type=EntityType.COMPANY,
                    industry_code=industries.get(row["BusinessType"]),
                    registered_address=row["PostCode"] or None,
                    location=f"SRID=4326;POINT({float(lon)} {float(lat)})" if lon and lat else None,
                    status=EnterpriseStatus.IN_BUSINESS,
                    extra={c: row[c] or None for c in extra_columns},
                )
            )
            session.flush()
        seconds = time.perf_counter() - started
        session.rollback()
    return {"rows": len(rows), "seconds": seconds}


def full_import(engine: Engine, path: Path, *, reimport: bool = True) -> dict[str, Any]:
    """``import_file`` of the whole file in one transaction (rolled back), then optionally the
    same file again in the same transaction (every row unchanged)."""
    with Session(engine) as session:
        before = session.execute(select(func.count()).select_from(Enterprise)).scalar_one()
        started = time.perf_counter()
        report = import_file(session, "enterprises", path, mapping="fsa")
        seconds = time.perf_counter() - started
        result: dict[str, Any] = {
            "rows": report.total,
            "seconds": seconds,
            "report": report,
            "enterprises_before": before,
        }
        if reimport:
            started = time.perf_counter()
            again = import_file(session, "enterprises", path, mapping="fsa")
            result["reimport_seconds"] = time.perf_counter() - started
            result["reimport_report"] = again
        session.rollback()
    return result


def database_version(engine: Engine) -> str:
    with engine.connect() as conn:
        if is_sqlite(engine):
            return "SQLite " + str(conn.execute(text("SELECT sqlite_version()")).scalar())
        pg = conn.execute(text("SHOW server_version")).scalar()
        postgis = conn.execute(text("SELECT postgis_lib_version()")).scalar()
        return f"PostgreSQL {pg} / PostGIS {postgis}"


@contextlib.contextmanager
def benchmark_engine(url: str | None) -> Iterator[tuple[Engine, str]]:
    """The given database (must be migrated), else a throwaway PostgreSQL, migrated here."""
    if url:
        engine = make_engine(url)
        try:
            if migrate.current_revision(engine) != migrate.head_revision():
                raise RuntimeError(
                    "the database is not at the head revision: run suijian db upgrade"
                )
            yield engine, "given"
        finally:
            engine.dispose()
        return
    with devservices.throwaway_postgres() as server:
        engine = make_engine(server.create_database("suijian_bench"))
        try:
            migrate.upgrade(engine)
            yield engine, "throwaway"
        finally:
            engine.dispose()


def run(url: str | None, path: Path, sample: int = DEFAULT_SAMPLE) -> dict[str, Any]:
    """Measure and return the benchmark's JSON-ready figures."""
    if not path.is_file():
        raise FileNotFoundError(f"benchmark data not found: {path} (pass --file)")
    with benchmark_engine(url) as (engine, origin):
        baseline = orm_baseline(engine, path, sample)
        measured = full_import(engine, path)
        version = database_version(engine)
    report = measured["report"]
    again = measured.get("reimport_report")
    timings = {k: round(v, 3) for k, v in report.timings.items()}
    result: dict[str, Any] = {
        "rows": measured["rows"],
        "seconds": round(measured["seconds"], 3),
        "rows_per_s": round(measured["rows"] / measured["seconds"]),
        "baseline_rows_per_s": round(baseline["rows"] / baseline["seconds"]),
        "baseline_rows": baseline["rows"],
        "baseline_seconds": round(baseline["seconds"], 3),
        "speedup": round(
            (measured["rows"] / measured["seconds"]) / (baseline["rows"] / baseline["seconds"]), 1
        ),
        "inserted": report.inserted,
        "duplicates": report.duplicates,
        "rejected": report.rejected,
        "without_location": report.without_location,
        "breakdown": timings,
        "file": str(path),
        "database": version,
        "database_origin": origin,
        "enterprises_before": measured["enterprises_before"],
        "machine": machine(),
        "date": dt.date.today().isoformat(),
    }
    if again is not None:
        result["reimport_seconds"] = round(measured["reimport_seconds"], 3)
        result["reimport_unchanged"] = again.unchanged
        result["reimport_updated"] = again.updated
    return result


def human(result: dict[str, Any]) -> str:
    lines = [
        f"file      {result['file']}",
        f"database  {result['database']} ({result['database_origin']})",
        f"import    {result['rows']:,} rows in {result['seconds']:.2f} s = "
        f"{result['rows_per_s']:,} rows/s",
        f"baseline  {result['baseline_rows']:,} rows, ORM add+flush per row: "
        f"{result['baseline_rows_per_s']:,} rows/s ({result['speedup']}x slower)",
    ]
    if "reimport_seconds" in result:
        lines.append(
            f"re-import {result['reimport_seconds']:.2f} s, {result['reimport_unchanged']:,} "
            f"unchanged, {result['reimport_updated']:,} updated"
        )
    lines.append("breakdown " + ", ".join(f"{k} {v:.2f}" for k, v in result["breakdown"].items()))
    return "\n".join(lines)
