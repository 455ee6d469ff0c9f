"""Credit repair: who may apply for what, when, and what an approval changes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from enforcement.models import (
    CreditList,
    ListEntry,
    OutboxMessage,
    Penalty,
    PenaltyMeasure,
    RepairStatus,
    Role,
    User,
)
from enforcement.services import audit
from enforcement.services.credit_repair import (
    RepairNotFoundError,
    RepairPermissionError,
    RepairService,
    RepairStateError,
    RepairValidationError,
    get_repair,
    list_repairs,
)
from tests.factories import FAST_HASHER, EnterpriseFactory

NOW = dt.datetime(2026, 9, 1, 2, 0, tzinfo=dt.UTC)
STATEMENT = "已在新住所完成登记变更，并可通过登记住所联系。"
EVIDENCE = [{"name": "变更登记通知书.pdf", "sha256": "ab" * 32}]


@pytest.fixture
def make_user(db_session: Session) -> Callable[..., User]:
    def make(username: str, role: Role, **fields: Any) -> User:
        user = User(
            username=username,
            display_name=username,
            role=role,
            password_hash=FAST_HASHER.hash("x"),
            **fields,
        )
        db_session.add(user)
        db_session.flush()
        return user

    return make


@pytest.fixture
def world(db_session: Session, make_user: Callable[..., User]) -> dict[str, Any]:
    firm, other = EnterpriseFactory(), EnterpriseFactory()
    entry = ListEntry(
        enterprise=firm,
        list=CreditList.ABNORMAL_OPERATION,
        reason="通过登记的住所无法联系",
        listed_on=dt.date(2026, 3, 1),
    )
    blacklisted = ListEntry(
        enterprise=firm,
        list=CreditList.SERIOUS_ILLEGAL,
        reason="提交虚假材料",
        listed_on=dt.date(2026, 3, 1),
    )
    old_penalty = Penalty(
        enterprise=firm,
        decision_no="东市监罚〔2025〕1号",
        decided_on=dt.date(2025, 6, 1),
        measure=PenaltyMeasure.CONFISCATION,
    )
    fresh_penalty = Penalty(
        enterprise=firm,
        decision_no="东市监罚〔2026〕7号",
        decided_on=dt.date(2026, 8, 1),
        measure=PenaltyMeasure.CONFISCATION,
    )
    others_entry = ListEntry(
        enterprise=other,
        list=CreditList.ABNORMAL_OPERATION,
        reason="未按期公示年报",
        listed_on=dt.date(2026, 3, 1),
    )
    db_session.add_all([entry, blacklisted, old_penalty, fresh_penalty, others_entry])
    db_session.flush()
    return {
        "firm": firm,
        "entry": entry,
        "blacklisted": blacklisted,
        "old_penalty": old_penalty,
        "fresh_penalty": fresh_penalty,
        "others_entry": others_entry,
        "applicant": make_user("firm", Role.ENTERPRISE, enterprise_id=firm.id),
        "supervisor": make_user("boss", Role.SUPERVISOR),
        "inspector": make_user("officer", Role.INSPECTOR),
    }


def _service(session: Session, user: User) -> RepairService:
    return RepairService(session, user, clock=lambda: NOW)


def test_approval_removes_the_list_entry_and_queues_a_rerating(
    db_session: Session, world: dict[str, Any]
) -> None:
    repair = _service(db_session, world["applicant"]).apply(
        subject="list_entry", subject_id=world["entry"].id, statement=STATEMENT, evidence=EVIDENCE
    )
    assert repair.status is RepairStatus.SUBMITTED and repair.evidence == EVIDENCE
    with pytest.raises(RepairStateError, match="still open"):
        _service(db_session, world["applicant"]).apply(
            subject="list_entry", subject_id=world["entry"].id, statement=STATEMENT
        )

    _service(db_session, world["supervisor"]).decide(repair, approve=True)
    assert repair.status is RepairStatus.APPROVED and repair.decided_at == NOW
    assert world["entry"].removed_on == dt.date(2026, 9, 1)
    assert "信用修复" in world["entry"].removal_reason
    message = db_session.scalars(select(OutboxMessage)).one()
    assert message.topic == "credit.rerate" and message.dispatched_at is None
    assert message.payload["enterprise_ids"] == [world["firm"].id]
    assert [row.action for row in audit.history(db_session, repair)] == [
        "credit.repair.apply",
        "credit.repair.approve",
    ]
    with pytest.raises(RepairStateError, match="already approved"):
        _service(db_session, world["supervisor"]).decide(repair, approve=False, reason="x")


def test_penalty_repair_waits_for_the_minimum_publicity(
    db_session: Session, world: dict[str, Any]
) -> None:
    service = _service(db_session, world["applicant"])
    with pytest.raises(RepairStateError, match="from 2027-08-01"):
        service.apply(subject="penalty", subject_id=world["fresh_penalty"].id, statement=STATEMENT)
    repair = service.apply(
        subject="penalty", subject_id=world["old_penalty"].id, statement=STATEMENT
    )
    _service(db_session, world["supervisor"]).decide(repair, approve=True)
    assert world["old_penalty"].repaired_at == NOW
    assert world["old_penalty"].revoked_at is None  # repaired, which is not revoked


def test_a_revoked_penalty_is_not_repaired_and_says_why(
    db_session: Session, world: dict[str, Any]
) -> None:
    world["old_penalty"].revoked_at = NOW  # revoked on reconsideration
    db_session.flush()
    service = _service(db_session, world["applicant"])
    with pytest.raises(RepairStateError, match="revoked on reconsideration"):
        service.apply(subject="penalty", subject_id=world["old_penalty"].id, statement=STATEMENT)
    assert world["old_penalty"].repaired_at is None


def test_rejection_needs_a_reason_and_changes_nothing(
    db_session: Session, world: dict[str, Any]
) -> None:
    repair = _service(db_session, world["applicant"]).apply(
        subject="list_entry", subject_id=world["entry"].id, statement=STATEMENT
    )
    supervisor = _service(db_session, world["supervisor"])
    with pytest.raises(RepairValidationError) as refused:
        supervisor.decide(repair, approve=False)
    assert "reason" in refused.value.errors
    supervisor.decide(repair, approve=False, reason="住所仍无法联系")
    assert repair.status is RepairStatus.REJECTED and world["entry"].removed_on is None
    assert db_session.scalars(select(OutboxMessage)).all() == []


def test_what_cannot_be_applied_for(db_session: Session, world: dict[str, Any]) -> None:
    service = _service(db_session, world["applicant"])
    with pytest.raises(RepairStateError, match="serious-illegal"):
        service.apply(subject="list_entry", subject_id=world["blacklisted"].id, statement=STATEMENT)
    with pytest.raises(RepairNotFoundError):  # another enterprise's record does not exist
        service.apply(
            subject="list_entry", subject_id=world["others_entry"].id, statement=STATEMENT
        )
    with pytest.raises(RepairValidationError) as invalid:
        service.apply(
            subject="list_entry",
            subject_id=world["entry"].id,
            statement="短",
            evidence=[{"name": "x", "sha256": "../../etc/passwd"}],
        )
    assert set(invalid.value.errors) == {"statement", "evidence[0].sha256"}
    with pytest.raises(RepairValidationError, match="subject"):
        service.apply(subject="fine", subject_id=1, statement=STATEMENT)
    with pytest.raises(RepairPermissionError):
        _service(db_session, world["supervisor"]).apply(
            subject="list_entry", subject_id=world["entry"].id, statement=STATEMENT
        )


def test_who_sees_and_decides_applications(
    db_session: Session, world: dict[str, Any], make_user: Callable[..., User]
) -> None:
    repair = _service(db_session, world["applicant"]).apply(
        subject="list_entry", subject_id=world["entry"].id, statement=STATEMENT
    )
    stranger = make_user("stranger", Role.ENTERPRISE, enterprise_id=EnterpriseFactory().id)
    assert get_repair(db_session, world["applicant"], repair.id) is repair
    assert get_repair(db_session, world["supervisor"], repair.id) is repair
    for viewer in (stranger, world["inspector"]):
        with pytest.raises(RepairNotFoundError):
            get_repair(db_session, viewer, repair.id)
        assert list_repairs(db_session, viewer) == []
    assert list_repairs(db_session, world["supervisor"], RepairStatus.SUBMITTED) == [repair]
    with pytest.raises(RepairPermissionError):
        _service(db_session, world["inspector"]).decide(repair, approve=True)
    with pytest.raises(RepairPermissionError):
        _service(db_session, world["applicant"]).decide(repair, approve=True)
