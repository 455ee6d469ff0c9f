"""Commitments (告知承诺): filed by the enterprise itself about an item or a licence, withdrawn
with a reason, audit-logged; read by the enterprise (its own only) and by supervisors."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from enforcement.models import AuditLog, Commitment, CommitmentStatus, Role, User
from enforcement.services.commitments import (
    CommitmentNotFoundError,
    CommitmentPermissionError,
    CommitmentService,
    CommitmentStateError,
    CommitmentValidationError,
    get_commitment,
    list_commitments,
)
from tests.factories import EnterpriseFactory, InspectionItemFactory

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
