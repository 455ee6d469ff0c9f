"""Background tasks. Each takes plain JSON arguments and opens its own transaction.

Send them from a web request with ``request.enqueue(task, ...)`` (after commit), from the
command line with ``task.delay(...)`` on a configured app.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
from collections.abc import Callable
from dataclasses import asdict
from typing import Any
from zoneinfo import ZoneInfo

from celery import Task
from sqlalchemy.exc import InterfaceError, OperationalError

from enforcement import distributed_draw, feed, outbox
from enforcement.services.credit import RatingService
from enforcement.services.jurisdictions import reassign_enterprises
from enforcement.worker import SETTINGS_KEY, celery_app, task_session

log = logging.getLogger(__name__)

SHANGHAI = ZoneInfo("Asia/Shanghai")

# Errors worth another try: lost connections, lock timeouts, serialisation failures.
TRANSIENT_DB_ERRORS = (OperationalError, InterfaceError)


def db_task(
    name: str, *, backoff: int, max_retries: int, backoff_max: int = 600, **options: Any
) -> Callable[[Callable[..., Any]], Task]:
    """A bound task retried on transient database errors, with exponential back-off
    (``backoff`` seconds doubling up to ``backoff_max``, with jitter); ``options`` are more
    Celery task options."""
    return celery_app.task(
        bind=True,
        name=name,
        autoretry_for=TRANSIENT_DB_ERRORS,
        retry_backoff=backoff,
        retry_backoff_max=backoff_max,
        retry_jitter=True,
        max_retries=max_retries,
        **options,
    )


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


@db_task("enforcement.tasks.reassign_jurisdictions", backoff=2, backoff_max=300, max_retries=6)
def reassign_jurisdictions(self: Task) -> dict[str, int]:
    """Recompute every located enterprise's jurisdiction in one transaction (idempotent)."""
    with task_session(self.app) as session:
        counts = reassign_enterprises(session)
    log.info("jurisdictions reassigned: %s", counts)
    return counts


# --- distributed draws (enforcement.distributed_draw) ----------------------------------------


# track_started: the client tells a part that was started (and may be lost with its worker)
# from one still waiting in the queue (``distributed_draw._Parts``).
@db_task(
    "enforcement.tasks.draw_part", backoff=2, backoff_max=60, max_retries=6, track_started=True
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


@db_task("enforcement.tasks.merge_draw_parts", backoff=2, backoff_max=60, max_retries=6)
def merge_draw_parts(
    self: Task,
    parts: list[dict[str, Any]],
    *,
    snapshot_sha256: str,
    plan: dict[str, Any],
    key: str,
) -> dict[str, Any]:
    """Merge the parts of a distributed draw into the whole selection: the chord callback of
    older clients (the client now merges the parts itself), kept for their messages."""
    with task_session(self.app) as session:
        return distributed_draw.merge_parts(
            session, parts, snapshot_sha256=snapshot_sha256, plan=plan, key=key
        )


# --- the outbox and credit ratings ------------------------------------------------------------


@db_task("enforcement.tasks.drain_outbox", backoff=1, backoff_max=30, max_retries=6)
def drain_outbox(self: Task) -> int:
    """Send the pending outbox messages to their tasks (kicked after commits, and scheduled)."""
    with task_session(self.app) as session:
        return outbox.drain(session, self.app)


@db_task("enforcement.tasks.rerate_enterprises", backoff=2, backoff_max=120, max_retries=6)
def rerate_enterprises(
    self: Task, enterprise_ids: list[int], cause: str = "event", detail: str = ""
) -> dict[str, Any]:
    """Re-rate some enterprises after an event (idempotent: an unchanged rating writes nothing)."""
    with task_session(self.app) as session:
        summary = RatingService(session).rate(enterprise_ids, cause=cause, detail=detail)
    return asdict(summary)


@db_task("enforcement.tasks.rerate_all", backoff=60, max_retries=3)
def rerate_all(self: Task) -> dict[str, Any]:
    """The scheduled full re-rating of every enterprise."""
    with task_session(self.app) as session:
        summary = RatingService(session).rate(None, cause="batch", detail="scheduled")
    log.info("full re-rating: %s", summary)
    return asdict(summary)


# --- the feed to the supervision data center (enforcement.feed) -------------------------------


@db_task("enforcement.tasks.deliver_feed", backoff=2, backoff_max=60, max_retries=6)
def deliver_feed(self: Task) -> dict[str, Any]:
    """Deliver due feed records batch by batch until none is due (kicked after commits that
    publish, and scheduled). A failing data center is not a task failure: the records keep
    their back-off, and this task simply stops."""
    settings = self.app.conf.get(SETTINGS_KEY) or {}
    client = feed.FeedClient.from_settings(settings)
    if not client.configured or not client.secret:
        client.close()
        return {"disabled": True}
    with client:
        result = feed.deliver_until_idle(
            lambda: task_session(self.app),
            client,
            max_seconds=float(settings.get("suijian.feed.task_seconds") or 60),
        )
    if result.picked:
        log.info("feed delivery: %s", result.as_dict())
    return result.as_dict()


# --- on-site records (现场检查笔录) -------------------------------------------------------------


@db_task("enforcement.tasks.render_onsite_record", backoff=5, backoff_max=300, max_retries=6)
def render_onsite_record(self: Task, inspection_uuid: str) -> dict[str, Any]:
    """Render a finished inspection's record PDF into the evidence store and note its hash
    (outbox topic ``inspection.record``; idempotent: a stored record is not rendered again)."""
    # Imported here: WeasyPrint is heavy, and only this task needs it.
    from enforcement.services.evidence import evidence_store
    from enforcement.services.onsite_record import store_onsite_record

    store = evidence_store(self.app.conf.get(SETTINGS_KEY) or {})
    with task_session(self.app) as session:
        outcome = store_onsite_record(session, inspection_uuid, store)
    log.info("on-site record: %s", outcome)
    return outcome


# --- statutory clocks (enforcement.services.clocks) ---------------------------------------------


@db_task("enforcement.tasks.scan_clocks", backoff=5, backoff_max=120, max_retries=3)
def scan_clocks(self: Task) -> dict[str, Any]:
    """Raise the alerts due on running statutory clocks, and run what an overdue clock
    triggers (a re-inspection task). Scheduled; idempotent, safe with several workers."""
    from enforcement.services import clocks

    settings = self.app.conf.get(SETTINGS_KEY) or {}
    with task_session(self.app) as session:
        alerts = clocks.scan(session, calendar=clocks.calendar_for(settings))
        raised = [{"clock": a.clock_id, "level": a.level.value} for a in alerts]
    if raised:
        log.info("clock scan: %d alert(s)", len(raised))
    return {"alerts": raised}


# --- publication (一公开) and the joint list (enforcement.services.disclosure, joint_list) ------


@db_task("enforcement.tasks.publish_due", backoff=5, backoff_max=300, max_retries=6)
def publish_due(self: Task, max_runs: int = 20) -> dict[str, Any]:
    """Publish what is due (plans, draws, results, penalties), refresh and withdraw; batch by
    batch, each its own transaction, until nothing is left. Scheduled; idempotent."""
    from enforcement.services import disclosure

    settings = self.app.conf.get(SETTINGS_KEY) or {}
    totals: dict[str, Any] = {}
    for _ in range(max(1, max_runs)):
        with task_session(self.app) as session:
            summary = disclosure.run(session, settings=settings).as_dict()
        for key, value in summary.items():
            if isinstance(value, int) and not isinstance(value, bool):
                totals[key] = totals.get(key, 0) + value
        if not summary["more"]:
            break
    if totals.get("published") or totals.get("withdrawn"):
        log.info("publication: %s", totals)
    return totals


@db_task("enforcement.tasks.sync_joint_list", backoff=5, backoff_max=120, max_retries=6)
def sync_joint_list(self: Task) -> dict[str, int]:
    """Append the joint list's additions and removals (scheduled; idempotent)."""
    from enforcement.services import joint_list

    with task_session(self.app) as session:
        return joint_list.sync(session).as_dict()


# --- the full-process record (enforcement.services.audit) -------------------------------------


@db_task("enforcement.tasks.anchor_audit_log", backoff=5, backoff_max=300, max_retries=6)
def anchor_audit_log(self: Task) -> dict[str, Any]:
    """Verify the audit chain since the last anchor and anchor its head (fed to the data
    center). Scheduled; idempotent. A broken chain is logged as an error, never anchored."""
    from enforcement.services import audit

    try:
        with task_session(self.app) as session:
            anchor = audit.create_anchor(session)
            result = None if anchor is None else audit.anchor_document(anchor)
    except audit.AuditChainBrokenError as exc:
        log.error("audit chain broken, not anchored: %s", exc)
        return {"anchored": False, "broken": str(exc)}
    return {"anchored": result is not None, "anchor": result}


# --- background jobs started from the desk pages (enforcement.services.jobs) -----------------


@db_task("enforcement.tasks.run_job", backoff=2, backoff_max=120, max_retries=6)
def run_job(self: Task, job_uuid: str) -> dict[str, Any]:
    """Run a queued background job (import, full re-rating, draw), writing its progress in
    short transactions of its own. Idempotent: a finished job is not run again."""
    from enforcement.services import jobs

    try:
        return jobs.run(lambda: task_session(self.app), job_uuid)
    except TRANSIENT_DB_ERRORS as exc:
        if self.request.retries >= (self.max_retries or 0):
            jobs.fail(lambda: task_session(self.app), job_uuid, f"database unavailable: {exc}")
        raise
