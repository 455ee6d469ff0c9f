"""Rectification orders (责令整改) and their re-inspections (复查).

* An inspection that ends ``rectification_ordered`` gets one order (idempotent per inspection)
  with a ``rectification`` clock running to 24:00 Asia/Shanghai of its due date, warning
  ``WARN_WORKING_DAYS`` working days before.
* The enterprise (its portal account) or an officer reports it rectified: the clock stops
  (met or late) and a re-inspection task is created at once to verify it.
* When the deadline passes without a report, the clock scan marks the order ``overdue`` and
  creates the re-inspection task.
* A re-inspection task is a further round of the original task (same draw, enterprise,
  checklist, items and team; ``round`` > 1, outside the draw), due ``REINSPECTION_WORKING_DAYS``
  working days after the later of the deadline and the day it was created; it appears on the
  team's tablets through the task feed. Its result closes the order (``reinspected``); a
  re-inspection that orders rectification again starts a new order of its own.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from enforcement.models import (
    RECTIFICATION_CLOCK,
    Clock,
    FieldInspection,
    InspectionResult,
    InspectionTask,
    RectificationOrder,
    RectificationStatus,
    Role,
    TaskMember,
    TaskStatus,
    User,
    utcnow,
)
from enforcement.reasons import reason
from enforcement.services import audit
from enforcement.services.clocks import (
    end_of_date,
    local_date,
    register_overdue_handler,
    start_clock,
    start_of_date,
    stop_clock,
)
from enforcement.services.departments import officer_department_id
from enforcement.services.task_feed import note_task_changes
from enforcement.workdays import WorkCalendar

#: Working days before the deadline at which the supervisors are warned.
WARN_WORKING_DAYS = 2
#: Working days the team has for the re-inspection.
REINSPECTION_WORKING_DAYS = 10
MAX_NOTE_LENGTH = 2000
OPEN_STATUSES = (RectificationStatus.OPEN, RectificationStatus.OVERDUE)


#: How the refusals name an order's status.
_STATUS_LABELS = {
    RectificationStatus.OPEN: reason("open for rectification"),
    RectificationStatus.RECTIFIED: reason("reported as rectified"),
    RectificationStatus.OVERDUE: reason("past its deadline without a report"),
    RectificationStatus.REINSPECTED: reason("closed after the re-inspection"),
}


class RectificationError(Exception):
    """Base of the refusals about rectification orders."""


class RectificationNotFoundError(RectificationError, LookupError):
    """No such order, or not visible to the user."""


class RectificationPermissionError(RectificationError):
    """The user may not act on this order."""


class RectificationStateError(RectificationError):
    """The order is not in a state that allows the action."""


class RectificationValidationError(RectificationError, ValueError):
    """Bad input; ``errors`` maps each field to what is wrong with it."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{field}: {reason}" for field, reason in errors.items()))
        self.errors = errors


# --- orders ------------------------------------------------------------------------------------


def order_rectification(
    session: Session,
    actor: User | None,
    inspection: FieldInspection,
    *,
    calendar: WorkCalendar,
    now: dt.datetime | None = None,
) -> RectificationOrder:
    """The order of an inspection that ended ``rectification_ordered`` (idempotent)."""
    existing = session.scalar(
        select(RectificationOrder).where(RectificationOrder.inspection_id == inspection.id)
    )
    if existing is not None:
        return existing
    if inspection.result != InspectionResult.RECTIFICATION_ORDERED:
        raise RectificationStateError(
            reason("only an inspection that ordered rectification has one")
        )
    if inspection.rectification_due is None:
        raise RectificationValidationError({"rectification_due": reason("required")})
    now = now or utcnow()
    task = session.get_one(InspectionTask, inspection.task_id)
    order = RectificationOrder(
        inspection_id=inspection.id,
        enterprise_id=task.enterprise_id,
        department_id=inspection.inspector.department_id,
        due_date=inspection.rectification_due,
        status=RectificationStatus.OPEN,
    )
    session.add(order)
    session.flush()
    due_at = end_of_date(order.due_date)
    warn_at = start_of_date(calendar.add_working_days(order.due_date, -WARN_WORKING_DAYS))
    start_clock(
        session,
        kind=RECTIFICATION_CLOCK,
        subject=order,
        due_at=due_at,
        warn_at=warn_at if warn_at < due_at else None,
        department_id=order.department_id,
        started_at=now,
    )
    audit.record(
        session,
        actor,
        "rectification.order",
        order,
        {"inspection": str(inspection.uuid), "due_date": order.due_date.isoformat()},
        at=now,
    )
    return order


def _may_see(actor: User, order: RectificationOrder) -> bool:
    role = Role(actor.role)
    if role is Role.ADMIN:
        return True
    if role is Role.ENTERPRISE:
        return actor.enterprise_id is not None and actor.enterprise_id == order.enterprise_id
    if role in (Role.SUPERVISOR, Role.INSPECTOR):
        department = officer_department_id(actor)
        if department is None or department == order.department_id:
            return True
        return actor.inspector_id is not None and _on_team(order, actor.inspector_id)
    return False


def _on_team(order: RectificationOrder, inspector_id: int) -> bool:
    return any(m.inspector_id == inspector_id for m in order.inspection.task.members)


def get_order(session: Session, actor: User, order_id: int) -> RectificationOrder:
    """An order the actor may see (its enterprise, its department, its team, an admin)."""
    order = session.get(RectificationOrder, order_id)
    if order is None or not _may_see(actor, order):
        raise RectificationNotFoundError(reason("no rectification order ${id}", id=order_id))
    return order


def list_orders(
    session: Session,
    actor: User,
    *,
    status: str | None = None,
    after: int = 0,
    limit: int = 100,
) -> list[RectificationOrder]:
    """The orders the actor may see, oldest first."""
    query = select(RectificationOrder).where(RectificationOrder.id > after)
    if status is not None:
        try:
            query = query.where(RectificationOrder.status == RectificationStatus(status))
        except ValueError:
            choices = ", ".join(s.value for s in RectificationStatus)
            raise RectificationValidationError(
                {"status": reason("must be one of ${choices}", choices=choices)}
            ) from None
    role = Role(actor.role)
    if role is Role.ENTERPRISE:
        if actor.enterprise_id is None:
            return []
        query = query.where(RectificationOrder.enterprise_id == actor.enterprise_id)
    elif role is not Role.ADMIN:
        department = officer_department_id(actor)
        if department is not None:
            query = query.where(RectificationOrder.department_id == department)
    return list(
        session.scalars(
            query.order_by(RectificationOrder.id)
            .limit(limit)
            .options(selectinload(RectificationOrder.enterprise))
        )
    )


def report_rectified(
    session: Session,
    actor: User,
    order_id: int,
    *,
    note: str,
    calendar: WorkCalendar,
    clock: Callable[[], dt.datetime] = utcnow,
) -> RectificationOrder:
    """The enterprise or an officer reports the problems rectified: the clock stops and the
    re-inspection is scheduled. A second report is refused (409)."""
    order = get_order(session, actor, order_id)
    if Role(actor.role) not in (Role.ENTERPRISE, Role.INSPECTOR, Role.ADMIN):
        raise RectificationPermissionError(
            reason("only the enterprise or an inspector reports this")
        )
    note = (note or "").strip()
    if not note:
        raise RectificationValidationError({"note": reason("required: say what was rectified")})
    if len(note) > MAX_NOTE_LENGTH:
        raise RectificationValidationError(
            {"note": reason("must be at most ${limit} characters", limit=MAX_NOTE_LENGTH)}
        )
    # Lock the order: two reports at once must not both pass the status check.
    session.refresh(order, with_for_update=True)
    if order.status not in OPEN_STATUSES:
        raise RectificationStateError(
            reason(
                "the order is already ${status}",
                status=_STATUS_LABELS[RectificationStatus(order.status)],
            )
        )
    now = clock()
    was = order.status
    order.status = RectificationStatus.RECTIFIED
    order.reported_at = now
    order.reported_by_id = actor.id
    order.report_note = note
    stopped = stop_clock(session, kind=RECTIFICATION_CLOCK, subject=order, at=now)
    ensure_reinspection(session, order, calendar=calendar, now=now)
    audit.record(
        session,
        actor,
        "rectification.report",
        order,
        {
            "from": was.value,
            "note": note,
            "clock": stopped.outcome.value if stopped and stopped.outcome else None,
        },
        at=now,
    )
    return order


# --- re-inspections ------------------------------------------------------------------------------


def ensure_reinspection(
    session: Session, order: RectificationOrder, *, calendar: WorkCalendar, now: dt.datetime
) -> InspectionTask:
    """The order's re-inspection task, created on first call and put on the team's tablets."""
    if order.reinspection_task_id is not None:
        return session.get_one(InspectionTask, order.reinspection_task_id)
    original = session.scalar(
        select(InspectionTask)
        .join(FieldInspection, FieldInspection.task_id == InspectionTask.id)
        .where(FieldInspection.id == order.inspection_id)
        .options(selectinload(InspectionTask.members), selectinload(InspectionTask.items))
    )
    assert original is not None  # the foreign keys are not null
    last_round = session.scalar(
        select(func.max(InspectionTask.round)).where(
            InspectionTask.draw_id == original.draw_id,
            InspectionTask.enterprise_id == original.enterprise_id,
        )
    )
    start = max(local_date(now), order.due_date)
    task = InspectionTask(
        draw_id=original.draw_id,
        enterprise_id=original.enterprise_id,
        stratum=original.stratum,
        is_alternate=False,
        alternate_rank=None,
        checklist=[dict(entry) for entry in original.checklist],
        due_date=calendar.add_working_days(start, REINSPECTION_WORKING_DAYS),
        status=TaskStatus.OPEN,
        round=(last_round or 1) + 1,
        reinspection_of_id=original.id,
        items=list(original.items),
        members=[TaskMember(inspector_id=m.inspector_id, role=m.role) for m in original.members],
    )
    session.add(task)
    session.flush()
    order.reinspection_task_id = task.id
    note_task_changes(session, [task])
    audit.record(
        session,
        None,
        "rectification.reinspection",
        order,
        {"task": str(task.uuid), "round": task.round, "due_date": task.due_date.isoformat()},
        at=now,
    )
    return task


def _on_overdue(session: Session, clock: Clock, now: dt.datetime, calendar: WorkCalendar) -> None:
    """The scan's hook: the deadline passed without a report."""
    order = session.get(RectificationOrder, int(clock.subject_id), with_for_update=True)
    if order is None or order.status is not RectificationStatus.OPEN:
        return
    order.status = RectificationStatus.OVERDUE
    audit.record(
        session,
        None,
        "rectification.overdue",
        order,
        {"due_date": order.due_date.isoformat()},
        at=now,
    )
    ensure_reinspection(session, order, calendar=calendar, now=now)


register_overdue_handler(RECTIFICATION_CLOCK, _on_overdue)


def close_from_reinspection(
    session: Session, actor: User | None, inspection: FieldInspection, *, now: dt.datetime
) -> RectificationOrder | None:
    """A finished re-inspection closes the order that scheduled it (idempotent); None when
    the inspection is not a re-inspection."""
    order = session.scalar(
        select(RectificationOrder).where(
            RectificationOrder.reinspection_task_id == inspection.task_id
        )
    )
    if order is None or order.status is RectificationStatus.REINSPECTED:
        return order
    was = order.status
    order.status = RectificationStatus.REINSPECTED
    order.reinspection_id = inspection.id
    order.reinspection_result = inspection.result
    order.closed_at = now
    # Still running when nobody reported: the re-inspection ends it (late).
    stop_clock(session, kind=RECTIFICATION_CLOCK, subject=order, at=now)
    audit.record(
        session,
        actor,
        "rectification.close",
        order,
        {
            "from": was.value,
            "reinspection": str(inspection.uuid),
            "result": InspectionResult(inspection.result).value if inspection.result else None,
        },
        at=now,
    )
    return order


__all__ = [
    "REINSPECTION_WORKING_DAYS",
    "WARN_WORKING_DAYS",
    "RectificationError",
    "RectificationNotFoundError",
    "RectificationPermissionError",
    "RectificationStateError",
    "RectificationValidationError",
    "close_from_reinspection",
    "ensure_reinspection",
    "get_order",
    "list_orders",
    "order_rectification",
    "report_rectified",
]
