"""Province-scale benchmark: generate, import, rate, draw, publish and verify, end to end.

Used by ``suijian bench province``; see docs/scaling.md. On PostgreSQL+PostGIS (a throwaway
server, or ``database_url``: an empty, migrated-here database), one step after the other, each
committed before the next starts, as an operator would run them:

1. **generate**: the demo generator (``enforcement.demo.generate``) builds N enterprises and
   the inspectors over the bundled geography (four provinces' worth of cities and counties)
   and writes them in the directory's import format (``enforcement.demo.files``: GeoJSON
   jurisdictions, CSV items, enterprises and inspectors with declared conflicts);
2. **import**: ``import_file`` of each file, parents first, in one transaction (the
   importers' fast path: COPY straight into the empty tables, indexes rebuilt once);
3. **rate**: ``RatingService.rate`` of every enterprise (credit indicators from the database,
   the scorecard, one rating row and one audit row each), one transaction;
4. **draw**: a joint plan over every province (three departments' items, risk-tiered ratios),
   approved, seed committed, then ``DrawService.draw``: the candidate snapshot, the draw with
   team pairing and one task per drawn target and alternate, one transaction;
5. **publish**: ``PublicationService.publish`` and the bundle written (gzip JSON);
6. **verify**: ``verify_bundle`` of the file read back: the draw re-run from the bundle alone.

Per step: wall time; this process's peak RSS during the step (VmHWM, reset before each step
through ``/proc/self/clear_refs``); and on the server side, sampled every 0.2 s, the peak RSS of
this session's backend (it includes the shared buffers it touched) and the peak proportional
set size (PSS, shared memory split between processes) of all the server's processes, plus the
database size after the step.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import json
import os
import secrets
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from enforcement import devservices, migrate
from enforcement.bench import machine
from enforcement.db import is_sqlite, make_engine
from enforcement.demo.files import CRS, KINDS, MAPPINGS, write_import_files
from enforcement.demo.generate import DEFAULT_SEED
from enforcement.demo.generate import generate as generate_demo
from enforcement.importers import import_file
from enforcement.models import (
    Enterprise,
    InspectionTask,
    Inspector,
    RatingCause,
    Role,
    User,
)
from enforcement.services.credit import RatingService
from enforcement.services.draws import DrawService, draw_summary
from enforcement.services.plans import PlanService, get_plan
from enforcement.services.publication import (
    PublicationService,
    read_bundle,
    verify_bundle,
    write_bundle,
)
from random_sampler import seeds

DEFAULT_ENTERPRISES = 3_000_000
DEFAULT_INSPECTORS = 5_000
STEPS = ("generate", "import", "rate", "draw", "publish", "verify")
#: The plan: three departments' items (a joint inspection) over every bundled province.
PLAN_ITEMS = ("SCJG-GS-001", "SPAQ-JY-001", "TZSB-SY-001")
PLAN_JURISDICTIONS = ("330000", "340000", "440000", "620000")
TIER_RATIOS = {"A": 0.01, "B": 0.03, "C": 0.05, "D": 0.1}
SUPERVISOR = "bench-province-supervisor"
_SAMPLE_SECONDS = 0.2


def run(
    database_url: str | None = None,
    *,
    enterprises: int = DEFAULT_ENTERPRISES,
    inspectors: int = DEFAULT_INSPECTORS,
    seed: int = DEFAULT_SEED,
    work_dir: Path | None = None,
    progress: Callable[[str], None] | None = None,
    out: Path | None = None,
) -> dict[str, Any]:
    """Run every step and return the JSON-ready figures (``steps``: one entry per step).

    With ``out`` the figures so far are written there (JSON) after each step, with
    ``finished`` false until the last: a run stopped half-way keeps the steps it measured."""
    if database_url is not None and is_sqlite(database_url):
        raise ValueError("--database-url: the benchmark runs on PostgreSQL+PostGIS")
    say = progress or (lambda _message: None)
    with contextlib.ExitStack() as stack:
        if database_url is None:
            server = stack.enter_context(devservices.throwaway_postgres())
            database_url = server.create_database("suijian_bench_province")
        temporary = tempfile.TemporaryDirectory(prefix="suijian-province-", dir=work_dir)
        folder = Path(stack.enter_context(temporary))
        engine = make_engine(database_url)
        stack.callback(engine.dispose)
        migrate.upgrade(engine)
        with Session(engine) as session:
            if session.scalar(select(func.count()).select_from(Enterprise)):
                raise RuntimeError("--database-url: the database must hold no enterprises")
        with engine.connect() as conn:
            version = conn.execute(text("SHOW server_version")).scalar_one()
            postgis = conn.execute(text("SELECT postgis_lib_version()")).scalar_one()
            settings = {
                name: conn.execute(text(f"SHOW {name}")).scalar_one()
                for name in ("shared_buffers", "work_mem", "maintenance_work_mem")
            }
        bench = _Province(engine, folder, enterprises, inspectors, seed, say)

        def figures(finished: bool) -> dict[str, Any]:
            return {
                "enterprises": enterprises,
                "inspectors": inspectors,
                "finished": finished,
                "seconds": round(sum(s["seconds"] for s in bench.steps.values()), 1),
                "steps": bench.steps,
                "verified": bench.verified,
                "counts": bench.counts,
                "database": f"PostgreSQL {version}, PostGIS {postgis}",
                "postgres_settings": settings,
                "machine": machine(),
                "load_average": [round(v, 2) for v in os.getloadavg()],
                "date": dt.date.today().isoformat(),
            }

        def save(finished: bool) -> None:
            if out is not None:
                partial = out.with_name(out.name + ".tmp")
                partial.write_text(json.dumps(figures(finished), ensure_ascii=False) + "\n")
                partial.replace(out)

        bench.run_all(lambda: save(False))
        save(True)
        return figures(True)


class _Province:
    """The steps, sharing the generated files and the plan between them."""

    def __init__(self, engine: Engine, folder: Path, enterprises: int, inspectors: int,
                 seed: int, say: Callable[[str], None]) -> None:  # fmt: skip
        self.engine = engine
        self.folder = folder
        self.enterprises = enterprises
        self.inspectors = inspectors
        self.seed = seed
        self.say = say
        self.steps: dict[str, dict[str, Any]] = {}
        self.counts: dict[str, Any] = {}
        self.paths: dict[str, Path] = {}
        self.plan_code = f"BENCH-PROVINCE-{secrets.token_hex(4)}"
        self.bundle_path = folder / "bundle.json.gz"
        self.verified = False

    def run_all(self, after_step: Callable[[], None]) -> None:
        for name in STEPS:
            self.say(f"{time.strftime('%H:%M:%S')} {name}…")
            with _measured(self.engine) as figures:
                extra = getattr(self, f"_{name}")()
            self.steps[name] = {**figures, **(extra or {})}
            self.say(f"{time.strftime('%H:%M:%S')} {name}: {self.steps[name]['seconds']} s")
            after_step()

    # ------------------------------------------------------------------ the steps

    def _generate(self) -> dict[str, Any]:
        data = generate_demo(self.seed, self.enterprises, self.inspectors)
        self.paths = write_import_files(data, self.folder)
        sizes = {kind: path.stat().st_size for kind, path in self.paths.items()}
        self.counts["generated"] = {
            "enterprises": len(data.enterprises),
            "inspectors": len(data.inspectors),
            "conflicts": len(data.conflicts),
            "jurisdictions": len(data.areas),
            "items": len(data.items),
        }
        del data
        gc.collect()
        return {"file_bytes": sizes}

    def _import(self) -> dict[str, Any]:
        per_kind: dict[str, Any] = {}
        with Session(self.engine) as session:
            for kind in KINDS:
                started = time.perf_counter()
                report = import_file(
                    session, kind, self.paths[kind], mapping=MAPPINGS.get(kind), crs=CRS
                )
                if report.rejects or not report.applied:
                    first = report.rejects[0] if report.rejects else None
                    raise RuntimeError(
                        f"the importer rejected {report.rejected} of {report.total} generated "
                        f"{kind}: {first}"
                    )
                per_kind[kind] = {
                    "rows": report.total,
                    "inserted": report.inserted,
                    "seconds": round(time.perf_counter() - started, 2),
                }
            session.commit()
            session.execute(text("ANALYZE"))  # what an operator runs after a bulk load
            session.commit()
            self.counts["imported"] = {
                "enterprises": session.scalar(select(func.count()).select_from(Enterprise)),
                "inspectors": session.scalar(select(func.count()).select_from(Inspector)),
            }
        return {"kinds": per_kind}

    def _rate(self) -> dict[str, Any]:
        with Session(self.engine) as session:
            summary = RatingService(session, None).rate(
                None, cause=RatingCause.BATCH, detail="bench province"
            )
            session.commit()
        self.counts["rated"] = summary.rated
        return {"rated": summary.rated, "tiers": summary.tiers}

    def _draw(self) -> dict[str, Any]:
        with Session(self.engine) as session:
            supervisor = User(
                username=SUPERVISOR,
                display_name="Bench supervisor",
                role=Role.SUPERVISOR,
                password_hash="!",  # never signs in
                active=True,
            )
            session.add(supervisor)
            plans = PlanService(session, supervisor)
            plan = plans.create(
                code=self.plan_code,
                title=f"省级基准测试 {self.plan_code}",
                year=dt.date.today().year,
                items=list(PLAN_ITEMS),
                jurisdictions=list(PLAN_JURISDICTIONS),
                tier_ratios=dict(TIER_RATIOS),
            )
            plans.approve(plan)
            seed = secrets.token_bytes(32)
            plans.commit_seed(plan, seeds.commit(seed))
            draw = DrawService(session, supervisor).draw(plan, seed, None)
            session.commit()
            summary = draw_summary(draw)
            tasks = session.scalar(
                select(func.count())
                .select_from(InspectionTask)
                .where(InspectionTask.draw_id == draw.id)
            )
        self.counts["tasks"] = tasks
        keys = ("candidates", "excluded", "drawn", "alternates", "staffed", "blocked")
        return {**{key: summary[key] for key in keys}, "tasks": tasks}

    def _publish(self) -> dict[str, Any]:
        with Session(self.engine) as session:
            supervisor = session.scalars(select(User).where(User.username == SUPERVISOR)).one()
            plan = get_plan(session, self.plan_code)
            bundle = PublicationService(session, supervisor).publish(plan)
            write_bundle(bundle, self.bundle_path)
            session.commit()
        del bundle
        gc.collect()
        return {"bundle_bytes": self.bundle_path.stat().st_size}

    def _verify(self) -> dict[str, Any]:
        difference = verify_bundle(read_bundle(self.bundle_path))
        if difference is not None:
            raise RuntimeError(f"the published bundle does not verify: {difference}")
        self.verified = True
        return {"difference": None}


# ---------------------------------------------------------------------------- measuring


@contextlib.contextmanager
def _measured(engine: Engine) -> Iterator[dict[str, Any]]:
    """Wall time, this process's peak RSS, the server's peaks and the database size."""
    figures: dict[str, Any] = {}
    _reset_peak_rss()
    sampler = _ServerSampler(engine)
    sampler.start()
    started = time.perf_counter()
    try:
        yield figures
    finally:
        seconds = time.perf_counter() - started
        sampler.stop()
    figures["seconds"] = round(seconds, 2)
    figures["peak_rss_mb"] = _peak_rss_mb()
    figures["server_backend_peak_rss_mb"] = sampler.backend_peak_mb
    figures["server_peak_pss_mb"] = sampler.server_peak_mb
    with engine.connect() as conn:
        size = conn.execute(text("SELECT pg_database_size(current_database())")).scalar_one()
    figures["database_mb"] = round(size / 2**20, 1)


def _reset_peak_rss() -> None:
    # Linux: writing 5 resets VmHWM to the current RSS, so each step gets its own peak.
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def _status_kb(pid: int | str, field: str) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


def _peak_rss_mb() -> float | None:
    kb = _status_kb("self", "VmHWM")
    return round(kb / 1024, 1) if kb is not None else None


def _pss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        return 0
    return 0


class _ServerSampler:
    """Samples the PostgreSQL server's memory in a thread (only when it runs on this host).

    The postmaster is the parent of a backend; this process's backends are those whose
    process title names a client port that is one of this process's sockets."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.backend_peak_mb: float | None = None
        self.server_peak_mb: float | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="pg-sampler", daemon=True)
        self._postmaster: int | None = None

    def start(self) -> None:
        try:
            with self.engine.connect() as conn:
                backend = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        except Exception:  # sampling is best effort
            return
        ppid = _parent(backend)
        if ppid is None:
            return  # the server is on another host
        self._postmaster = ppid
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _loop(self) -> None:
        assert self._postmaster is not None
        me = os.getpid()
        backend_peak, server_peak = 0, 0
        while True:
            children = _children(self._postmaster)
            total = _pss_kb(self._postmaster) + sum(_pss_kb(pid) for pid in children)
            server_peak = max(server_peak, total)
            ports = _local_ports(me)  # this process's backends: their clients are here
            for pid in children:
                if _client_port(pid) in ports:
                    backend_peak = max(backend_peak, _status_kb(pid, "VmRSS") or 0)
            self.backend_peak_mb = round(backend_peak / 1024, 1) if backend_peak else None
            self.server_peak_mb = round(server_peak / 1024, 1) if server_peak else None
            if self._stop.wait(_SAMPLE_SECONDS):
                return


def _parent(pid: int) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None


def _children(pid: int) -> list[int]:
    found = []
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(OSError, ValueError):
                found += [int(c) for c in (task / "children").read_text().split()]
    return found


_CLIENT_PORTS: dict[int, int | None] = {}


def _client_port(backend: int) -> int | None:
    """The client port a backend's process title names (cached: it never changes)."""
    if backend not in _CLIENT_PORTS:
        _CLIENT_PORTS[backend] = _title_port(backend)
    return _CLIENT_PORTS[backend]


def _title_port(pid: int) -> int | None:
    # "postgres: postgres suijian_bench_province 127.0.0.1(54321) idle"
    try:
        title = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except (OSError, UnicodeDecodeError):
        return None
    start, end = title.find("("), title.find(")")
    if start < 0 or end < start:
        return None
    try:
        return int(title[start + 1 : end])
    except ValueError:
        return None


def _local_ports(pid: int) -> set[int]:
    """Local TCP ports of ``pid``'s sockets (IPv4 loopback connections)."""
    inodes = set()
    with contextlib.suppress(OSError):
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                target = str(fd.readlink())
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
    ports = set()
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/net/tcp").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[9] in inodes:
                ports.add(int(fields[1].split(":")[1], 16))
    return ports


# ---------------------------------------------------------------------------- output


def human(figures: dict[str, Any]) -> str:
    lines = [
        f"{figures['enterprises']:,} enterprises, {figures['inspectors']:,} inspectors on "
        f"{figures['database']}: {figures['seconds']:,.1f} s in all; bundle verified: "
        f"{figures['verified']}",
        f"{'step':<10}{'seconds':>10}{'peak RSS MB':>13}{'backend MB':>12}{'server PSS MB':>15}"
        f"{'db MB':>10}",
    ]
    for name, step in figures["steps"].items():
        lines.append(
            f"{name:<10}{step['seconds']:>10,.1f}{_mb(step['peak_rss_mb']):>13}"
            f"{_mb(step['server_backend_peak_rss_mb']):>12}{_mb(step['server_peak_pss_mb']):>15}"
            f"{_mb(step['database_mb']):>10}"
        )
    draw = figures["steps"].get("draw", {})
    if draw:
        lines.append(
            f"draw: {draw['drawn']:,} drawn, {draw['alternates']:,} alternates, "
            f"{draw['staffed']:,} teams staffed, {draw['blocked']:,} blocked"
        )
    return "\n".join(lines)


def _mb(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"
