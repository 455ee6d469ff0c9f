"""The supervisors' figures, computed from constructed data with known answers (both backends).

The world below (today 2025-06-15, Asia/Shanghai; the period is 2025):

====  =========  ==================  ==========================================================
task  items      status              how it ended
====  =========  ==================  ==========================================================
t1    a1         done                tablet, finished 2025-03-01, no problem, inside the fence
t2    a1 + b1    done (joint)        tablet, 2025-04-01, rectification, outside and flagged
t3    a3 (docs)  done                otherwise (no tablet record), 2025-04-10
t4    a2         done                otherwise, 2025-04-20
t5    b1         done                tablet, 2025-05-01, no problem, outside, acknowledged
t6    a1         open, due 05-01     overdue on the map
t7    a2         in progress         due 2025-12-31
t8    a1         done                tablet, finished 2025-01-01 00:30 Shanghai (in 2025)
t9    a1         done                tablet, finished 2024-12-31 23:59 Shanghai (not in 2025)
t10   a1         standby alternate   never on the map
t11   a1         cancelled
====  =========  ==================  ==========================================================

Items: department A has a1, a2 (on site), a3 (documents), a4 (inactive), a5 (never inspected);
department B has b1.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

import pytest
from geoalchemy2 import WKTElement
from sqlalchemy.orm import Session

from enforcement.models import (
    Clock,
    CreditRating,
    Draw,
    FieldInspection,
    GeofenceVerdict,
    InspectionMethod,
    InspectionResult,
    InspectionStatus,
    InspectionTask,
    JurisdictionLevel,
    RatingCause,
    RectificationOrder,
    RectificationStatus,
    Role,
    SamplingPlan,
    TaskStatus,
    User,
)
from enforcement.services import dashboards as d
from tests.factories import (
    DepartmentFactory,
    EnterpriseFactory,
    InspectionItemFactory,
    InspectorFactory,
    JurisdictionFactory,
)

UTC = dt.UTC
TODAY = dt.date(2025, 6, 15)
NOW = dt.datetime(2025, 6, 15, 2, 0, tzinfo=UTC)
YEAR = d.Period(dt.date(2025, 1, 1), dt.date(2025, 12, 31))


def at(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=UTC)


@dataclass
class World:
    a: int
    b: int
    plan_code: str
    b_only_plan: str
    tasks: dict[str, InspectionTask]


def build_world(session: Session) -> World:
    dept_a, dept_b = DepartmentFactory(code="AAA"), DepartmentFactory(code="BBB")
    a1 = InspectionItemFactory(code="A1", department=dept_a)
    a2 = InspectionItemFactory(code="A2", department=dept_a)
    a3 = InspectionItemFactory(code="A3", department=dept_a, method=InspectionMethod.DOCUMENTS)
    InspectionItemFactory(code="A4", department=dept_a, active=False)
    InspectionItemFactory(code="A5", department=dept_a)
    b1 = InspectionItemFactory(code="B1", department=dept_b)
    ia1 = InspectorFactory(name="甲一", credential_no="A-001", department=dept_a)
    ia2 = InspectorFactory(name="甲二", credential_no="A-002", department=dept_a)
    ib1 = InspectorFactory(name="乙一", credential_no="B-001", department=dept_b)

    plan = SamplingPlan(
        code="DASH-1", title="看板", year=2025, tier_ratios={"A": 0.1}, items=[a1, a2, a3, b1]
    )
    b_plan = SamplingPlan(code="DASH-B", title="乙", year=2025, tier_ratios={"A": 0.1}, items=[b1])
    draw = Draw(plan=plan, algorithm_version="t", snapshot_hash="0" * 64, report={})
    b_draw = Draw(plan=b_plan, algorithm_version="t", snapshot_hash="1" * 64, report={})
    session.add_all([plan, b_plan, draw, b_draw])

    spec = {
        # name: items, status, due, updated_at, located
        "t1": ([a1], TaskStatus.DONE, "2025-06-30", at(2025, 3, 1), True),
        "t2": ([a1, b1], TaskStatus.DONE, "2025-06-30", at(2025, 4, 1), True),
        "t3": ([a3], TaskStatus.DONE, "2025-06-30", at(2025, 4, 10), False),
        "t4": ([a2], TaskStatus.DONE, "2025-06-30", at(2025, 4, 20), True),
        "t5": ([b1], TaskStatus.DONE, "2025-06-30", at(2025, 5, 1), True),
        "t6": ([a1], TaskStatus.OPEN, "2025-05-01", at(2025, 2, 1), True),
        "t7": ([a2], TaskStatus.IN_PROGRESS, "2025-12-31", at(2025, 2, 1), True),
        "t8": ([a1], TaskStatus.DONE, "2025-06-30", at(2025, 6, 1), True),
        "t9": ([a1], TaskStatus.DONE, "2025-06-30", at(2025, 6, 1), True),
        "t10": ([a1], TaskStatus.STANDBY, "2025-06-30", at(2025, 2, 1), True),
        "t11": ([a1], TaskStatus.CANCELLED, "2025-06-30", at(2025, 2, 1), True),
    }
    tasks = {}
    for n, (name, (items, status, due, updated, located)) in enumerate(spec.items()):
        enterprise = EnterpriseFactory(
            location=WKTElement(f"POINT({120.2 + n / 100} {29.2 + n / 100})", srid=4326)
            if located
            else None
        )
        alternate = status is TaskStatus.STANDBY
        tasks[name] = InspectionTask(
            draw=draw,
            enterprise=enterprise,
            stratum="x",
            items=items,
            due_date=dt.date.fromisoformat(due),
            status=status,
            is_alternate=alternate,
            alternate_rank=1 if alternate else None,
            created_at=at(2025, 1, 2),
            updated_at=updated,
        )
        session.add(tasks[name])
    session.flush()

    def record(task, inspector, finished, result, fence=GeofenceVerdict.INSIDE, flagged=False):
        inspection = FieldInspection(
            uuid=uuid.uuid4(),
            task_id=task.id,
            inspector_id=inspector.id,
            status=InspectionStatus.FINISHED,
            created_digest="0" * 64,
            reported_crs="wgs84",
            reported_lon=120.0,
            reported_lat=29.0,
            checkin_lon=120.0,
            checkin_lat=29.0,
            accuracy_m=10.0,
            device_time=finished - dt.timedelta(hours=1),
            checked_in_at=finished - dt.timedelta(minutes=30),
            geofence=fence,
            geofence_radius_m=200.0,
            flagged=flagged,
            result=result,
            finished_at=finished,
        )
        session.add(inspection)
        return inspection

    ok, problem = InspectionResult.NO_PROBLEM, InspectionResult.RECTIFICATION_ORDERED
    outside = GeofenceVerdict.OUTSIDE
    r1 = record(tasks["t1"], ia1, at(2025, 3, 1, 3), ok)
    r2 = record(tasks["t2"], ia1, at(2025, 4, 1, 3), problem, outside, flagged=True)
    r5 = record(tasks["t5"], ib1, at(2025, 5, 1, 3), ok, outside, flagged=False)
    record(tasks["t8"], ia2, at(2024, 12, 31, 17, 0), problem)  # 01:00 Jan 1 in Shanghai
    record(tasks["t9"], ia2, at(2024, 12, 31, 15, 59), ok)  # 23:59 Dec 31 in Shanghai
    # A check-in that never finished does not count anywhere but the fence figures.
    session.flush()

    def order(inspection, dept, due, status):
        session.add(
            RectificationOrder(
                inspection_id=inspection.id,
                enterprise_id=inspection.task.enterprise_id,
                department_id=dept.id,
                due_date=dt.date.fromisoformat(due),
                status=status,
            )
        )

    order(r2, dept_a, "2025-06-01", RectificationStatus.OPEN)  # open past its date: overdue
    order(r1, dept_a, "2025-07-01", RectificationStatus.OPEN)  # still running
    order(r5, dept_b, "2025-05-20", RectificationStatus.OVERDUE)

    def clock(kind, subject, dept, due, stopped=None):
        session.add(
            Clock(
                kind=kind,
                subject_type=subject,
                subject_id=str(uuid.uuid4())[:8],
                department_id=dept.id,
                started_at=at(2025, 1, 1),
                due_at=due,
                stopped_at=stopped,
            )
        )

    clock("case.decision", "penalty_cases", dept_a, at(2025, 6, 1))
    clock("case.decision", "penalty_cases", dept_a, at(2025, 6, 1), stopped=at(2025, 5, 1))
    clock("case.decision", "penalty_cases", dept_a, at(2025, 7, 1))  # not yet due
    clock("rectification", "rectification_orders", dept_a, at(2025, 6, 1))  # shown elsewhere
    clock("transfer.sending", "transfers", dept_b, at(2025, 6, 10))

    e1, e2, e3 = (tasks[n].enterprise for n in ("t1", "t2", "t4"))
    for enterprise, tier, when in (
        (e1, "A", at(2025, 1, 10)),
        (e1, "C", at(2025, 2, 15)),
        (e2, "B", at(2025, 1, 20)),
        (e3, "D", at(2025, 2, 1)),
        (e3, "A", at(2025, 4, 1)),
    ):
        session.add(
            CreditRating(
                enterprise_id=enterprise.id,
                scorecard="t",
                score=1.0,
                tier=tier,
                cause=RatingCause.BATCH,
                rated_at=when,
            )
        )
    session.flush()
    return World(dept_a.id, dept_b.id, "DASH-1", "DASH-B", tasks)


@pytest.fixture
def world(db_session: Session) -> World:
    return build_world(db_session)


def test_completion_time_is_the_tablet_finish_or_the_last_change_in_shanghai_dates(
    db_session, world
) -> None:
    done = d.completed_tasks(db_session, d.Scope(world.a), YEAR)
    names = {task.id: name for name, task in world.tasks.items()}
    assert sorted(names[t] for t in done.task_ids) == ["t1", "t2", "t3", "t4", "t8"]
    tablet = {names[t] for t, v in zip(done.task_ids, done.via_tablet, strict=True) if v}
    assert tablet == {"t1", "t2", "t8"}
    previous = d.Period(dt.date(2024, 1, 1), dt.date(2024, 12, 31))
    earlier = d.completed_tasks(db_session, d.Scope(world.a), previous)
    assert [names[t] for t in earlier.task_ids] == ["t9"]


def test_item_coverage_counts_active_items_of_the_department(db_session, world) -> None:
    coverage = d.item_coverage(db_session, d.Scope(world.a), YEAR)
    assert (coverage.numerator, coverage.denominator, coverage.goal) == (3, 4, 1.0)
    assert coverage.share == 0.75 and coverage.meets_goal is False
    assert {r["code"]: r["inspections"] for r in coverage.rows} == {
        "A1": 3,
        "A2": 1,
        "A3": 1,
        "A5": 0,
    }
    bureau = d.item_coverage(db_session, d.Scope(None), YEAR)
    assert (bureau.numerator, bureau.denominator) == (4, 5)
    b = d.item_coverage(db_session, d.Scope(world.b), YEAR)
    assert (b.numerator, b.denominator, b.meets_goal) == (1, 1, True)


def test_cross_department_share(db_session, world) -> None:
    a = d.cross_department_share(db_session, d.Scope(world.a), YEAR)
    assert (a.numerator, a.denominator, a.share, a.meets_goal) == (1, 5, 0.2, True)
    bureau = d.cross_department_share(db_session, d.Scope(None), YEAR)
    assert (bureau.numerator, bureau.denominator) == (1, 6)
    b = d.cross_department_share(db_session, d.Scope(world.b), YEAR)
    assert (b.numerator, b.denominator) == (1, 2)
    empty = d.cross_department_share(
        db_session, d.Scope(world.a), d.Period(dt.date(2020, 1, 1), dt.date(2020, 1, 31))
    )
    assert (empty.denominator, empty.share, empty.meets_goal) == (0, None, None)


def test_mobile_enforcement_rate_counts_on_site_tasks_only(db_session, world) -> None:
    a = d.mobile_enforcement_rate(db_session, d.Scope(world.a), YEAR)
    # t3 (documents only) is not on site; t4 was done without the tablet.
    assert (a.numerator, a.denominator, a.share, a.goal, a.meets_goal) == (3, 4, 0.75, 0.9, False)
    assert a.rows == [{"channel": "tablet", "tasks": 3}, {"channel": "other", "tasks": 1}]
    bureau = d.mobile_enforcement_rate(db_session, d.Scope(None), YEAR)
    assert (bureau.numerator, bureau.denominator) == (4, 5)


def test_geofence_checkins_flagged_and_acknowledged(db_session, world) -> None:
    assert d.geofence_checkins(db_session, d.Scope(world.a), YEAR) == {
        "outside": 1,
        "flagged": 1,
        "acknowledged": 0,
    }
    assert d.geofence_checkins(db_session, d.Scope(None), YEAR) == {
        "outside": 2,
        "flagged": 1,
        "acknowledged": 1,
    }


def test_overdue_rectifications_and_clocks(db_session, world) -> None:
    a = d.overdue_rectifications(db_session, d.Scope(world.a), TODAY)
    assert a["count"] == 1
    assert a["rows"][0]["due_date"] == "2025-06-01" and a["rows"][0]["days_overdue"] == 14
    assert d.overdue_rectifications(db_session, d.Scope(None), TODAY)["count"] == 2
    assert d.overdue_rectifications(db_session, d.Scope(world.b), TODAY)["count"] == 1

    clocks_a = d.overdue_clocks(db_session, d.Scope(world.a), NOW)
    assert clocks_a == {
        "count": 1,
        "cases": 1,
        "rows": [{"kind": "case.decision", "subject_type": "penalty_cases", "count": 1}],
    }
    bureau = d.overdue_clocks(db_session, d.Scope(None), NOW)
    assert (bureau["count"], bureau["cases"]) == (2, 1)


def test_tier_distribution_takes_each_enterprise_latest_rating_at_month_end(
    db_session, world
) -> None:
    quarter = d.Period(dt.date(2025, 1, 1), dt.date(2025, 4, 15))
    assert d.tier_distribution(db_session, quarter) == [
        {"date": "2025-01-31", "A": 1, "B": 1, "C": 0, "D": 0},
        {"date": "2025-02-28", "A": 0, "B": 1, "C": 1, "D": 1},
        {"date": "2025-03-31", "A": 0, "B": 1, "C": 1, "D": 1},
        {"date": "2025-04-15", "A": 1, "B": 1, "C": 1, "D": 0},
    ]


def test_month_ends_cross_the_year() -> None:
    period = d.Period(dt.date(2024, 11, 20), dt.date(2025, 1, 10))
    assert d.month_ends(period) == [
        dt.date(2024, 11, 30),
        dt.date(2024, 12, 31),
        dt.date(2025, 1, 10),
    ]


def test_inspector_consistency_reuses_the_funnel_of_credit_rating(db_session, world) -> None:
    report = d.inspector_consistency(db_session, d.Scope(world.a), YEAR)
    assert report["overall_rate"] == round(2 / 3, 4)
    rows = {r["inspector"]: (r["inspections"], r["findings"]) for r in report["inspectors"]}
    assert rows == {"甲一 (A-001)": (2, 1), "甲二 (A-002)": (1, 1)}
    assert report["funnel"][0]["n"] == 1
    for point in report["funnel"]:
        assert point["low_998"] <= point["low_95"] <= 2 / 3 <= point["high_95"] <= point["high_998"]
    assert (
        d.inspector_consistency(db_session, d.Scope(world.b), YEAR)["inspectors"][0]["inspector"]
        == "乙一 (B-001)"
    )


def test_map_of_open_work_and_of_a_plan(db_session, world) -> None:
    open_work = d.map_tasks(db_session, d.Scope(world.a), TODAY)
    assert open_work["counts"] == {
        "open": 0,
        "in_progress": 1,
        "done": 0,
        "cancelled": 0,
        "overdue": 1,
    }
    assert {p["state"] for p in open_work["points"]} == {"in_progress", "overdue"}
    plan = d.map_tasks(db_session, d.Scope(world.a), TODAY, world.plan_code)
    assert plan["counts"] == {
        "open": 0,
        "in_progress": 1,
        "done": 6,
        "cancelled": 1,
        "overdue": 1,
    }
    assert plan["total"] == 9 and plan["unlocated"] == 1 and len(plan["points"]) == 8
    first = plan["points"][0]
    assert (first["lon"], first["lat"]) == (120.2, 29.2)  # WGS-84, as stored
    with pytest.raises(d.DashboardNotFoundError):
        d.map_tasks(db_session, d.Scope(world.a), TODAY, world.b_only_plan)
    with pytest.raises(d.DashboardNotFoundError):
        d.map_tasks(db_session, d.Scope(None), TODAY, "NO-SUCH-PLAN")
    assert d.map_tasks(db_session, d.Scope(None), TODAY, world.b_only_plan)["total"] == 0


def test_county_geojson_is_simplified_and_leaves_other_levels_out(db_session) -> None:
    # A square with a 10 m notch on one side: simplification at ~100 m removes the notch.
    notched = (
        "MULTIPOLYGON(((120 29, 120.05 29, 120.05 29.0001, 120.0501 29.0002, 120.1 29,"
        " 120.1 29.1, 120 29.1, 120 29)))"
    )
    JurisdictionFactory(
        adcode="330783",
        name="东阳市",
        level=JurisdictionLevel.COUNTY,
        polygon=WKTElement(notched, srid=4326),
    )
    JurisdictionFactory(
        adcode="330783001",
        name="吴宁街道",
        level=JurisdictionLevel.TOWNSHIP,
        polygon=WKTElement("MULTIPOLYGON(((120 29, 120.01 29, 120.01 29.01, 120 29)))", srid=4326),
    )
    JurisdictionFactory(adcode="330784", name="无边界", level=JurisdictionLevel.COUNTY)
    db_session.flush()
    collection = d.county_geojson(db_session)
    assert [f["properties"] for f in collection["features"]] == [
        {"adcode": "330783", "name": "东阳市"}
    ]
    geometry = collection["features"][0]["geometry"]
    # One part: the precision step gives a Polygon (ECharts draws either).
    assert geometry["type"] in ("Polygon", "MultiPolygon")
    ring = geometry["coordinates"][0]
    if geometry["type"] == "MultiPolygon":
        ring = ring[0]
    assert len(ring) == 5  # the four corners, closed
    assert {(round(x, 5), round(y, 5)) for x, y in ring} == {
        (120.0, 29.0),
        (120.1, 29.0),
        (120.1, 29.1),
        (120.0, 29.1),
    }


@pytest.mark.parametrize(
    ("role", "department", "allowed"),
    [
        (Role.SUPERVISOR, True, True),
        (Role.ADMIN, False, True),
        (Role.INSPECTOR, True, False),
        (Role.ENTERPRISE, False, False),
        (Role.LIAISON, False, False),
    ],
)
def test_only_supervisors_and_admins_have_a_scope(role, department, allowed) -> None:
    user = User(username="u", display_name="u", role=role, password_hash="x", active=True)
    user.department_id = 7 if department else None
    if allowed:
        expected = None if role is Role.ADMIN else 7
        assert d.scope_for(user) == d.Scope(expected)
    else:
        with pytest.raises(d.DashboardPermissionError):
            d.scope_for(user)


def test_period_names_the_bad_field() -> None:
    with pytest.raises(d.DashboardValidationError) as error:
        d.Period(dt.date(2025, 2, 1), dt.date(2025, 1, 1))
    assert error.value.errors == {"to": "must not be before from"}
