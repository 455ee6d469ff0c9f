"""Penalty cases: every path of the workflow, legal review of major decisions, the 90-day
deadline on the working-day calendar, reconsideration, department scope and roles, and the
closed loop from a decided penalty to the enterprise's credit tier."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import uuid
from decimal import Decimal

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from enforcement import migrate
from enforcement.cli import main
from enforcement.db import make_engine
from enforcement.models import (
    AlertLevel,
    AuditLog,
    CaseStatus,
    Clock,
    ClockOutcome,
    Department,
    Enterprise,
    FeedRecord,
    FieldInspection,
    GeofenceVerdict,
    InspectionResult,
    InspectionStatus,
    OutboxMessage,
    Penalty,
    PenaltyCase,
    PenaltyMeasure,
    ReconsiderationStatus,
    Role,
    User,
)
from enforcement.services import clocks
from enforcement.services.cases import (
    DECISION_CLOCK,
    CaseNotFoundError,
    CasePermissionError,
    CaseService,
    CaseStaleVersionError,
    CaseStateError,
    CaseValidationError,
    case_document,
    open_case_from_inspection,
)
from enforcement.services.credit import RatingService
from enforcement.services.transfers import TransferService
from tests import factories
from tests.factories import DepartmentFactory, EnterpriseFactory, InspectorFactory
from tests.field_work import FieldWork, drawn_field_work

# Filed on 2026-07-03 (10:00 in Beijing): 90 days later is 2026-10-01, National Day.
FILED = dt.datetime(2026, 7, 3, 2, 0, tzinfo=dt.UTC)
TIER_ORDER = "ABCD"


@dataclasses.dataclass
class World:
    department: Department
    other: Department
    enterprise: Enterprise
    supervisor: User  # the head (负责人) of the department
    reviewer: User  # another supervisor of the department: the legal reviewer
    lead: User  # an inspector (department through the inspector record)
    member: User  # an inspector with a department on the account
    colleague: User  # an inspector of the department, not in the group
    foreign_inspector: User
    foreign_supervisor: User
    liaison: User
    enterprise_user: User
    admin: User

    def service(self, user: User, now: dt.datetime = FILED) -> CaseService:
        return CaseService(self.session, user, clock=lambda: now)

    session: Session = dataclasses.field(default=None, repr=False)  # type: ignore[assignment]


def _user(session: Session, name: str, role: Role, **fields: object) -> User:
    user = User(
        username=f"{name}-{uuid.uuid4().hex[:6]}",
        display_name=name,
        role=role,
        password_hash="x",
        **fields,
    )
    session.add(user)
    return user


def make_world(session: Session) -> World:
    """Two departments, one enterprise and the people of a case (flushed, not committed)."""
    department, other = DepartmentFactory(), DepartmentFactory()
    enterprise = EnterpriseFactory()
    lead_officer = InspectorFactory(department=department)
    member_officer = InspectorFactory(department=department)
    world = World(
        department=department,
        other=other,
        enterprise=enterprise,
        supervisor=_user(session, "head", Role.SUPERVISOR, department_id=department.id),
        reviewer=_user(session, "reviewer", Role.SUPERVISOR, department_id=department.id),
        lead=_user(session, "lead", Role.INSPECTOR, inspector_id=lead_officer.id),
        member=_user(
            session,
            "member",
            Role.INSPECTOR,
            inspector_id=member_officer.id,
            department_id=department.id,
        ),
        colleague=_user(session, "colleague", Role.INSPECTOR, department_id=department.id),
        foreign_inspector=_user(session, "foreign", Role.INSPECTOR, department_id=other.id),
        foreign_supervisor=_user(session, "fhead", Role.SUPERVISOR, department_id=other.id),
        liaison=_user(session, "liaison", Role.LIAISON, department_id=department.id),
        enterprise_user=_user(session, "firm", Role.ENTERPRISE, enterprise_id=enterprise.id),
        admin=_user(session, "admin", Role.ADMIN),
        session=session,
    )
    session.flush()
    return world


def file_case(world: World, **overrides: object) -> PenaltyCase:
    values: dict[str, object] = {
        "enterprise_id": world.enterprise.id,
        "summary": "销售超过保质期的食品",
        "members": [world.lead.id, world.member.id],
    }
    values.update(overrides)
    return world.service(world.lead).file(**values)  # type: ignore[arg-type]


def to_proposal(
    world: World,
    case: PenaltyCase,
    measure: str = "fine",
    amount: str | None = "5000",
    now: dt.datetime = FILED,
) -> PenaltyCase:
    group = world.service(world.lead, now)
    if case.status == CaseStatus.FILED:
        group.start_investigation(case.id)
    return group.propose_decision(
        case.id,
        measure=measure,
        amount=amount,
        legal_basis="《食品安全法》第一百二十四条",
    )


def _feed(session: Session, kind: str, key: str) -> list[FeedRecord]:
    return list(
        session.scalars(
            select(FeedRecord)
            .where(FeedRecord.kind == kind, FeedRecord.record_key == key)
            .order_by(FeedRecord.version)
        )
    )


def _decision_clock(session: Session, case: PenaltyCase) -> Clock:
    return session.scalars(
        select(Clock)
        .where(Clock.kind == DECISION_CLOCK, Clock.subject_id == str(case.id))
        .order_by(Clock.id.desc())
    ).first()


# ---------------------------------------------------------------------- filing


def test_filing_numbers_the_case_forms_the_group_and_starts_the_deadline(
    db_session: Session,
) -> None:
    world = make_world(db_session)
    case = file_case(world)
    second = file_case(world, members=[world.member.id, world.lead.id], lead_id=world.lead.id)

    assert case.case_no == "CASE-2026-000001" and second.case_no == "CASE-2026-000002"
    assert case.status == CaseStatus.FILED and case.version == 1
    assert case.department_id == world.department.id  # from the lead's inspector record
    assert case.filed_at == FILED and case.filed_by_id == world.lead.id
    assert [(m.user_id, m.role.value) for m in case.members] == [
        (world.lead.id, "lead"),
        (world.member.id, "member"),
    ]
    assert second.lead is not None and second.lead.user_id == world.lead.id
    assert [(e.action, e.from_status, e.to_status) for e in case.events] == [
        ("file", None, CaseStatus.FILED)
    ]
    audit = db_session.scalars(
        select(AuditLog).where(AuditLog.action == "case.file", AuditLog.entity_id == str(case.id))
    ).one()
    assert audit.actor_id == world.lead.id and audit.details["case_no"] == case.case_no
    (fed,) = _feed(db_session, "case", str(case.uuid))
    assert fed.payload["status"] == "filed" and fed.payload["enterprise_uscc"]

    # 90 natural days end on 1 October 2026, National Day: rolled to the first working day
    # after the holiday (1-7 October), Thursday 8 October, 24:00 in Beijing.
    clock = _decision_clock(db_session, case)
    assert clock.running and clock.department_id == world.department.id
    assert clocks.due_date_of(clock.due_at) == dt.date(2026, 10, 8)
    assert clock.due_at == dt.datetime(2026, 10, 8, 16, 0, tzinfo=dt.UTC)
    assert clock.started_at == FILED and clock.warn_at < clock.due_at
    assert world.service(world.lead).decision_due_on(case) == dt.date(2026, 10, 8)


def test_filing_refuses_bad_input_naming_each_field(db_session: Session) -> None:
    world = make_world(db_session)
    with pytest.raises(CaseValidationError) as refused:
        file_case(world, summary="  ", members=[world.lead.id])
    assert set(refused.value.errors) == {"summary", "members"}
    with pytest.raises(CaseValidationError) as refused:
        file_case(world, members=[world.lead.id, world.foreign_inspector.id])
    assert str(world.foreign_inspector.id) in refused.value.errors["members"]
    with pytest.raises(CaseValidationError) as refused:
        file_case(world, members=[world.lead.id, world.liaison.id])  # not an officer
    assert "members" in refused.value.errors
    with pytest.raises(CaseValidationError) as refused:
        file_case(world, lead_id=world.colleague.id)
    assert set(refused.value.errors) == {"lead_id"}
    with pytest.raises(CaseValidationError) as refused:
        file_case(world, enterprise_id=10**9)
    assert set(refused.value.errors) == {"enterprise_id"}
    # An administrator works for no department: it must say which one.
    with pytest.raises(CaseValidationError) as refused:
        world.service(world.admin).file(
            enterprise_id=world.enterprise.id,
            summary="x",
            members=[world.lead.id, world.member.id],
        )
    assert set(refused.value.errors) == {"department_id"}
    assert db_session.scalar(select(PenaltyCase.id)) is None


def test_filing_is_for_officers_of_their_own_department(db_session: Session) -> None:
    world = make_world(db_session)
    for user in (world.liaison, world.enterprise_user):
        with pytest.raises(CasePermissionError):
            world.service(user).file(
                enterprise_id=world.enterprise.id,
                summary="x",
                members=[world.lead.id, world.member.id],
            )
    with pytest.raises(CasePermissionError):
        world.service(world.foreign_supervisor).file(
            enterprise_id=world.enterprise.id,
            summary="x",
            members=[world.lead.id, world.member.id],
            department_id=world.department.id,
        )
    case = world.service(world.admin).file(
        enterprise_id=world.enterprise.id,
        summary="x",
        members=[world.lead.id, world.member.id],
        department_id=world.department.id,
    )
    assert case.department_id == world.department.id


# ---------------------------------------------------------------------- the main path


def test_the_main_path_from_filing_to_execution(db_session: Session) -> None:
    world = make_world(db_session)
    case = file_case(world)
    group = world.service(world.lead)
    group.start_investigation(case.id, note="调取进货台账")
    assert case.status == CaseStatus.INVESTIGATING and case.version == 2
    with pytest.raises(CaseValidationError) as refused:
        group.propose_decision(case.id, measure="fine", amount=None, legal_basis="")
    assert set(refused.value.errors) == {"amount", "legal_basis"}
    with pytest.raises(CaseValidationError) as refused:
        group.propose_decision(case.id, measure="warning", amount="10", legal_basis="x")
    assert set(refused.value.errors) == {"amount"}
    with pytest.raises(CaseValidationError) as refused:
        group.propose_decision(case.id, measure="jail", amount=None, legal_basis="x")
    assert set(refused.value.errors) == {"measure"}

    to_proposal(world, case)
    assert case.status == CaseStatus.DECISION_PROPOSED and not case.is_major
    assert case.proposed_amount == Decimal("5000.00")
    with pytest.raises(CasePermissionError):
        group.decide(case.id)  # an inspector does not decide

    decided_at = FILED + dt.timedelta(days=40)
    head = world.service(world.supervisor, decided_at)
    head.decide(case.id, if_match=case.version)
    assert case.status == CaseStatus.DECIDED and case.decided_at == decided_at
    penalty = case.penalty
    assert penalty is not None and penalty.decision_no == "DEC-2026-000001"
    assert penalty.measure == PenaltyMeasure.FINE and penalty.amount == Decimal("5000.00")
    assert penalty.decided_on == dt.date(2026, 8, 12)
    assert _feed(db_session, "penalty", penalty.decision_no)[0].payload["amount"] == "5000.00"
    rerate = db_session.scalars(
        select(OutboxMessage).where(OutboxMessage.topic == "credit.rerate")
    ).one()
    assert rerate.payload["enterprise_ids"] == [world.enterprise.id]
    clock = _decision_clock(db_session, case)
    assert clock.stopped_at == decided_at and clock.outcome == ClockOutcome.MET
    with pytest.raises(CaseStateError):
        head.decide(case.id)  # once

    group.execute(case.id, note="罚款已缴清")
    assert case.status == CaseStatus.EXECUTED and case.execution_note == "罚款已缴清"
    assert [e.action for e in case.events] == [
        "file",
        "investigate",
        "propose",
        "decide",
        "execute",
    ]
    assert [e.to_status.value for e in case.events] == [
        "filed",
        "investigating",
        "decision_proposed",
        "decided",
        "executed",
    ]
    actions = db_session.scalars(
        select(AuditLog.action)
        .where(AuditLog.entity_type == "penalty_cases", AuditLog.entity_id == str(case.id))
        .order_by(AuditLog.id)
    ).all()
    assert actions == [
        "case.file",
        "case.investigate",
        "case.propose",
        "case.decide",
        "case.execute",
    ]
    versions = _feed(db_session, "case", str(case.uuid))
    assert [v.payload["status"] for v in versions] == [
        "filed",
        "investigating",
        "decision_proposed",
        "decided",
        "executed",
    ]
    assert versions[-1].payload["decision_no"] == "DEC-2026-000001"


def test_transitions_refuse_the_wrong_state_and_stale_versions(db_session: Session) -> None:
    world = make_world(db_session)
    case = file_case(world)
    group = world.service(world.lead)
    head = world.service(world.supervisor)
    with pytest.raises(CaseStateError):
        group.propose_decision(case.id, measure="warning", amount=None, legal_basis="x")
    with pytest.raises(CaseStateError):
        group.execute(case.id)
    with pytest.raises(CaseStateError):
        head.legal_review(case.id, approve=True, opinion="ok")
    with pytest.raises(CaseStaleVersionError) as stale:
        group.start_investigation(case.id, if_match=7)
    assert stale.value.current.version == 1
    group.start_investigation(case.id, if_match=1)
    assert case.version == 2
    with pytest.raises(CaseStateError):
        group.start_investigation(case.id)
    with pytest.raises(CaseNotFoundError):
        group.start_investigation(10**9)


def test_a_major_decision_goes_through_legal_review_outside_the_group(
    db_session: Session,
) -> None:
    world = make_world(db_session)
    # The head is in this group: it may not review the group's own proposal.
    case = file_case(world, members=[world.lead.id, world.member.id, world.supervisor.id])
    to_proposal(world, case, measure="revocation", amount=None)
    assert case.is_major and case.status == CaseStatus.LEGAL_REVIEW
    head = world.service(world.supervisor)
    reviewer = world.service(world.reviewer)
    with pytest.raises(CaseStateError):
        reviewer.decide(case.id)  # not before the review
    with pytest.raises(CasePermissionError):
        head.legal_review(case.id, approve=True, opinion="同意")
    with pytest.raises(CasePermissionError):
        world.service(world.lead).legal_review(case.id, approve=True, opinion="同意")
    with pytest.raises(CaseValidationError) as refused:
        reviewer.legal_review(case.id, approve=False, opinion=" ")
    assert set(refused.value.errors) == {"opinion"}

    reviewer.legal_review(case.id, approve=False, opinion="证据不足，补充调查")
    assert case.status == CaseStatus.INVESTIGATING
    assert case.reviewed_by_id == world.reviewer.id
    to_proposal(world, case, measure="revocation", amount=None)
    assert case.status == CaseStatus.LEGAL_REVIEW and case.reviewed_at is None
    reviewer.legal_review(case.id, approve=True, opinion="事实清楚，证据确凿，同意")
    assert case.status == CaseStatus.DECISION_PROPOSED
    reviewer.decide(case.id, decision_no="东市监罚〔2026〕88号")
    assert case.status == CaseStatus.DECIDED
    assert case.penalty.decision_no == "东市监罚〔2026〕88号"
    assert [e.action for e in case.events] == [
        "file",
        "investigate",
        "propose",
        "review.return",
        "propose",
        "review.approve",
        "decide",
    ]


def test_large_fines_are_major_and_a_declared_major_decision_is_reviewed(
    db_session: Session,
) -> None:
    world = make_world(db_session)
    large = file_case(world)
    to_proposal(world, large, measure="fine", amount="100000")
    assert large.is_major and large.status == CaseStatus.LEGAL_REVIEW
    small = file_case(world)
    world.service(world.lead).start_investigation(small.id)
    world.service(world.lead).propose_decision(
        small.id, measure="warning", amount=None, legal_basis="x", is_major=True
    )
    assert small.is_major and small.status == CaseStatus.LEGAL_REVIEW


def test_decision_numbers_are_unique(db_session: Session) -> None:
    world = make_world(db_session)
    first, second = file_case(world), file_case(world)
    for case in (first, second):
        to_proposal(world, case)
    head = world.service(world.supervisor)
    head.decide(first.id, decision_no="东市监罚〔2026〕1号")
    with pytest.raises(CaseValidationError) as refused:
        head.decide(second.id, decision_no="东市监罚〔2026〕1号")
    assert set(refused.value.errors) == {"decision_no"}
    assert second.status == CaseStatus.DECISION_PROPOSED


# ---------------------------------------------------------------------- withdrawal, deadline


def test_withdrawal_needs_a_reason_stops_the_deadline_and_is_final(db_session: Session) -> None:
    world = make_world(db_session)
    case = file_case(world)
    world.service(world.lead).start_investigation(case.id)
    with pytest.raises(CasePermissionError):
        world.service(world.lead).withdraw(case.id, reason="x")
    head = world.service(world.supervisor, FILED + dt.timedelta(days=3))
    with pytest.raises(CaseValidationError) as refused:
        head.withdraw(case.id, reason="")
    assert set(refused.value.errors) == {"reason"}
    head.withdraw(case.id, reason="违法事实不能成立")
    assert case.status == CaseStatus.WITHDRAWN
    assert case.withdrawal_reason == "违法事实不能成立"
    assert case.withdrawn_at == FILED + dt.timedelta(days=3)
    assert _decision_clock(db_session, case).stopped_at is not None
    with pytest.raises(CaseStateError):
        world.service(world.lead).propose_decision(
            case.id, measure="warning", amount=None, legal_basis="x"
        )
    with pytest.raises(CaseStateError):
        head.withdraw(case.id, reason="again")
    decided = file_case(world)
    to_proposal(world, decided)
    head.decide(decided.id)
    with pytest.raises(CaseStateError):
        head.withdraw(decided.id, reason="too late")


def test_the_deadline_is_extended_once_by_30_days_then_only_collectively(
    db_session: Session,
) -> None:
    world = make_world(db_session)
    case = file_case(world)
    with pytest.raises(CasePermissionError):
        world.service(world.lead).extend_deadline(case.id, reason="案情复杂")
    head = world.service(world.supervisor)
    with pytest.raises(CaseValidationError) as refused:
        head.extend_deadline(case.id, reason="案情复杂", days=60)
    assert set(refused.value.errors) == {"days"}
    head.extend_deadline(case.id, reason="案情复杂，需检验鉴定")
    # 8 October + 30 days = Saturday 7 November, rolled to Monday 9 November.
    clock = _decision_clock(db_session, case)
    assert clocks.due_date_of(clock.due_at) == dt.date(2026, 11, 9)
    assert clock.extensions[-1]["reason"] == "案情复杂，需检验鉴定"
    assert case.deadline_extensions == 1
    assert case.events[-1].action == "extend"
    assert case.events[-1].details == {"days": 30, "from": "2026-10-08", "to": "2026-11-09"}
    with pytest.raises(CaseValidationError) as refused:
        head.extend_deadline(case.id, reason="仍需鉴定")
    assert set(refused.value.errors) == {"days"}
    head.extend_deadline(case.id, reason="负责人集体讨论决定继续延期", days=20)
    assert clocks.due_date_of(_decision_clock(db_session, case).due_at) == dt.date(2026, 11, 30)


def test_the_scan_raises_the_decision_deadline_alerts(db_session: Session) -> None:
    world = make_world(db_session)
    case = file_case(world)
    clock = _decision_clock(db_session, case)
    assert clocks.scan(db_session, FILED + dt.timedelta(days=30)) == []
    warned = clocks.scan(db_session, clock.warn_at + dt.timedelta(minutes=1))
    assert [(a.clock_id, a.level) for a in warned] == [(clock.id, AlertLevel.WARNING)]
    assert warned[0].department_id == world.department.id
    # 1 October is the unrolled 90th day: no longer a deadline, so nothing "due" yet.
    assert clocks.scan(db_session, dt.datetime(2026, 10, 1, 4, tzinfo=dt.UTC)) == []
    overdue = clocks.scan(db_session, dt.datetime(2026, 10, 8, 16, 1, tzinfo=dt.UTC))
    assert [a.level for a in overdue] == [AlertLevel.OVERDUE]
    # Deciding late stops the clock as late.
    to_proposal(world, case, now=dt.datetime(2026, 10, 9, 1, tzinfo=dt.UTC))
    world.service(world.supervisor, dt.datetime(2026, 10, 9, 2, tzinfo=dt.UTC)).decide(case.id)
    assert _decision_clock(db_session, case).outcome == ClockOutcome.LATE


# ---------------------------------------------------------------------- reconsideration


def _decided(world: World, measure: str = "fine", amount: str | None = "5000") -> PenaltyCase:
    case = file_case(world)
    to_proposal(world, case, measure=measure, amount=amount)
    if case.status == CaseStatus.LEGAL_REVIEW:
        world.service(world.reviewer).legal_review(case.id, approve=True, opinion="同意")
    world.service(world.supervisor).decide(case.id)
    return case


def test_reconsideration_upheld_keeps_the_decision(db_session: Session) -> None:
    world = make_world(db_session)
    case = _decided(world)
    group, head = world.service(world.lead), world.service(world.supervisor)
    with pytest.raises(CaseStateError):
        head.decide_reconsideration(case.id, outcome="upheld", note="x")  # nothing requested
    with pytest.raises(CaseValidationError):
        group.request_reconsideration(case.id, note="")
    group.request_reconsideration(case.id, note="当事人向市政府申请行政复议")
    assert case.reconsideration_status == ReconsiderationStatus.REQUESTED
    with pytest.raises(CaseStateError):
        group.request_reconsideration(case.id, note="again")
    with pytest.raises(CasePermissionError):
        group.decide_reconsideration(case.id, outcome="upheld", note="x")
    with pytest.raises(CaseValidationError) as refused:
        head.decide_reconsideration(case.id, outcome="requested", note="x")
    assert set(refused.value.errors) == {"outcome"}
    head.decide_reconsideration(case.id, outcome="upheld", note="复议维持")
    assert case.reconsideration_status == ReconsiderationStatus.UPHELD
    assert case.penalty.repaired_at is None and case.status == CaseStatus.DECIDED
    assert [e.action for e in case.events][-2:] == [
        "reconsideration.request",
        "reconsideration.decide",
    ]


def test_reconsideration_revoked_stops_the_penalty_counting(db_session: Session) -> None:
    world = make_world(db_session)
    case = _decided(world)
    penalty = case.penalty
    world.service(world.lead).request_reconsideration(case.id, note="申请复议")
    head = world.service(world.supervisor, FILED + dt.timedelta(days=60))
    head.decide_reconsideration(case.id, outcome="revoked", note="复议撤销原处罚决定")
    assert penalty.revoked_at == FILED + dt.timedelta(days=60)
    assert penalty.repaired_at is None  # revoked, which is not a credit repair
    shown = case_document(case, [])["penalty"]
    assert (shown["revoked"], shown["repaired"]) == (True, False)
    versions = _feed(db_session, "penalty", penalty.decision_no)
    assert [v.payload.get("status") for v in versions] == [None, "revoked"]
    rerates = db_session.scalars(
        select(OutboxMessage).where(OutboxMessage.topic == "credit.rerate")
    ).all()
    assert len(rerates) == 2 and "revoked" in rerates[-1].payload["detail"]
    assert case.status == CaseStatus.DECIDED


def test_reconsideration_changed_replaces_the_penalty(db_session: Session) -> None:
    world = make_world(db_session)
    case = _decided(world)
    old = case.penalty
    world.service(world.lead).request_reconsideration(case.id, note="申请复议")
    head = world.service(world.supervisor)
    with pytest.raises(CaseValidationError) as refused:
        head.decide_reconsideration(case.id, outcome="changed", note="变更")
    assert {"measure", "legal_basis"} <= set(refused.value.errors)
    head.decide_reconsideration(
        case.id,
        outcome="changed",
        note="复议变更为警告",
        measure="warning",
        legal_basis="《行政复议法》第六十三条",
    )
    assert old.revoked_at is not None and old.repaired_at is None
    assert case.penalty is not old and case.penalty.decision_no == f"{old.decision_no}-R"
    assert case.penalty.measure == PenaltyMeasure.WARNING and case.penalty.amount is None
    assert case.reconsideration_status == ReconsiderationStatus.CHANGED
    assert case.events[-1].details["revoked_penalty"] == old.decision_no


def test_revocations_recorded_in_repaired_at_move_to_revoked_at(
    backend: str, new_database_url
) -> None:  # type: ignore[no-untyped-def]
    """Migration 0017 on real rows: before it, a reconsideration set ``repaired_at``. Going
    down to 0016 puts the revocation back there; coming up moves it to ``revoked_at`` again
    and leaves a credit repair where it is."""
    engine = make_engine(new_database_url(backend))
    migrate.upgrade(engine)
    standing = select(Penalty.decision_no, Penalty.repaired_at, Penalty.revoked_at)

    def rows() -> dict[str, tuple[bool, bool]]:
        with engine.connect() as connection:
            return {
                number: (repaired_at is not None, revoked_at is not None)
                for number, repaired_at, revoked_at in connection.execute(standing)
            }

    try:
        with Session(engine) as session:
            factories.bind(session)
            world = make_world(session)
            case = _decided(world)
            revoked = case.penalty.decision_no
            world.service(world.lead).request_reconsideration(case.id, note="申请复议")
            head = world.service(world.supervisor)
            head.decide_reconsideration(case.id, outcome="revoked", note="撤销")
            other = _decided(world).penalty
            other.repaired_at = FILED  # a credit repair
            repaired = other.decision_no
            session.commit()
        assert rows() == {revoked: (False, True), repaired: (True, False)}

        migrate.downgrade(engine, "0016")
        with engine.connect() as connection:
            old = connection.exec_driver_sql(
                "SELECT decision_no, repaired_at IS NOT NULL FROM penalties"
            )
            assert {number: bool(flag) for number, flag in old} == {revoked: True, repaired: True}

        migrate.upgrade(engine)
        assert rows() == {revoked: (False, True), repaired: (True, False)}
    finally:
        engine.dispose()


# ---------------------------------------------------------------------- scope and roles


def test_department_scope_and_roles(db_session: Session) -> None:
    world = make_world(db_session)
    case = file_case(world)
    other_case = world.service(world.foreign_supervisor).file(
        enterprise_id=world.enterprise.id,
        summary="异地案件",
        members=[world.foreign_inspector.id, world.foreign_supervisor.id],
    )
    # Reading: the department's officers and liaison, the bureau's admin; not the others.
    for reader in (world.supervisor, world.colleague, world.liaison, world.admin):
        assert world.service(reader).get(case.id) is case
    for outsider in (world.foreign_inspector, world.foreign_supervisor):
        with pytest.raises(CasePermissionError):
            world.service(outsider).get(case.id)
    with pytest.raises(CasePermissionError):
        world.service(world.enterprise_user).get(case.id)
    # Lists hold what one may read.
    assert [c.id for c in world.service(world.supervisor).list_cases().cases] == [case.id]
    assert [c.id for c in world.service(world.foreign_inspector).list_cases().cases] == [
        other_case.id
    ]
    assert world.service(world.admin).list_cases().total == 2
    assert world.service(world.colleague).list_cases(mine=True).total == 0
    assert world.service(world.lead).list_cases(mine=True, status="filed").total == 1
    with pytest.raises(CasePermissionError):
        world.service(world.enterprise_user).list_cases()
    # Acting: the group and the head; an officer of the department outside the group, a
    # liaison or another department's head may not.
    for user in (world.colleague, world.liaison, world.foreign_supervisor):
        with pytest.raises(CasePermissionError):
            world.service(user).start_investigation(case.id)
    world.service(world.supervisor).start_investigation(case.id)
    for user in (world.lead, world.foreign_supervisor, world.liaison):
        with pytest.raises(CasePermissionError):
            world.service(user).withdraw(case.id, reason="x")
    # A user without a department who is not in the group sees nothing.
    loner = _user(db_session, "loner", Role.INSPECTOR)
    db_session.flush()
    with pytest.raises(CasePermissionError):
        world.service(loner).get(case.id)
    assert world.service(loner).list_cases().total == 0


def test_the_group_can_be_changed_by_its_lead_or_the_head(db_session: Session) -> None:
    world = make_world(db_session)
    case = file_case(world)
    with pytest.raises(CasePermissionError):
        world.service(world.member).set_members(case.id, [world.member.id, world.colleague.id])
    with pytest.raises(CaseValidationError):
        world.service(world.lead).set_members(case.id, [world.lead.id])
    world.service(world.lead).set_members(
        case.id, [world.lead.id, world.colleague.id], lead_id=world.colleague.id
    )
    assert sorted((m.user_id, m.role.value) for m in case.members) == sorted(
        [(world.lead.id, "member"), (world.colleague.id, "lead")]
    )
    assert case.events[-1].action == "members" and case.status == CaseStatus.FILED
    db_session.flush()
    db_session.expire_all()
    assert {m.user_id for m in db_session.get(PenaltyCase, case.id).members} == {
        world.lead.id,
        world.colleague.id,
    }


# ---------------------------------------------------------------------- from an inspection


def _finished_inspection(
    session: Session, result: InspectionResult
) -> tuple[FieldInspection, FieldWork]:
    work = drawn_field_work(session)
    inspection = FieldInspection(
        uuid=uuid.uuid4(),
        task=work.task,
        inspector_id=work.lead.inspector_id,
        status=InspectionStatus.FINISHED,
        version=3,
        created_digest="0" * 64,
        reported_crs="wgs84",
        reported_lon=work.lon,
        reported_lat=work.lat,
        checkin_lon=work.lon,
        checkin_lat=work.lat,
        accuracy_m=5.0,
        device_time=FILED,
        geofence=GeofenceVerdict.INSIDE,
        geofence_radius_m=200.0,
        answers={},
        result=result,
        result_note="现场发现过期食品12袋",
        finished_at=FILED,
    )
    session.add(inspection)
    session.flush()
    return inspection, work


def test_an_inspection_opens_its_case_once(db_session: Session) -> None:
    inspection, work = _finished_inspection(db_session, InspectionResult.CASE_FILED)
    case = open_case_from_inspection(db_session, work.lead, inspection, clock=lambda: FILED)
    again = open_case_from_inspection(db_session, work.lead, inspection, clock=lambda: FILED)
    assert again is case and db_session.scalars(select(PenaltyCase)).all() == [case]
    assert case.origin_inspection_id == inspection.id
    assert case.enterprise_id == inspection.task.enterprise_id
    assert case.department_id == inspection.inspector.department_id
    assert case.summary == "现场发现过期食品12袋" and not case.suspected_crime
    assert case.filed_by_id == work.lead.id
    assert case.lead.user_id == work.lead.id
    assert {m.user_id for m in case.members} == {work.lead.id, work.member.id}
    assert case.events[0].details["inspection"] == str(inspection.uuid)
    assert _decision_clock(db_session, case).running
    # The case is the group's to work on.
    CaseService(db_session, work.member, clock=lambda: FILED).start_investigation(case.id)
    # Learning later that it is a suspected crime marks the same case.
    open_case_from_inspection(db_session, None, inspection, suspected_crime=True)
    assert case.suspected_crime and case.events[-1].action == "suspected_crime"
    assert case.events[-1].actor_id is None


def test_only_a_case_result_opens_a_case(db_session: Session) -> None:
    inspection, work = _finished_inspection(db_session, InspectionResult.RECTIFICATION_ORDERED)
    with pytest.raises(CaseStateError):
        open_case_from_inspection(db_session, work.lead, inspection)
    inspection.result = InspectionResult.SUSPECTED_CRIME
    case = open_case_from_inspection(db_session, work.lead, inspection)
    assert case.suspected_crime


# ---------------------------------------------------------------------- the closed loop


def test_a_decided_penalty_re_rates_the_enterprise_and_changes_its_tier(
    db_session: Session,
) -> None:
    """Decision → penalty → credit.rerate in the outbox → the rating task's work → a worse
    tier, because the scorecard counts a revocation heavily."""
    world = make_world(db_session)
    rating_time = FILED + dt.timedelta(days=41)
    RatingService(db_session, clock=lambda: FILED).rate([world.enterprise.id], cause="batch")
    db_session.expire_all()
    before = world.enterprise.credit_tier
    assert before is not None

    case = _decided(world, measure="revocation", amount=None)
    assert case.penalty.measure == PenaltyMeasure.REVOCATION
    message = db_session.scalars(
        select(OutboxMessage).where(OutboxMessage.topic == "credit.rerate")
    ).one()
    # What enforcement.tasks.rerate_enterprises does with the message.
    summary = RatingService(db_session, clock=lambda: rating_time).rate(
        message.payload["enterprise_ids"],
        cause=message.payload["cause"],
        detail=message.payload["detail"],
    )
    assert summary.rated == 1
    db_session.expire_all()
    after = db_session.get_one(Enterprise, world.enterprise.id).credit_tier
    assert TIER_ORDER.index(after) > TIER_ORDER.index(before), (before, after)


def test_a_revoked_penalty_stops_counting_in_the_rating(db_session: Session) -> None:
    world = make_world(db_session)
    RatingService(db_session, clock=lambda: FILED).rate([world.enterprise.id], cause="batch")
    db_session.expire_all()
    before = world.enterprise.credit_tier
    case = _decided(world, measure="revocation", amount=None)
    RatingService(db_session, clock=lambda: FILED).rate([world.enterprise.id], cause="event")
    db_session.expire_all()
    assert db_session.get_one(Enterprise, world.enterprise.id).credit_tier != before
    world.service(world.lead).request_reconsideration(case.id, note="申请复议")
    world.service(world.supervisor).decide_reconsideration(case.id, outcome="revoked", note="撤销")
    RatingService(db_session, clock=lambda: FILED).rate([world.enterprise.id], cause="event")
    db_session.expire_all()
    assert db_session.get_one(Enterprise, world.enterprise.id).credit_tier == before
    assert db_session.scalar(select(Penalty.revoked_at)) is not None


# ---------------------------------------------------------------------- closing


def test_closing_after_execution(db_session: Session) -> None:
    world = make_world(db_session)
    case = _decided(world)
    head = world.service(world.supervisor)
    with pytest.raises(CaseStateError):
        head.close(case.id)  # not executed yet
    world.service(world.lead).execute(case.id)
    with pytest.raises(CasePermissionError):
        world.service(world.lead).close(case.id)
    head.close(case.id, note="结案")
    assert case.status == CaseStatus.CLOSED and case.closed_at == FILED
    assert _feed(db_session, "case", str(case.uuid))[-1].payload["status"] == "closed"
    with pytest.raises(CaseStateError):
        head.close(case.id)
    # A closed case may still meet a reconsideration; it cannot be re-opened otherwise.
    world.service(world.lead).request_reconsideration(case.id, note="申请复议")
    assert case.status == CaseStatus.CLOSED


def test_a_reconsideration_under_way_holds_the_case_open(db_session: Session) -> None:
    world = make_world(db_session)
    case = _decided(world)
    world.service(world.lead).execute(case.id)
    world.service(world.lead).request_reconsideration(case.id, note="申请复议")
    with pytest.raises(CaseStateError, match="reconsideration"):
        world.service(world.supervisor).close(case.id)
    world.service(world.supervisor).decide_reconsideration(case.id, outcome="upheld", note="维持")
    world.service(world.supervisor).close(case.id)
    assert case.status == CaseStatus.CLOSED


def test_a_revoked_decision_closes_without_execution(db_session: Session) -> None:
    world = make_world(db_session)
    case = _decided(world)
    world.service(world.lead).request_reconsideration(case.id, note="申请复议")
    world.service(world.supervisor).decide_reconsideration(case.id, outcome="revoked", note="撤销")
    world.service(world.supervisor).close(case.id, note="原决定被撤销")
    assert case.status == CaseStatus.CLOSED and case.executed_at is None


def test_a_fine_never_closes_a_case_with_a_pending_transfer(db_session: Session) -> None:
    """不得以罚代刑: the fine is decided and paid, but the transfer to public security is
    pending; the case stays open until the transfer reaches a final state."""
    world = make_world(db_session)
    case = file_case(world, suspected_crime=True)
    to_proposal(world, case, measure="fine", amount="20000")
    world.service(world.supervisor).decide(case.id)
    world.service(world.lead).execute(case.id, note="罚款已缴清")
    # No transfer reported at all: a suspected crime is not closed with a fine either.
    with pytest.raises(CaseStateError, match="suspected crime"):
        world.service(world.supervisor).close(case.id)
    transfers = TransferService(db_session, world.supervisor, clock=lambda: FILED)
    transfers.report(
        case.id,
        {
            "facts": "当事人销售假冒注册商标的商品，货值金额约八万元",
            "evidence_summary": "现场检查笔录、扣押物品清单、鉴定意见",
            "suspected_offence": "涉嫌销售假冒注册商标的商品罪",
            "legal_basis": "《刑法》第二百一十四条",
        },
    )
    with pytest.raises(CaseStateError, match="pending transfer"):
        world.service(world.supervisor).close(case.id)
    assert case.status == CaseStatus.EXECUTED
    transfers.decide(case.id, "reject", "证据不足以认定涉嫌犯罪")  # final: no longer pending
    world.service(world.supervisor).close(case.id)
    assert case.status == CaseStatus.CLOSED


# ---------------------------------------------------------------------- the command line


def test_case_list_and_show_on_the_command_line(
    backend: str, new_database_url, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("DATABASE_URL", raising=False)
    url = new_database_url(backend)
    engine = make_engine(url)
    migrate.upgrade(engine)
    with Session(engine) as session:
        factories.bind(session)
        world = make_world(session)
        case = file_case(world)
        to_proposal(world, case)
        world.service(world.supervisor).decide(case.id)
        other = world.service(world.foreign_supervisor).file(
            enterprise_id=world.enterprise.id,
            summary="异地案件",
            members=[world.foreign_inspector.id, world.foreign_supervisor.id],
        )
        session.commit()
        names = {"head": world.supervisor.username, "foreign": world.foreign_inspector.username}
        case_no, other_no = case.case_no, other.case_no
    engine.dispose()
    ini = tmp_path / "test.ini"
    ini.write_text(f"[app:main]\nuse = egg:suijian\nsqlalchemy.url = {url}\n")
    runner = CliRunner()

    def run(*args: str, code: int = 0) -> str:
        result = runner.invoke(main, ["-c", str(ini), *args])
        assert result.exit_code == code, result.output
        return result.output

    listed = run("case", "list")
    assert case_no in listed and other_no in listed and "2 of 2" in listed
    assert "due 2026-10-08" in listed  # the open case's deadline; the decided one has none
    mine = json.loads(run("case", "list", "--as", names["head"], "--json"))
    assert [c["case_no"] for c in mine["cases"]] == [case_no]
    assert json.loads(run("case", "list", "--status", "decided", "--json"))["total"] == 1
    shown = run("case", "show", case_no)
    assert "decided" in shown and "DEC-2026-000001" in shown and "history:" in shown
    assert "clock case.decision: due 2026-10-08 (met)" in shown
    detail = json.loads(run("case", "show", case_no, "--json"))
    assert [e["action"] for e in detail["events"]] == ["file", "investigate", "propose", "decide"]
    refused = run("case", "show", case_no, "--as", names["foreign"], code=1)
    assert "case not found" in refused  # out of scope: told like a missing case
    assert "not found" in run("case", "show", "CASE-1999-000001", code=1)
    assert "--mine needs --as" in run("case", "list", "--mine", code=2)
