"""Throwaway PostgreSQL+PostGIS and Redis servers for the test suite and benchmarks.

They run from the Debian binaries on free local ports in a temporary directory and are
removed afterwards. PostgreSQL refuses to run as root, so as root it runs as ``postgres``.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url


class ServiceUnavailableError(RuntimeError):
    """A server binary is missing or did not start."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _pg_bindir() -> Path:
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), reverse=True)
    if not versions:
        raise ServiceUnavailableError(
            "PostgreSQL server binaries not found (apt-get install postgresql)"
        )
    return versions[0].parent


def _as_postgres_user() -> dict[str, object]:
    if os.geteuid() != 0:
        return {}
    user = pwd.getpwnam("postgres")
    return {"user": user.pw_uid, "group": user.pw_gid}


def _wait_for_port(port: int, process: subprocess.Popen[bytes] | None, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        if process is not None and process.poll() is not None:
            break
        time.sleep(0.1)
    raise ServiceUnavailableError(f"server on port {port} did not start")


@dataclass
class Postgres:
    url: str  # admin URL (database "postgres")

    def create_database(self, name: str) -> str:
        """Create a fresh database with PostGIS and return its SQLAlchemy URL."""
        admin = create_engine(self.url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        url = make_url(self.url).set(database=name).render_as_string(hide_password=False)
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
        engine.dispose()
        return url


@contextlib.contextmanager
def throwaway_postgres() -> Iterator[Postgres]:
    """A private PostgreSQL cluster on a free port, deleted on exit."""
    bindir = _pg_bindir()
    workdir = Path(tempfile.mkdtemp(prefix="suijian-pg-"))
    owner = _as_postgres_user()
    if owner:
        os.chown(workdir, owner["user"], owner["group"])  # type: ignore[arg-type]
    datadir, port = workdir / "data", free_port()
    run = {"check": True, "capture_output": True, **owner}
    try:
        subprocess.run(
            [bindir / "initdb", "-D", datadir, "-U", "postgres", "-A", "trust", "-E", "UTF8",
             "--locale", "C.UTF-8"],
            **run,
        )  # fmt: skip
        options = (
            f"-p {port} -k {workdir} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=50"
        )
        subprocess.run(
            [bindir / "pg_ctl", "-D", datadir, "-o", options, "-l", workdir / "log", "-w",
             "start"],
            **run,
        )  # fmt: skip
    except subprocess.CalledProcessError as exc:
        shutil.rmtree(workdir, ignore_errors=True)
        raise ServiceUnavailableError(
            f"PostgreSQL did not start: {exc.stderr.decode()[-500:]}"
        ) from exc
    try:
        yield Postgres(url=f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres")
    finally:
        subprocess.run(
            [bindir / "pg_ctl", "-D", datadir, "-m", "immediate", "stop"],
            capture_output=True, **owner,
        )  # fmt: skip
        shutil.rmtree(workdir, ignore_errors=True)


@contextlib.contextmanager
def throwaway_redis() -> Iterator[str]:
    """A private Redis on a free port that keeps nothing on disk; yields its URL."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise ServiceUnavailableError("redis-server not found (apt-get install redis-server)")
    port = free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for_port(port, process, timeout=10)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)
