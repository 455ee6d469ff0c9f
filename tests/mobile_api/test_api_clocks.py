"""Alerts and clocks over the API: own department only, roles refused, acknowledgement."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
import webtest
from sqlalchemy import select
from sqlalchemy.orm import Session

from enforcement.models import AuditLog, Department, Role, User
from enforcement.services import clocks
from enforcement.services.clocks import end_of_date
from tests.factories import DepartmentFactory, EnterpriseFactory
from tests.mobile_api.conftest import PASSWORD

DUE = end_of_date(dt.date(2026, 10, 10))
KIND = "rectification"


def token(app: webtest.TestApp, username: str) -> dict[str, str]:
    answer = app.post_json("/api/v1/tokens", {"username": username, "password": PASSWORD})
    return {"Authorization": f"Bearer {answer.json['token']}"}


@pytest.fixture
def departments(data: Session) -> tuple[Department, Department]:
    mine, theirs = DepartmentFactory(), DepartmentFactory()
    for department in (mine, theirs):
        for n in range(2):
            clocks.start_clock(
                data,
                kind=KIND if n == 0 else "case.deadline",
                subject=EnterpriseFactory(),
                due_at=DUE + dt.timedelta(days=n),
                department_id=department.id,
            )
    # 2026-10-11 09:00 Shanghai: the first clock of each is overdue, the second due today.
    clocks.scan(data, dt.datetime(2026, 10, 11, 1, tzinfo=dt.UTC))
    data.commit()
    return mine, theirs


def test_supervisors_see_and_acknowledge_their_departments_alerts(
    testapp: webtest.TestApp,
    data: Session,
    make_user: Callable[..., User],
    departments: tuple[Department, Department],
) -> None:
    mine, theirs = departments
    make_user("head", Role.SUPERVISOR, department_id=mine.id)
    make_user("other-head", Role.SUPERVISOR, department_id=theirs.id)
    head = token(testapp, "head")

    listed = testapp.get("/api/v1/alerts", headers=head).json
    assert {(a["level"], a["params"]["kind"]) for a in listed["alerts"]} == {
        ("overdue", KIND),
        ("due", "case.deadline"),
    }
    assert all(a["department_id"] == mine.id for a in listed["alerts"])
    assert listed["next_after"] is None
    overdue = next(a for a in listed["alerts"] if a["level"] == "overdue")
    assert overdue["params"]["due_date"] == "2026-10-10"
    assert "2026-10-10" in overdue["message"]

    only_overdue = testapp.get("/api/v1/alerts?level=overdue", headers=head).json["alerts"]
    assert [a["id"] for a in only_overdue] == [overdue["id"]]
    paged = testapp.get("/api/v1/alerts?limit=1", headers=head).json
    assert len(paged["alerts"]) == 1 and paged["next_after"] == paged["alerts"][0]["id"]
    # The message is in the reader's language: the account's (zh_CN), or the one asked for.
    assert overdue["message"].endswith("届满。") or "超期" in overdue["message"]
    english = testapp.get("/api/v1/alerts?level=overdue&_LOCALE_=en", headers=head).json["alerts"][
        0
    ]
    assert english["message"].startswith("The ")

    # Another department's alert is not there for them.
    foreign = token(testapp, "other-head")
    path = f"/api/v1/alerts/{overdue['id']}/acknowledgement"
    testapp.post(path, headers=foreign, status=404)

    acknowledged = testapp.post(path, headers=head).json
    assert acknowledged["acknowledged_at"] is not None
    assert acknowledged["acknowledged_by"] == data.scalar(
        select(User.id).where(User.username == "head")
    )
    assert testapp.post(path, headers=head).json == acknowledged  # a repeat changes nothing
    still_open = testapp.get("/api/v1/alerts", headers=head).json["alerts"]
    assert [a["level"] for a in still_open] == ["due"]
    done = testapp.get("/api/v1/alerts?state=acknowledged", headers=head).json["alerts"]
    assert [a["id"] for a in done] == [overdue["id"]]
    data.commit()
    actions = data.scalars(
        select(AuditLog.action).where(
            AuditLog.entity_type == "clock_alerts", AuditLog.entity_id == str(overdue["id"])
        )
    ).all()
    assert actions == ["alert.acknowledge"]


def test_clocks_are_listed_by_state(
    testapp: webtest.TestApp,
    make_user: Callable[..., User],
    departments: tuple[Department, Department],
) -> None:
    mine, _ = departments
    make_user("head", Role.SUPERVISOR, department_id=mine.id)
    head = token(testapp, "head")
    running = testapp.get("/api/v1/clocks", headers=head).json["clocks"]
    assert len(running) == 2 and all(c["department_id"] == mine.id for c in running)
    kinds = testapp.get("/api/v1/clocks?kind=rectification&state=all", headers=head).json
    assert [c["kind"] for c in kinds["clocks"]] == [KIND]
    assert kinds["clocks"][0]["due_date"] == "2026-10-10"
    assert testapp.get("/api/v1/clocks?state=stopped", headers=head).json["clocks"] == []
    by_type = testapp.get("/api/v1/clocks?subject_type=enterprises", headers=head).json
    assert len(by_type["clocks"]) == 2


@pytest.mark.parametrize("role", [Role.INSPECTOR, Role.ENTERPRISE])
def test_other_roles_are_refused(
    testapp: webtest.TestApp,
    make_user: Callable[..., User],
    departments: tuple[Department, Department],
    role: Role,
) -> None:
    mine, _ = departments
    make_user("someone", role, department_id=mine.id)
    headers = token(testapp, "someone")
    assert testapp.get("/api/v1/alerts", headers=headers, status=403).json["error"]["code"] == (
        "forbidden"
    )
    testapp.get("/api/v1/clocks", headers=headers, status=403)
    testapp.post("/api/v1/alerts/1/acknowledgement", headers=headers, status=403)
    testapp.get("/api/v1/alerts", status=401)


def test_an_administrator_sees_every_department(
    testapp: webtest.TestApp,
    make_user: Callable[..., User],
    departments: tuple[Department, Department],
) -> None:
    make_user("root", Role.ADMIN)
    alerts = testapp.get("/api/v1/alerts", headers=token(testapp, "root")).json["alerts"]
    assert {a["department_id"] for a in alerts} == {d.id for d in departments}
    bad = testapp.get("/api/v1/alerts?state=closed", headers=token(testapp, "root"), status=422)
    assert bad.json["error"]["code"] == "validation_failed"
