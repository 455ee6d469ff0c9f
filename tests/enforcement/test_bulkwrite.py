"""Batch writes (COPY on PostgreSQL, executemany on SQLite) store what the ORM would store,
and the rating service built on them rates exactly the enterprises asked for."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from enforcement import bulkwrite
from enforcement.models import CreditRating, Enterprise, RatingCause
from enforcement.models.audit import seal
from enforcement.services import audit
from enforcement.services.credit import RatingService
from tests.factories import EnterpriseFactory

NOW = dt.datetime(2026, 9, 1, 2, 0, tzinfo=dt.UTC)
RATING_COLUMNS = (
    "scorecard",
    "score",
    "tier",
    "previous_tier",
    "reasons",
    "indicators",
    "cause",
    "cause_detail",
    "rated_at",
)


def _rating_values(enterprise_id: int) -> dict:
    return {
        "enterprise_id": enterprise_id,
        "scorecard": "general@2026.1",
        "score": 612.25,
        "tier": "B",
        "previous_tier": None,
        "reasons": [{"indicator": "penalty_index", "zh": "近三年有“行政处罚”", "en": "a\ttab"}],
        "indicators": {"age_years": 3.5, "serious_illegal": None, "entity_type": "company"},
        "cause": RatingCause.BATCH,
        "cause_detail": "批量 \\ back\nslash",
        "rated_at": NOW,
    }


def test_inserted_rows_read_back_like_orm_rows(db_session: Session) -> None:
    orm_owner, bulk_owner = EnterpriseFactory(), EnterpriseFactory()
    db_session.add(CreditRating(**_rating_values(orm_owner.id)))
    assert (
        bulkwrite.insert_rows(db_session, CreditRating.__table__, [_rating_values(bulk_owner.id)])
        == 1
    )
    db_session.expire_all()
    by_owner = {
        row.enterprise_id: row
        for row in db_session.scalars(
            select(CreditRating).where(
                CreditRating.enterprise_id.in_([orm_owner.id, bulk_owner.id])
            )
        )
    }
    orm_row, bulk_row = by_owner[orm_owner.id], by_owner[bulk_owner.id]
    for column in RATING_COLUMNS:
        assert getattr(bulk_row, column) == getattr(orm_row, column), column
    assert bulk_row.rated_at.tzinfo is not None and bulk_row.cause is RatingCause.BATCH


@pytest.mark.parametrize("via_copy", [False, True], ids=["statements", "copy"])
def test_updated_rows_change_only_the_columns_given(
    db_session: Session, via_copy: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Large batches go through a temporary table on PostgreSQL: both paths, on 3 rows.
    monkeypatch.setattr(bulkwrite, "UPDATE_VIA_COPY", 1 if via_copy else 10**9)
    first, second = EnterpriseFactory(name="甲公司"), EnterpriseFactory(name="乙公司")
    rows = [
        {"id": first.id, "credit_tier": "C", "credit_score": 480.5},
        {"id": second.id, "credit_tier": "A", "credit_score": 820.0},
        {"id": -1, "credit_tier": "D", "credit_score": 1.0},  # no such row: nothing happens
    ]
    assert bulkwrite.update_rows(db_session, Enterprise.__table__, rows) == 3
    db_session.expire_all()
    assert (first.credit_tier, first.credit_score, first.name) == ("C", 480.5, "甲公司")
    assert (second.credit_tier, second.credit_score, second.name) == ("A", 820.0, "乙公司")


def test_bad_batches_are_refused_naming_the_column(db_session: Session) -> None:
    owner = EnterpriseFactory()
    values = _rating_values(owner.id)
    with pytest.raises(ValueError, match="no column 'colour'"):
        bulkwrite.insert_rows(db_session, CreditRating.__table__, [{**values, "colour": 1}])
    without_default = {k: v for k, v in values.items() if k != "rated_at"}
    with pytest.raises(ValueError, match="'rated_at'"):  # the ORM would have set it
        bulkwrite.insert_rows(db_session, CreditRating.__table__, [without_default])
    with pytest.raises(ValueError, match="must give 'id'"):
        bulkwrite.update_rows(db_session, Enterprise.__table__, [{"credit_tier": "A"}])
    with pytest.raises(ValueError, match="same columns"):
        bulkwrite.insert_rows(db_session, CreditRating.__table__, [values, without_default])


def test_bulk_audit_rows_join_the_chain(db_session: Session) -> None:
    owner = EnterpriseFactory()
    audit.record_many(
        db_session,
        None,
        [("credit.rate", "enterprises", str(owner.id), {"tier": "B", "名称": "测试\n公司"})] * 3,
        at=NOW,
    )
    assert seal(db_session) >= 3
    assert audit.verify_chain(db_session).ok


def test_rating_some_enterprises_rates_exactly_those(db_session: Session) -> None:
    # Consecutive ids: the indicator queries read the id range, which holds `skipped` too.
    first, skipped, last = (EnterpriseFactory() for _ in range(3))
    summary = RatingService(db_session, clock=lambda: NOW).rate([first.id, last.id])
    assert summary.rated == 2 and summary.changed == 2
    # Loaded objects see the rows written past the ORM without expire_all.
    assert first.credit_tier in "ABCD" and last.credit_rated_at == NOW
    assert skipped.credit_tier is None and skipped.credit_rated_at is None
    rated = db_session.scalars(
        select(CreditRating.enterprise_id).where(
            CreditRating.enterprise_id.in_([first.id, skipped.id, last.id])
        )
    ).all()
    assert sorted(rated) == sorted([first.id, last.id])
