"""Transfers over the API: the report and the head's decision (supervisors of the case's
department), the liaison's steps, the package download (ZIP, verified), the liaison desk and
its CSV/XLSX export, and every other role refused."""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from pathlib import Path

import pytest
import webtest
from openpyxl import load_workbook
from pyramid.router import Router
from sqlalchemy import select
from sqlalchemy.orm import Session

from enforcement.models import AuditLog, Transfer, User
from enforcement.services.evidence import evidence_store
from enforcement.services.tokens import TokenService
from enforcement.transfer_package import verify_package
from tests.transfer_helpers import TransferScene, make_transfer_scene, report_body

Headers = dict[str, str]


@pytest.fixture
def ts(data: Session, web_app: Router) -> TransferScene:
    scene = make_transfer_scene(data, evidence_store(web_app.registry.settings))
    data.commit()
    return scene


def bearer(data: Session, user: User) -> Headers:
    secret = TokenService(data).issue(user, label="test").secret
    data.commit()
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def people(data: Session, ts: TransferScene) -> dict[str, Headers]:
    return {
        name: bearer(data, getattr(ts, name))
        for name in (
            "supervisor",
            "other_supervisor",
            "liaison",
            "admin",
            "lead",
            "member",
            "enterprise_user",
        )
    }


def path(ts: TransferScene, suffix: str = "") -> str:
    return f"/api/v1/cases/{ts.case.id}/transfer{suffix}"


def report(testapp: webtest.TestApp, ts: TransferScene, who: Headers) -> webtest.TestResponse:
    return testapp.put_json(path(ts), report_body(ts), headers=who, status=201)


def test_the_loop_over_the_api(
    testapp: webtest.TestApp, ts: TransferScene, people: dict[str, Headers], data: Session
) -> None:
    head, liaison = people["supervisor"], people["liaison"]
    created = report(testapp, ts, head).json
    assert created["status"] == "reported" and created["pending"] is True
    assert created["case"]["case_no"] == ts.case.case_no
    assert [a["name"] for a in created["report"]["authors"]] == ["张晓明", "李丽华"]
    assert [i["quantity"] for i in created["items"]] == ["120", "2"]
    assert created["clocks"][0]["kind"] == "transfer.head_decision"
    assert created["clocks"][0]["running"] is True
    replay = testapp.put_json(path(ts), report_body(ts), headers=head, status=200)
    assert replay.json["version"] == created["version"] == 1

    decided = testapp.post_json(path(ts, "/decision"), {"decision": "approve"}, headers=head)
    assert decided.json["status"] == "approved" and decided.headers["ETag"] == '"2"'
    assert decided.json["decision"]["by"] == ts.supervisor.username

    package = testapp.get(path(ts, "/package.zip"), headers=liaison)
    assert package.content_type == "application/zip"
    assert "attachment" in package.headers["Content-Disposition"]
    manifest_sha256 = package.headers["X-Manifest-SHA256"]
    assert package.headers["ETag"] == f'"{manifest_sha256}"'
    with zipfile.ZipFile(io.BytesIO(package.body)) as archive:
        assert "01-涉嫌犯罪案件移送书.pdf" in archive.namelist()
    data.commit()
    stored = data.scalar(select(Transfer).where(Transfer.case_id == ts.case.id))
    assert stored.package_sha256 == manifest_sha256
    exports = data.scalars(select(AuditLog).where(AuditLog.action == "transfer.export")).all()
    assert [e.actor_id for e in exports] == [ts.liaison.id]

    sent = testapp.post_json(path(ts, "/sent"), {}, headers=liaison).json
    assert sent["status"] == "sent" and sent["sent"]["police_office"] == "杭州市公安局西湖区分局"
    future = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).isoformat()
    ahead = testapp.post_json(path(ts, "/receipt"), {"at": future}, headers=liaison, status=422)
    assert ahead.json["error"]["fields"] == {"at": "不能晚于当前时间"}  # the service's reason
    received = testapp.post_json(path(ts, "/receipt"), {"note": "已签收回执"}, headers=liaison).json
    assert received["status"] == "received"
    police = [c for c in received["clocks"] if c["kind"] == "transfer.police_decision"]
    assert police[0]["running"] and police[0]["remaining_seconds"] > 0

    missing = testapp.post_json(
        path(ts, "/police-decision"), {"decision": "not_filed"}, headers=liaison, status=422
    )
    assert "reasons" in missing.json["error"]["fields"]
    not_filed = {"decision": "not_filed", "reasons": "现有证据不足"}
    testapp.post_json(path(ts, "/police-decision"), not_filed, headers=liaison)
    asked = testapp.post_json(
        path(ts, "/reconsideration"), {"reason": "已补充证据"}, headers=liaison
    ).json
    assert asked["status"] == "reconsideration"
    upheld = testapp.post_json(
        path(ts, "/reconsideration/outcome"), {"outcome": "not_filed"}, headers=liaison
    ).json
    assert upheld["status"] == "upheld" and upheld["pending"] is True
    testapp.post_json(path(ts, "/supervision"), {"reason": "建议立案监督"}, headers=liaison)
    filed = testapp.post_json(
        path(ts, "/supervision/outcome"), {"outcome": "filed", "note": "已立案"}, headers=liaison
    ).json
    assert filed["status"] == "filed" and filed["pending"] is False
    assert [e["action"] for e in filed["events"]] == [
        "report",
        "decide",
        "export",
        "send",
        "receive",
        "police_decision",
        "reconsideration",
        "reconsideration_outcome",
        "supervision",
        "supervision_outcome",
    ]
    # A step out of order is a conflict.
    late = testapp.post_json(path(ts, "/closure"), {"reason": "结束"}, headers=liaison, status=409)
    assert late.json["error"]["code"] == "conflict"


def test_the_downloaded_package_verifies(
    testapp: webtest.TestApp, ts: TransferScene, people: dict[str, Headers], tmp_path: Path
) -> None:
    report(testapp, ts, people["supervisor"])
    testapp.post_json(path(ts, "/decision"), {"decision": "approve"}, headers=people["supervisor"])
    first = testapp.get(path(ts, "/package.zip"), headers=people["liaison"])
    again = testapp.get(path(ts, "/package.zip"), headers=people["admin"])
    assert first.body == again.body  # nothing changed: the same bytes
    target = tmp_path / "package.zip"
    target.write_bytes(first.body)
    result = verify_package(target, first.headers["X-Manifest-SHA256"])
    assert result.ok and result.files_checked == 7


def test_a_package_before_the_approval_is_a_conflict(
    testapp: webtest.TestApp, ts: TransferScene, people: dict[str, Headers]
) -> None:
    missing = testapp.get(path(ts, "/package.zip"), headers=people["liaison"], status=404)
    assert missing.json["error"]["code"] == "not_found"
    report(testapp, ts, people["supervisor"])
    early = testapp.get(path(ts, "/package.zip"), headers=people["liaison"], status=409)
    assert "尚未经负责人批准" in early.json["error"]["detail"]
    testapp.get(
        f"/api/v1/cases/{2**31}/transfer/package.zip", headers=people["liaison"], status=422
    )


def test_roles_are_refused_where_they_have_no_business(
    testapp: webtest.TestApp, ts: TransferScene, people: dict[str, Headers]
) -> None:
    body = report_body(ts)
    testapp.put_json(path(ts), body, status=401)
    for who in ("lead", "member", "liaison", "enterprise_user"):
        refused = testapp.put_json(path(ts), body, headers=people[who], status=403)
        assert refused.json["error"]["code"] == "forbidden", who
    # Another department's case is answered like a missing one (nothing tells it exists).
    testapp.put_json(path(ts), body, headers=people["other_supervisor"], status=404)
    report(testapp, ts, people["supervisor"])

    for who in ("lead", "member", "enterprise_user"):
        testapp.get(path(ts), headers=people[who], status=403)
    testapp.get(path(ts), headers=people["other_supervisor"], status=404)
    for who in ("supervisor", "liaison", "admin"):
        assert testapp.get(path(ts), headers=people[who]).json["status"] == "reported"

    for who in ("lead", "liaison", "enterprise_user"):
        testapp.post_json(
            path(ts, "/decision"), {"decision": "approve"}, headers=people[who], status=403
        )
    testapp.post_json(
        path(ts, "/decision"),
        {"decision": "approve"},
        headers=people["other_supervisor"],
        status=404,
    )
    testapp.post_json(path(ts, "/decision"), {"decision": "approve"}, headers=people["admin"])

    liaison_only = [
        ("GET", "/package.zip", None),
        ("POST", "/sent", {}),
        ("POST", "/receipt", {}),
        ("POST", "/police-decision", {"decision": "filed"}),
        ("POST", "/reconsideration", {"reason": "x"}),
        ("POST", "/reconsideration/outcome", {"outcome": "filed"}),
        ("POST", "/supervision", {"reason": "x"}),
        ("POST", "/supervision/outcome", {"outcome": "filed"}),
        ("POST", "/closure", {"reason": "x"}),
    ]
    for who in ("supervisor", "lead", "other_supervisor", "enterprise_user"):
        for method, suffix, payload in liaison_only:
            if method == "GET":
                testapp.get(path(ts, suffix), headers=people[who], status=403)
            else:
                testapp.post_json(path(ts, suffix), payload, headers=people[who], status=403)
        testapp.get("/api/v1/transfers", headers=people[who], status=403)
        testapp.get("/api/v1/transfers/export", headers=people[who], status=403)
    testapp.get("/api/v1/transfers", status=401)


def test_the_report_is_validated(
    testapp: webtest.TestApp, ts: TransferScene, people: dict[str, Headers]
) -> None:
    head = people["supervisor"]
    incomplete = testapp.put_json(path(ts), {"facts": "x"}, headers=head, status=422)
    assert "evidence_summary" in incomplete.json["error"]["fields"]
    body = report_body(ts)
    body["items"][0]["quantity"] = "很多"
    body["attachments"][0]["sha256"] = "ab" * 32
    refused = testapp.put_json(path(ts), body, headers=head, status=422).json["error"]["fields"]
    assert refused == {
        "items[0].quantity": "须为数字",
        "attachments[0].sha256": "证据库中没有该SHA-256对应的文件，请先上传",
    }
    testapp.put_json("/api/v1/cases/999999/transfer", report_body(ts), headers=head, status=404)
    early = testapp.post_json(
        path(ts, "/decision"), {"decision": "approve"}, headers=head, status=404
    )
    assert early.json["error"]["code"] == "not_found"  # no transfer yet
    report(testapp, ts, head)
    no_reason = testapp.post_json(
        path(ts, "/decision"), {"decision": "reject"}, headers=head, status=422
    )
    assert "reason" in no_reason.json["error"]["fields"]


def test_the_liaison_desk_and_its_exports(
    testapp: webtest.TestApp, ts: TransferScene, people: dict[str, Headers]
) -> None:
    report(testapp, ts, people["supervisor"])
    testapp.post_json(path(ts, "/decision"), {"decision": "approve"}, headers=people["supervisor"])
    desk = testapp.get("/api/v1/transfers", headers=people["liaison"]).json
    assert desk["next_after"] is None
    [row] = desk["transfers"]
    assert row["case_no"] == ts.case.case_no and row["status"] == "approved"
    assert row["clock"]["kind"] == "transfer.send" and row["clock"]["overdue"] is False
    assert 0 < row["clock"]["remaining_seconds"] <= 24 * 3600
    assert [c["kind"] for c in row["clocks"]] == ["transfer.head_decision", "transfer.send"]
    assert testapp.get("/api/v1/transfers?overdue=true", headers=people["liaison"]).json == {
        "transfers": [],
        "next_after": None,
    }
    assert (
        testapp.get("/api/v1/transfers?status=sent", headers=people["admin"]).json["transfers"]
        == []
    )
    paged = testapp.get("/api/v1/transfers?limit=1", headers=people["liaison"]).json
    assert paged["next_after"] == row["transfer_id"]

    exported = testapp.get("/api/v1/transfers/export?format=csv", headers=people["liaison"])
    assert exported.content_type == "text/csv"
    rows = list(csv.reader(io.StringIO(exported.body.decode("utf-8-sig"))))
    assert rows[0][0] == "案件编号" and rows[1][0] == ts.case.case_no
    assert rows[1][4] == "已批准移送" and rows[1][12] == "移送公安机关（24小时）"
    english = testapp.get("/api/v1/transfers/export?_LOCALE_=en", headers=people["liaison"])
    assert english.body.decode("utf-8-sig").startswith("Case number,")

    workbook = testapp.get("/api/v1/transfers/export?format=xlsx", headers=people["admin"])
    assert workbook.content_type.endswith("spreadsheetml.sheet")
    sheet = load_workbook(io.BytesIO(workbook.body)).active
    assert sheet.cell(1, 1).value == "案件编号" and sheet.cell(2, 1).value == ts.case.case_no
    assert isinstance(sheet.cell(2, 7).value, dt.datetime)  # reported: a real date

    bad = testapp.get(
        "/api/v1/transfers/export?format=pdf&overdue=maybe",
        headers=people["liaison"],
        status=422,
    )
    assert set(bad.json["error"]["fields"]) == {"format", "overdue"}
