"""Commitments (告知承诺): filed by the enterprise itself about an item or a licence, withdrawn
with a reason, audit-logged; read by the enterprise (its own only) and by supervisors; reviewed
by the item's department (accepted or rejected, then verified true or found false), a false
commitment being audited, fed to the data center and re-rating the enterprise."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from enforcement.models import (
    AuditLog,
    Commitment,
    CommitmentStatus,
    FeedRecord,
    OutboxMessage,
    Role,
    User,
)
from enforcement.services.commitments import (
    CommitmentNotFoundError,
    CommitmentPermissionError,
    CommitmentService,
    CommitmentStaleVersionError,
    CommitmentStateError,
    CommitmentValidationError,
    get_commitment,
    list_commitments,
)
from enforcement.services.credit_indicators import compute_indicators
from tests.factories import DepartmentFactory, EnterpriseFactory, InspectionItemFactory

NOW = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC)
TEXT = "本企业承诺持有效食品经营许可证从事经营活动，并按要求公示。"


def _user(session: Session, username: str, role: Role, **fields: Any) -> User:
    user = User(username=username, display_name=username, role=role, password_hash="x", **fields)
    session.add(user)
    session.flush()
    return user


@pytest.fixture
def people(db_session: Session) -> dict[str, Any]:
    own, other = EnterpriseFactory(), EnterpriseFactory()
    return {
        "own": own,
        "item": InspectionItemFactory(),
        "firm": _user(db_session, "firm", Role.ENTERPRISE, enterprise_id=own.id),
        "rival": _user(db_session, "rival", Role.ENTERPRISE, enterprise_id=other.id),
        "boss": _user(db_session, "boss", Role.SUPERVISOR),
        "officer": _user(db_session, "officer", Role.INSPECTOR),
    }


def test_an_enterprise_files_and_withdraws_its_commitment_with_audit(
    db_session: Session, people: dict[str, Any]
) -> None:
    service = CommitmentService(db_session, people["firm"], clock=lambda: NOW)
    filed = service.file(text=f"  {TEXT}  ", item_id=people["item"].id, licence="JY133010600")
    assert filed.enterprise_id == people["own"].id and filed.text == TEXT
    assert filed.status is CommitmentStatus.FILED and filed.created_at == NOW
    licence_only = service.file(text=TEXT, licence="食品经营许可证 JY13301060012345")
    assert licence_only.item_id is None
    withdrawn = service.withdraw(filed.id, reason="许可证已注销")
    assert withdrawn.status is CommitmentStatus.WITHDRAWN and withdrawn.withdrawn_at == NOW
    with pytest.raises(CommitmentStateError):
        service.withdraw(filed.id, reason="再次撤回")
    actions = db_session.scalars(
        select(AuditLog.action).where(AuditLog.entity_type == Commitment.__tablename__)
    ).all()
    assert sorted(actions) == ["commitment.file", "commitment.file", "commitment.withdraw"]


def test_bad_input_names_each_field(db_session: Session, people: dict[str, Any]) -> None:
    service = CommitmentService(db_session, people["firm"])
    with pytest.raises(CommitmentValidationError) as caught:
        service.file(text="短", licence="")
    assert set(caught.value.errors) == {"text", "item_id"}
    with pytest.raises(CommitmentValidationError) as caught:
        service.file(text=TEXT, item_id=99999999, licence="x" * 201)
    assert set(caught.value.errors) == {"item_id", "licence"}
    filed = service.file(text=TEXT, licence="JY1")
    with pytest.raises(CommitmentValidationError) as caught:
        service.withdraw(filed.id, reason="  ")
    assert set(caught.value.errors) == {"reason"}


def test_only_the_enterprise_files_and_others_cannot_see_or_withdraw(
    db_session: Session, people: dict[str, Any]
) -> None:
    for who in ("boss", "officer"):
        with pytest.raises(CommitmentPermissionError):
            CommitmentService(db_session, people[who]).file(text=TEXT, licence="JY1")
    filed = CommitmentService(db_session, people["firm"]).file(text=TEXT, licence="JY1")
    with pytest.raises(CommitmentNotFoundError):
        CommitmentService(db_session, people["rival"]).withdraw(filed.id, reason="恶意")
    with pytest.raises(CommitmentNotFoundError):
        get_commitment(db_session, people["rival"], filed.id)
    with pytest.raises(CommitmentNotFoundError):
        get_commitment(db_session, people["officer"], filed.id)
    assert get_commitment(db_session, people["boss"], filed.id) is filed
    assert list_commitments(db_session, people["firm"]) == [filed]
    assert list_commitments(db_session, people["rival"]) == []
    assert list_commitments(db_session, people["officer"]) == []
    assert list_commitments(db_session, people["boss"]) == [filed]
    assert list_commitments(db_session, people["boss"], status=CommitmentStatus.WITHDRAWN) == []


def test_the_database_requires_what_the_commitment_concerns(
    db_session: Session, people: dict[str, Any]
) -> None:
    db_session.add(
        Commitment(
            enterprise_id=people["own"].id,
            licence="",
            text=TEXT,
            filed_by_id=people["firm"].id,
        )
    )
    with pytest.raises(IntegrityError):
        db_session.flush()


# ---------------------------------------------------------------------- the review


@pytest.fixture
def review(db_session: Session, people: dict[str, Any]) -> dict[str, Any]:
    """A commitment about an item of department ``home``; supervisors of ``home``, of another
    department and of the whole bureau (``boss``)."""
    home = people["item"].department
    elsewhere = DepartmentFactory()
    people["head"] = _user(db_session, "head", Role.SUPERVISOR, department_id=home.id)
    people["stranger"] = _user(db_session, "stranger", Role.SUPERVISOR, department_id=elsewhere.id)
    people["filed"] = CommitmentService(db_session, people["firm"], clock=lambda: NOW).file(
        text=TEXT, item_id=people["item"].id
    )
    return people


def _feed(session: Session, commitment: Commitment) -> list[FeedRecord]:
    return list(
        session.scalars(
            select(FeedRecord)
            .where(
                FeedRecord.kind == "commitment",
                FeedRecord.record_key == f"commitment:{commitment.id}",
            )
            .order_by(FeedRecord.version)
        )
    )


def _rerates(session: Session) -> list[OutboxMessage]:
    return list(
        session.scalars(select(OutboxMessage).where(OutboxMessage.topic == "credit.rerate"))
    )


def _actions(session: Session, commitment: Commitment) -> list[str]:
    return list(
        session.scalars(
            select(AuditLog.action)
            .where(
                AuditLog.entity_type == Commitment.__tablename__,
                AuditLog.entity_id == str(commitment.id),
            )
            .order_by(AuditLog.id)
        )
    )


def test_the_items_department_reviews_the_commitment(
    db_session: Session, review: dict[str, Any]
) -> None:
    filed = review["filed"]
    assert filed.department_id == review["item"].department_id and filed.version == 1
    head = CommitmentService(db_session, review["head"], clock=lambda: NOW)
    accepted = head.accept(filed.id, note="材料齐全", if_match=1)
    assert accepted.status is CommitmentStatus.ACCEPTED and accepted.version == 2
    assert accepted.reviewed_by_id == review["head"].id and accepted.reviewed_at == NOW
    assert accepted.review_note == "材料齐全"
    verified = head.verify(filed.id, note="现场核查属实", if_match=2)
    assert verified.status is CommitmentStatus.VERIFIED and verified.version == 3
    assert verified.verified_by_id == review["head"].id and verified.verification_note
    assert _actions(db_session, filed) == [
        "commitment.file",
        "commitment.accept",
        "commitment.verify",
    ]
    fed = _feed(db_session, filed)
    assert [r.payload["status"] for r in fed] == ["filed", "accepted", "verified"]
    assert not any(r.payload["found_false"] for r in fed)
    assert _rerates(db_session) == []  # only a false commitment touches the credit


def test_a_false_commitment_is_audited_fed_and_re_rates_the_enterprise(
    db_session: Session, review: dict[str, Any]
) -> None:
    filed = review["filed"]
    head = CommitmentService(db_session, review["head"], clock=lambda: NOW)
    head.accept(filed.id)
    with pytest.raises(CommitmentValidationError) as caught:
        head.find_false(filed.id, reason="   ")
    assert set(caught.value.errors) == {"reason"}
    false = head.find_false(filed.id, reason="现场未见进货查验记录")
    assert false.status is CommitmentStatus.FOUND_FALSE
    assert false.verification_note == "现场未见进货查验记录" and false.verified_at == NOW
    entry = db_session.scalars(
        select(AuditLog).where(AuditLog.action == "commitment.find_false")
    ).one()
    assert entry.actor_id == review["head"].id
    assert entry.details["reason"] == "现场未见进货查验记录"
    assert entry.details["from"] == "accepted" and entry.details["to"] == "found_false"
    latest = _feed(db_session, filed)[-1]
    assert latest.payload["status"] == "found_false" and latest.payload["found_false"] is True
    assert latest.payload["enterprise_uscc"] == review["own"].uscc
    assert latest.payload["verification_note"] == "现场未见进货查验记录"
    [rerate] = _rerates(db_session)
    assert rerate.payload["enterprise_ids"] == [review["own"].id]
    assert f"false commitment {filed.id}" in rerate.payload["detail"]


def test_rejection_needs_a_reason_and_ends_the_commitment(
    db_session: Session, review: dict[str, Any]
) -> None:
    filed = review["filed"]
    head = CommitmentService(db_session, review["head"])
    with pytest.raises(CommitmentValidationError) as caught:
        head.reject(filed.id, reason="")
    assert set(caught.value.errors) == {"reason"}
    assert filed.status is CommitmentStatus.FILED and filed.version == 1
    rejected = head.reject(filed.id, reason="许可证号与登记信息不符")
    assert rejected.status is CommitmentStatus.REJECTED and rejected.review_note
    for act in (head.accept, head.verify):
        with pytest.raises(CommitmentStateError):
            act(filed.id)
    with pytest.raises(CommitmentStateError):
        head.find_false(filed.id, reason="不实")
    with pytest.raises(CommitmentStateError):
        CommitmentService(db_session, review["firm"]).withdraw(filed.id, reason="撤回")


def test_wrong_states_are_refused(db_session: Session, review: dict[str, Any]) -> None:
    filed = review["filed"]
    head = CommitmentService(db_session, review["head"])
    with pytest.raises(CommitmentStateError) as caught:
        head.verify(filed.id)  # not accepted yet
    assert str(caught.value) == (
        "the commitment is awaiting acceptance: "
        "cannot record it verified unless it is awaiting verification"
    )
    with pytest.raises(CommitmentStateError):
        head.find_false(filed.id, reason="未受理即核查")
    head.accept(filed.id)
    with pytest.raises(CommitmentStateError):
        head.accept(filed.id)
    with pytest.raises(CommitmentStateError):
        head.reject(filed.id, reason="已受理")
    # Once accepted, the enterprise can no longer take it back.
    with pytest.raises(CommitmentStateError):
        CommitmentService(db_session, review["firm"]).withdraw(filed.id, reason="撤回")
    head.verify(filed.id)
    with pytest.raises(CommitmentStateError):
        head.find_false(filed.id, reason="已核查属实")


def test_a_stale_version_is_refused_and_nothing_changes(
    db_session: Session, review: dict[str, Any]
) -> None:
    filed = review["filed"]
    head = CommitmentService(db_session, review["head"])
    head.accept(filed.id, if_match=1)
    with pytest.raises(CommitmentStaleVersionError) as caught:
        head.verify(filed.id, if_match=1)
    assert caught.value.current.version == 2
    assert filed.status is CommitmentStatus.ACCEPTED
    with pytest.raises(CommitmentStaleVersionError):
        CommitmentService(db_session, review["firm"]).withdraw(
            review["filed"].id, reason="撤回", if_match=7
        )


def test_only_supervisors_of_the_department_review(
    db_session: Session, review: dict[str, Any]
) -> None:
    filed = review["filed"]
    with pytest.raises(CommitmentPermissionError):
        CommitmentService(db_session, review["stranger"]).accept(filed.id)
    with pytest.raises(CommitmentPermissionError):
        get_commitment(db_session, review["stranger"], filed.id)
    assert list_commitments(db_session, review["stranger"]) == []
    for who in ("firm", "officer"):
        with pytest.raises(CommitmentPermissionError):
            CommitmentService(db_session, review[who]).accept(filed.id)
    with pytest.raises(CommitmentPermissionError):
        CommitmentService(db_session, review["rival"]).reject(filed.id, reason="恶意")
    assert filed.status is CommitmentStatus.FILED
    assert list_commitments(db_session, review["head"]) == [filed]
    # A licence-only commitment has no department: the whole bureau reviews it.
    licence = CommitmentService(db_session, review["firm"]).file(text=TEXT, licence="JY2")
    assert licence.department_id is None
    with pytest.raises(CommitmentPermissionError):
        CommitmentService(db_session, review["head"]).accept(licence.id)
    assert CommitmentService(db_session, review["boss"]).accept(licence.id).version == 2


def test_the_list_pages_oldest_first_after_a_cursor(
    db_session: Session, review: dict[str, Any]
) -> None:
    service = CommitmentService(db_session, review["firm"])
    more = [service.file(text=TEXT, item_id=review["item"].id) for _ in range(3)]
    everything = [review["filed"], *more]
    assert list_commitments(db_session, review["firm"]) == everything[::-1]
    first = list_commitments(db_session, review["firm"], after=0, limit=2)
    assert first == everything[:2]
    assert list_commitments(db_session, review["firm"], after=first[-1].id) == everything[2:]


def test_the_database_keeps_review_and_status_together(
    db_session: Session, review: dict[str, Any]
) -> None:
    filed = review["filed"]
    db_session.flush()
    filed.status = CommitmentStatus.ACCEPTED  # accepted without a review
    with pytest.raises(IntegrityError):
        db_session.flush()


def test_a_verified_commitment_is_a_check_and_a_false_one_a_problem_found(
    db_session: Session, review: dict[str, Any]
) -> None:
    """``findings_3y`` of the credit indicators: no evidence before the verification, a clean
    check after a true one, one problem after a false one."""
    own, item = review["own"], review["item"]
    head = CommitmentService(db_session, review["head"], clock=lambda: NOW)
    as_of = NOW.date() + dt.timedelta(days=1)

    def findings() -> float:
        return float(compute_indicators(db_session, as_of, [own.id]).columns["findings_3y"][0])

    assert math.isnan(findings())
    head.accept(review["filed"].id)
    head.verify(review["filed"].id, note="属实")
    assert findings() == 0.0
    second = CommitmentService(db_session, review["firm"], clock=lambda: NOW).file(
        text=TEXT, item_id=item.id
    )
    head.accept(second.id)
    head.find_false(second.id, reason="现场未见许可证")
    assert findings() == 1.0
