"""The liaison desk on both backends: the bureau's transfers with their clocks and states,
one transfer's record with public security's and the procuratorate's steps as forms (the
same service as the API: wrong input names the field, a step out of order is refused), the
package download (verified) and the CSV/XLSX exports; other roles are refused."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Callable
from pathlib import Path

import pytest
import webtest
from openpyxl import load_workbook
from pyramid.router import Router
from sqlalchemy import select
from sqlalchemy.orm import Session

from enforcement.models import AuditLog, Transfer, TransferStatus, User
from enforcement.security import hash_password
from enforcement.services.evidence import evidence_store
from enforcement.services.transfers import TransferService
from enforcement.transfer_package import verify_package
from tests.mobile_api.conftest import PASSWORD
from tests.transfer_helpers import TransferScene, make_transfer_scene, report_body

SignIn = Callable[..., webtest.TestResponse]


@pytest.fixture
def ts(data: Session, web_app: Router) -> TransferScene:
    """An approved transfer (its package can be built); everybody can sign in."""
    settings = web_app.registry.settings
    scene = make_transfer_scene(data, evidence_store(settings))
    password = hash_password(PASSWORD)
    for user in data.scalars(select(User)):
        user.password_hash = password
    service = TransferService(data, scene.supervisor, settings=settings)
    service.report(scene.case.id, report_body(scene))
    service.decide(scene.case.id, "approve")
    data.commit()
    return scene


def as_user(testapp: webtest.TestApp, sign_in: SignIn, user: User) -> webtest.TestApp:
    app = webtest.TestApp(testapp.app)
    sign_in(app, user.username)
    return app


def csrf(page: webtest.TestResponse) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found is not None
    return found.group(1)


def status_of(data: Session, ts: TransferScene) -> TransferStatus:
    data.commit()
    data.expire_all()
    return data.scalar(select(Transfer.status).where(Transfer.case_id == ts.case.id))


def test_the_desk_lists_transfers_with_their_clocks_and_exports(
    testapp: webtest.TestApp, sign_in: SignIn, ts: TransferScene
) -> None:
    app = as_user(testapp, sign_in, ts.liaison)
    desk = app.get("/liaison/")
    row = desk.html.select_one(f"#transfer-{ts.case.id}")
    assert row is not None and ts.case.case_no in row.text
    assert "已批准移送" in row.text and "移送公安机关（24小时）" in row.text
    assert 'href="/liaison/"' in desk.text  # the nav link for the liaison
    assert app.get("/liaison/?status=sent").html.select_one(f"#transfer-{ts.case.id}") is None
    assert app.get("/liaison/?overdue=1").html.select_one(f"#transfer-{ts.case.id}") is None
    bad = app.get("/liaison/?status=nonsense&after=x")
    assert len(bad.html.select(".field-error")) == 2
    english = app.get("/liaison/", params={"_LOCALE_": "en"})
    assert "approved" in english.html.select_one(f"#transfer-{ts.case.id}").text

    csv_link = desk.html.select_one("#export-csv")["href"]
    exported = app.get(csv_link)
    assert exported.content_type == "text/csv"
    rows = list(csv.reader(io.StringIO(exported.body.decode("utf-8-sig"))))
    assert rows[0][0] == "案件编号" and rows[1][0] == ts.case.case_no
    workbook = app.get(desk.html.select_one("#export-xlsx")["href"])
    sheet = load_workbook(io.BytesIO(workbook.body)).active
    assert sheet.cell(2, 1).value == ts.case.case_no


def test_the_package_downloaded_from_the_desk_verifies(
    testapp: webtest.TestApp, sign_in: SignIn, ts: TransferScene, data: Session, tmp_path: Path
) -> None:
    app = as_user(testapp, sign_in, ts.liaison)
    page = app.get(f"/liaison/transfers/{ts.case.id}")
    package = app.get(page.html.select_one("#package")["href"])
    assert package.content_type == "application/zip"
    target = tmp_path / "package.zip"
    target.write_bytes(package.body)
    report = verify_package(target, package.headers["X-Manifest-SHA256"])
    assert report.ok, report.first_problem
    data.commit()
    exports = data.scalars(select(AuditLog).where(AuditLog.action == "transfer.export")).all()
    assert [e.actor_id for e in exports] == [ts.liaison.id]


def test_the_steps_are_recorded_through_forms(
    testapp: webtest.TestApp, sign_in: SignIn, ts: TransferScene, data: Session
) -> None:
    app = as_user(testapp, sign_in, ts.liaison)
    base = f"/liaison/transfers/{ts.case.id}"
    page = app.get(base)
    assert page.html.select_one("#step-sent") is not None
    assert page.html.select_one("label[for=sent-police_office]") is not None
    token = csrf(page)
    # A step out of order: refused with the service's reason, nothing changes.
    early = app.post(f"{base}/receipt", {"csrf_token": token, "at": "", "note": ""}, status=409)
    assert "不能登记公安机关接收情况" in early.html.select_one("[role=alert]").text
    sent = app.post(
        f"{base}/sent",
        {"csrf_token": token, "police_office": "", "procuratorate": "", "at": ""},
        status=303,
    )
    assert sent.follow().html.select_one("[role=status]") is not None
    assert status_of(data, ts) is TransferStatus.SENT
    future = (dt.datetime.now(dt.UTC) + dt.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    ahead = app.post(
        f"{base}/receipt", {"csrf_token": token, "at": future, "note": "已签收回执"}, status=422
    )
    assert "不能晚于当前时间" in ahead.html.select_one(".field-error").text
    assert ahead.html.select_one("#receipt-at")["value"] == future  # kept as typed
    assert ahead.html.select_one("#receipt-note").text == "已签收回执"
    garbled = app.post(
        f"{base}/receipt", {"csrf_token": token, "at": "yesterday", "note": ""}, status=422
    )
    assert "必须是日期和时间" in garbled.html.select_one(".field-error").text  # zh_CN by default
    app.post(f"{base}/receipt", {"csrf_token": token, "at": "", "note": "已签收"}, status=303)
    missing = app.post(
        f"{base}/police_decision",
        {
            "csrf_token": token,
            "decision": "not_filed",
            "reasons": "",
            "police_case_no": "",
            "at": "",
        },
        status=422,
    )
    assert "书面理由" in missing.html.select_one(".field-error").text
    app.post(
        f"{base}/police_decision",
        {
            "csrf_token": token,
            "decision": "not_filed",
            "reasons": "现有证据不足以证明达到追诉标准",
            "police_case_no": "",
            "at": "",
        },
        status=303,
    )
    assert status_of(data, ts) is TransferStatus.NOT_FILED
    page = app.get(base)
    assert {f["id"] for f in page.html.select("form[id^=step-]")} == {
        "step-reconsideration",
        "step-supervision",
        "step-closure",
    }
    app.post(
        f"{base}/reconsideration",
        {"csrf_token": token, "reason": "已补充鉴定意见", "at": ""},
        status=303,
    )
    app.post(
        f"{base}/reconsideration_outcome",
        {"csrf_token": token, "outcome": "not_filed", "note": "维持", "at": ""},
        status=303,
    )
    app.post(
        f"{base}/supervision", {"csrf_token": token, "reason": "建议立案监督", "at": ""}, status=303
    )
    app.post(
        f"{base}/supervision_outcome",
        {"csrf_token": token, "outcome": "filed", "note": "检察院监督后已立案", "at": ""},
        status=303,
    )
    assert status_of(data, ts) is TransferStatus.FILED
    final = app.get(base)
    assert final.html.select("form[id^=step-]") == []
    assert len(final.html.select("#events li")) >= 8
    app.post(f"{base}/nonsense", {"csrf_token": token}, status=404)
    app.post(f"{base}/closure", {"reason": "无令牌"}, status=400)


def test_other_roles_are_refused_the_desk(
    testapp: webtest.TestApp, sign_in: SignIn, ts: TransferScene, data: Session
) -> None:
    anonymous = testapp.get("/liaison/", status=303)
    assert "/login" in anonymous.location
    for user in (ts.supervisor, ts.lead, ts.enterprise_user):
        app = as_user(testapp, sign_in, user)
        app.get("/liaison/", status=403)
        page = app.get(f"/liaison/transfers/{ts.case.id}", status=403)
        assert ts.case.case_no not in page.text
        token = csrf(app.get("/"))  # the sign-out form carries it
        app.post(
            f"/liaison/transfers/{ts.case.id}/sent",
            {"csrf_token": token, "police_office": "", "procuratorate": "", "at": ""},
            status=403,
        )
        app.get(f"/api/v1/cases/{ts.case.id}/transfer/package.zip", status=403)
    assert status_of(data, ts) is TransferStatus.APPROVED
    admin = as_user(testapp, sign_in, ts.admin)
    admin.get("/liaison/")
    admin.get("/liaison/transfers/99999999", status=404)
