"""Each inspector's task list as a change feed (the tablets sync from it with a cursor).

A change is written whenever a task enters an inspector's list, changes, or leaves it (a
tombstone). Numbers are per inspector and come from ``inspectors.task_feed_seq`` updated
under that row's lock, so they are handed out in commit order: a tablet that has read up to
``since=N`` never misses a change that commits later with a number at or below N.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from enforcement import bulkwrite
from enforcement.models import InspectionTask, Inspector, TaskChange, TaskStatus, utcnow

#: Task statuses that put a task on its team's tablets (standby alternates are not called up).
LISTED_STATUSES = (TaskStatus.OPEN, TaskStatus.IN_PROGRESS, TaskStatus.DONE)


@dataclasses.dataclass(frozen=True)
class Changes:
    """What changed in one inspector's list after a cursor."""

    task_ids: list[int]  # tasks to (re)send, in change order
    deleted: list[uuid.UUID]  # tombstones
    cursor: int  # the number to send as ``since`` next time
    more: bool  # more changes wait beyond ``cursor``


def note_task_changes(session: Session, tasks: Iterable[InspectionTask]) -> int:
    """Write a change for every team member of each task (a tombstone where the task no
    longer belongs on tablets: cancelled or a standby alternate). Returns the rows written."""
    by_inspector: dict[int, list[tuple[int, uuid.UUID, bool]]] = defaultdict(list)
    session.flush()
    for task in tasks:
        deleted = task.status not in LISTED_STATUSES
        for member in task.members:
            by_inspector[member.inspector_id].append((task.id, task.uuid, deleted))
    return _write(session, by_inspector)


def _write(session: Session, by_inspector: dict[int, list[tuple[int, uuid.UUID, bool]]]) -> int:
    if not by_inspector:
        return 0
    ids = sorted(by_inspector)
    # Lock in id order, so two writers touching the same officers cannot deadlock.
    last = dict(
        session.execute(
            select(Inspector.id, Inspector.task_feed_seq)
            .where(Inspector.id.in_(ids))
            .order_by(Inspector.id)
            .with_for_update()
        ).all()
    )
    now = utcnow()
    rows: list[dict[str, Any]] = []
    seqs: list[dict[str, Any]] = []
    for inspector_id in ids:
        seq = last[inspector_id]
        for task_id, task_uuid, deleted in by_inspector[inspector_id]:
            seq += 1
            rows.append(
                {
                    "inspector_id": inspector_id,
                    "seq": seq,
                    "task_id": task_id,
                    "task_uuid": task_uuid,
                    "deleted": deleted,
                    "changed_at": now,
                }
            )
        seqs.append({"id": inspector_id, "task_feed_seq": seq, "updated_at": now})
    # Set-based (COPY on PostgreSQL): a draw writes the feeds of thousands of officers.
    bulkwrite.update_rows(session, Inspector.__table__, seqs)
    bulkwrite.expire_loaded(session, Inspector, seqs)
    bulkwrite.insert_rows(session, TaskChange.__table__, rows)
    return len(rows)


def changes_since(session: Session, inspector_id: int, since: int, limit: int) -> Changes:
    """The latest change of each task changed after ``since``, oldest first, at most
    ``limit`` tasks. ``since=0`` lists everything from the start (a fresh tablet)."""
    latest = (
        select(TaskChange.task_id, func.max(TaskChange.seq).label("seq"))
        .where(TaskChange.inspector_id == inspector_id, TaskChange.seq > since)
        .group_by(TaskChange.task_id)
        .subquery()
    )
    rows = session.execute(
        select(TaskChange.task_id, TaskChange.task_uuid, TaskChange.deleted, TaskChange.seq)
        .join(latest, (latest.c.task_id == TaskChange.task_id) & (latest.c.seq == TaskChange.seq))
        .where(TaskChange.inspector_id == inspector_id)
        .order_by(TaskChange.seq)
        .limit(limit + 1)
    ).all()
    more = len(rows) > limit
    rows = rows[:limit]
    if more:
        cursor = rows[-1].seq
    else:
        cursor = session.scalar(select(Inspector.task_feed_seq).where(Inspector.id == inspector_id))
        cursor = max(int(cursor or 0), since)
    return Changes(
        task_ids=[row.task_id for row in rows if not row.deleted],
        deleted=[row.task_uuid for row in rows if row.deleted],
        cursor=cursor,
        more=more,
    )


__all__ = [
    "LISTED_STATUSES",
    "Changes",
    "changes_since",
    "note_task_changes",
]
