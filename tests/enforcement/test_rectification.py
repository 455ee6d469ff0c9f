"""Outcomes of an inspection: rectification orders, their clock, the re-inspection when the
deadline passes or the enterprise reports, and the re-inspection closing the order."""

from __future__ import annotations

import datetime as dt
import math
import uuid

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from enforcement.models import (
    RECTIFICATION_CLOCK,
    Alert,
    AlertLevel,
    ClockOutcome,
    FieldInspection,
    InspectionResult,
    InspectionTask,
    OutboxMessage,
    PenaltyCase,
    RectificationOrder,
    RectificationStatus,
    Role,
    TaskChange,
    TaskStatus,
    User,
)
from enforcement.services import audit, clocks, rectification
from enforcement.services.clocks import calendar_for, end_of_date
from enforcement.services.credit_indicators import compute_indicators
from enforcement.services.inspections import InspectionService
from enforcement.services.outcomes import follow_up
from enforcement.services.plans import PlanService
from enforcement.services.publication import PublicationService, verify_bundle
from enforcement.services.rectification import (
    RectificationNotFoundError,
    RectificationPermissionError,
    RectificationStateError,
    RectificationValidationError,
)
from enforcement.services.task_feed import changes_since
from tests.factories import user_named
from tests.field_work import FieldWork, drawn_field_work

SH = clocks.SHANGHAI
CAL = calendar_for(None)


def at(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> dt.datetime:
    return dt.datetime(y, m, d, hh, mm, tzinfo=SH).astimezone(dt.UTC)


FINISHED = at(2025, 4, 2, 10, 10)


@pytest.fixture
def field(db_session: Session) -> FieldWork:
    return drawn_field_work(db_session)


def inspect(
    session: Session,
    field: FieldWork,
    task: InspectionTask,
    *,
    result: str,
    due: str | None = None,
    now: dt.datetime = FINISHED,
) -> FieldInspection:
    """A whole inspection of ``task`` by the field lead, through the real service."""
    service = InspectionService(session, field.lead, clock=lambda: now)
    inspection_uuid = uuid.uuid4()
    device_time = (now - dt.timedelta(minutes=40)).isoformat()
    service.check_in(
        inspection_uuid,
        task.uuid,
        {"lon": field.lon, "lat": field.lat, "accuracy_m": 10, "device_time": device_time},
    )
    answers = {e["code"]: {"answer": "compliant"} for e in task.checklist}
    if result != "no_problem":
        code = task.checklist[0]["code"]
        answers[code] = {"answer": "non_compliant", "note": "未公示营业执照"}
        service.put_finding(
            inspection_uuid,
            uuid.uuid4(),
            {"item_code": code, "description": "未在醒目位置公示营业执照", "severity": "minor"},
        )
    service.set_answers(inspection_uuid, answers)
    service.sign(
        inspection_uuid,
        {"signer_name": "王五", "refused": True, "signed_at": device_time},
    )
    body = {"result": result, "finished_at": now.isoformat()}
    if due:
        body["rectification_due"] = due
    return service.finish(inspection_uuid, body)


def enterprise_user(session: Session, enterprise_id: int, name: str = "ent") -> User:
    user = User(
        username=name,
        display_name=name,
        role=Role.ENTERPRISE,
        password_hash="-",
        enterprise_id=enterprise_id,
    )
    session.add(user)
    session.flush()
    return user


def the_order(session: Session, inspection: FieldInspection) -> RectificationOrder:
    order = session.scalar(
        select(RectificationOrder).where(RectificationOrder.inspection_id == inspection.id)
    )
    assert order is not None
    return order


def test_no_problem_orders_nothing_but_re_rates(db_session: Session, field: FieldWork) -> None:
    inspect(db_session, field, field.task, result="no_problem")
    assert db_session.scalar(select(func.count()).select_from(RectificationOrder)) == 0
    # A clean inspection is evidence for the rating too (findings_3y: no evidence -> 0).
    rerates = db_session.scalars(
        select(OutboxMessage.payload).where(OutboxMessage.topic == "credit.rerate")
    ).all()
    assert [p["enterprise_ids"] for p in rerates] == [[field.task.enterprise_id]]


@pytest.mark.parametrize(
    ("result", "suspected"), [("case_filed", False), ("suspected_crime", True)]
)
def test_a_case_result_files_a_case_once(
    db_session: Session, field: FieldWork, result: str, suspected: bool
) -> None:
    inspection = inspect(db_session, field, field.task, result=result)
    follow_up(db_session, field.lead, inspection)  # a retried follow-up
    cases = db_session.scalars(
        select(PenaltyCase).where(PenaltyCase.origin_inspection_id == inspection.id)
    ).all()
    assert len(cases) == 1
    assert cases[0].enterprise_id == field.task.enterprise_id
    assert cases[0].suspected_crime is suspected
    assert db_session.scalar(select(func.count()).select_from(RectificationOrder)) == 0


def test_an_order_runs_a_clock_to_midnight_of_its_due_date(
    db_session: Session, field: FieldWork
) -> None:
    inspection = inspect(
        db_session, field, field.task, result="rectification_ordered", due="2025-04-20"
    )
    order = the_order(db_session, inspection)
    assert order.status is RectificationStatus.OPEN
    assert order.enterprise_id == field.task.enterprise_id
    assert order.department_id == field.lead.inspector.department_id
    assert order.due_date == dt.date(2025, 4, 20)
    (clock,) = clocks.clocks_for(db_session, order)
    assert clock.kind == RECTIFICATION_CLOCK and clock.running
    assert clock.due_at == end_of_date(dt.date(2025, 4, 20))
    # Two working days before Sunday the 20th: Thursday the 17th.
    assert clock.warn_at == at(2025, 4, 17)
    assert clock.department_id == order.department_id
    # A retried follow-up creates nothing twice.
    follow_up(db_session, field.lead, inspection)
    assert db_session.scalar(select(func.count()).select_from(RectificationOrder)) == 1
    assert len(clocks.clocks_for(db_session, order)) == 1
    assert [row.action for row in audit.history(db_session, order)] == ["rectification.order"]


def test_the_deadline_passing_creates_one_reinspection_on_the_tablets(
    db_session: Session, field: FieldWork
) -> None:
    inspection = inspect(
        db_session, field, field.task, result="rectification_ordered", due="2025-04-20"
    )
    order = the_order(db_session, inspection)
    cursor = {
        m.inspector_id: changes_since(db_session, m.inspector_id, 0, limit=10_000).cursor
        for m in field.task.members
    }

    warned = clocks.scan(db_session, at(2025, 4, 17, 9))
    assert [a.level for a in warned] == [AlertLevel.WARNING]
    assert order.reinspection_task_id is None

    overdue = clocks.scan(db_session, at(2025, 4, 21, 0, 1))
    assert [a.level for a in overdue] == [AlertLevel.OVERDUE]
    db_session.refresh(order)
    assert order.status is RectificationStatus.OVERDUE
    task = db_session.get_one(InspectionTask, order.reinspection_task_id)
    original = field.task
    assert (task.draw_id, task.enterprise_id, task.round) == (
        original.draw_id,
        original.enterprise_id,
        2,
    )
    assert task.reinspection_of_id == original.id and task.status is TaskStatus.OPEN
    assert task.checklist == original.checklist
    assert [i.code for i in task.items] == [i.code for i in original.items]
    assert [(m.inspector_id, m.role) for m in task.members] == [
        (m.inspector_id, m.role) for m in original.members
    ]
    # Ten working days from Monday 21 April 2025, over the May Day holiday (May 1-5 off,
    # Sunday 27 April worked): Wednesday 7 May.
    assert task.due_date == dt.date(2025, 5, 7)
    # On every team member's tablet feed.
    for member in original.members:
        changes = changes_since(
            db_session, member.inspector_id, cursor[member.inspector_id], limit=10_000
        )
        assert task.id in changes.task_ids
    # Two scans, one alert, one task.
    assert clocks.scan(db_session, at(2025, 4, 22)) == []
    assert (
        db_session.scalar(
            select(func.count())
            .select_from(InspectionTask)
            .where(InspectionTask.reinspection_of_id == original.id)
        )
        == 1
    )
    assert (
        db_session.scalar(
            select(func.count()).select_from(Alert).where(Alert.level == AlertLevel.OVERDUE)
        )
        == 1
    )
    # The draw still holds only what it drew.
    db_session.expire_all()
    draw = db_session.get_one(InspectionTask, original.id).draw
    assert task.id not in {t.id for t in draw.tasks}
    assert all(t.round == 1 for t in draw.tasks)

    # The enterprise reports late: the clock stops late, the same re-inspection stands.
    company = enterprise_user(db_session, original.enterprise_id)
    reported = rectification.report_rectified(
        db_session,
        company,
        order.id,
        note="已在门店醒目位置公示营业执照",
        calendar=CAL,
        clock=lambda: at(2025, 4, 23, 10),
    )
    assert reported.status is RectificationStatus.RECTIFIED
    assert reported.reinspection_task_id == task.id
    (clock,) = clocks.clocks_for(db_session, order)
    assert clock.outcome is ClockOutcome.LATE

    # The re-inspection finds it fixed: the order is closed.
    reinspection = inspect(db_session, field, task, result="no_problem", now=at(2025, 4, 25, 10))
    db_session.refresh(order)
    assert order.status is RectificationStatus.REINSPECTED
    assert order.reinspection_id == reinspection.id
    assert order.reinspection_result is InspectionResult.NO_PROBLEM
    assert order.closed_at == at(2025, 4, 25, 10)
    assert [row.action for row in audit.history(db_session, order)] == [
        "rectification.order",
        "rectification.overdue",
        "rectification.reinspection",
        "rectification.report",
        "rectification.close",
    ]


def test_a_report_before_the_deadline_schedules_the_reinspection_at_once(
    db_session: Session, field: FieldWork
) -> None:
    inspection = inspect(
        db_session, field, field.task, result="rectification_ordered", due="2025-04-20"
    )
    order = the_order(db_session, inspection)
    rectification.report_rectified(
        db_session,
        field.member,
        order.id,
        note="现场复核已整改",
        calendar=CAL,
        clock=lambda: at(2025, 4, 10, 15),
    )
    assert order.status is RectificationStatus.RECTIFIED
    (clock,) = clocks.clocks_for(db_session, order)
    assert clock.outcome is ClockOutcome.MET and clock.stopped_at == at(2025, 4, 10, 15)
    task = db_session.get_one(InspectionTask, order.reinspection_task_id)
    # Ten working days from the deadline (Sunday 20 April; Sunday 27 April is worked, May 1-5
    # are off): Tuesday 6 May.
    assert task.due_date == dt.date(2025, 5, 6)
    # Nothing left to alert about, and a second report is refused.
    assert clocks.scan(db_session, at(2025, 4, 30)) == []
    with pytest.raises(RectificationStateError):
        rectification.report_rectified(
            db_session, field.member, order.id, note="again", calendar=CAL
        )

    # A re-inspection that finds the problem again orders a new rectification.
    again = inspect(
        db_session,
        field,
        task,
        result="rectification_ordered",
        due="2025-05-20",
        now=at(2025, 4, 28, 10),
    )
    db_session.refresh(order)
    assert order.status is RectificationStatus.REINSPECTED
    assert order.reinspection_result is InspectionResult.RECTIFICATION_ORDERED
    second = the_order(db_session, again)
    assert second.id != order.id and second.status is RectificationStatus.OPEN
    # Its own re-inspection, when due, is round 3 of the same target.
    clocks.scan(db_session, at(2025, 5, 21, 9))
    db_session.refresh(second)
    third = db_session.get_one(InspectionTask, second.reinspection_task_id)
    assert third.round == 3 and third.reinspection_of_id == task.id


def test_who_may_see_and_report(db_session: Session, field: FieldWork) -> None:
    inspection = inspect(
        db_session, field, field.task, result="rectification_ordered", due="2025-04-20"
    )
    order = the_order(db_session, inspection)
    own = enterprise_user(db_session, field.task.enterprise_id, "own")
    other_enterprise = db_session.scalar(
        select(InspectionTask.enterprise_id).where(
            InspectionTask.enterprise_id != field.task.enterprise_id
        )
    )
    stranger = enterprise_user(db_session, other_enterprise, "stranger")
    assert [o.id for o in rectification.list_orders(db_session, own)] == [order.id]
    assert rectification.list_orders(db_session, stranger) == []
    with pytest.raises(RectificationNotFoundError):
        rectification.get_order(db_session, stranger, order.id)
    with pytest.raises(RectificationNotFoundError):
        rectification.report_rectified(db_session, stranger, order.id, note="x", calendar=CAL)
    with pytest.raises(RectificationValidationError) as caught:
        rectification.report_rectified(db_session, own, order.id, note="  ", calendar=CAL)
    assert "note" in caught.value.errors
    with pytest.raises(RectificationValidationError):
        rectification.list_orders(db_session, own, status="closed")
    supervisor = user_named(db_session, "supervisor")
    assert order.id in {o.id for o in rectification.list_orders(db_session, supervisor)}
    with pytest.raises(RectificationPermissionError):  # the enterprise or an inspector reports
        rectification.report_rectified(db_session, supervisor, order.id, note="x", calendar=CAL)


def test_reinspections_stand_through_a_redraw_and_the_bundle_still_verifies(
    db_session: Session, field: FieldWork
) -> None:
    inspection = inspect(
        db_session, field, field.task, result="rectification_ordered", due="2025-04-20"
    )
    order = the_order(db_session, inspection)
    clocks.scan(db_session, at(2025, 4, 21, 9))
    db_session.refresh(order)
    task = db_session.get_one(InspectionTask, order.reinspection_task_id)
    plan = field.task.draw.plan
    supervisor = user_named(db_session, "supervisor")
    bundle = PublicationService(db_session, supervisor).publish(plan)
    assert verify_bundle(bundle) is None
    assert task.enterprise_id in bundle["result"]["drawn"]  # the drawn round, once
    assert bundle["result"]["drawn"].count(task.enterprise_id) == 1

    PlanService(db_session, supervisor).redraw(plan, "计划范围有误")
    db_session.flush()
    db_session.refresh(task)
    assert task.status is TaskStatus.OPEN  # a follow-up of a real finding is not voided
    assert db_session.scalar(
        select(func.count()).select_from(TaskChange).where(TaskChange.task_id == task.id)
    ) == len(task.members)


def test_the_credit_indicator_counts_orders_overdue_until_a_reinspection_passes(
    db_session: Session, field: FieldWork
) -> None:
    """The scorecard's ``overdue_rectifications``: not known without an order, 0 while the
    deadline runs, 1 once it has passed, 0 again after a re-inspection finds no problem."""
    enterprise_id = field.task.enterprise_id

    def overdue(as_of: dt.date) -> float:
        frame = compute_indicators(db_session, as_of, [enterprise_id])
        return float(frame.columns["overdue_rectifications"][0])

    assert math.isnan(overdue(dt.date(2025, 4, 1)))
    inspection = inspect(
        db_session, field, field.task, result="rectification_ordered", due="2025-04-20"
    )
    order = the_order(db_session, inspection)
    assert overdue(dt.date(2025, 4, 20)) == 0.0  # the due date itself is still in time
    assert overdue(dt.date(2025, 4, 21)) == 1.0
    clocks.scan(db_session, at(2025, 4, 21, 0, 1))
    db_session.refresh(order)
    task = db_session.get_one(InspectionTask, order.reinspection_task_id)
    inspect(db_session, field, task, result="no_problem", now=at(2025, 4, 28, 10))
    db_session.refresh(order)
    assert order.status is RectificationStatus.REINSPECTED
    assert overdue(dt.date(2025, 4, 29)) == 0.0
