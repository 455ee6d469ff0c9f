"""Seals and seizures (查封、扣押, 行政强制法 art. 25): 30 days, extended once by 30 with the
head's approval, lifted by the group; each change fed to the data center; a case is not closed
while one is in force, and withdrawing a case lifts them."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from enforcement.models import AuditLog, CaseStatus, Clock, CoerciveKind, FeedRecord
from enforcement.services import clocks
from enforcement.services.cases import (
    COERCIVE_CLOCK,
    CaseNotFoundError,
    CasePermissionError,
    CaseStateError,
    CaseValidationError,
)
from tests.enforcement.test_cases import FILED, file_case, make_world, to_proposal

ITEMS = [
    {"name": "过期乳制品", "quantity": 12, "unit": "箱"},
    {"name": "标签打印机", "quantity": 1, "unit": "台", "note": "用于篡改生产日期"},
]


def _clock(session: Session, measure_id: int) -> Clock:
    return session.scalars(
        select(Clock)
        .where(Clock.kind == COERCIVE_CLOCK, Clock.subject_id == str(measure_id))
        .order_by(Clock.id.desc())
    ).first()


def _fed(session: Session, key: str) -> list[dict]:
    return [
        record.payload
        for record in session.scalars(
            select(FeedRecord)
            .where(FeedRecord.kind == "coercive_measure", FeedRecord.record_key == key)
            .order_by(FeedRecord.version)
        )
    ]


def test_a_seizure_runs_30_days_is_extended_once_and_lifted(db_session: Session) -> None:
    world = make_world(db_session)
    case = file_case(world)
    group = world.service(world.lead)
    group.start_investigation(case.id)
    measure = group.start_coercive_measure(
        case.id, kind="seize", items=ITEMS, place="仓库一号", note="现场扣押"
    )
    assert measure.kind == CoerciveKind.SEIZE
    assert measure.started_on == dt.date(2026, 7, 3) and measure.ends_on == dt.date(2026, 8, 2)
    assert measure.items[1] == {
        "name": "标签打印机",
        "quantity": 1,
        "unit": "台",
        "note": "用于篡改生产日期",
    }
    clock = _clock(db_session, measure.id)
    assert clock.running and clocks.due_date_of(clock.due_at) == dt.date(2026, 8, 2)
    assert clock.department_id == world.department.id
    assert case.events[-1].action == "coercive.start" and case.status == CaseStatus.INVESTIGATING
    (first,) = _fed(db_session, str(measure.uuid))
    assert first["kind"] == "seize" and first["case_no"] == case.case_no
    assert first["ends_on"] == "2026-08-02" and first["lifted_at"] is None

    with pytest.raises(CasePermissionError):
        group.extend_coercive_measure(case.id, measure.id, reason="情况复杂")
    head = world.service(world.supervisor)
    with pytest.raises(CaseValidationError):
        head.extend_coercive_measure(case.id, measure.id, reason="")
    head.extend_coercive_measure(case.id, measure.id, reason="需送检验，情况复杂")
    assert measure.extended and measure.ends_on == dt.date(2026, 9, 1)
    assert clocks.due_date_of(_clock(db_session, measure.id).due_at) == dt.date(2026, 9, 1)
    with pytest.raises(CaseStateError, match="only once"):
        head.extend_coercive_measure(case.id, measure.id, reason="再延长")

    lifted_at = FILED + dt.timedelta(days=20)
    world.service(world.member, lifted_at).lift_coercive_measure(
        case.id, measure.id, reason="检验合格，解除扣押"
    )
    assert measure.lifted_at == lifted_at and measure.lift_reason == "检验合格，解除扣押"
    stopped = _clock(db_session, measure.id)
    assert stopped.stopped_at == lifted_at
    with pytest.raises(CaseStateError):
        group.lift_coercive_measure(case.id, measure.id, reason="again")
    with pytest.raises(CaseStateError):
        head.extend_coercive_measure(case.id, measure.id, reason="after lifting")
    versions = _fed(db_session, str(measure.uuid))
    assert [(v["extended"], v["lifted_at"] is not None) for v in versions] == [
        (False, False),
        (True, False),
        (True, True),
    ]
    actions = db_session.scalars(
        select(AuditLog.action)
        .where(AuditLog.entity_type == "coercive_measures", AuditLog.entity_id == str(measure.id))
        .order_by(AuditLog.id)
    ).all()
    assert [a for a in actions if a.startswith("coercive.")] == [
        "coercive.start",
        "coercive.extend",
        "coercive.lift",
    ]
    assert [e.action for e in case.events][-3:] == [
        "coercive.start",
        "coercive.extend",
        "coercive.lift",
    ]


def test_bad_measures_are_refused_naming_the_field(db_session: Session) -> None:
    world = make_world(db_session)
    case = file_case(world)
    group = world.service(world.lead)
    with pytest.raises(CaseValidationError) as refused:
        group.start_coercive_measure(case.id, kind="arrest", items=[])
    assert set(refused.value.errors) == {"kind", "items"}
    with pytest.raises(CaseValidationError) as refused:
        group.start_coercive_measure(
            case.id, kind="seal", items=[{"name": " "}, {"name": "x", "quantity": -1}]
        )
    assert set(refused.value.errors) == {"items.0.name", "items.1.quantity"}
    with pytest.raises(CaseValidationError) as refused:
        group.start_coercive_measure(
            case.id, kind="seal", items=ITEMS, started_on=dt.date(2026, 7, 4)
        )
    assert set(refused.value.errors) == {"started_on"}
    with pytest.raises(CaseValidationError) as refused:
        group.start_coercive_measure(
            case.id, kind="seal", items=ITEMS, started_on=dt.date(2026, 5, 1)
        )
    assert set(refused.value.errors) == {"started_on"}
    # Recorded the day after it was applied on site: the period counts from the start.
    late = group.start_coercive_measure(
        case.id, kind="seal", items=ITEMS, started_on=dt.date(2026, 7, 2)
    )
    assert late.ends_on == dt.date(2026, 8, 1)
    with pytest.raises(CaseNotFoundError):
        group.lift_coercive_measure(case.id, 10**9, reason="x")


def test_who_may_take_a_measure(db_session: Session) -> None:
    world = make_world(db_session)
    case = file_case(world)
    for user in (world.colleague, world.liaison, world.foreign_supervisor):
        with pytest.raises(CasePermissionError):
            world.service(user).start_coercive_measure(case.id, kind="seal", items=ITEMS)
    measure = world.service(world.supervisor).start_coercive_measure(
        case.id, kind="seal", items=ITEMS
    )
    for user in (world.colleague, world.foreign_supervisor):
        with pytest.raises(CasePermissionError):
            world.service(user).lift_coercive_measure(case.id, measure.id, reason="x")


def test_no_measure_after_the_decision_and_no_closing_while_one_is_in_force(
    db_session: Session,
) -> None:
    world = make_world(db_session)
    case = file_case(world)
    group, head = world.service(world.lead), world.service(world.supervisor)
    measure = group.start_coercive_measure(case.id, kind="seal", items=ITEMS)
    to_proposal(world, case)
    head.decide(case.id)
    with pytest.raises(CaseStateError):
        group.start_coercive_measure(case.id, kind="seize", items=ITEMS)
    group.execute(case.id)
    with pytest.raises(CaseStateError, match="coercive measure"):
        head.close(case.id)
    group.lift_coercive_measure(case.id, measure.id, reason="依法没收后解除查封")
    head.close(case.id)
    assert case.status == CaseStatus.CLOSED


def test_withdrawing_a_case_lifts_its_measures(db_session: Session) -> None:
    world = make_world(db_session)
    case = file_case(world)
    group = world.service(world.lead)
    sealed = group.start_coercive_measure(case.id, kind="seal", items=ITEMS)
    seized = group.start_coercive_measure(case.id, kind="seize", items=ITEMS)
    world.service(world.supervisor).lift_coercive_measure(case.id, seized.id, reason="先行解除")
    world.service(world.supervisor).withdraw(case.id, reason="违法事实不能成立")
    assert sealed.lifted_at is not None and "违法事实不能成立" in sealed.lift_reason
    assert seized.lift_reason == "先行解除"
    assert _clock(db_session, sealed.id).stopped_at is not None
    assert _fed(db_session, str(sealed.uuid))[-1]["lifted_at"] is not None
    assert case.status == CaseStatus.WITHDRAWN


def test_the_scan_warns_before_a_measure_runs_out(db_session: Session) -> None:
    world = make_world(db_session)
    case = file_case(world)
    measure = world.service(world.lead).start_coercive_measure(case.id, kind="seal", items=ITEMS)
    clock = _clock(db_session, measure.id)
    alerts = clocks.scan(db_session, clock.warn_at + dt.timedelta(minutes=1))
    assert [(a.clock_id, a.level.value) for a in alerts] == [(clock.id, "warning")]
