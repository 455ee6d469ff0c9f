"""The joint rewards-and-punishments list (联合奖惩): additions, removals after repair, the
``since`` cursor, CSV/JSON, consumer tokens and the audit of exports."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from enforcement.models import (
    AuditLog,
    CreditList,
    CreditRating,
    Enterprise,
    EntityType,
    JointListChange,
    ListEntry,
    RatingCause,
)
from enforcement.services import joint_list
from enforcement.services.credit_records import add_list_entry
from tests import factories

NOW = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC)


def rate(
    session: Session, enterprise: Enterprise, tier: str, at: dt.datetime, **extra: object
) -> None:
    previous = enterprise.credit_tier
    session.add(
        CreditRating(
            enterprise=enterprise,
            scorecard="general@2026.1",
            score={"A": 90.0, "B": 75.0, "C": 60.0, "D": 30.0}[tier],
            tier=tier,
            previous_tier=previous,
            reasons=extra.pop("reasons", []),
            indicators={},
            cause=extra.pop("cause", RatingCause.EVENT),
            rated_at=at,
        )
    )
    enterprise.credit_tier = tier
    enterprise.credit_rated_at = at
    session.flush()


def sync(session: Session, at: dt.datetime = NOW) -> joint_list.SyncSummary:
    return joint_list.sync(session, clock=lambda: at)


def test_additions_and_removals_flow_out_in_order_behind_a_cursor(db_session: Session) -> None:
    listed = factories.EnterpriseFactory(name="东阳市失信贸易有限公司")
    risky = factories.EnterpriseFactory(name="东阳市高风险食品有限公司")
    bystander = factories.EnterpriseFactory()
    entry = add_list_entry(
        db_session,
        None,
        listed,
        which=CreditList.SERIOUS_ILLEGAL,
        reason="提交虚假材料取得登记，情节严重",
        listed_on=dt.date(2026, 1, 5),
    )
    add_list_entry(  # the abnormal-operation list is not part of the joint list
        db_session,
        None,
        bystander,
        which=CreditList.ABNORMAL_OPERATION,
        reason="未按期公示年度报告",
        listed_on=dt.date(2026, 1, 6),
    )
    rate(db_session, risky, "C", dt.datetime(2025, 12, 1, tzinfo=dt.UTC))
    rate(
        db_session,
        risky,
        "D",
        dt.datetime(2026, 2, 10, 17, 0, tzinfo=dt.UTC),  # 11 February in Shanghai
        reasons=[{"indicator": "penalties", "zh": "近两年受到行政处罚3次", "en": "3 penalties"}],
    )
    rate(db_session, risky, "D", dt.datetime(2026, 2, 20, tzinfo=dt.UTC))  # still D

    first = sync(db_session)
    assert first.as_dict() == {"added": 2, "removed": 0}
    assert sync(db_session).as_dict() == {"added": 0, "removed": 0}  # idempotent

    page = joint_list.changes(db_session, since=0)
    rows = [joint_list.present(e) for e in page.entries]
    assert [(r["change"], r["basis"], r["enterprise_uscc"]) for r in rows] == [
        ("added", "serious_illegal", listed.uscc),
        ("added", "d_tier", risky.uscc),
    ]
    assert rows[0]["reason"] == "提交虚假材料取得登记，情节严重"
    assert rows[0]["effective_on"] == "2026-01-05"
    assert rows[1]["reason"] == "信用风险等级 D（高风险）：近两年受到行政处罚3次"
    assert rows[1]["effective_on"] == "2026-02-11"  # when it entered D, not the latest rating
    assert page.cursor == page.entries[-1].id and page.more is False
    cursor = page.cursor
    assert joint_list.changes(db_session, since=cursor).entries == []

    # Removals: the list entry ends, the tier leaves D after a credit repair.
    entry.removed_on = dt.date(2026, 3, 1)
    entry.removal_reason = "公示期满，移出严重违法失信名单"
    rate(
        db_session,
        risky,
        "B",
        dt.datetime(2026, 3, 1, 3, 0, tzinfo=dt.UTC),
        cause=RatingCause.REPAIR,
    )
    assert sync(db_session, NOW + dt.timedelta(days=1)).as_dict() == {"added": 0, "removed": 2}
    later = joint_list.changes(db_session, since=cursor)
    rows = [joint_list.present(e) for e in later.entries]
    assert [(r["change"], r["basis"]) for r in rows] == [
        ("removed", "serious_illegal"),
        ("removed", "d_tier"),
    ]
    assert rows[0]["reason"] == "公示期满，移出严重违法失信名单"
    assert rows[0]["effective_on"] == "2026-03-01"
    assert rows[1]["reason"] == "信用风险等级调整为 B（信用修复）"
    assert rows[1]["effective_on"] == "2026-03-01"
    assert joint_list.on_list(db_session) == []

    # Paging: one at a time reaches the same entries.
    seen, since, more = [], 0, True
    while more:
        step = joint_list.changes(db_session, since=since, limit=1)
        seen += [e.id for e in step.entries]
        since, more = step.cursor, step.more
    assert seen == [e.id for e in joint_list.changes(db_session, since=0).entries]


def test_history_before_the_first_sync_and_deleted_entries(db_session: Session) -> None:
    old = factories.EnterpriseFactory()
    entry = ListEntry(
        enterprise=old,
        list=CreditList.SERIOUS_ILLEGAL,
        reason="拒不履行行政处罚决定",
        listed_on=dt.date(2022, 5, 1),
        removed_on=dt.date(2025, 5, 1),
        removal_reason="期满移出",
    )
    wrong = ListEntry(
        enterprise=factories.EnterpriseFactory(),
        list=CreditList.SERIOUS_ILLEGAL,
        reason="误列入",
        listed_on=dt.date(2026, 2, 1),
    )
    db_session.add_all([entry, wrong])
    db_session.flush()
    sync(db_session)
    changes = [(e.source_key, e.change.value) for e in joint_list.changes(db_session).entries]
    assert changes == [
        (f"list_entry:{entry.id}", "added"),
        (f"list_entry:{entry.id}", "removed"),
        (f"list_entry:{wrong.id}", "added"),
    ]
    source = f"list_entry:{wrong.id}"
    db_session.execute(delete(ListEntry).where(ListEntry.id == wrong.id))
    db_session.expire_all()
    assert sync(db_session).removed == 1
    last = joint_list.changes(db_session, since=0).entries[-1]
    assert (last.source_key, last.change.value, last.reason) == (
        source,
        "removed",
        "列入记录已撤销",
    )


def test_individual_businesses_are_masked_and_csv_has_the_columns(db_session: Session) -> None:
    shop = factories.EnterpriseFactory(
        name="东阳市张三小吃店", legal_representative="张三", entity_type=EntityType.INDIVIDUAL
    )
    rate(db_session, shop, "D", NOW - dt.timedelta(days=3))
    sync(db_session)
    page = joint_list.changes(db_session)
    body = joint_list.as_csv(page.entries)
    table = list(csv.DictReader(io.StringIO(body)))
    assert list(table[0]) == [name for name, _, _ in joint_list.COLUMNS]
    assert table[0]["enterprise_name"] == "东阳市张*小吃店"
    assert "张三" not in body
    document = joint_list.as_json(page, since=0)
    assert document["schema_version"] == joint_list.SCHEMA_VERSION
    assert list(document["entries"][0]) == [name for name, _, _ in joint_list.COLUMNS]


def test_bad_cursors_are_refused(db_session: Session) -> None:
    with pytest.raises(ValueError, match="since"):
        joint_list.changes(db_session, since=-1)
    with pytest.raises(ValueError, match="limit"):
        joint_list.changes(db_session, limit=0)


def test_consumer_tokens_open_the_list_until_revoked_and_exports_are_audited(
    db_session: Session,
) -> None:
    consumer, secret = joint_list.add_consumer(db_session, "国家税务总局东阳市税务局")
    assert secret.startswith("sjc_") and consumer.token_sha256 not in secret
    assert joint_list.authenticate_consumer(db_session, secret) is consumer
    assert joint_list.authenticate_consumer(db_session, secret + "x") is None
    assert joint_list.authenticate_consumer(db_session, "sj_" + secret[4:]) is None
    with pytest.raises(joint_list.ConsumerError, match="exists"):
        joint_list.add_consumer(db_session, "国家税务总局东阳市税务局")
    with pytest.raises(joint_list.ConsumerError, match="name"):
        joint_list.add_consumer(db_session, "  ")

    page = joint_list.changes(db_session)
    joint_list.record_export(
        db_session, actor=None, consumer=consumer, since=0, page=page, channel="api"
    )
    db_session.flush()
    row = db_session.scalar(select(AuditLog).where(AuditLog.action == "joint_list.export"))
    assert row is not None and row.entity_id == str(consumer.id)
    assert row.details["consumer"] == "国家税务总局东阳市税务局"

    joint_list.revoke_consumer(db_session, "国家税务总局东阳市税务局")
    assert joint_list.authenticate_consumer(db_session, secret) is None
    with pytest.raises(joint_list.ConsumerError, match="no consumer"):
        joint_list.revoke_consumer(db_session, "人民银行")
    assert db_session.scalar(select(JointListChange.id)) is None
