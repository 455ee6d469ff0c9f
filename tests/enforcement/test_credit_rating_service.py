"""Ratings in the product: stored with history, audit-logged on tier changes, re-rated by
events through the outbox and a real worker, and shown by the visibility policy."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from enforcement import migrate, outbox
from enforcement.db import make_engine
from enforcement.models import (
    AuditLog,
    CreditList,
    CreditRating,
    Enterprise,
    ListEntry,
    OutboxMessage,
    Penalty,
    PenaltyMeasure,
    Role,
    User,
)
from enforcement.services.credit import (
    CreditNotVisibleError,
    RatingService,
    credit_profile,
    score_band,
)
from enforcement.services.credit_records import add_list_entry
from tests import factories
from tests.factories import EnterpriseFactory
from tests.workers import running_worker

NOW = dt.datetime(2026, 9, 1, 2, 0, tzinfo=dt.UTC)
TIER_ORDER = "ABCD"


def _blacklist(session: Session, enterprise: Enterprise) -> None:
    session.add_all(
        [
            ListEntry(
                enterprise=enterprise,
                list=CreditList.SERIOUS_ILLEGAL,
                reason="提交虚假材料取得登记",
                listed_on=dt.date(2026, 1, 5),
            ),
            ListEntry(
                enterprise=enterprise,
                list=CreditList.ABNORMAL_OPERATION,
                reason="未按期公示年报",
                listed_on=dt.date(2026, 7, 10),
            ),
            Penalty(
                enterprise=enterprise,
                decision_no=f"东市监罚〔2026〕{enterprise.id}号",
                decided_on=dt.date(2026, 8, 1),
                measure=PenaltyMeasure.REVOCATION,
            ),
        ]
    )
    session.flush()


def test_rating_stores_tiers_history_and_audits_tier_changes(db_session: Session) -> None:
    clean = EnterpriseFactory(registration_date=dt.date(2010, 1, 1), legal_representative="甲")
    troubled = EnterpriseFactory(legal_representative="乙")
    service = RatingService(db_session, clock=lambda: NOW)

    first = service.rate(cause="batch")
    assert first.rated == 2 and first.changed == 2 and first.tier_changes == 0
    db_session.expire_all()
    assert clean.credit_tier in TIER_ORDER and clean.credit_rated_at == NOW
    before = troubled.credit_tier
    assert service.rate(cause="batch").changed == 0  # nothing changed: nothing written

    _blacklist(db_session, troubled)
    later = RatingService(db_session, clock=lambda: NOW + dt.timedelta(hours=1))
    event = later.rate([troubled.id], cause="event", detail="penalty")
    assert event.rated == 1 and event.changed == 1
    db_session.expire_all()
    assert troubled.credit_score < clean.credit_score
    assert TIER_ORDER.index(troubled.credit_tier) > TIER_ORDER.index(before)
    history = db_session.scalars(
        select(CreditRating)
        .where(CreditRating.enterprise_id == troubled.id)
        .order_by(CreditRating.rated_at)
    ).all()
    assert [row.tier for row in history] == [before, troubled.credit_tier]
    assert history[-1].previous_tier == before and history[-1].cause.value == "event"
    assert history[-1].reasons and {"indicator", "zh", "en"} <= set(history[-1].reasons[0])
    assert history[-1].indicators["serious_illegal"] == 1.0
    change = db_session.scalars(
        select(AuditLog).where(AuditLog.action == "credit.tier_change")
    ).one()
    assert change.entity_id == str(troubled.id)
    assert change.details == {
        "from": before,
        "to": troubled.credit_tier,
        "cause": "event",
        "detail": "penalty",
    }


def test_visibility_policy(db_session: Session) -> None:
    own, other = EnterpriseFactory(), EnterpriseFactory()
    RatingService(db_session, clock=lambda: NOW).rate()
    db_session.expire_all()

    def user(role: Role, **fields: Any) -> User:
        return User(username=role.value, display_name="", role=role, password_hash="", **fields)

    mine = credit_profile(
        db_session, user(Role.ENTERPRISE, enterprise_id=own.id), own, public_tiers=False
    )
    assert mine["tier"] == own.credit_tier and mine["score_band"] == score_band(own.credit_score)
    assert len(mine["history"]) == 1 and "reasons" in mine
    supervisor = credit_profile(db_session, user(Role.SUPERVISOR), other, public_tiers=False)
    assert supervisor["tier"] == other.credit_tier
    for viewer in (user(Role.ENTERPRISE, enterprise_id=own.id), user(Role.INSPECTOR), None):
        with pytest.raises(CreditNotVisibleError):
            credit_profile(db_session, viewer, other, public_tiers=False)
    public = credit_profile(db_session, None, other, public_tiers=True)
    assert public["tier"] == other.credit_tier
    assert "score_band" not in public and "reasons" not in public and "history" not in public


def test_a_new_penalty_re_rates_through_the_outbox_on_a_real_worker(
    backend: str,
    new_database_url,
    redis_url: str,  # type: ignore[no-untyped-def]
) -> None:
    url = new_database_url(backend)
    engine = make_engine(url)
    migrate.upgrade(engine)
    settings = {
        "sqlalchemy.url": url,
        "celery.broker_url": redis_url,
        "celery.result_backend": redis_url,
    }
    with running_worker(settings) as app, Session(engine) as session:
        factories.bind(session)
        firm = EnterpriseFactory()
        session.commit()
        RatingService(session).rate([firm.id], cause="batch")
        session.commit()
        tier_before = session.get_one(Enterprise, firm.id).credit_tier
        session.info[outbox.CELERY_APP_INFO] = app  # the commit kicks the drain
        add_list_entry(
            session,
            None,
            firm,
            which="serious_illegal",
            reason="提交虚假材料取得登记",
            listed_on=dt.date(2026, 1, 5),
        )
        session.commit()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            session.rollback()  # a new read transaction: SQLite reads from a snapshot
            if session.get_one(Enterprise, firm.id).credit_tier != tier_before:
                break
            time.sleep(0.2)
        rated = session.get_one(Enterprise, firm.id)
        assert TIER_ORDER.index(rated.credit_tier) > TIER_ORDER.index(tier_before)
        message = session.scalars(select(OutboxMessage)).one()
        assert message.dispatched_at is not None
        events = session.scalar(
            select(func.count()).select_from(CreditRating).where(CreditRating.cause == "event")
        )
        assert events == 1
    engine.dispose()
