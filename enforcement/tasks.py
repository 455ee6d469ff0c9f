"""Background tasks. Each takes plain JSON arguments and opens its own transaction.

Send them from a web request with ``request.enqueue(task, ...)`` (after commit), from the
command line with ``task.delay(...)`` on a configured app.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
from dataclasses import asdict
from typing import Any
from zoneinfo import ZoneInfo

from celery import Task
from sqlalchemy.exc import InterfaceError, OperationalError

from enforcement import distributed_draw, outbox
from enforcement.services.credit import RatingService
from enforcement.services.jurisdictions import reassign_enterprises
from enforcement.worker import celery_app, task_session

log = logging.getLogger(__name__)

SHANGHAI = ZoneInfo("Asia/Shanghai")

# Errors worth another try: lost connections, lock timeouts, serialisation failures.
TRANSIENT_DB_ERRORS = (OperationalError, InterfaceError)


@celery_app.task(bind=True, name="enforcement.tasks.ping")
def ping(self: Task) -> dict[str, Any]:
    """Answer with who ran the task and when: the health check's round trip."""
    now = dt.datetime.now(dt.UTC)
    return {
        "hostname": self.request.hostname or socket.gethostname(),
        "pid": os.getpid(),
        "time": now.astimezone(SHANGHAI).isoformat(timespec="seconds"),
        "time_utc": now.isoformat(timespec="seconds"),
    }


@celery_app.task(
    bind=True,
    name="enforcement.tasks.reassign_jurisdictions",
    autoretry_for=TRANSIENT_DB_ERRORS,
    retry_backoff=2,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=6,
)
def reassign_jurisdictions(self: Task) -> dict[str, int]:
    """Recompute every located enterprise's jurisdiction in one transaction (idempotent)."""
    with task_session(self.app) as session:
        counts = reassign_enterprises(session)
    log.info("jurisdictions reassigned: %s", counts)
    return counts


# --- distributed draws (enforcement.distributed_draw) ----------------------------------------


@celery_app.task(
    bind=True,
    name="enforcement.tasks.draw_part",
    autoretry_for=TRANSIENT_DB_ERRORS,
    retry_backoff=2,
    retry_backoff_max=60,
    retry_jitter=True,
    max_retries=6,
)
def draw_part(
    self: Task,
    *,
    snapshot_sha256: str,
    plan: dict[str, Any],
    key: str,
    allocation: str,
    strata: list[int],
    group: int,
    groups: int,
) -> dict[str, Any]:
    """Draw one group of strata of a stored snapshot (pure: a retry gives the same bytes)."""
    with task_session(self.app) as session:
        return distributed_draw.compute_part(
            session,
            snapshot_sha256=snapshot_sha256,
            plan=plan,
            key=key,
            allocation=allocation,
            strata=strata,
            group=group,
            groups=groups,
        )


@celery_app.task(
    bind=True,
    name="enforcement.tasks.merge_draw_parts",
    autoretry_for=TRANSIENT_DB_ERRORS,
    retry_backoff=2,
    retry_backoff_max=60,
    retry_jitter=True,
    max_retries=6,
)
def merge_draw_parts(
    self: Task,
    parts: list[dict[str, Any]],
    *,
    snapshot_sha256: str,
    plan: dict[str, Any],
    key: str,
) -> dict[str, Any]:
    """The chord callback of a distributed draw: merge the parts into the whole selection."""
    with task_session(self.app) as session:
        return distributed_draw.merge_parts(
            session, parts, snapshot_sha256=snapshot_sha256, plan=plan, key=key
        )


# --- the outbox and credit ratings ------------------------------------------------------------


@celery_app.task(
    bind=True,
    name="enforcement.tasks.drain_outbox",
    autoretry_for=TRANSIENT_DB_ERRORS,
    retry_backoff=1,
    retry_backoff_max=30,
    max_retries=6,
)
def drain_outbox(self: Task) -> int:
    """Send the pending outbox messages to their tasks (kicked after commits, and scheduled)."""
    with task_session(self.app) as session:
        return outbox.drain(session, self.app)


@celery_app.task(
    bind=True,
    name="enforcement.tasks.rerate_enterprises",
    autoretry_for=TRANSIENT_DB_ERRORS,
    retry_backoff=2,
    retry_backoff_max=120,
    retry_jitter=True,
    max_retries=6,
)
def rerate_enterprises(
    self: Task, enterprise_ids: list[int], cause: str = "event", detail: str = ""
) -> dict[str, Any]:
    """Re-rate some enterprises after an event (idempotent: an unchanged rating writes nothing)."""
    with task_session(self.app) as session:
        summary = RatingService(session).rate(enterprise_ids, cause=cause, detail=detail)
    return asdict(summary)


@celery_app.task(
    bind=True,
    name="enforcement.tasks.rerate_all",
    autoretry_for=TRANSIENT_DB_ERRORS,
    retry_backoff=60,
    max_retries=3,
)
def rerate_all(self: Task) -> dict[str, Any]:
    """The scheduled full re-rating of every enterprise."""
    with task_session(self.app) as session:
        summary = RatingService(session).rate(None, cause="batch", detail="scheduled")
    log.info("full re-rating: %s", summary)
    return asdict(summary)
