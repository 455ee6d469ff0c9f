"""Real Celery workers: in a thread on Redis, and as ``suijian worker``/``suijian serve``
subprocesses on the embedded filesystem broker (what ``make run`` uses)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import webtest
from celery import Celery
from geoalchemy2 import WKTElement
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from enforcement import devservices, migrate, tasks
from enforcement.db import make_engine
from enforcement.models import Enterprise, JurisdictionLevel
from enforcement.settings import ENV_OVERRIDES
from enforcement.worker import configure
from tests import factories
from tests.workers import running_worker

SUIJIAN = [sys.executable, "-c", "from enforcement.cli import main; main(prog_name='suijian')"]


@pytest.fixture
def redis_settings(redis_url: str) -> dict[str, Any]:
    return {"celery.broker_url": redis_url, "celery.result_backend": redis_url}


def migrated(url: str) -> Engine:
    engine = make_engine(url)
    migrate.upgrade(engine)
    return engine


def test_ping_round_trip_on_redis(redis_settings) -> None:
    with running_worker(redis_settings):
        answer = tasks.ping.delay().get(timeout=30)
    assert answer["pid"] == os.getpid()  # the in-thread worker of this process answered
    assert answer["hostname"]
    assert answer["time"].endswith("+08:00") and answer["time_utc"].endswith("+00:00")


def test_reassign_jurisdictions_task(backend, new_database_url, redis_settings) -> None:
    url = new_database_url(backend)
    engine = migrated(url)
    with Session(engine, expire_on_commit=False) as session:
        factories.bind(session)
        square = "MULTIPOLYGON(((120.0 29.0, 120.5 29.0, 120.5 29.5, 120.0 29.5, 120.0 29.0)))"
        county = factories.JurisdictionFactory(
            adcode="330783",
            name="东阳市",
            level=JurisdictionLevel.COUNTY,
            polygon=WKTElement(square, srid=4326),
        )
        inside = factories.EnterpriseFactory(
            location=WKTElement("POINT(120.24 29.28)", srid=4326), jurisdiction_id=None
        )
        outside = factories.EnterpriseFactory(
            location=WKTElement("POINT(121.9 30.9)", srid=4326), jurisdiction_id=None
        )
        session.commit()

    try:
        with running_worker({**redis_settings, "sqlalchemy.url": url}):
            first = tasks.reassign_jurisdictions.delay().get(timeout=60)
            again = tasks.reassign_jurisdictions.delay().get(timeout=60)
        assert first == {"located": 2, "changed": 1, "outside": 1}
        assert again == {"located": 2, "changed": 0, "outside": 1}  # idempotent
        with Session(engine) as session:
            assigned = dict(
                session.execute(select(Enterprise.id, Enterprise.jurisdiction_id)).all()
            )
        assert assigned == {inside.id: county.id, outside.id: None}
    finally:
        engine.dispose()


def test_healthz_worker_round_trip(new_database_url, redis_settings, tmp_path) -> None:
    from mobile_api import main

    url = new_database_url("spatialite")
    migrated(url).dispose()
    settings = {
        **redis_settings,
        "sqlalchemy.url": url,
        "suijian.secret_key": "test",
        "suijian.var_dir": str(tmp_path),
    }
    with pytest.MonkeyPatch.context() as env:
        for variable in ENV_OVERRIDES:
            env.delenv(variable, raising=False)
        app = main({}, **settings)
    try:
        with running_worker(settings):
            report = webtest.TestApp(app).get("/healthz", params={"worker": "1"}).json
    finally:
        app.registry["sqlalchemy.engine"].dispose()
    assert report["status"] == "ok"
    assert report["worker"]["ok"] is True
    assert report["worker"]["hostname"]
    assert report["worker"]["round_trip_ms"] < 5000


# --- the command line, as a person runs it ---------------------------------------------------


def write_ini(folder: Path, database_url: str) -> Path:
    ini = folder / "test.ini"
    ini.write_text(
        f"""
[app:main]
use = egg:suijian
sqlalchemy.url = {database_url}
celery.broker_url = filesystem://
celery.broker_folder = {folder}/broker
celery.result_backend = file://{folder}/celery-results
suijian.secret_key = test-secret
suijian.var_dir = {folder}
pyramid.includes = pyramid_tm pyramid_retry
""",
        encoding="utf-8",
    )
    return ini


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in ENV_OVERRIDES and k != "SUIJIAN_INI"}


def children_of(pid: int) -> set[int]:
    """Every descendant of ``pid`` (Linux /proc)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            parents[int(stat.parent.name)] = int(fields[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def stop(process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_suijian_worker_on_the_filesystem_broker(tmp_path) -> None:
    import plaster

    ini = write_ini(tmp_path, f"sqlite:///{tmp_path}/unused.sqlite")
    log_file = tmp_path / "worker.log"
    with log_file.open("wb") as log_output:
        worker = subprocess.Popen(
            [*SUIJIAN, "-c", str(ini), "worker", "--concurrency", "1", "--loglevel", "INFO"],
            env=clean_env(),
            stdout=log_output,
            stderr=subprocess.STDOUT,
        )
    try:
        client = configure(
            Celery("client", set_as_current=False),
            dict(plaster.get_settings(str(ini), "app:main")),
        )
        answer = client.send_task("enforcement.tasks.ping").get(timeout=30)
        assert answer["hostname"].startswith("suijian@")
        assert answer["pid"] in children_of(worker.pid)  # a prefork child ran it
    finally:
        stop(worker)
    log = log_file.read_text()
    assert worker.returncode == 0, log
    assert "enforcement.tasks.ping" in log and "(prefork)" in log


def test_suijian_serve_with_worker_answers_and_leaves_no_orphan(tmp_path) -> None:
    database = f"sqlite:///{tmp_path}/suijian.sqlite"
    migrated(database).dispose()
    ini = write_ini(tmp_path, database)
    port = devservices.free_port()
    log_file = tmp_path / "serve.log"
    with log_file.open("wb") as log_output:
        serve = subprocess.Popen(
            [*SUIJIAN, "-c", str(ini), "serve", "--port", str(port), "--with-worker"],
            env=clean_env(),
            stdout=log_output,
            stderr=subprocess.STDOUT,
        )
    descendants: set[int] = set()
    try:
        deadline, report = time.monotonic() + 60, None
        while time.monotonic() < deadline and serve.poll() is None:
            with contextlib.suppress(OSError):
                url = f"http://127.0.0.1:{port}/healthz?worker=1"
                with urllib.request.urlopen(url, timeout=10) as response:
                    report = json.load(response)
                    break
            time.sleep(0.5)
        assert report is not None, f"serve did not answer: {log_file.read_text()}"
        assert report["status"] == "ok" and report["worker"]["hostname"].startswith("suijian@")
        descendants = children_of(serve.pid)
        assert descendants, "no worker child process"
    finally:
        stop(serve)
    assert f"Suijian is serving on http://127.0.0.1:{port}/" in log_file.read_text()
    deadline = time.monotonic() + 30
    while any(alive(pid) for pid in descendants) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not [pid for pid in descendants if alive(pid)], "worker processes left behind"


def test_suijian_serve_refuses_a_database_behind_head(tmp_path) -> None:
    ini = write_ini(tmp_path, f"sqlite:///{tmp_path}/empty.sqlite")
    result = subprocess.run(
        [*SUIJIAN, "-c", str(ini), "serve", "--port", str(devservices.free_port())],
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "run 'suijian db upgrade' first" in result.stderr
