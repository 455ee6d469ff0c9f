"""Real Celery workers for tests: the project's app, configured from settings, in a thread
(``running_worker``), or as ``suijian worker`` processes that a test can SIGKILL
(``worker_processes``)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from celery import Celery
from celery.contrib.testing.worker import start_worker

from enforcement.settings import ENV_OVERRIDES
from enforcement.worker import celery_app, configure, dispose_engines


@contextlib.contextmanager
def running_worker(settings: dict[str, Any]) -> Iterator[Celery]:
    """The project's Celery app configured from ``settings``, with a worker in a thread."""
    configure(celery_app, settings)
    try:
        with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
            yield celery_app
    finally:
        dispose_engines()


# --- a worker as its own process (``suijian worker``), for fault tests that kill it -----------

SUIJIAN = [sys.executable, "-c", "from enforcement.cli import main; main(prog_name='suijian')"]


def write_ini(path: Path, settings: dict[str, Any]) -> Path:
    """An ini file whose ``[app:main]`` holds ``settings`` (``%`` escaped for configparser)."""
    lines = ["[app:main]", "use = egg:suijian"]
    lines += [f"{key} = {str(value).replace('%', '%%')}" for key, value in settings.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def descendants(pid: int) -> set[int]:
    """Every living descendant of ``pid`` (Linux /proc), zombies left out."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if fields[0] != "Z":
                parents[int(stat.parent.name)] = int(fields[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


class WorkerProcess:
    """``suijian worker`` in its own process group, on the settings' broker: a real prefork
    worker that a test can SIGKILL whole (:meth:`kill`) or one pool child at a time."""

    def __init__(self, settings: dict[str, Any], folder: Path, name: str, concurrency: int) -> None:
        self.settings = settings
        self.name = name
        self.ini = write_ini(folder / f"{name}.ini", settings)
        self.log_path = folder / f"{name}.log"
        self.concurrency = concurrency
        self.process: subprocess.Popen[bytes] | None = None
        self.killed = False

    def start(self, app: Celery, timeout: float = 180) -> WorkerProcess:
        """Start the worker and wait until it answers a ping (so it consumes the queue)."""
        # The ini says everything: no environment override (DATA_CENTER_URL, …) may differ.
        env = {k: v for k, v in os.environ.items() if k not in ENV_OVERRIDES}
        env.pop("SUIJIAN_INI", None)
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    *SUIJIAN,
                    *("-c", str(self.ini), "worker", "--loglevel", "INFO"),
                    *(f"--concurrency={self.concurrency}", f"--hostname={self.name}@%h"),
                ],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: kill() reaches the children
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"the worker exited: {self.log()}")
            with contextlib.suppress(Exception):
                app.send_task("enforcement.tasks.ping").get(timeout=5)
                return self
        raise AssertionError(f"the worker did not answer a ping: {self.log()}")

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def children(self) -> set[int]:
        return descendants(self.pid)

    def kill(self) -> None:
        """SIGKILL the worker and its pool children at once (a crash, the OOM killer on the
        machine, ``kill -9``): no warm shutdown, no acknowledgement, no rollback sent."""
        assert self.process is not None
        self.killed = True
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self, timeout: float = 30) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)  # warm shutdown
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:] if self.log_path.exists() else ""


@contextlib.contextmanager
def worker_processes(
    settings: dict[str, Any], folder: Path, concurrency: int = 1
) -> Iterator[tuple[Celery, Callable[[str], WorkerProcess]]]:
    """A client app configured from ``settings`` and a factory of worker processes on the same
    broker (``start("first")``); every process started is stopped at the end."""
    app = configure(Celery("faults-client", set_as_current=False), settings)
    started: list[WorkerProcess] = []

    def start(name: str) -> WorkerProcess:
        worker = WorkerProcess(settings, folder, name, concurrency)
        started.append(worker)
        return worker.start(app)

    try:
        yield app, start
    finally:
        for worker in started:
            worker.stop()
        app.control.purge()  # nothing left for a later test's worker
        if any(worker.killed for worker in started):
            forget_unacknowledged(app)
        app.close()
        dispose_engines()


def forget_unacknowledged(app: Celery) -> None:
    """Drop the messages a killed worker left unacknowledged on Redis: the transport would
    deliver them again after its visibility timeout (1 hour), to a later test's worker. No
    other worker runs meanwhile (the tests of a session run one after another)."""
    with app.connection_for_write() as connection:
        channel = connection.default_channel
        if hasattr(channel, "unacked_key"):  # the Redis transport
            channel.client.delete(channel.unacked_key, channel.unacked_index_key)


def unacknowledged(app: Celery) -> list[str]:
    """The names of the tasks held unacknowledged on the Redis transport (delivered to a
    worker, not yet acknowledged: running, or lost with a killed worker)."""
    with app.connection_for_write() as connection:
        channel = connection.default_channel
        if not hasattr(channel, "unacked_key"):
            return []
        names = []
        for raw in channel.client.hvals(channel.unacked_key):
            message = json.loads(raw)[0]
            names.append(str(message.get("headers", {}).get("task", "?")))
        return sorted(names)
