"""Health report: the database answers and is at the migrations head; optionally, a worker
answers a ``ping`` sent through the broker."""

from __future__ import annotations

import contextlib
import time
from typing import Any

from celery import Celery
from celery.exceptions import TimeoutError as ResultTimeout
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from enforcement import migrate

PING_TASK = "enforcement.tasks.ping"
DEFAULT_WORKER_TIMEOUT = 5.0


def database_health(engine: Engine) -> dict[str, Any]:
    head = migrate.head_revision()
    try:
        current = migrate.current_revision(engine)
    except SQLAlchemyError as exc:
        return {"ok": False, "reachable": False, "head": head, "error": type(exc).__name__}
    report: dict[str, Any] = {"ok": current == head, "reachable": True}
    report.update(revision=current, head=head)
    if current != head:
        report["error"] = "schema is not at the migrations head: run 'suijian db upgrade'"
    return report


def worker_health(celery: Celery, timeout: float = DEFAULT_WORKER_TIMEOUT) -> dict[str, Any]:
    """Round trip of a ``ping`` task; the message expires so no ping is left queued."""
    started = time.monotonic()
    try:
        result = celery.send_task(PING_TASK, retry=False, expires=timeout)
    except Exception as exc:  # kombu raises transport-specific errors
        return {"ok": False, "error": f"broker unreachable: {type(exc).__name__}: {exc}"}
    try:
        answer = result.get(timeout=timeout)
    except ResultTimeout:
        return {"ok": False, "error": f"no worker answered within {timeout:g} s"}
    except Exception as exc:  # the task failed, or the result backend is unreachable
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    with contextlib.suppress(Exception):  # tidy-up only
        result.forget()
    return {
        "ok": True,
        "hostname": answer.get("hostname"),
        "time": answer.get("time"),
        "round_trip_ms": round((time.monotonic() - started) * 1000),
    }


def health_report(
    engine: Engine, celery: Celery | None, worker_timeout: float = DEFAULT_WORKER_TIMEOUT
) -> dict[str, Any]:
    report: dict[str, Any] = {"database": database_health(engine)}
    if celery is not None:
        report["worker"] = worker_health(celery, worker_timeout)
    ok = all(part["ok"] for part in report.values())
    return {"status": "ok" if ok else "error", **report}
