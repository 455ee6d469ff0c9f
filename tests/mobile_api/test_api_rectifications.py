"""Rectification over the API: an inspection orders it, the deadline passes, the re-inspection
task reaches the officers' tablets, the enterprise reports, the re-inspection closes it."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any

import pytest
import webtest
from sqlalchemy.orm import Session

from enforcement.models import Role, User
from enforcement.services import clocks
from tests.field_work import FieldWork, drawn_field_work
from tests.mobile_api.test_api_inspections import (
    add_signature_file,
    all_answers,
    checkin_body,
    fresh,
    token,
)

SH = clocks.SHANGHAI


def at(y: int, m: int, d: int, hh: int = 0) -> dt.datetime:
    return dt.datetime(y, m, d, hh, tzinfo=SH).astimezone(dt.UTC)


@pytest.fixture
def field(data: Session) -> FieldWork:
    return drawn_field_work(data)


def run_inspection(
    app: webtest.TestApp,
    headers: dict[str, str],
    field: FieldWork,
    task_uuid: str,
    signature: str,
    result: dict[str, Any],
) -> str:
    """Check in, answer, find (unless no problem), sign and finish through the API."""
    base = f"/api/v1/inspections/{uuid.uuid4()}"
    body = checkin_body(field)
    body["task"] = task_uuid
    app.put_json(base, body, headers=headers, status=201)
    answers = all_answers(field)
    if result["result"] != "no_problem":
        code = field.task.checklist[0]["code"]
        answers[code] = {"answer": "non_compliant", "note": "未公示营业执照"}
        finding = {"item_code": code, "description": "未公示营业执照", "severity": "minor"}
        app.put_json(f"{base}/findings/{uuid.uuid4()}", finding, headers=headers, status=201)
    app.put_json(f"{base}/answers", {"answers": answers}, headers=headers)
    app.put_json(
        f"{base}/signature",
        {
            "signer_name": "王五",
            "signer_role": "负责人",
            "image_sha256": signature,
            "signed_at": "2025-04-02T02:05:00Z",
        },
        headers=headers,
    )
    finished = app.put_json(f"{base}/result", result, headers=headers).json
    assert finished["status"] == "finished"
    return finished["uuid"]


def test_rectification_overdue_reinspection_report_and_close(
    testapp: webtest.TestApp,
    field: FieldWork,
    data: Session,
    make_user: Callable[..., User],
) -> None:
    lead = token(testapp, "field-lead")
    member = token(testapp, "field-member")
    signature = add_signature_file(data)
    inspection_uuid = run_inspection(
        testapp,
        lead,
        field,
        str(field.task.uuid),
        signature,
        {
            "result": "rectification_ordered",
            "rectification_due": "2025-04-20",
            "finished_at": "2025-04-02T02:10:00Z",
        },
    )
    make_user("company", Role.ENTERPRISE, enterprise_id=field.task.enterprise_id)
    company = token(testapp, "company")
    orders = testapp.get("/api/v1/rectifications", headers=company).json["rectifications"]
    assert len(orders) == 1
    order = orders[0]
    assert order["inspection_uuid"] == inspection_uuid and order["status"] == "open"
    assert order["due_date"] == "2025-04-20" and order["clock_running"] is True
    assert order["due_at"] == "2025-04-20T16:00:00+00:00"
    assert order["reinspection_task"] is None

    cursor = testapp.get("/api/v1/my/tasks?since=0", headers=member).json["cursor"]

    # The deadline passes: the scheduled scan marks it overdue and schedules the re-inspection.
    alerts = clocks.scan(fresh(data), at(2025, 4, 21, 9))
    assert [a.level.value for a in alerts] == ["overdue"]
    data.commit()
    overdue = testapp.get(f"/api/v1/rectifications/{order['id']}", headers=lead).json
    assert overdue["status"] == "overdue"
    reinspection = overdue["reinspection_task"]
    assert reinspection["round"] == 2 and reinspection["status"] == "open"

    # It reaches both officers' tablets, as a round-2 task of the same enterprise.
    for headers in (lead, member):
        feed = testapp.get(
            f"/api/v1/my/tasks?since={0 if headers is lead else cursor}", headers=headers
        ).json
        tasks = {t["uuid"]: t for t in feed["tasks"]}
        assert reinspection["uuid"] in tasks
        task = tasks[reinspection["uuid"]]
        assert task["round"] == 2
        assert task["enterprise"]["id"] == field.task.enterprise_id
        assert task["due_date"] == reinspection["due_date"]
        assert any(p["inspection_uuid"] == inspection_uuid for p in task["previous"])
    # The plan's task list stays the drawn tasks.
    supervisor = token(testapp, "supervisor", "suijian-demo")
    plan_tasks = testapp.get(
        f"/api/v1/plans/{field.task.draw.plan.code}/tasks?limit=500", headers=supervisor
    ).json
    assert reinspection["uuid"] not in {t["uuid"] for t in plan_tasks["tasks"]}

    # The enterprise reports (late); a second report is a conflict.
    path = f"/api/v1/rectifications/{order['id']}/report"
    testapp.post_json(path, {"note": ""}, headers=company, status=422)
    reported = testapp.post_json(path, {"note": "已公示营业执照"}, headers=company).json
    assert reported["status"] == "rectified" and reported["clock_running"] is False
    assert reported["reinspection_task"]["uuid"] == reinspection["uuid"]
    testapp.post_json(path, {"note": "再次"}, headers=company, status=409)

    # The re-inspection finds nothing: the order is closed.
    second = run_inspection(
        testapp,
        lead,
        field,
        reinspection["uuid"],
        signature,
        {"result": "no_problem", "finished_at": "2025-04-25T02:10:00Z"},
    )
    closed = testapp.get(f"/api/v1/rectifications/{order['id']}", headers=company).json
    assert closed["status"] == "reinspected"
    assert closed["reinspection_uuid"] == second
    assert closed["reinspection_result"] == "no_problem" and closed["closed_at"]
    listed = testapp.get("/api/v1/rectifications?status=reinspected", headers=company).json
    assert [o["id"] for o in listed["rectifications"]] == [order["id"]]


def test_who_may_see_and_report(
    testapp: webtest.TestApp,
    field: FieldWork,
    data: Session,
    make_user: Callable[..., User],
) -> None:
    lead = token(testapp, "field-lead")
    run_inspection(
        testapp,
        lead,
        field,
        str(field.task.uuid),
        add_signature_file(data),
        {
            "result": "rectification_ordered",
            "rectification_due": "2025-04-20",
            "finished_at": "2025-04-02T02:10:00Z",
        },
    )
    order_id = testapp.get("/api/v1/rectifications", headers=lead).json["rectifications"][0]["id"]
    other = next(
        t.enterprise_id
        for t in field.task.draw.tasks
        if t.enterprise_id != field.task.enterprise_id
    )
    make_user("stranger", Role.ENTERPRISE, enterprise_id=other)
    stranger = token(testapp, "stranger")
    assert testapp.get("/api/v1/rectifications", headers=stranger).json["rectifications"] == []
    testapp.get(f"/api/v1/rectifications/{order_id}", headers=stranger, status=404)
    path = f"/api/v1/rectifications/{order_id}/report"
    testapp.post_json(path, {"note": "x"}, headers=stranger, status=404)
    make_user("desk", Role.LIAISON)
    desk = token(testapp, "desk")
    testapp.get("/api/v1/rectifications", headers=desk, status=403)
    supervisor = token(testapp, "supervisor", "suijian-demo")
    assert testapp.get(f"/api/v1/rectifications/{order_id}", headers=supervisor).json["id"] == (
        order_id
    )
    testapp.post_json(path, {"note": "x"}, headers=supervisor, status=403)
    # The inspector of the team may report it done.
    done = testapp.post_json(path, {"note": "现场确认已整改"}, headers=lead).json
    assert done["status"] == "rectified" and done["reinspection_task"]["round"] == 2
