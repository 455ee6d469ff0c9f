"""Administrative penalties reach the data-center feed with the change that records them."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from enforcement.models import Enterprise, FeedRecord, PenaltyMeasure
from enforcement.services.credit_records import add_penalty
from tests.factories import load_small_demo, user_named


def test_a_penalty_is_fed_once_and_rolled_back_with_its_transaction(db_session: Session) -> None:
    load_small_demo(db_session, 5)
    enterprise = db_session.scalars(select(Enterprise).order_by(Enterprise.id)).first()
    supervisor = user_named(db_session, "supervisor")

    savepoint = db_session.begin_nested()
    add_penalty(
        db_session,
        supervisor,
        enterprise,
        decision_no="义市监罚〔2025〕7号",
        decided_on=dt.date(2025, 3, 1),
        measure=PenaltyMeasure.FINE,
        amount=Decimal("5000.00"),
        legal_basis="《食品安全法》第一百二十六条",
    )
    record = db_session.scalar(select(FeedRecord).where(FeedRecord.kind == "penalty"))
    assert record.record_key == "义市监罚〔2025〕7号"
    assert record.payload["enterprise_uscc"] == enterprise.uscc
    assert record.payload["amount"] == "5000.00" and record.payload["measure"] == "fine"
    savepoint.rollback()
    assert db_session.scalar(select(FeedRecord).where(FeedRecord.kind == "penalty")) is None
