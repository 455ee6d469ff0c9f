"""The tablets' API: the task feed, check-in with the geofence, the checklist, findings,
signature, result, idempotent replays and conflicts, and the offline batch."""

from __future__ import annotations

import datetime as dt
import math
import uuid
from typing import Any

import pytest
import webtest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from enforcement.models import (
    EvidenceFile,
    FeedRecord,
    FieldInspection,
    InspectionFinding,
    OutboxMessage,
    TaskStatus,
)
from enforcement.services.credit_indicators import compute_indicators
from enforcement.services.plans import PlanService
from gis.coords import wgs84_to_gcj02
from tests.factories import user_named
from tests.field_work import PASSWORD, FieldWork, drawn_field_work, offset

DEVICE_TIME = "2025-04-02T01:30:00Z"


@pytest.fixture
def field(data: Session) -> FieldWork:
    return drawn_field_work(data)


def token(app: webtest.TestApp, username: str, password: str = PASSWORD) -> dict[str, str]:
    answer = app.post_json("/api/v1/tokens", {"username": username, "password": password})
    return {"Authorization": f"Bearer {answer.json['token']}"}


@pytest.fixture
def lead(testapp: webtest.TestApp, field: FieldWork) -> dict[str, str]:
    return token(testapp, "field-lead")


def checkin_body(field: FieldWork, north_m: float = 0.0, **extra: Any) -> dict[str, Any]:
    lon, lat = offset(field.lon, field.lat, north_m)
    checkin = {"lon": lon, "lat": lat, "accuracy_m": 10, "device_time": DEVICE_TIME, **extra}
    return {"task": str(field.task.uuid), "checkin": checkin}


def fresh(session: Session) -> Session:
    session.commit()  # end the read transaction: see what the app committed
    return session


def add_signature_file(session: Session) -> str:
    sha = "ab" * 32
    session.add(EvidenceFile(sha256=sha, media_type="image/png", kind="photo", size=100))
    session.commit()
    return sha


def all_answers(field: FieldWork, answer: str = "compliant") -> dict[str, Any]:
    return {e["code"]: {"answer": answer} for e in field.task.checklist}


# ---------------------------------------------------------------------- task feed


def test_the_task_feed_sends_changes_and_tombstones_after_a_cursor(
    testapp: webtest.TestApp, field: FieldWork, lead: dict[str, str], data: Session
) -> None:
    first = testapp.get("/api/v1/my/tasks?since=0", headers=lead).json
    mine = {t["uuid"]: t for t in first["tasks"]}
    task = mine[str(field.task.uuid)]
    assert task["my_role"] == "lead" and task["status"] == "open"
    assert task["enterprise"]["location"] == pytest.approx({"lon": field.lon, "lat": field.lat})
    assert [c["code"] for c in task["checklist"]] == [e["code"] for e in field.task.checklist]
    assert all(c["legal_basis"] for c in task["checklist"])
    assert first["deleted"] == [] and first["more"] is False and first["cursor"] > 0

    again = testapp.get(f"/api/v1/my/tasks?since={first['cursor']}", headers=lead).json
    assert again == {"tasks": [], "deleted": [], "cursor": first["cursor"], "more": False}

    # Paging: one task at a time reaches the same set.
    seen, cursor, more = set(), 0, True
    while more:
        page = testapp.get(f"/api/v1/my/tasks?since={cursor}&limit=1", headers=lead).json
        seen |= {t["uuid"] for t in page["tasks"]}
        cursor, more = page["cursor"], page["more"]
    assert seen == set(mine)

    # Checking in changes the task; redrawing the plan cancels the others: tombstones.
    testapp.put_json(
        f"/api/v1/inspections/{uuid.uuid4()}", checkin_body(field), headers=lead, status=201
    )
    plan = field.task.draw.plan
    PlanService(data, user_named(data, "supervisor")).redraw(plan, "计划范围有误")
    data.commit()
    later = testapp.get(f"/api/v1/my/tasks?since={first['cursor']}", headers=lead).json
    assert [t["uuid"] for t in later["tasks"]] == [str(field.task.uuid)]
    assert later["tasks"][0]["status"] == "in_progress" and later["tasks"][0]["inspection"]
    assert set(later["deleted"]) == set(mine) - {str(field.task.uuid)}


def test_only_the_team_sees_a_task(
    testapp: webtest.TestApp, field: FieldWork, lead: dict[str, str]
) -> None:
    path = f"/api/v1/my/tasks/{field.task.uuid}"
    assert testapp.get(path, headers=lead).json["uuid"] == str(field.task.uuid)
    assert testapp.get(path, headers=token(testapp, "field-member")).json["my_role"] == "member"
    outsider = testapp.get(path, headers=token(testapp, "field-outsider"), status=404)
    assert outsider.json["error"]["code"] == "not_found"
    testapp.get(path, status=401)
    supervisor = token(testapp, "supervisor", "suijian-demo")
    testapp.get(path, headers=supervisor, status=403)


# ---------------------------------------------------------------------- check-in


def test_check_in_inside_the_fence_and_an_idempotent_replay(
    testapp: webtest.TestApp, field: FieldWork, lead: dict[str, str], data: Session
) -> None:
    inspection_uuid = uuid.uuid4()
    path = f"/api/v1/inspections/{inspection_uuid}"
    created = testapp.put_json(path, checkin_body(field, north_m=50), headers=lead, status=201)
    geofence = created.json["checkin"]["geofence"]
    assert geofence["verdict"] == "inside" and geofence["distance_m"] == pytest.approx(50, abs=1)
    assert created.json["checkin"]["flagged"] is False
    assert created.headers["ETag"] == '"1"'

    replay = testapp.put_json(path, checkin_body(field, north_m=50), headers=lead, status=200)
    assert replay.json == created.json
    conflict = testapp.put_json(path, checkin_body(field, north_m=60), headers=lead, status=409)
    assert conflict.json["error"]["code"] == "conflict"
    assert conflict.json["current"]["uuid"] == str(inspection_uuid)
    assert conflict.json["current"]["checkin"] == created.json["checkin"]
    assert fresh(data).scalar(select(func.count()).select_from(FieldInspection)) == 1


def test_a_check_in_2_km_away_needs_a_reason_and_is_flagged(
    testapp: webtest.TestApp, field: FieldWork, lead: dict[str, str], data: Session
) -> None:
    path = f"/api/v1/inspections/{uuid.uuid4()}"
    refused = testapp.put_json(path, checkin_body(field, north_m=2000), headers=lead, status=422)
    assert "checkin.outside_reason" in refused.json["error"]["fields"]
    assert fresh(data).scalar(select(func.count()).select_from(FieldInspection)) == 0

    body = checkin_body(field, north_m=2000, outside_reason="企业已搬迁至新址")
    created = testapp.put_json(path, body, headers=lead, status=201).json
    assert created["checkin"]["geofence"]["verdict"] == "outside"
    assert created["checkin"]["geofence"]["distance_m"] == pytest.approx(2000, rel=0.01)
    assert created["checkin"]["flagged"] is True

    supervisor = token(testapp, "supervisor", "suijian-demo")
    flagged = testapp.get("/api/v1/checkins/flagged", headers=supervisor).json["checkins"]
    assert [c["uuid"] for c in flagged] == [created["uuid"]]
    testapp.get("/api/v1/checkins/flagged", headers=lead, status=403)
    testapp.post_json(
        f"/api/v1/checkins/{created['uuid']}/acknowledgement",
        {"note": "已核实搬迁"},
        headers=supervisor,
    )
    assert testapp.get("/api/v1/checkins/flagged", headers=supervisor).json["checkins"] == []


def test_gcj02_points_are_converted_before_the_fence(
    testapp: webtest.TestApp, field: FieldWork, lead: dict[str, str]
) -> None:
    # The enterprise's own position in GCJ-02 is several hundred metres off in WGS-84 terms.
    lon, lat = (float(v) for v in wgs84_to_gcj02(field.lon, field.lat))
    body = {
        "task": str(field.task.uuid),
        "checkin": {"lon": lon, "lat": lat, "accuracy_m": 5, "device_time": DEVICE_TIME},
    }
    as_wgs84 = testapp.put_json(
        f"/api/v1/inspections/{uuid.uuid4()}", body, headers=lead, status=422
    )
    assert "checkin.outside_reason" in as_wgs84.json["error"]["fields"]
    body["checkin"]["crs"] = "gcj02"
    created = testapp.put_json(f"/api/v1/inspections/{uuid.uuid4()}", body, headers=lead).json
    assert created["checkin"]["geofence"]["verdict"] == "inside"
    assert created["checkin"]["lon"] == pytest.approx(field.lon, abs=1e-6)
    assert created["checkin"]["reported"] == {"lon": lon, "lat": lat, "crs": "gcj02"}


def test_wrong_roles_and_other_teams_are_refused(
    testapp: webtest.TestApp, field: FieldWork, lead: dict[str, str]
) -> None:
    path = f"/api/v1/inspections/{uuid.uuid4()}"
    outsider = token(testapp, "field-outsider")
    assert testapp.put_json(path, checkin_body(field), headers=outsider, status=404)
    for username in ("supervisor", "enterprise", "liaison"):
        headers = token(testapp, username, "suijian-demo")
        testapp.put_json(path, checkin_body(field), headers=headers, status=403)
    testapp.put_json(path, checkin_body(field), status=401)
    testapp.put_json(path, checkin_body(field), headers=lead, status=201)
    testapp.get(path, headers=outsider, status=404)
    testapp.get(path, headers=token(testapp, "enterprise", "suijian-demo"), status=404)
    assert testapp.get(path, headers=token(testapp, "field-member")).json["uuid"] in path


# ---------------------------------------------------------------------- the record


def test_a_complete_inspection_is_frozen_fed_and_queued(
    testapp: webtest.TestApp, field: FieldWork, lead: dict[str, str], data: Session
) -> None:
    base = f"/api/v1/inspections/{uuid.uuid4()}"
    testapp.put_json(base, checkin_body(field), headers=lead, status=201)
    code = field.task.checklist[0]["code"]
    answers = all_answers(field)
    answers[code] = {"answer": "non_compliant", "note": "未公示营业执照"}
    answered = testapp.put_json(
        f"{base}/answers", {"answers": answers}, headers={**lead, "If-Match": '"1"'}
    )
    assert answered.headers["ETag"] == '"2"'
    stale = testapp.put_json(
        f"{base}/answers",
        {"answers": all_answers(field)},
        headers={**lead, "If-Match": '"1"'},
        status=412,
    )
    assert stale.json["current"]["version"] == 2

    finding = {"item_code": code, "description": "未在醒目位置公示营业执照", "severity": "minor"}
    finding_path = f"{base}/findings/{uuid.uuid4()}"
    testapp.put_json(finding_path, finding, headers=lead, status=201)
    testapp.put_json(finding_path, finding, headers=lead, status=200)
    other = {**finding, "severity": "serious"}
    assert testapp.put_json(finding_path, other, headers=lead, status=409).json["current"]

    result = {
        "result": "rectification_ordered",
        "rectification_due": "2025-04-20",
        "finished_at": "2025-04-02T02:10:00Z",
    }
    unsigned = testapp.put_json(f"{base}/result", result, headers=lead, status=422)
    assert "signature" in unsigned.json["error"]["fields"]

    signature = {
        "signer_name": "王五",
        "signer_role": "负责人",
        "image_sha256": add_signature_file(data),
        "signed_at": "2025-04-02T02:05:00Z",
    }
    testapp.put_json(f"{base}/signature", signature, headers=lead)
    finished = testapp.put_json(f"{base}/result", result, headers=lead).json
    assert finished["status"] == "finished" and finished["record_url"].endswith("/record.pdf")
    assert testapp.put_json(f"{base}/result", result, headers=lead).json == finished
    changed = {**result, "rectification_due": "2025-05-01"}
    testapp.put_json(f"{base}/result", changed, headers=lead, status=409)
    frozen = testapp.put_json(
        f"{base}/answers", {"answers": all_answers(field)}, headers=lead, status=409
    )
    assert frozen.json["error"]["code"] == "conflict"

    fresh(data)
    task = data.get(type(field.task), field.task.id)
    data.refresh(task)
    assert task.status == TaskStatus.DONE
    kinds = sorted(data.scalars(select(FeedRecord.kind)))
    assert kinds == ["inspection", "inspection_result"]
    topics = sorted(data.scalars(select(OutboxMessage.topic)))
    assert topics == ["credit.rerate", "inspection.record"]
    assert data.scalar(select(func.count()).select_from(InspectionFinding)) == 1
    # The finding now counts in the enterprise's credit indicators (36 months from then on).
    for as_of, expected in ((dt.date(2025, 4, 10), 1.0), (dt.date(2028, 5, 1), None)):
        frame = compute_indicators(data, as_of, [task.enterprise_id])
        value = frame.columns["findings_3y"][0]
        assert value == expected if expected is not None else math.isnan(value)


# ---------------------------------------------------------------------- batch


def test_a_batch_in_any_order_lands_once_and_replays_change_nothing(
    testapp: webtest.TestApp, field: FieldWork, lead: dict[str, str], data: Session
) -> None:
    base = f"/api/v1/inspections/{uuid.uuid4()}"
    sha = add_signature_file(data)
    operations = [
        {
            "id": "result",
            "method": "PUT",
            "path": f"{base}/result",
            "body": {"result": "no_problem", "finished_at": "2025-04-02T02:10:00Z"},
        },
        {
            "id": "signature",
            "method": "PUT",
            "path": f"{base}/signature",
            "body": {
                "signer_name": "王五",
                "image_sha256": sha,
                "signed_at": "2025-04-02T02:05:00Z",
            },
        },
        {
            "id": "answers",
            "method": "PUT",
            "path": f"{base}/answers",
            "body": {"answers": all_answers(field)},
        },
        {"id": "checkin", "method": "PUT", "path": base, "body": checkin_body(field)},
        {"id": "bad", "method": "PUT", "path": f"/api/v1/inspections/{uuid.uuid4()}", "body": {}},
    ]
    answer = testapp.post_json("/api/v1/batch", {"operations": operations}, headers=lead).json
    statuses = {r["id"]: r["status"] for r in answer["results"]}
    assert [r["id"] for r in answer["results"]] == [op["id"] for op in operations]
    assert statuses == {"result": 200, "signature": 200, "answers": 200, "checkin": 201, "bad": 422}
    bad = next(r for r in answer["results"] if r["id"] == "bad")
    assert bad["body"]["error"]["code"] == "validation_failed"

    replay = testapp.post_json("/api/v1/batch", {"operations": operations}, headers=lead).json
    assert {r["id"]: r["status"] for r in replay["results"]} == {**statuses, "checkin": 200}
    fresh(data)
    assert data.scalar(select(func.count()).select_from(FieldInspection)) == 1
    assert data.scalar(select(func.count()).select_from(FeedRecord)) == 2
    stored = data.scalar(select(FieldInspection))
    assert stored.status.value == "finished" and stored.version == 4


def test_a_batch_is_limited_to_500_operations(
    testapp: webtest.TestApp, lead: dict[str, str]
) -> None:
    operations = [{"id": str(i), "method": "GET", "path": "/api/v1/me"} for i in range(501)]
    refused = testapp.post_json(
        "/api/v1/batch", {"operations": operations}, headers=lead, status=422
    )
    assert "operations" in refused.json["error"]["fields"]
