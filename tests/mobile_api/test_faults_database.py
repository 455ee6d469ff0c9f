"""Fault test: PostgreSQL stopped and started again while the app serves requests.

A PostgreSQL cluster of this module's own (so no other test loses its database) serves the
real application through waitress (a real connection pool, real threads). Tablets keep
writing findings and check-ins; the server is stopped (``pg_ctl -m fast``, then
``-m immediate``, as a crash) and started again underneath them. Checked:

- every answer is a success or a 503 in the API's envelope with ``Retry-After`` and advice
  to send again; pages answer with a 503 page (never waitress's bare 500);
- nothing is half-written: a finding and the inspection's version move together, every
  check-in has its audit row, every acknowledged write is in the database;
- the same process serves again once the database is back (dead pooled connections are
  noticed and replaced), without a restart;
- an error page after a failed statement (PostgreSQL then refuses every query until the
  transaction ends) renders without querying the database.

Each scenario prints what it did and what it found (``pytest -s`` shows it).
"""

from __future__ import annotations

import collections
import contextlib
import logging
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from pyramid.config import Configurator
from pyramid.request import Request
from pyramid.router import Router
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from enforcement import devservices, migrate
from enforcement.db import make_engine
from enforcement.models import AuditLog, FieldInspection, InspectionFinding
from tests.field_work import PASSWORD, FieldWork, drawn_field_work
from tests.mobile_api.browser.harness import LiveServer

DEVICE_TIME = "2025-04-02T01:30:00Z"
#: Requests of each kind to see before, during and after an outage.
ENOUGH = 6
WAIT = 60.0  # seconds: a bound on each phase, so a broken app fails instead of hanging


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"required service unavailable under CI: {reason}", pytrace=False)
    pytest.skip(reason)


class Cluster:
    """A private PostgreSQL cluster that the test may stop and start at will."""

    def __init__(self) -> None:
        self.bindir = devservices._pg_bindir()
        self.owner = devservices._as_postgres_user()
        self.workdir = Path(tempfile.mkdtemp(prefix="suijian-pg-faults-"))
        if self.owner:
            os.chown(self.workdir, self.owner["user"], self.owner["group"])  # type: ignore[arg-type]
        self.datadir = self.workdir / "data"
        self.port = devservices.free_port()
        self._run("initdb", "-D", self.datadir, "-U", "postgres", "-A", "trust", "-E", "UTF8",
                  "--locale", "C.UTF-8")  # fmt: skip
        self.start()

    def _run(self, binary: str, *args: object) -> None:
        subprocess.run([self.bindir / binary, *args], check=True, capture_output=True, **self.owner)  # type: ignore[call-overload]

    def start(self) -> None:
        # synchronous_commit stays on: an acknowledged commit must survive -m immediate.
        options = (
            f"-p {self.port} -k {self.workdir} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c max_connections=60"
        )
        self._run("pg_ctl", "-D", self.datadir, "-o", options, "-l", self.workdir / "log", "-w",
                  "start")  # fmt: skip

    def stop(self, mode: str) -> None:
        self._run("pg_ctl", "-D", self.datadir, "-m", mode, "-w", "stop")

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def remove(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self.stop("immediate")
        shutil.rmtree(self.workdir, ignore_errors=True)


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    try:
        server = Cluster()
    except (devservices.ServiceUnavailableError, subprocess.CalledProcessError) as exc:
        _unavailable(f"cannot run a private PostgreSQL: {exc}")
    try:
        yield server
    finally:
        server.remove()


@pytest.fixture(scope="module")
def fault_engine(cluster: Cluster) -> Iterator[Engine]:
    url = devservices.Postgres(url=cluster.url).create_database("suijian_faults")
    engine = make_engine(url)
    migrate.upgrade(engine)
    yield engine
    engine.dispose()


def _broken_query(request: Request) -> dict[str, Any]:
    """A statement PostgreSQL refuses: the transaction is aborted from then on."""
    if request.params.get("identity_first"):
        assert request.identity is not None
    request.dbsession.execute(text("SELECT no_such_column FROM users"))
    return {}


def _test_views(config: Configurator) -> None:
    config.add_route("faults.broken_page", "/faults/broken")
    config.add_view(_broken_query, route_name="faults.broken_page", renderer="json")
    config.add_route("faults.broken_api", "/api/v1/faults/broken")
    config.add_view(_broken_query, route_name="faults.broken_api", renderer="json")


@dataclass
class Served:
    server: LiveServer
    field: FieldWork
    engine: Engine

    @property
    def url(self) -> str:
        return self.server.url


@pytest.fixture(scope="module")
def served(fault_engine: Engine, build_app: Callable[..., Router]) -> Iterator[Served]:
    with Session(bind=fault_engine, expire_on_commit=False) as session:
        field_work = drawn_field_work(session)
    app = build_app(fault_engine, extend=_test_views)
    server = LiveServer(app)
    try:
        yield Served(server, field_work, fault_engine)
    finally:
        server.stop()


def api_token(base: str, username: str) -> dict[str, str]:
    answer = requests.post(
        f"{base}/api/v1/tokens", json={"username": username, "password": PASSWORD}, timeout=30
    )
    answer.raise_for_status()
    return {"Authorization": f"Bearer {answer.json()['token']}"}


def signed_in(base: str, username: str) -> requests.Session:
    """A browser-like session signed in through the real login form."""
    browser = requests.Session()
    form = browser.get(f"{base}/login", timeout=30).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert token is not None
    answer = browser.post(
        f"{base}/login",
        data={"csrf_token": token[1], "username": username, "password": PASSWORD},
        allow_redirects=False,
        timeout=30,
    )
    assert answer.status_code == 303, answer.text[:300]
    return browser


# ---------------------------------------------------------------------- writers


@dataclass
class Outcome:
    kind: str  # "finding", "checkin" or "batch" (of findings)
    key: uuid.UUID  # the finding's, the inspection's or the batch's UUID
    inspection: uuid.UUID
    status: int
    phase: str  # the phase when the request was sent
    body: Any
    retry_after: str | None
    members: tuple[uuid.UUID, ...] = ()  # a batch's findings


@dataclass
class Writers:
    """Tablets writing continuously, each on an inspection of its own."""

    base: str
    field_work: FieldWork
    headers: dict[str, str]
    phase: str = "up"
    outcomes: list[Outcome] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stop: threading.Event = field(default_factory=threading.Event)
    threads: list[threading.Thread] = field(default_factory=list)

    def checkin(self, inspection: uuid.UUID) -> tuple[str, dict[str, Any]]:
        body = {
            "task": str(self.field_work.task.uuid),
            "checkin": {
                "lon": self.field_work.lon,
                "lat": self.field_work.lat,
                "accuracy_m": 10,
                "device_time": DEVICE_TIME,
            },
        }
        return f"{self.base}/api/v1/inspections/{inspection}", body

    def _send(self, http: requests.Session, kind: str, key: uuid.UUID, inspection: uuid.UUID,
              url: str, body: dict[str, Any]) -> Outcome:  # fmt: skip
        phase = self.phase
        answer = http.put(url, json=body, headers=self.headers, timeout=60)
        try:
            parsed = answer.json()
        except ValueError:
            parsed = answer.text[:500]
        outcome = Outcome(
            kind, key, inspection, answer.status_code, phase, parsed,
            answer.headers.get("Retry-After"),
        )  # fmt: skip
        with self.lock:
            self.outcomes.append(outcome)
        return outcome

    def _finding_writer(self) -> None:
        http = requests.Session()
        inspection = uuid.uuid4()
        url, body = self.checkin(inspection)
        while self._send(http, "checkin", inspection, inspection, url, body).status >= 300:
            time.sleep(0.05)  # the inspection must exist before its findings
        code = self.field_work.task.checklist[0]["code"]
        while not self.stop.is_set():
            finding = uuid.uuid4()
            url = f"{self.base}/api/v1/inspections/{inspection}/findings/{finding}"
            body = {
                "item_code": code,
                "description": f"问题 {finding.hex[:6]}",
                "severity": "minor",
            }
            self._send(http, "finding", finding, inspection, url, body)
            time.sleep(0.01)

    def _batch_writer(self) -> None:
        """The tablet's way: its queue of findings, five to a ``POST /batch``."""
        http = requests.Session()
        inspection = uuid.uuid4()
        url, body = self.checkin(inspection)
        while self._send(http, "checkin", inspection, inspection, url, body).status >= 300:
            time.sleep(0.05)
        code = self.field_work.task.checklist[0]["code"]
        while not self.stop.is_set():
            members = tuple(uuid.uuid4() for _ in range(5))
            operations = [
                {
                    "id": str(finding),
                    "method": "PUT",
                    "path": f"/api/v1/inspections/{inspection}/findings/{finding}",
                    "body": {"item_code": code, "description": "批量", "severity": "minor"},
                }
                for finding in members
            ]
            phase = self.phase
            answer = http.post(
                f"{self.base}/api/v1/batch",
                json={"operations": operations},
                headers=self.headers,
                timeout=60,
            )
            outcome = Outcome(
                "batch", uuid.uuid4(), inspection, answer.status_code, phase, answer.json(),
                answer.headers.get("Retry-After"), members,
            )  # fmt: skip
            with self.lock:
                self.outcomes.append(outcome)
            time.sleep(0.01)

    def _checkin_writer(self) -> None:
        http = requests.Session()
        while not self.stop.is_set():
            inspection = uuid.uuid4()
            url, body = self.checkin(inspection)
            self._send(http, "checkin", inspection, inspection, url, body)
            time.sleep(0.01)

    def start(self, finding_writers: int, checkin_writers: int, batch_writers: int) -> None:
        for target, count in ((self._finding_writer, finding_writers),
                              (self._checkin_writer, checkin_writers),
                              (self._batch_writer, batch_writers)):  # fmt: skip
            for _ in range(count):
                thread = threading.Thread(target=target, daemon=True)
                thread.start()
                self.threads.append(thread)

    def finish(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=WAIT)
            assert not thread.is_alive(), "a writer is stuck"

    def count(self, phase: str, ok: bool) -> int:
        with self.lock:
            return sum(1 for o in self.outcomes if o.phase == phase and (o.status < 300) == ok)

    def wait_for(self, what: str, condition: Callable[[], bool]) -> None:
        deadline = time.monotonic() + WAIT
        while not condition():
            if time.monotonic() > deadline:
                statuses = collections.Counter((o.phase, o.status) for o in self.outcomes)
                pytest.fail(f"waited {WAIT:.0f} s for {what}; answers so far: {statuses}")
            time.sleep(0.05)


class Reasons(logging.Handler):
    """What the server logged for each 503, by the phase it happened in."""

    def __init__(self, writers: Writers) -> None:
        super().__init__(logging.WARNING)
        self.writers = writers
        self.seen: collections.Counter[tuple[str, str]] = collections.Counter()

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if "database unavailable" in message:
            cause = message.split(": ", 1)[-1].splitlines()[0]
            cause = re.sub(r"port \d+", "port N", cause.split(" failed: ")[-1])
            self.seen[(self.writers.phase, cause[:90])] += 1


def _assert_unavailable_envelope(outcome: Outcome) -> None:
    assert outcome.retry_after is not None and outcome.retry_after.isdigit(), outcome
    error = outcome.body["error"]
    assert error["code"] == "database_unavailable", outcome
    assert "again" in error["message"] or "重" in error["message"], error["message"]


# ---------------------------------------------------------------------- the scenarios


def test_postgresql_stopped_and_started_under_load(served: Served, cluster: Cluster) -> None:
    base = served.url
    lead = api_token(base, "field-lead")
    browser = signed_in(base, "field-lead")
    writers = Writers(base, served.field, lead)
    reasons = Reasons(writers)
    logging.getLogger("mobile_api").addHandler(reasons)
    writers.start(finding_writers=3, checkin_writers=2, batch_writers=2)
    pages: list[tuple[str, str, int, str | None, str]] = []
    try:
        writers.wait_for("writes before the outage", lambda: writers.count("up", True) >= ENOUGH)
        for cycle, mode in enumerate(("fast", "immediate")):
            writers.phase = f"stopping-{mode}"  # requests in flight while it goes down
            cluster.stop(mode)
            writers.phase = f"down-{mode}"
            print(f"\n[db-fault] cycle {cycle + 1}: pg_ctl stop -m {mode} while 7 tablets write")
            writers.wait_for(
                "503 answers while the database is down",
                lambda m=mode: writers.count(f"down-{m}", False) >= ENOUGH,
            )
            # Pages while it is down: signed in (the identity cannot load) and anonymous.
            anonymous = requests.Session()
            for who, client, path in (
                ("signed in", browser, "/directory/enterprises?_LOCALE_=en"),
                ("signed in", browser, "/public/?_LOCALE_=en"),
                ("anonymous", anonymous, "/public/?_LOCALE_=en"),
            ):
                page = client.get(f"{base}{path}", timeout=60, allow_redirects=False)
                pages.append((who, path, page.status_code, page.headers.get("Retry-After"),
                              page.text))  # fmt: skip
            writers.phase = f"starting-{mode}"
            cluster.start()
            writers.phase = f"up-after-{mode}"
            print(f"[db-fault] cycle {cycle + 1}: pg_ctl start; the same app process goes on")
            writers.wait_for(
                "writes once the database is back",
                lambda m=mode: writers.count(f"up-after-{m}", True) >= ENOUGH,
            )
    finally:
        writers.finish()
        logging.getLogger("mobile_api").removeHandler(reasons)
        if writers.phase.startswith(("down", "stopping")):
            cluster.start()

    outcomes = writers.outcomes
    statuses = collections.Counter((o.phase, o.status) for o in outcomes)
    print("[db-fault] answers by phase and status:")
    for (phase, status), count in sorted(statuses.items()):
        print(f"    {phase:<20} {status}: {count}")

    print("[db-fault] what the server met, by phase:")
    for (phase, cause), count in sorted(reasons.seen.items()):
        print(f"    {phase:<20} {count:>3} x {cause}")

    # Every answer is a success or a clear 503; a 503 says when and how to retry.
    unexpected = [o for o in outcomes if o.status not in (200, 201, 503)]
    assert not unexpected, unexpected[:3]
    unavailable = [o for o in outcomes if o.status == 503]
    for outcome in unavailable:
        _assert_unavailable_envelope(outcome)
    sample = unavailable[0]
    print(f"[db-fault] a 503: Retry-After {sample.retry_after}, {sample.body['error']}")
    for who, path, status, retry_after, html in pages:
        print(f"[db-fault] page {path} ({who}) while down: {status}, Retry-After {retry_after}")
        assert status == 503, html[:500]
        assert retry_after is not None and retry_after.isdigit()
        assert "Temporarily unavailable" in html and "try again" in html, html[:500]

    # Nothing half-written: compare the answers with the rows.
    with Session(served.engine) as session:
        inspections = {row.uuid: row for row in session.scalars(select(FieldInspection)).all()}
        findings = dict(
            session.execute(select(InspectionFinding.uuid, InspectionFinding.inspection_id)).all()
        )
        per_inspection = collections.Counter(findings.values())
        audited = collections.Counter(
            session.scalars(
                select(AuditLog.entity_id).where(AuditLog.action == "inspection.check_in")
            ).all()
        )
        tasks_findings = session.scalar(select(func.count()).select_from(InspectionFinding))
    acknowledged = [o for o in outcomes if o.status in (200, 201)]
    lost = [
        o for o in acknowledged
        if (o.kind == "finding" and o.key not in findings)
        or (o.kind == "checkin" and o.key not in inspections)
    ]  # fmt: skip
    # A batch answered 200: each operation answered 201 is stored (one answered 503 is the
    # tablet's to send again). A batch answered 503: one transaction, all or nothing.
    batches = [o for o in outcomes if o.kind == "batch"]
    for batch in batches:
        if batch.status == 200:
            results = {uuid.UUID(r["id"]): r["status"] for r in batch.body["results"]}
            assert set(results.values()) <= {201, 503}, batch
            lost += [batch for key, status in results.items()
                     if status == 201 and key not in findings]  # fmt: skip
    split = [o for o in batches if o.status == 503
             and 0 < sum(m in findings for m in o.members) < len(o.members)]  # fmt: skip
    assert not split, f"a batch answered 503 was stored in part: {split[:2]}"
    assert not lost, f"acknowledged but not stored: {lost[:3]}"
    torn = {
        str(key): (row.version, per_inspection[row.id])
        for key, row in inspections.items()
        if row.version != 1 + per_inspection[row.id]
    }
    assert not torn, f"version and findings disagree (half-written): {torn}"
    unaudited = [key for key, row in inspections.items() if audited[str(row.id)] != 1]
    assert not unaudited, f"check-ins without exactly one audit row: {unaudited[:3]}"
    # A 503 whose write is stored anyway, and never acknowledged by a later retry of the
    # same request: the commit won the race with the outage, only its answer was lost.
    acknowledged_keys = {o.key for o in acknowledged}
    committed_anyway = {
        o.key for o in unavailable
        if o.key not in acknowledged_keys
        and ((o.kind == "finding" and o.key in findings)
             or (o.kind == "checkin" and o.key in inspections)
             or (o.kind == "batch" and o.members[0] in findings))
    }  # fmt: skip
    mixed = sum(
        1 for o in batches
        if o.status == 200 and {r["status"] for r in o.body["results"]} == {201, 503}
    )  # fmt: skip
    print(
        f"[db-fault] rows: {len(inspections)} inspections, {tasks_findings} findings; "
        f"{len(acknowledged)} acknowledged writes all stored; {len(unavailable)} answered 503, "
        f"of which {len(committed_anyway)} had committed (the commit won, the answer was lost); "
        f"{len(batches)} batches of 5 findings, none stored in part, {mixed} answered 200 with "
        "some operations 503; every inspection's version = 1 + its findings, every check-in "
        "audited once"
    )


def test_an_error_page_after_a_failed_statement_does_not_query_again(served: Served) -> None:
    """PostgreSQL refuses every statement after a failed one until the transaction ends; the
    error page (its menu needs the signed-in user) must not be the next statement."""
    base = served.url
    browser = signed_in(base, "field-lead")
    page = browser.get(f"{base}/faults/broken?_LOCALE_=en", timeout=60)
    print(
        f"\n[db-fault] page after a failed statement, identity not yet loaded: {page.status_code}"
    )
    assert page.status_code == 500
    assert "Something went wrong" in page.text, page.text[:300]  # our page, not waitress's
    page = browser.get(f"{base}/faults/broken?_LOCALE_=en&identity_first=1", timeout=60)
    print(f"[db-fault] page after a failed statement, identity loaded first: {page.status_code}")
    assert page.status_code == 500 and "Something went wrong" in page.text
    assert "Field lead" in page.text  # the user loaded before the failure is still shown
    lead = api_token(base, "field-lead")
    answer = requests.get(f"{base}/api/v1/faults/broken", headers=lead, timeout=60)
    print(f"[db-fault] API after a failed statement: {answer.status_code} {answer.text[:120]}")
    assert answer.status_code == 500 and answer.json()["error"]["code"] == "internal_error"
    # And the pool is healthy afterwards: the next request works.
    assert requests.get(f"{base}/api/v1/me", headers=lead, timeout=60).status_code == 200
