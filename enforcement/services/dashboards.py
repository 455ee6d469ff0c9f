"""The supervisors' progress figures (监管看板): one function per indicator, read from the system
of record and scoped to the actor's department.

Definitions (also in docs/dashboards.md):

* A task is *in scope* for a department when one of its items belongs to that department (a
  joint task counts for each department involved). Administrators, and supervisors attached to
  no department, see the whole bureau.
* A task is *completed in the period* when its status is ``done`` and its completion time falls
  in the period: the finish time of its finished tablet record (``field_inspections``), or, for a
  task done without one, the task's last change (``inspection_tasks.updated_at``). Periods are
  Asia/Shanghai calendar dates, both ends included.
* **Item coverage**: active list items in scope with at least one completed task naming them,
  over all active list items in scope (goal 100 %).
* **Cross-department share**: completed tasks whose items belong to two or more departments,
  over all completed tasks (goal ≥ 5 %).
* **掌上执法率**: completed on-site tasks (at least one item with method ``on_site``) that
  have a finished tablet record, over all completed on-site tasks (goal ≥ 90 %).
* **Out-of-geofence check-ins**: check-ins (server time in the period) whose verdict is
  ``outside``; ``flagged`` still await a supervisor, ``acknowledged`` were cleared by one.
* **Overdue rectifications**: orders in status ``overdue``, or ``open`` past their due date.
* **Cases past their clocks**: running statutory clocks (not the rectification clock) whose
  deadline has passed, by kind.
* **Tier distribution over time**: the number of enterprises in each tier at the end of each
  month, from the rating history (ratings are bureau-wide: not department-scoped).
* **Inspector consistency**: finished tablet records by inspectors of the department, finding
  rate per inspector with funnel limits (``credit_rating.consistency``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from sqlalchemy import ColumnElement, and_, case, exists, func, or_, select, type_coerce
from sqlalchemy.orm import Session

from credit_rating.consistency import consistency_report, funnel
from enforcement.models import (
    Clock,
    CreditRating,
    Draw,
    Enterprise,
    FieldInspection,
    GeofenceVerdict,
    InspectionItem,
    InspectionMethod,
    InspectionStatus,
    InspectionTask,
    Inspector,
    Jurisdiction,
    JurisdictionLevel,
    RectificationOrder,
    RectificationStatus,
    Role,
    SamplingPlan,
    TaskStatus,
    User,
    UTCDateTime,
    utcnow,
)
from enforcement.models.plans import task_items
from enforcement.models.rectification import RECTIFICATION_CLOCK
from enforcement.reasons import reason
from enforcement.services.clocks import local_date, start_of_date
from enforcement.services.inspections import PROBLEM_RESULTS

GOALS = {"item_coverage": 1.0, "cross_department": 0.05, "mobile_rate": 0.90}
TIERS = ("A", "B", "C", "D")
#: Map states: the task statuses shown, plus ``overdue`` (open or in progress past its due date).
MAP_STATES = ("open", "in_progress", "done", "cancelled", "overdue")
OPEN_STATUSES = (TaskStatus.OPEN, TaskStatus.IN_PROGRESS)
#: Simplification tolerance of the base map, in degrees (~100 m): plenty for a county map.
SIMPLIFY_DEGREES = 0.001
MAX_PERIOD_DAYS = 3 * 366
MAX_MONTHS = 36


class DashboardError(Exception):
    """Base of the dashboards' refusals."""


class DashboardPermissionError(DashboardError):
    """Only supervisors and administrators see the dashboards."""


class DashboardNotFoundError(DashboardError):
    def __init__(self, message: str) -> None:
        super().__init__(message)


class DashboardValidationError(DashboardError):
    def __init__(self, errors: Mapping[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = dict(errors)


@dataclass(frozen=True)
class Scope:
    """Whose figures: one department, or the whole bureau (``department_id`` None)."""

    department_id: int | None


@dataclass(frozen=True)
class Period:
    """Asia/Shanghai calendar dates, both ends included."""

    start: dt.date
    end: dt.date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise DashboardValidationError({"to": reason("must not be before from")})
        if (self.end - self.start).days > MAX_PERIOD_DAYS:
            raise DashboardValidationError(
                {"to": reason("at most ${days} days after from", days=MAX_PERIOD_DAYS)}
            )

    @property
    def utc_bounds(self) -> tuple[dt.datetime, dt.datetime]:
        """``[start, end)`` in UTC."""
        return start_of_date(self.start), start_of_date(self.end + dt.timedelta(days=1))

    @classmethod
    def year_of(cls, day: dt.date) -> Period:
        return cls(dt.date(day.year, 1, 1), dt.date(day.year, 12, 31))


@dataclass(frozen=True)
class Share:
    """A ratio indicator with its goal (``share`` None when there is nothing to count)."""

    numerator: int
    denominator: int
    goal: float | None = None
    rows: list[dict[str, Any]] = field(default_factory=list)

    @property
    def share(self) -> float | None:
        return self.numerator / self.denominator if self.denominator else None

    @property
    def meets_goal(self) -> bool | None:
        if self.goal is None or self.share is None:
            return None
        return self.share >= self.goal - 1e-12

    def as_dict(self) -> dict[str, Any]:
        return {
            "numerator": self.numerator,
            "denominator": self.denominator,
            "share": None if self.share is None else round(self.share, 4),
            "goal": self.goal,
            "meets_goal": self.meets_goal,
            "rows": self.rows,
        }


def scope_for(actor: User) -> Scope:
    """The actor's scope; refuses every role but supervisor and administrator."""
    role = Role(actor.role)
    if role not in (Role.SUPERVISOR, Role.ADMIN) or not actor.active:
        raise DashboardPermissionError(reason("the dashboards are for supervisors"))
    return Scope(None if role is Role.ADMIN else actor.department_id)


# ---------------------------------------------------------------------- shared queries


def _task_in_scope(scope: Scope) -> ColumnElement[bool] | None:
    if scope.department_id is None:
        return None
    return exists(
        select(1)
        .select_from(task_items.join(InspectionItem, InspectionItem.id == task_items.c.item_id))
        .where(
            task_items.c.task_id == InspectionTask.id,
            InspectionItem.department_id == scope.department_id,
        )
    )


@dataclass(frozen=True)
class CompletedTasks:
    """The completed tasks in scope and period, as parallel arrays."""

    task_ids: np.ndarray
    via_tablet: np.ndarray  # bool: has a finished tablet record
    departments: np.ndarray  # number of departments of its items
    on_site: np.ndarray  # bool: at least one on-site item


def completed_tasks(session: Session, scope: Scope, period: Period) -> CompletedTasks:
    """Tasks done in the period (see the module docstring for the completion time)."""
    finished = (
        select(
            FieldInspection.task_id.label("task_id"),
            type_coerce(func.min(FieldInspection.finished_at), UTCDateTime).label("finished_at"),
        )
        .where(FieldInspection.status == InspectionStatus.FINISHED)
        .group_by(FieldInspection.task_id)
        .subquery()
    )
    items = (
        select(
            task_items.c.task_id.label("task_id"),
            func.count(func.distinct(InspectionItem.department_id)).label("departments"),
            func.sum(case((InspectionItem.method == InspectionMethod.ON_SITE, 1), else_=0)).label(
                "on_site"
            ),
        )
        .select_from(task_items.join(InspectionItem, InspectionItem.id == task_items.c.item_id))
        .group_by(task_items.c.task_id)
        .subquery()
    )
    query = (
        select(
            InspectionTask.id,
            InspectionTask.updated_at,
            finished.c.finished_at,
            func.coalesce(items.c.departments, 0),
            func.coalesce(items.c.on_site, 0),
        )
        .outerjoin(finished, finished.c.task_id == InspectionTask.id)
        .outerjoin(items, items.c.task_id == InspectionTask.id)
        .where(InspectionTask.status == TaskStatus.DONE)
    )
    in_scope = _task_in_scope(scope)
    if in_scope is not None:
        query = query.where(in_scope)
    start, end = period.utc_bounds
    kept: list[tuple[int, bool, int, bool]] = []
    for task_id, updated_at, finished_at, departments, on_site in session.execute(query):
        when = finished_at if finished_at is not None else updated_at
        if start <= when < end:
            kept.append((task_id, finished_at is not None, int(departments), int(on_site) > 0))
    if not kept:
        return CompletedTasks(
            np.zeros(0, np.int64), np.zeros(0, bool), np.zeros(0, np.int64), np.zeros(0, bool)
        )
    ids, tablet, departments, on_site = zip(*kept, strict=True)
    return CompletedTasks(
        np.asarray(ids, np.int64),
        np.asarray(tablet, bool),
        np.asarray(departments, np.int64),
        np.asarray(on_site, bool),
    )


# ---------------------------------------------------------------------- the indicators


def item_coverage(session: Session, scope: Scope, period: Period) -> Share:
    """Active list items in scope inspected (a completed task names them) in the period."""
    done = completed_tasks(session, scope, period)
    query = select(InspectionItem.id, InspectionItem.code, InspectionItem.name).where(
        InspectionItem.active.is_(True)
    )
    if scope.department_id is not None:
        query = query.where(InspectionItem.department_id == scope.department_id)
    items = session.execute(query.order_by(InspectionItem.code)).all()
    counts: dict[int, int] = {}
    if done.task_ids.size:
        for chunk in np.array_split(done.task_ids, max(1, done.task_ids.size // 500 + 1)):
            for item_id, n in session.execute(
                select(task_items.c.item_id, func.count())
                .where(task_items.c.task_id.in_([int(t) for t in chunk]))
                .group_by(task_items.c.item_id)
            ):
                counts[item_id] = counts.get(item_id, 0) + n
    rows = [
        {"code": code, "name": name, "inspections": counts.get(item_id, 0)}
        for item_id, code, name in items
    ]
    covered = sum(1 for row in rows if row["inspections"] > 0)
    return Share(covered, len(rows), GOALS["item_coverage"], rows)


def cross_department_share(session: Session, scope: Scope, period: Period) -> Share:
    """Completed tasks with items of two or more departments (joint), over all completed."""
    done = completed_tasks(session, scope, period)
    joint = int((done.departments >= 2).sum())
    return Share(joint, int(done.task_ids.size), GOALS["cross_department"])


def mobile_enforcement_rate(session: Session, scope: Scope, period: Period) -> Share:
    """掌上执法率: completed on-site tasks recorded on the tablet, over completed on-site tasks."""
    done = completed_tasks(session, scope, period)
    on_site = done.on_site
    recorded = int((done.via_tablet & on_site).sum())
    total = int(on_site.sum())
    rows = [
        {"channel": "tablet", "tasks": recorded},
        {"channel": "other", "tasks": total - recorded},
    ]
    return Share(recorded, total, GOALS["mobile_rate"], rows)


def geofence_checkins(session: Session, scope: Scope, period: Period) -> dict[str, int]:
    """Check-ins outside the fence in the period: still flagged, acknowledged, and all."""
    start, end = period.utc_bounds
    query = (
        select(FieldInspection.flagged, func.count())
        .join(InspectionTask, InspectionTask.id == FieldInspection.task_id)
        .where(
            FieldInspection.geofence == GeofenceVerdict.OUTSIDE,
            FieldInspection.checked_in_at >= start,
            FieldInspection.checked_in_at < end,
        )
        .group_by(FieldInspection.flagged)
    )
    in_scope = _task_in_scope(scope)
    if in_scope is not None:
        query = query.where(in_scope)
    counts = {bool(flag): n for flag, n in session.execute(query)}
    flagged, acknowledged = counts.get(True, 0), counts.get(False, 0)
    return {"outside": flagged + acknowledged, "flagged": flagged, "acknowledged": acknowledged}


def overdue_rectifications(
    session: Session, scope: Scope, today: dt.date, limit: int = 100
) -> dict[str, Any]:
    """Orders overdue: marked so by the scan, or still open after their due date."""
    query = (
        select(RectificationOrder, Enterprise.name)
        .join(Enterprise, Enterprise.id == RectificationOrder.enterprise_id)
        .where(
            or_(
                RectificationOrder.status == RectificationStatus.OVERDUE,
                and_(
                    RectificationOrder.status == RectificationStatus.OPEN,
                    RectificationOrder.due_date < today,
                ),
            )
        )
        .order_by(RectificationOrder.due_date, RectificationOrder.id)
    )
    if scope.department_id is not None:
        query = query.where(RectificationOrder.department_id == scope.department_id)
    found = session.execute(query).all()
    rows = [
        {
            "id": order.id,
            "enterprise": name,
            "due_date": order.due_date.isoformat(),
            "days_overdue": (today - order.due_date).days,
            "status": str(order.status),
        }
        for order, name in found
    ]
    return {"count": len(rows), "rows": rows[:limit]}


def overdue_clocks(session: Session, scope: Scope, now: dt.datetime) -> dict[str, Any]:
    """Running statutory clocks past their deadline (cases, transfers, …), counted by kind."""
    query = (
        select(Clock.kind, Clock.subject_type, func.count())
        .where(Clock.stopped_at.is_(None), Clock.due_at < now, Clock.kind != RECTIFICATION_CLOCK)
        .group_by(Clock.kind, Clock.subject_type)
        .order_by(Clock.kind, Clock.subject_type)
    )
    if scope.department_id is not None:
        query = query.where(Clock.department_id == scope.department_id)
    rows = [
        {"kind": kind, "subject_type": subject_type, "count": n}
        for kind, subject_type, n in session.execute(query)
    ]
    cases = sum(row["count"] for row in rows if row["subject_type"] == "penalty_cases")
    return {"count": sum(row["count"] for row in rows), "cases": cases, "rows": rows}


def month_ends(period: Period) -> list[dt.date]:
    """The last day of each month of the period (the period's end for its last month)."""
    out: list[dt.date] = []
    year, month = period.start.year, period.start.month
    while True:
        first_next = dt.date(year + month // 12, month % 12 + 1, 1)
        last = first_next - dt.timedelta(days=1)
        out.append(min(last, period.end))
        if last >= period.end or len(out) >= MAX_MONTHS:
            return out
        year, month = first_next.year, first_next.month


def tier_distribution(session: Session, period: Period) -> list[dict[str, Any]]:
    """Enterprises per tier at the end of each month: each one's latest rating by then."""
    out = []
    for day in month_ends(period):
        cutoff = start_of_date(day + dt.timedelta(days=1))
        ranked = (
            select(
                CreditRating.tier.label("tier"),
                func.row_number()
                .over(
                    partition_by=CreditRating.enterprise_id,
                    order_by=(CreditRating.rated_at.desc(), CreditRating.id.desc()),
                )
                .label("rank"),
            )
            .where(CreditRating.rated_at < cutoff)
            .subquery()
        )
        counts = dict.fromkeys(TIERS, 0)
        for tier, n in session.execute(
            select(ranked.c.tier, func.count()).where(ranked.c.rank == 1).group_by(ranked.c.tier)
        ):
            counts[tier] = n
        out.append({"date": day.isoformat(), **counts})
    return out


def inspector_consistency(
    session: Session, scope: Scope, period: Period, min_inspections: int = 1
) -> dict[str, Any]:
    """Finding rate per inspector (finished tablet records in the period) with funnel limits."""
    start, end = period.utc_bounds
    query = (
        select(Inspector.name, Inspector.credential_no, FieldInspection.result)
        .join(Inspector, Inspector.id == FieldInspection.inspector_id)
        .where(
            FieldInspection.status == InspectionStatus.FINISHED,
            FieldInspection.result.is_not(None),
            FieldInspection.checked_in_at >= start,
            FieldInspection.checked_in_at < end,
        )
    )
    if scope.department_id is not None:
        query = query.where(Inspector.department_id == scope.department_id)
    rows = session.execute(query).all()
    if not rows:
        return {"overall_rate": None, "inspectors": [], "outliers": [], "funnel": []}
    labels = np.asarray([f"{name} ({credential})" for name, credential, _ in rows], dtype=object)
    found = np.asarray([1 if result in PROBLEM_RESULTS else 0 for _, _, result in rows])
    report = consistency_report(labels, found, min_inspections=min_inspections).as_dict()
    top = max(row["inspections"] for row in report["inspectors"]) if report["inspectors"] else 1
    counts = np.unique(np.linspace(1, max(top, 2) + 1, num=60).round().astype(np.int64))
    low95, high95 = funnel(counts, report["overall_rate"], 0.95)
    low998, high998 = funnel(counts, report["overall_rate"], 0.998)
    report["funnel"] = [
        {
            "n": int(n),
            "low_95": round(float(a), 4),
            "high_95": round(float(b), 4),
            "low_998": round(float(c), 4),
            "high_998": round(float(d), 4),
        }
        for n, a, b, c, d in zip(counts, low95, high95, low998, high998, strict=True)
    ]
    return report


# ---------------------------------------------------------------------- the map


def plan_in_scope(session: Session, scope: Scope, code: str) -> SamplingPlan:
    """The plan ``code`` if the scope may see it (otherwise not found: codes reveal nothing)."""
    plan = session.scalar(select(SamplingPlan).where(SamplingPlan.code == code))
    if plan is None:
        raise DashboardNotFoundError(reason("plan not found"))
    departments = {department.id for department in plan.departments}
    if scope.department_id is not None and scope.department_id not in departments:
        raise DashboardNotFoundError(reason("plan not found"))
    return plan


def map_tasks(
    session: Session, scope: Scope, today: dt.date, plan_code: str | None = None
) -> dict[str, Any]:
    """Task points (WGS-84) with their map state: a plan's tasks, or all open work.

    Alternates on standby are left out; tasks of enterprises without a location are counted
    in ``unlocated``."""
    query = (
        select(
            InspectionTask.uuid,
            InspectionTask.status,
            InspectionTask.due_date,
            Enterprise.name,
            func.ST_X(Enterprise.location),
            func.ST_Y(Enterprise.location),
        )
        .join(Enterprise, Enterprise.id == InspectionTask.enterprise_id)
        .where(InspectionTask.status != TaskStatus.STANDBY)
        .order_by(InspectionTask.id)
    )
    if plan_code:
        plan = plan_in_scope(session, scope, plan_code)
        query = query.join(Draw, Draw.id == InspectionTask.draw_id).where(Draw.plan_id == plan.id)
    else:
        query = query.where(InspectionTask.status.in_(OPEN_STATUSES))
    in_scope = _task_in_scope(scope)
    if in_scope is not None:
        query = query.where(in_scope)
    points = []
    counts = dict.fromkeys(MAP_STATES, 0)
    unlocated = 0
    for task_uuid, status, due_date, name, lon, lat in session.execute(query):
        state = str(TaskStatus(status))
        if TaskStatus(status) in OPEN_STATUSES and due_date < today:
            state = "overdue"
        counts[state] += 1
        if lon is None or lat is None:
            unlocated += 1
            continue
        points.append(
            {
                "task": str(task_uuid),
                "enterprise": name,
                "state": state,
                "due_date": due_date.isoformat(),
                "lon": round(float(lon), 6),
                "lat": round(float(lat), 6),
            }
        )
    return {
        "plan": plan_code or None,
        "crs": "wgs84",
        "counts": counts,
        "total": sum(counts.values()),
        "unlocated": unlocated,
        "points": points,
    }


def county_geojson(session: Session, tolerance: float = SIMPLIFY_DEGREES) -> dict[str, Any]:
    """The county polygons as a GeoJSON FeatureCollection, simplified for the browser.

    The polygons are stored in WGS-84 (GCJ-02 sources are converted on import, see
    docs/importing.md), the same datum as the task points, so both are drawn unchanged."""
    rows = session.execute(
        select(Jurisdiction.adcode, Jurisdiction.name, func.ST_AsBinary(Jurisdiction.polygon))
        .where(
            Jurisdiction.level == JurisdictionLevel.COUNTY,
            Jurisdiction.polygon.is_not(None),
        )
        .order_by(Jurisdiction.adcode)
    ).all()
    features = []
    if rows:
        geometries = shapely.from_wkb([bytes(wkb) for _, _, wkb in rows])
        simple = shapely.simplify(geometries, tolerance, preserve_topology=True)
        simple = shapely.set_precision(simple, 1e-5)
        for (adcode, name, _), geometry in zip(rows, simple, strict=True):
            if geometry is None or geometry.is_empty:
                continue
            features.append(
                {
                    "type": "Feature",
                    "properties": {"adcode": adcode, "name": name},
                    "geometry": shapely.geometry.mapping(geometry),
                }
            )
    return {"type": "FeatureCollection", "crs_note": "wgs84", "features": features}


# ---------------------------------------------------------------------- everything at once


def dashboard(
    session: Session,
    actor: User,
    period: Period,
    clock: Callable[[], dt.datetime] = utcnow,
) -> dict[str, Any]:
    """Every indicator for the actor's scope and the period (the page's one call)."""
    scope = scope_for(actor)
    now = clock()
    today = local_date(now)
    return {
        "scope": scope,
        "period": period,
        "item_coverage": item_coverage(session, scope, period),
        "cross_department": cross_department_share(session, scope, period),
        "mobile_rate": mobile_enforcement_rate(session, scope, period),
        "geofence": geofence_checkins(session, scope, period),
        "rectifications": overdue_rectifications(session, scope, today),
        "clocks": overdue_clocks(session, scope, now),
        "tiers": tier_distribution(session, period),
        "consistency": inspector_consistency(session, scope, period),
    }


__all__ = [
    "GOALS",
    "MAP_STATES",
    "CompletedTasks",
    "DashboardError",
    "DashboardNotFoundError",
    "DashboardPermissionError",
    "DashboardValidationError",
    "Period",
    "Scope",
    "Share",
    "completed_tasks",
    "county_geojson",
    "cross_department_share",
    "dashboard",
    "geofence_checkins",
    "inspector_consistency",
    "item_coverage",
    "map_tasks",
    "mobile_enforcement_rate",
    "month_ends",
    "overdue_clocks",
    "overdue_rectifications",
    "plan_in_scope",
    "scope_for",
    "tier_distribution",
]
