"""API benchmark: complete inspections submitted by 32 tablets through a real WSGI server.

Used by ``suijian bench api``; see docs/benchmarks.md. The database (PostgreSQL+PostGIS: a
throwaway server, or ``database_url``) is migrated and gets the demo registry, a drawn plan and,
for the benchmark, enough open tasks that every submission inspects a task of its own: a task
that is done cannot be inspected again. Each client has its own two-officer team (accounts for
both officers), so clients do not queue on each other's rows.

Two applications are served in turn, each by ``suijian serve`` in a child process with the
same generated ini file ([server:main]: waitress with ``threads``), the same broker settings
(a throwaway Redis) and the same database URL: first a bare Pyramid hello-world
(``mobile_api.bench_hello``), then the real application. The clients are threads of this
process, one keep-alive connection each, speaking HTTP/1.1 through a minimal client (plain
sockets: on a small machine a heavier client would steal the CPU the server needs).

A submission is what a tablet sends for one inspection: ``PUT /api/v1/inspections/{uuid}``
(check-in at the enterprise), ``PUT .../answers`` (the whole checklist), ``PUT .../signature``
(the inspected party refused to sign, so no image upload is needed) and ``PUT .../result``
(``no_problem``: finishes the record, marks the task done, writes the feed and outbox rows and
kicks the outbox drain through the broker). Every request is timed on its own. Each client
first signs in (``POST /api/v1/tokens``) and makes ``warmup`` submissions (``4 × warmup``
GETs for the hello-world) that are not counted; the clock starts when every client is ready
and stops when the last one is done. Afterwards the finished inspections are counted in the
database.

``suijian bench load`` (``enforcement.bench_load``) reuses the data (``prepare``), the servers
(``app_settings``, ``write_ini``, ``served``, ``cli_child``) and the clients (``Http``,
``drive``, ``sign_in``) with a heavier submission, a worker and the data center.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import importlib.metadata
import json
import math
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from argon2 import PasswordHasher
from geoalchemy2 import functions as geofunc
from sqlalchemy import Engine, func, select, text, update
from sqlalchemy.orm import Session

from enforcement import devservices, migrate
from enforcement.bench import machine
from enforcement.db import is_sqlite, make_engine
from enforcement.demo.generate import DEFAULT_ENTERPRISES, DEFAULT_INSPECTORS, DEFAULT_SEED
from enforcement.demo.generate import generate as generate_demo
from enforcement.demo.load import load_demo
from enforcement.models import (
    Enterprise,
    FieldInspection,
    InspectionStatus,
    InspectionTask,
    Inspector,
    MemberRole,
    Role,
    TaskMember,
    TaskStatus,
    User,
)
from enforcement.security import hash_password
from enforcement.services.draws import DrawService
from enforcement.services.plans import PlanService
from enforcement.services.task_feed import note_task_changes
from enforcement.settings import ENV_OVERRIDES
from random_sampler import seeds

DEFAULT_CLIENTS = 32
DEFAULT_REQUESTS = 10_000
DEFAULT_THREADS = 16
DEFAULT_WARMUP = 1
STEPS = ("checkin", "answers", "signature", "result")
#: The drawn plan's items (three departments: a joint inspection) and where it draws.
PLAN_ITEMS = ("SCJG-GS-001", "SPAQ-JY-001", "TZSB-SY-001")
PLAN_JURISDICTIONS = ("330783", "330702")
SUPERVISOR = "supervisor"  # the demo's supervisor creates and draws the plan

# The child runs the command a person would type: ``suijian -c bench.ini serve``.
_RUN_CLI = "from enforcement.cli import main; main(prog_name='suijian')"
_SERVER_START_TIMEOUT = 120.0
# The second officers never sign in; their accounts need no costly hash.
_CHEAP_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


@dataclasses.dataclass(frozen=True)
class BenchTask:
    uuid: str
    lon: float
    lat: float
    items: tuple[str, ...]


@dataclasses.dataclass
class ClientWork:
    """One tablet: its account and its tasks (the warm-up ones first)."""

    username: str
    password: str
    tasks: list[BenchTask]


@dataclasses.dataclass
class ClientResult:
    latencies: list[tuple[int, float]] = dataclasses.field(default_factory=list)  # (step, s)
    requests: int = 0
    errors: int = 0
    failures: list[str] = dataclasses.field(default_factory=list)  # the first few, for humans
    finished: float = 0.0
    fatal: str | None = None


# ---------------------------------------------------------------------------- the run


def services(
    stack: contextlib.ExitStack, name: str, database_url: str | None, broker_url: str | None
) -> tuple[str, str, Path, Engine]:
    """What a served benchmark runs on, closed by ``stack``: the database (a throwaway
    PostGIS server unless given), migrated; the broker (a throwaway Redis unless given); a
    scratch folder; an engine. Returns ``(database_url, broker_url, folder, engine)``."""
    if database_url is not None and is_sqlite(database_url):
        raise ValueError("--database-url: the benchmark runs on PostgreSQL+PostGIS")
    if database_url is None:
        server = stack.enter_context(devservices.throwaway_postgres())
        database_url = server.create_database(f"suijian_bench_{name}")
    broker = broker_url or stack.enter_context(devservices.throwaway_redis())
    folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix=f"suijian-{name}-")))
    engine = make_engine(database_url)
    stack.callback(engine.dispose)
    migrate.upgrade(engine)
    return database_url, broker, folder, engine


def run(
    database_url: str | None = None,
    *,
    clients: int = DEFAULT_CLIENTS,
    requests: int = DEFAULT_REQUESTS,
    threads: int = DEFAULT_THREADS,
    warmup: int = DEFAULT_WARMUP,
    enterprises: int = DEFAULT_ENTERPRISES,
    broker_url: str | None = None,
) -> dict[str, Any]:
    """Prepare the data, serve both applications in turn and return the JSON-ready figures.

    ``requests`` is rounded up so that every client makes the same number of complete
    submissions (four requests each); the hello-world gets the same number of requests.
    Without ``broker_url`` a throwaway Redis is the broker.
    """
    per_client = max(1, math.ceil(requests / (len(STEPS) * clients)))
    with contextlib.ExitStack() as stack:
        database_url, broker, folder, engine = services(stack, "api", database_url, broker_url)
        started = time.perf_counter()
        work = prepare(engine, clients, per_client + warmup, enterprises)
        setup_seconds = time.perf_counter() - started
        task_uuids = [t.uuid for w in work for t in w.tasks]

        settings = app_settings(database_url, broker, folder)
        hello_ini = write_ini(
            folder / "hello.ini", "call:mobile_api.bench_hello:main", settings, threads
        )
        api_ini = write_ini(folder / "api.ini", "egg:suijian", settings, threads)

        load_before = os.getloadavg()[0]
        with served(hello_ini, folder / "hello.log") as (port, pid):
            hello = drive(port, pid, work, warmup, per_client, _hello_client)
        with served(api_ini, folder / "api.log") as (port, pid):
            api = drive(port, pid, work, warmup, per_client, _inspection_client, STEPS)
        load_after = os.getloadavg()[0]
        finished = count_finished(engine, task_uuids)
        with engine.connect() as conn:
            database = conn.execute(text("SELECT version()")).scalar_one().split(",")[0]
            postgis = conn.execute(text("SELECT postgis_lib_version()")).scalar_one()

    figures: dict[str, Any] = {
        "throughput_rps": round(api["rps"], 1),
        "p50_ms": api["p50_ms"],
        "p99_ms": api["p99_ms"],
        "hello_world_rps": round(hello["rps"], 1),
        "requests": api["requests"],
        "errors": api["errors"],
        "clients": clients,
        "share_of_hello_world": round(api["rps"] / hello["rps"], 4) if hello["rps"] else None,
        "seconds": round(api["seconds"], 3),
        "submissions_per_s": round(api["rps"] / len(STEPS), 1),
        "steps": api["steps"],
        "inspections_finished": finished,
        "inspections_expected": clients * (per_client + warmup),
        "hello_world_p50_ms": hello["p50_ms"],
        "hello_world_p99_ms": hello["p99_ms"],
        "hello_world_requests": hello["requests"],
        "hello_world_errors": hello["errors"],
        "hello_world_seconds": round(hello["seconds"], 3),
        "server_cpu_ms_per_request": api["server_cpu_ms_per_request"],
        "client_cpu_ms_per_request": api["client_cpu_ms_per_request"],
        "machine_busy": api["machine_busy"],
        "hello_world_server_cpu_ms_per_request": hello["server_cpu_ms_per_request"],
        "hello_world_client_cpu_ms_per_request": hello["client_cpu_ms_per_request"],
        "hello_world_machine_busy": hello["machine_busy"],
        "failures": (api["failures"] + hello["failures"])[:10],
        "warmup_submissions_per_client": warmup,
        "server": {"name": "waitress", "version": package_version("waitress"), "threads": threads},
        "setup_seconds": round(setup_seconds, 1),
        # Other work on the machine skews everything: the 1-minute load before and after.
        "load_average": [round(load_before, 2), round(load_after, 2)],
        "demo_enterprises": enterprises,
        "database": f"{database}, PostGIS {postgis}",
        "machine": machine(),
        "date": dt.date.today().isoformat(),
    }
    return figures


def package_version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "?"


# ---------------------------------------------------------------------------- the data


def prepare(engine: Engine, clients: int, per_client: int, enterprises: int) -> list[ClientWork]:
    """The demo registry, a drawn plan, and ``per_client`` open tasks for each client's team
    (two officers of their own, both with accounts); committed."""
    password = secrets.token_urlsafe(18)
    with Session(engine, expire_on_commit=False) as session:
        load_demo(session, generate_demo(DEFAULT_SEED, enterprises, DEFAULT_INSPECTORS))
        session.commit()
        draw = _draw(session)
        items = list(draw.plan.items)
        checklist = [
            {"code": item.code, "name": item.name, "department": item.department.code}
            for item in items
        ]
        codes = tuple(entry["code"] for entry in checklist)

        # Earlier runs' accounts give their officers back first.
        session.execute(update(User).where(User.username.like("bench-%")).values(inspector_id=None))
        officers = session.scalars(
            select(Inspector.id)
            .where(
                Inspector.active.is_(True),
                Inspector.id.not_in(
                    select(User.inspector_id).where(User.inspector_id.is_not(None))
                ),
            )
            .order_by(Inspector.id)
            .limit(2 * clients)
        ).all()
        if len(officers) < 2 * clients:
            raise RuntimeError(
                f"{clients} clients need {2 * clients} free active inspectors; the demo has "
                f"{len(officers)}"
            )
        drawn = select(InspectionTask.enterprise_id).where(
            InspectionTask.draw_id == draw.id, InspectionTask.round == 1
        )
        places = session.execute(
            select(
                Enterprise.id, geofunc.ST_X(Enterprise.location), geofunc.ST_Y(Enterprise.location)
            )
            .where(Enterprise.location.is_not(None), Enterprise.id.not_in(drawn))
            .order_by(Enterprise.id)
            .limit(clients * per_client)
        ).all()
        if len(places) < clients * per_client:
            raise RuntimeError(
                f"{clients * per_client} tasks need as many located enterprises outside the "
                f"draw; the demo has {len(places)}: ask for fewer requests or more enterprises"
            )

        lead_hash = hash_password(password)  # the production parameters: they sign in
        member_hash = _CHEAP_HASHER.hash(secrets.token_urlsafe(18))
        work, tasks = [], []
        for c in range(clients):
            lead, member = officers[2 * c], officers[2 * c + 1]
            username = f"bench-{c + 1:02d}"
            _account(session, username, lead, lead_hash)
            _account(session, f"{username}b", member, member_hash)
            mine = places[c * per_client : (c + 1) * per_client]
            client_tasks = []
            for enterprise_id, lon, lat in mine:
                task = InspectionTask(
                    uuid=uuid.uuid4(),
                    draw_id=draw.id,
                    enterprise_id=enterprise_id,
                    stratum="bench",
                    is_alternate=False,
                    alternate_rank=None,
                    items=items,
                    checklist=checklist,
                    due_date=draw.plan.effective_due_date,
                    status=TaskStatus.OPEN,
                    members=[
                        TaskMember(inspector_id=lead, role=MemberRole.LEAD),
                        TaskMember(inspector_id=member, role=MemberRole.MEMBER),
                    ],
                )
                tasks.append(task)
                client_tasks.append(BenchTask(str(task.uuid), float(lon), float(lat), codes))
            work.append(ClientWork(username, password, client_tasks))
        session.add_all(tasks)
        note_task_changes(session, tasks)  # the tasks reach the tablets' feeds, as after a draw
        session.commit()
    return work


def _draw(session: Session) -> Any:
    supervisor = session.scalar(select(User).where(User.username == SUPERVISOR))
    if supervisor is None:
        raise RuntimeError(f"the demo account {SUPERVISOR!r} is missing")
    plans = PlanService(session, supervisor)
    tag = secrets.token_hex(4)
    plan = plans.create(
        code=f"BENCH-API-{tag}",
        title=f"接口基准测试 {tag}",
        year=dt.date.today().year,
        items=list(PLAN_ITEMS),
        jurisdictions=list(PLAN_JURISDICTIONS),
        tier_ratios={"A": 0.03, "B": 0.05, "C": 0.1, "D": 0.2},
    )
    plans.approve(plan)
    seed = secrets.token_bytes(32)
    plans.commit_seed(plan, seeds.commit(seed))
    draw = DrawService(session, supervisor).draw(plan, seed, None)
    session.commit()
    return draw


def _account(session: Session, username: str, inspector_id: int, password_hash: str) -> None:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        user = User(username=username, display_name=f"Bench {username}", role=Role.INSPECTOR)
        session.add(user)
    user.role = Role.INSPECTOR
    user.password_hash = password_hash
    user.inspector_id = inspector_id
    user.active = True
    user.failed_logins = 0
    user.locked_until = None
    session.flush()


def count_finished(engine: Engine, task_uuids: list[str]) -> int:
    """Finished inspections of the benchmark's tasks (each task takes at most one)."""
    wanted = [uuid.UUID(u) for u in task_uuids]
    with Session(engine) as session:
        return (
            session.scalar(
                select(func.count())
                .select_from(FieldInspection)
                .join(InspectionTask, InspectionTask.id == FieldInspection.task_id)
                .where(
                    InspectionTask.uuid.in_(wanted),
                    FieldInspection.status == InspectionStatus.FINISHED,
                    InspectionTask.status == TaskStatus.DONE,
                )
            )
            or 0
        )


# ---------------------------------------------------------------------------- the servers


def app_settings(database_url: str, broker: str, folder: Path) -> dict[str, str]:
    return {
        "sqlalchemy.url": database_url,
        "celery.broker_url": broker,
        "celery.result_backend": broker,
        "data_center.url": "",
        "suijian.secret_key": secrets.token_hex(32),
        "suijian.default_locale": "zh_CN",
        "suijian.timezone": "Asia/Shanghai",
        "suijian.var_dir": str(folder / "var"),
        "pyramid.reload_templates": "false",
        "pyramid.default_locale_name": "zh_CN",
        "pyramid.includes": "pyramid_tm pyramid_retry",
        "retry.attempts": "3",
        # As production.ini: responses are validated in development and the tests only.
        "pyramid_openapi3.enable_response_validation": "false",
    }


def write_ini(path: Path, use: str, settings: dict[str, str], threads: int) -> Path:
    """An ini like production.ini's: the app, waitress with ``threads``, warnings-only logs."""
    lines = ["[app:main]", f"use = {use}"]
    # ConfigParser interpolation: a literal % (in a URL's password) must be doubled.
    lines += [f"{key} = {value.replace('%', '%%')}" for key, value in settings.items()]
    lines += [
        "",
        "[server:main]",
        "use = egg:waitress#main",
        f"threads = {threads}",
        "",
        "[loggers]\nkeys = root\n",
        "[handlers]\nkeys = console\n",
        "[formatters]\nkeys = generic\n",
        "[logger_root]\nlevel = WARNING\nhandlers = console\n",
        "[handler_console]\nclass = StreamHandler\nargs = (sys.stderr,)\nlevel = NOTSET\n"
        "formatter = generic\n",
        "[formatter_generic]\nformat = %%(asctime)s %%(levelname)-5.5s [%%(name)s] %%(message)s\n",
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@contextlib.contextmanager
def served(ini: Path, log: Path, extra: Sequence[str] = ()) -> Iterator[tuple[int, int]]:
    """``suijian -c INI serve [EXTRA]`` in a child process on a free port; yields (port, pid)."""
    port = devservices.free_port()
    with cli_child(["-c", str(ini), "serve", *extra], port, log) as pid:
        yield port, pid


@contextlib.contextmanager
def cli_child(arguments: Sequence[str], port: int, log: Path) -> Iterator[int]:
    """``suijian ARGUMENTS`` in a child process that listens on ``port``; yields its pid once
    it accepts connections and stops it (SIGTERM, then SIGKILL after 30 s) afterwards."""
    command = [sys.executable, "-c", _RUN_CLI, *arguments, "--host", "127.0.0.1"]
    command += ["--port", str(port)]
    # The environment must not point the child at another database or broker.
    env = {k: v for k, v in os.environ.items() if k not in ENV_OVERRIDES and k != "SUIJIAN_INI"}
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        _wait_until_serving(port, process, log)
        yield process.pid
    finally:
        if process.poll() is None:
            process.terminate()  # ``serve`` exits on SIGTERM after closing its sockets
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_until_serving(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + _SERVER_START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.1)
    tail = log.read_text(encoding="utf-8", errors="replace")[-2000:]
    raise RuntimeError(f"the server did not start (exit code {process.poll()}):\n{tail}")


# ---------------------------------------------------------------------------- the clients


class HttpError(Exception):
    """The connection broke or the server answered something that is not HTTP/1.1."""


class Http:
    """One keep-alive HTTP/1.1 connection; just enough of the protocol for the benchmark."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.host = f"127.0.0.1:{port}"
        self.sock: socket.socket | None = None
        self.buffer = b""

    def close(self) -> None:
        if self.sock is not None:
            with contextlib.suppress(OSError):
                self.sock.close()
        self.sock, self.buffer = None, b""

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        token: str | None = None,
        *,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
    ) -> tuple[int, bytes]:
        head = f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\n"
        if token is not None:
            head += f"Authorization: Bearer {token}\r\n"
        for name, value in (headers or {}).items():
            head += f"{name}: {value}\r\n"
        if body is not None:
            head += f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
        data = (head + "\r\n").encode("latin-1") + (body or b"")
        try:
            if self.sock is None:
                self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=120)
                self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.sock.sendall(data)
            return self._response()
        except (OSError, HttpError, ValueError) as exc:
            self.close()
            raise HttpError(f"{method} {path}: {type(exc).__name__}: {exc}") from exc

    def _recv(self) -> None:
        assert self.sock is not None
        chunk = self.sock.recv(262144)
        if not chunk:
            raise HttpError("the server closed the connection")
        self.buffer += chunk

    def _take(self, n: int) -> bytes:
        while len(self.buffer) < n:
            self._recv()
        data, self.buffer = self.buffer[:n], self.buffer[n:]
        return data

    def _line(self) -> bytes:
        while (end := self.buffer.find(b"\r\n")) < 0:
            self._recv()
        line, self.buffer = self.buffer[:end], self.buffer[end + 2 :]
        return line

    def _response(self) -> tuple[int, bytes]:
        while (end := self.buffer.find(b"\r\n\r\n")) < 0:
            self._recv()
        head, self.buffer = self.buffer[:end].decode("latin-1"), self.buffer[end + 4 :]
        status_line, *header_lines = head.split("\r\n")
        status = int(status_line.split(" ", 2)[1])
        length, chunked, close = None, False, False
        for line in header_lines:
            name, _, value = line.partition(":")
            name, value = name.strip().lower(), value.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "transfer-encoding":
                chunked = "chunked" in value
            elif name == "connection":
                close = value == "close"
        if chunked:
            parts = []
            while size := int(self._line().split(b";")[0], 16):
                parts.append(self._take(size))
                self._take(2)
            while self._line():  # trailers, then the empty line
                pass
            body = b"".join(parts)
        elif length is not None:
            body = self._take(length)
        elif status in (204, 304) or 100 <= status < 200:
            body = b""
        else:  # delimited by the end of the connection
            with contextlib.suppress(HttpError):
                while True:
                    self._recv()
            body, close = self.buffer, True
        if close:
            self.close()
        return status, body


ClientFn = Callable[[Http, ClientWork, int, int, threading.Barrier, ClientResult], None]


def drive(
    port: int,
    pid: int,
    work: list[ClientWork],
    warmup: int,
    per_client: int,
    client: ClientFn,
    steps: Sequence[str] = (),
) -> dict[str, Any]:
    """Run one thread per client; the clock runs from the barrier (everyone signed in and
    warmed up) until the last client is done. The CPU time the server (``pid``) and the
    clients (this process) spent meanwhile is measured too, and how busy the machine was.
    ``steps`` names the step numbers the client records with its latencies (per-step
    percentiles in ``steps``)."""
    barrier = threading.Barrier(len(work) + 1)
    results = [ClientResult() for _ in work]
    threads = [
        threading.Thread(
            target=_guarded,
            args=(client, Http(port), w, warmup, per_client, barrier, r),
            name=f"bench-client-{i}",
            daemon=True,
        )
        for i, (w, r) in enumerate(zip(work, results, strict=True))
    ]
    for thread in threads:
        thread.start()
    with contextlib.suppress(threading.BrokenBarrierError):  # a client failed: reported below
        barrier.wait()
    started = time.perf_counter()
    cpu_before = (_process_cpu(pid), time.process_time(), _machine_cpu())
    for thread in threads:
        thread.join()
    server_cpu, client_cpu = _process_cpu(pid), time.process_time()
    machine_cpu = _machine_cpu()
    # The client that failed first, not the ones it released from the barrier.
    fatal = sorted((r.fatal for r in results if r.fatal), key=lambda f: "BrokenBarrier" in f)
    if fatal:
        raise RuntimeError(f"{len(fatal)} client(s) failed: {fatal[0]}")
    seconds = max(r.finished for r in results) - started
    latencies = np.array([s for r in results for _, s in r.latencies]) * 1000.0
    steps_of = np.array([k for r in results for k, _ in r.latencies], dtype=np.int8)
    requests = sum(r.requests for r in results)
    figures: dict[str, Any] = {
        "seconds": seconds,
        "requests": requests,
        "errors": sum(r.errors for r in results),
        "rps": requests / seconds if seconds > 0 else 0.0,
        "failures": [f for r in results for f in r.failures][:10],
        **percentiles(latencies),
        "steps": {},
        "server_cpu_ms_per_request": _per_request(server_cpu - cpu_before[0], requests),
        "client_cpu_ms_per_request": _per_request(client_cpu - cpu_before[1], requests),
        "machine_busy": _busy(cpu_before[2], machine_cpu),
    }
    for k, step in enumerate(steps):
        figures["steps"][step] = percentiles(latencies[steps_of == k])
    return figures


def _process_cpu(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux /proc; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _machine_cpu() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs so far (Linux /proc/stat; zeros elsewhere)."""
    try:
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return 0, 0
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    return sum(values) - idle, sum(values)


def _busy(before: tuple[int, int], after: tuple[int, int]) -> float | None:
    total = after[1] - before[1]
    return round((after[0] - before[0]) / total, 3) if total > 0 else None


def _per_request(seconds: float, requests: int) -> float | None:
    return round(1000.0 * seconds / requests, 3) if requests else None


def percentiles(ms: np.ndarray) -> dict[str, float | None]:
    if ms.size == 0:
        return {"p50_ms": None, "p99_ms": None}
    p50, p99 = np.percentile(ms, [50, 99])
    return {"p50_ms": round(float(p50), 2), "p99_ms": round(float(p99), 2)}


def _guarded(client: ClientFn, http: Http, work: ClientWork, warmup: int, per_client: int,
             barrier: threading.Barrier, result: ClientResult) -> None:  # fmt: skip
    try:
        client(http, work, warmup, per_client, barrier, result)
    except Exception as exc:
        result.fatal = f"{work.username}: {type(exc).__name__}: {exc}"
        barrier.abort()  # the others must not wait for this one forever
    finally:
        result.finished = time.perf_counter()
        http.close()


def _hello_client(http: Http, work: ClientWork, warmup: int, per_client: int,
                  barrier: threading.Barrier, result: ClientResult) -> None:  # fmt: skip
    for _ in range(warmup * len(STEPS)):
        http.request("GET", "/")
    barrier.wait()
    clock = time.perf_counter
    for _ in range(per_client * len(STEPS)):
        started = clock()
        try:
            status, _body = http.request("GET", "/")
        except HttpError as exc:
            status, _body = 0, str(exc).encode()
        result.latencies.append((0, clock() - started))
        result.requests += 1
        if status != 200:
            record_failure(result, "GET /", status, _body)


def sign_in(http: Http, work: ClientWork) -> str:
    body = json.dumps({"username": work.username, "password": work.password, "label": "bench"})
    status, answer = http.request("POST", "/api/v1/tokens", body.encode())
    if status != 201:
        raise RuntimeError(f"sign-in answered {status}: {answer[:300]!r}")
    return str(json.loads(answer)["token"])


def _submission(task: BenchTask) -> list[tuple[str, bytes, int]]:
    """The four requests of one complete inspection: (path, JSON body, expected status)."""
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    path = f"/api/v1/inspections/{uuid.uuid4()}"
    checkin = {
        "task": task.uuid,
        "checkin": {"lon": task.lon, "lat": task.lat, "accuracy_m": 8.0, "device_time": now},
    }
    answers = {"answers": {code: {"answer": "compliant"} for code in task.items}}
    signature = {"signer_name": "张三", "signer_role": "负责人", "refused": True, "signed_at": now}
    result = {"result": "no_problem", "note": "未发现问题", "finished_at": now}
    return [
        (path, json_body(checkin), 201),
        (f"{path}/answers", json_body(answers), 200),
        (f"{path}/signature", json_body(signature), 200),
        (f"{path}/result", json_body(result), 200),
    ]


def json_body(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def _inspection_client(http: Http, work: ClientWork, warmup: int, per_client: int,
                       barrier: threading.Barrier, result: ClientResult) -> None:  # fmt: skip
    token = sign_in(http, work)
    warm = ClientResult()
    for task in work.tasks[:warmup]:
        _submit(http, token, task, warm)
    if warm.errors:
        raise RuntimeError(f"the warm-up submission failed: {warm.failures[0]}")
    barrier.wait()
    for task in work.tasks[warmup : warmup + per_client]:
        _submit(http, token, task, result)


def _submit(http: Http, token: str, task: BenchTask, result: ClientResult) -> None:
    clock = time.perf_counter
    for step, (path, body, expected) in enumerate(_submission(task)):
        started = clock()
        try:
            status, answer = http.request("PUT", path, body, token)
        except HttpError as exc:
            status, answer = 0, str(exc).encode()
        result.latencies.append((step, clock() - started))
        result.requests += 1
        if status != expected:
            record_failure(result, f"PUT {path}", status, answer)
            return  # the rest of this inspection cannot succeed


def record_failure(result: ClientResult, what: str, status: int, answer: bytes) -> None:
    result.errors += 1
    if len(result.failures) < 3:
        result.failures.append(f"{what} -> {status}: {answer[:300].decode('utf-8', 'replace')}")


# ---------------------------------------------------------------------------- output


def human(figures: dict[str, Any]) -> str:
    lines = [
        f"{figures['requests']:,} inspection requests from {figures['clients']} clients in "
        f"{figures['seconds']:.1f} s: {figures['throughput_rps']:,.0f} req/s "
        f"({figures['submissions_per_s']:,.0f} complete inspections/s), "
        f"p50 {figures['p50_ms']} ms, p99 {figures['p99_ms']} ms, {figures['errors']} errors",
        f"hello-world on the same server: {figures['hello_world_rps']:,.0f} req/s "
        f"(p50 {figures['hello_world_p50_ms']} ms, p99 {figures['hello_world_p99_ms']} ms); "
        f"the API reaches {100 * (figures['share_of_hello_world'] or 0):.1f} % of it",
    ]
    for step, p in figures["steps"].items():
        lines.append(f"  {step:<10} p50 {p['p50_ms']} ms, p99 {p['p99_ms']} ms")
    lines.append(
        f"finished inspections in the database: {figures['inspections_finished']:,} "
        f"(expected {figures['inspections_expected']:,})"
    )
    return "\n".join(lines)
