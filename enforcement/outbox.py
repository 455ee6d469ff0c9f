"""The transactional outbox (after hypothesis/h): follow-up work that must not be lost.

A service calls ``publish(session, topic, payload)`` in its own transaction; the message is
committed with the change or not at all. ``drain`` (the task ``drain_outbox``, run every few
seconds by the scheduler and kicked right after each commit that published something) sends
each pending message to its Celery task and marks it dispatched. PostgreSQL drains with
``FOR UPDATE SKIP LOCKED``, so several drainers never send a message twice; a message is
sent at least once, and the tasks it feeds are idempotent.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Celery
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from enforcement.models import OutboxMessage, utcnow

log = logging.getLogger(__name__)

#: Topic → the Celery task that handles it (its keyword arguments are the payload).
TOPICS: dict[str, str] = {
    "credit.rerate": "enforcement.tasks.rerate_enterprises",
    "inspection.record": "enforcement.tasks.render_onsite_record",
    "job.run": "enforcement.tasks.run_job",
}
DRAIN_TASK = "enforcement.tasks.drain_outbox"
#: ``session.info`` key of the Celery app that a commit should kick (set by whoever owns the
#: session: the web request, a task, the command line).
CELERY_APP_INFO = "celery_app"
_KICKS_INFO = "tasks_to_kick"


def publish(session: Session, topic: str, payload: dict[str, Any]) -> OutboxMessage:
    """Add a message for ``topic`` to the caller's transaction."""
    if topic not in TOPICS:
        raise ValueError(f"topic: unknown outbox topic {topic!r}")
    message = OutboxMessage(topic=topic, payload=dict(payload))
    session.add(message)
    kick_after_commit(session, DRAIN_TASK)
    return message


def drain(session: Session, app: Celery, limit: int = 500) -> int:
    """Send up to ``limit`` pending messages in order; returns how many were sent. A message
    that cannot be sent stays pending with its error (the broker may be down): the rest wait
    for the next drain, so order is kept."""
    pending = session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.dispatched_at.is_(None))
        .order_by(OutboxMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    sent = 0
    for message in pending:
        try:
            app.send_task(TOPICS[message.topic], kwargs=message.payload)
        except Exception as exc:
            message.attempts += 1
            message.last_error = f"{type(exc).__name__}: {exc}"[:500]
            log.warning("outbox message %s not sent: %s", message.id, exc)
            break
        message.dispatched_at = utcnow()
        sent += 1
    session.flush()
    return sent


def kick_after_commit(session: Session, task_name: str) -> None:
    """Ask a worker to run ``task_name`` right after the session's transaction commits, through
    the Celery app named in ``session.info`` (best effort: every kicked task also runs on a
    schedule, which is the backstop)."""
    session.info.setdefault(_KICKS_INFO, set()).add(task_name)


@event.listens_for(Session, "after_commit")
def _send_kicks(session: Session) -> None:
    if session.in_nested_transaction():  # a savepoint: the work is not committed yet
        return
    kicks = session.info.pop(_KICKS_INFO, None)
    app = session.info.get(CELERY_APP_INFO)
    if not kicks or app is None:
        return
    for task_name in sorted(kicks):
        try:
            app.send_task(task_name)
        except Exception:
            log.warning("could not kick %s; its scheduled run will do the work", task_name)


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    if not session.in_nested_transaction():
        session.info.pop(_KICKS_INFO, None)


__all__ = ["CELERY_APP_INFO", "TOPICS", "drain", "kick_after_commit", "publish"]
