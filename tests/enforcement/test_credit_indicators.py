"""Credit indicators computed from the system of record (set-based, one row per enterprise)."""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal

import numpy as np
from sqlalchemy.orm import Session

from enforcement.models import (
    AnnualReport,
    Complaint,
    CreditList,
    ListEntry,
    Penalty,
    PenaltyMeasure,
)
from enforcement.services.credit_indicators import compute_indicators
from tests.factories import EnterpriseFactory

AS_OF = dt.date(2026, 9, 1)


def _column(frame, name: str, enterprise) -> object:  # type: ignore[no-untyped-def]
    i = int(np.searchsorted(frame.enterprise_id, enterprise.id))
    return frame.columns[name][i]


def test_indicators_follow_the_records(db_session: Session) -> None:
    clean = EnterpriseFactory(
        registration_date=dt.date(2016, 9, 1),
        registered_capital=Decimal("5000000"),
        legal_representative="李四",
    )
    troubled = EnterpriseFactory(legal_representative="王五", registration_date=None)
    sister = EnterpriseFactory(legal_representative="王五")  # same representative
    unknown = EnterpriseFactory(legal_representative=None, registered_capital=None)
    db_session.add_all(
        [
            AnnualReport(enterprise=clean, year=2025, filed_on=dt.date(2026, 5, 20)),
            AnnualReport(enterprise=troubled, year=2025, filed_on=dt.date(2026, 8, 1)),  # late
            AnnualReport(enterprise=sister, year=2025, filed_on=None),  # not filed
            ListEntry(
                enterprise=troubled,
                list=CreditList.ABNORMAL_OPERATION,
                reason="未按期公示年报",
                listed_on=dt.date(2026, 7, 10),
            ),
            ListEntry(  # removed before AS_OF: no longer listed
                enterprise=clean,
                list=CreditList.ABNORMAL_OPERATION,
                reason="通过登记的住所无法联系",
                listed_on=dt.date(2024, 1, 1),
                removed_on=dt.date(2024, 6, 1),
            ),
            ListEntry(
                enterprise=troubled,
                list=CreditList.SERIOUS_ILLEGAL,
                reason="提交虚假材料取得登记",
                listed_on=dt.date(2026, 3, 1),
            ),
            Penalty(
                enterprise=troubled,
                decision_no="东市监罚〔2026〕1号",
                decided_on=AS_OF - dt.timedelta(days=365),  # about a year: half weight
                measure=PenaltyMeasure.REVOCATION,
            ),
            Penalty(
                enterprise=troubled,
                decision_no="东市监罚〔2026〕2号",
                decided_on=AS_OF,
                measure=PenaltyMeasure.WARNING,
            ),
            Penalty(  # repaired: does not count
                enterprise=troubled,
                decision_no="东市监罚〔2025〕9号",
                decided_on=dt.date(2025, 1, 1),
                measure=PenaltyMeasure.FINE,
                repaired_at=dt.datetime(2025, 6, 1, tzinfo=dt.UTC),
            ),
            Penalty(  # older than three years: does not count
                enterprise=troubled,
                decision_no="东市监罚〔2022〕3号",
                decided_on=dt.date(2022, 1, 1),
                measure=PenaltyMeasure.REVOCATION,
            ),
            Complaint(enterprise=troubled, received_on=dt.date(2026, 2, 1), substantiated=True),
            Complaint(enterprise=troubled, received_on=dt.date(2026, 3, 1), substantiated=False),
            Complaint(enterprise=troubled, received_on=dt.date(2025, 1, 1), substantiated=True),
        ]
    )
    db_session.flush()

    frame = compute_indicators(db_session, AS_OF)
    assert list(frame.enterprise_id) == sorted(e.id for e in (clean, troubled, sister, unknown))
    assert math.isclose(_column(frame, "age_years", clean), 10.0, abs_tol=0.01)
    assert math.isnan(_column(frame, "age_years", troubled))
    assert _column(frame, "registered_capital", clean) == 500.0  # 万元
    assert math.isnan(_column(frame, "registered_capital", unknown))
    assert _column(frame, "industry_section", clean) == "F"

    on_time = [_column(frame, "annual_report", e) for e in (clean, troubled, sister)]
    assert on_time == ["on_time", "late", "not_filed"]
    assert _column(frame, "annual_report", unknown) is None  # no record: unknown

    assert _column(frame, "abnormal_operation", troubled) == 1.0
    assert _column(frame, "abnormal_operation", clean) == 0.0
    assert _column(frame, "serious_illegal", troubled) == 1.0
    assert _column(frame, "penalties_3y", troubled) == 2.0
    assert _column(frame, "grave_penalties_3y", troubled) == 1.0
    # revocation (5) a year ago at half weight, plus a warning (1) today
    expected_index = 5 * 0.5 ** ((365 / (365.25 / 12)) / 12) + 1
    assert math.isclose(_column(frame, "penalty_index", troubled), expected_index)
    assert _column(frame, "penalty_index", clean) == 0.0
    assert _column(frame, "complaints_12m", troubled) == 1.0

    # The sister firm shares its representative with a serious-illegal listed enterprise.
    assert _column(frame, "related_party_risk", sister) == 1.0
    assert _column(frame, "related_party_risk", troubled) == 0.0  # not itself
    assert math.isnan(_column(frame, "related_party_risk", unknown))
    assert math.isnan(_column(frame, "findings_3y", clean))

    row = frame.row(int(np.searchsorted(frame.enterprise_id, unknown.id)))
    assert row["registered_capital"] is None and row["entity_type"] == "company"


def test_a_subset_gives_the_same_values_as_everybody(db_session: Session) -> None:
    firms = [EnterpriseFactory() for _ in range(5)]
    db_session.add(
        Penalty(
            enterprise=firms[2],
            decision_no="X-1",
            decided_on=dt.date(2026, 1, 1),
            measure=PenaltyMeasure.FINE,
        )
    )
    db_session.flush()
    everybody = compute_indicators(db_session, AS_OF)
    subset = compute_indicators(db_session, AS_OF, [firms[2].id, firms[0].id])
    assert list(subset.enterprise_id) == [firms[0].id, firms[2].id]
    rows = np.searchsorted(everybody.enterprise_id, subset.enterprise_id)
    for name, column in subset.columns.items():
        np.testing.assert_array_equal(column, everybody.columns[name][rows], err_msg=name)
