"""The credit indicators of enterprises, computed from the system of record as arrays.

One set-based query per source (never a query per enterprise), assembled into NumPy columns
in the order of the enterprise ids asked for; these columns are what the scorecards of
``credit_rating`` score. NaN (numbers) and None (categories) mean "not known", which the
scorecards send to an explicit "missing" bin: an enterprise the system knows nothing about is
never silently scored as if it had a clean record.

Two indicators join evidence from two sources: ``findings_3y`` counts a commitment (告知承诺)
found false as a problem found and one verified true as a clean check; ``overdue_rectifications``
is "not known" for an enterprise that had no order in the window, as ``findings_3y`` is for one
that was not inspected.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import ColumnElement, and_, case, func, or_, select
from sqlalchemy.orm import Session

from enforcement.models import (
    AnnualReport,
    Commitment,
    CommitmentStatus,
    Complaint,
    CreditList,
    Enterprise,
    FieldInspection,
    InspectionStatus,
    InspectionTask,
    ListEntry,
    Penalty,
    PenaltyMeasure,
    RectificationOrder,
    RectificationStatus,
)
from enforcement.services.inspections import PROBLEM_RESULTS

PENALTY_HALF_LIFE_MONTHS = 12.0  # a penalty counts half as much after a year
SHANGHAI = ZoneInfo("Asia/Shanghai")
FINDINGS_WINDOW_MONTHS = 36
PENALTY_WINDOW_MONTHS = 36  # and not at all after three years (the usual publicity period)
DAYS_PER_MONTH = 365.25 / 12
COMPLAINT_WINDOW_DAYS = 365
_ID_BATCH = 20_000  # ids per IN (…) list: below every backend's parameter limit
_DENSE = 4  # ids spanning at most this many times their count are queried as a range


@dataclass(frozen=True)
class IndicatorFrame:
    """Indicator columns for ``enterprise_id`` (ascending), plus the industry code that picks
    the industry scorecard."""

    enterprise_id: np.ndarray  # int64[n]
    industry_code: np.ndarray  # object[n]: str or None
    columns: dict[str, np.ndarray]  # float64[n] (NaN = not known) or object[n] (categories)
    as_of: dt.date

    def row(self, i: int) -> dict[str, object]:
        """The values of enterprise ``i`` as JSON-ready values (stored with its rating)."""
        out: dict[str, object] = {}
        for name, column in self.columns.items():
            value = column[i]
            if isinstance(value, float | np.floating):
                out[name] = None if math.isnan(value) else round(float(value), 4)
            else:
                out[name] = value
        return out


def compute_indicators(
    session: Session,
    as_of: dt.date,
    enterprise_ids: Sequence[int] | None = None,
    flagged: dict[str, set[int]] | None = None,
) -> IndicatorFrame:
    """The indicators of ``enterprise_ids`` (all enterprises when None) as of ``as_of``.

    ``flagged`` (from ``flagged_representatives``) saves its query when a caller computes
    many batches as of the same date."""
    base = select(
        Enterprise.id,
        Enterprise.registration_date,
        Enterprise.registered_capital,
        Enterprise.entity_type,
        Enterprise.industry_code,
        Enterprise.legal_representative,
    ).order_by(Enterprise.id)
    rows = []
    for chunk in _chunks(enterprise_ids):
        if chunk is None:
            rows.extend(session.execute(base).all())
            continue
        wanted = set(chunk)
        query = base.where(id_filter(Enterprise.id, chunk))
        rows.extend(row for row in session.execute(query) if row[0] in wanted)
    rows.sort(key=lambda row: row[0])
    n = len(rows)
    ids = np.fromiter((row[0] for row in rows), dtype=np.int64, count=n)
    position = {int(enterprise_id): i for i, enterprise_id in enumerate(ids.tolist())}

    age = np.full(n, np.nan)
    capital = np.full(n, np.nan)
    entity_type = np.empty(n, dtype=object)
    industry = np.empty(n, dtype=object)
    for i, (_id, registered, amount, kind, code, _rep) in enumerate(rows):
        if registered is not None:
            age[i] = max((as_of - registered).days, 0) / 365.25
        if amount is not None:
            capital[i] = float(amount) / 10_000  # 万元, the unit registers use
        entity_type[i] = getattr(kind, "value", kind)
        industry[i] = code

    columns: dict[str, np.ndarray] = {
        "age_years": age,
        "registered_capital": capital,
        "entity_type": entity_type,
        "industry_section": np.array(
            [code[:1] if code else None for code in industry], dtype=object
        ),
        "annual_report": _annual_reports(session, position, as_of),
        "abnormal_operation": _listed(session, position, as_of, CreditList.ABNORMAL_OPERATION),
        "serious_illegal": _listed(session, position, as_of, CreditList.SERIOUS_ILLEGAL),
        **_penalties(session, position, as_of),
        "complaints_12m": _complaints(session, position, as_of),
        "related_party_risk": _related_parties(
            rows, position, flagged_representatives(session, as_of) if flagged is None else flagged
        ),
        "findings_3y": _findings(session, position, as_of),
        "overdue_rectifications": _overdue_rectifications(session, position, as_of),
    }
    return IndicatorFrame(enterprise_id=ids, industry_code=industry, columns=columns, as_of=as_of)


def _chunks(ids: Sequence[int] | None) -> Iterable[list[int] | None]:
    if ids is None:
        yield None
        return
    ordered = sorted({int(i) for i in ids})
    for start in range(0, len(ordered), _ID_BATCH):
        yield ordered[start : start + _ID_BATCH]


def id_filter(column: ColumnElement[int], ids: Collection[int]) -> ColumnElement[bool]:
    """A condition that keeps at least the rows whose ``column`` is in ``ids`` (not empty).

    Dense ids (a batch of a full re-rating: consecutive ids) become one range, which the
    index scans in order, instead of an ``IN`` list of 20,000 parameters that the driver must
    parse and the server hash; the range may keep other rows, which callers skip."""
    low, high = min(ids), max(ids)
    if high - low < _DENSE * len(ids):
        return column.between(low, high)
    return column.in_(sorted(ids))


def _scoped(query, column, position: dict[int, int]):  # type: ignore[no-untyped-def]
    """``query`` limited to (at least) the enterprises asked for: no limit when that is
    everybody. Callers skip the rows of enterprises not in ``position``."""
    return query if len(position) > _ID_BATCH else query.where(id_filter(column, position))


def _annual_reports(session: Session, position: dict[int, int], as_of: dt.date) -> np.ndarray:
    """The last report due: "on_time", "late", "not_filed", or None when there is no record."""
    due_year = as_of.year - 1 if as_of >= dt.date(as_of.year, 6, 30) else as_of.year - 2
    due_on = dt.date(due_year + 1, 6, 30)
    out = np.full(len(position), None, dtype=object)
    query = _scoped(
        select(AnnualReport.enterprise_id, AnnualReport.filed_on).where(
            AnnualReport.year == due_year
        ),
        AnnualReport.enterprise_id,
        position,
    )
    for enterprise_id, filed_on in session.execute(query):
        i = position.get(enterprise_id)
        if i is not None:
            if filed_on is None:
                out[i] = "not_filed"
            else:
                out[i] = "on_time" if filed_on <= due_on else "late"
    return out


def _listed(
    session: Session, position: dict[int, int], as_of: dt.date, which: CreditList
) -> np.ndarray:
    """1 when on the list on ``as_of``, else 0 (the lists are complete: absence is known)."""
    out = np.zeros(len(position))
    query = _scoped(
        select(ListEntry.enterprise_id)
        .where(ListEntry.list == which, ListEntry.listed_on <= as_of)
        .where(or_(ListEntry.removed_on.is_(None), ListEntry.removed_on > as_of))
        .distinct(),
        ListEntry.enterprise_id,
        position,
    )
    for (enterprise_id,) in session.execute(query):
        i = position.get(enterprise_id)
        if i is not None:
            out[i] = 1.0
    return out


def _findings(session: Session, position: dict[int, int], as_of: dt.date) -> np.ndarray:
    """Checks of the last 36 months with a problem found: finished inspections, and commitments
    verified (a false one is a problem); NaN for an enterprise with neither (no evidence)."""
    out = np.full(len(position), np.nan)
    since = as_of - dt.timedelta(days=FINDINGS_WINDOW_MONTHS * DAYS_PER_MONTH)
    end = dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time(), tzinfo=SHANGHAI)
    start = dt.datetime.combine(since + dt.timedelta(days=1), dt.time(), tzinfo=SHANGHAI)
    problem = case((FieldInspection.result.in_(sorted(PROBLEM_RESULTS)), 1), else_=0)
    inspections = _scoped(
        select(InspectionTask.enterprise_id, func.sum(problem))
        .join(FieldInspection, FieldInspection.task_id == InspectionTask.id)
        .where(
            FieldInspection.status == InspectionStatus.FINISHED,
            FieldInspection.finished_at >= start,
            FieldInspection.finished_at < end,
        )
        .group_by(InspectionTask.enterprise_id),
        InspectionTask.enterprise_id,
        position,
    )
    false = case((Commitment.status == CommitmentStatus.FOUND_FALSE, 1), else_=0)
    commitments = _scoped(
        select(Commitment.enterprise_id, func.sum(false))
        .where(
            Commitment.status.in_([CommitmentStatus.VERIFIED, CommitmentStatus.FOUND_FALSE]),
            Commitment.verified_at >= start,
            Commitment.verified_at < end,
        )
        .group_by(Commitment.enterprise_id),
        Commitment.enterprise_id,
        position,
    )
    for query in (inspections, commitments):
        for enterprise_id, problems in session.execute(query):
            i = position.get(enterprise_id)
            if i is not None:
                out[i] = (0.0 if np.isnan(out[i]) else out[i]) + float(problems or 0)
    return out


def _overdue_rectifications(
    session: Session, position: dict[int, int], as_of: dt.date
) -> np.ndarray:
    """Orders of the last 36 months past their deadline on ``as_of`` without a passed
    re-inspection (the scorecard's definition); NaN for an enterprise with no order then."""
    out = np.full(len(position), np.nan)
    since = as_of - dt.timedelta(days=FINDINGS_WINDOW_MONTHS * DAYS_PER_MONTH)
    cleared = and_(
        RectificationOrder.status == RectificationStatus.REINSPECTED,
        RectificationOrder.reinspection_result.not_in(sorted(PROBLEM_RESULTS)),
    )
    overdue = case((and_(RectificationOrder.due_date < as_of, ~cleared), 1), else_=0)
    query = _scoped(
        select(RectificationOrder.enterprise_id, func.sum(overdue))
        .where(RectificationOrder.due_date > since)
        .group_by(RectificationOrder.enterprise_id),
        RectificationOrder.enterprise_id,
        position,
    )
    for enterprise_id, count in session.execute(query):
        i = position.get(enterprise_id)
        if i is not None:
            out[i] = float(count or 0)
    return out


def _penalties(session: Session, position: dict[int, int], as_of: dt.date) -> dict[str, np.ndarray]:
    """Unrepaired penalties of the last 36 months: the penalty index (severity 1-5 of the
    gravest measure × 0.5^(months ago / 12), summed), their count and the count of those
    graver than a fine."""
    n = len(position)
    index, count, grave = np.zeros(n), np.zeros(n), np.zeros(n)
    since = as_of - dt.timedelta(days=PENALTY_WINDOW_MONTHS * DAYS_PER_MONTH)
    query = _scoped(
        select(Penalty.enterprise_id, Penalty.decided_on, Penalty.measure).where(
            and_(
                Penalty.decided_on > since,
                Penalty.decided_on <= as_of,
                Penalty.repaired_at.is_(None),
                Penalty.revoked_at.is_(None),
            )
        ),
        Penalty.enterprise_id,
        position,
    )
    for enterprise_id, decided_on, measure in session.execute(query):
        i = position.get(enterprise_id)
        if i is None:
            continue
        severity = PenaltyMeasure(measure).severity
        months = (as_of - decided_on).days / DAYS_PER_MONTH
        index[i] += severity * 0.5 ** (months / PENALTY_HALF_LIFE_MONTHS)
        count[i] += 1
        grave[i] += severity > PenaltyMeasure.FINE.severity
    return {"penalty_index": index, "penalties_3y": count, "grave_penalties_3y": grave}


def _complaints(session: Session, position: dict[int, int], as_of: dt.date) -> np.ndarray:
    out = np.zeros(len(position))
    since = as_of - dt.timedelta(days=COMPLAINT_WINDOW_DAYS)
    query = _scoped(
        select(Complaint.enterprise_id, func.count())
        .where(Complaint.substantiated.is_(True))
        .where(Complaint.received_on > since, Complaint.received_on <= as_of)
        .group_by(Complaint.enterprise_id),
        Complaint.enterprise_id,
        position,
    )
    for enterprise_id, number in session.execute(query):
        i = position.get(enterprise_id)
        if i is not None:
            out[i] = float(number)
    return out


def flagged_representatives(session: Session, as_of: dt.date) -> dict[str, set[int]]:
    """Legal representative -> the enterprises they represent that are on the serious-illegal
    list or rated D (what makes a related party risky)."""
    listed = (
        select(Enterprise.legal_representative, Enterprise.id)
        .join(ListEntry, ListEntry.enterprise_id == Enterprise.id)
        .where(ListEntry.list == CreditList.SERIOUS_ILLEGAL, ListEntry.listed_on <= as_of)
        .where(or_(ListEntry.removed_on.is_(None), ListEntry.removed_on > as_of))
        .where(Enterprise.legal_representative.is_not(None))
    )
    tier_d = select(Enterprise.legal_representative, Enterprise.id).where(
        Enterprise.credit_tier == "D", Enterprise.legal_representative.is_not(None)
    )
    flagged: dict[str, set[int]] = {}
    for query in (listed, tier_d):
        for name, enterprise_id in session.execute(query):
            flagged.setdefault(name, set()).add(enterprise_id)
    return flagged


def _related_parties(
    rows: Sequence[tuple], position: dict[int, int], flagged: dict[str, set[int]]
) -> np.ndarray:
    """1 when the legal representative also represents another flagged enterprise (关联主体);
    0 otherwise; NaN without a representative."""
    out = np.zeros(len(position))
    for enterprise_id, *_rest, representative in rows:
        i = position[enterprise_id]
        if representative is None:
            out[i] = np.nan
        elif flagged.get(representative, set()) - {enterprise_id}:
            out[i] = 1.0
    return out


__all__ = ["IndicatorFrame", "compute_indicators", "flagged_representatives"]
