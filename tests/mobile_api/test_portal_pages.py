"""The enterprise portal on both backends: an enterprise reads its own credit (tier, band,
reasons, history), inspections, orders and published results, and files through the same
services as the API (rectification report, commitments, credit repair, replies, appeals).
Other roles are refused, and another enterprise's data is refused exactly like data that does
not exist (nothing leaks)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import webtest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from enforcement.models import (
    AuditLog,
    Commitment,
    CommitmentStatus,
    CreditList,
    CreditRepair,
    Enterprise,
    InspectionItem,
    ListEntry,
    PublicRecord,
    RecordAppeal,
    RectificationOrder,
    RectificationStatus,
    Role,
)
from enforcement.services import disclosure
from enforcement.services.clocks import calendar_for
from enforcement.services.credit import RatingService
from enforcement.services.rectification import order_rectification
from tests.evidence_helpers import FINISHED_AT, Scene, finish, make_scene

SignIn = Callable[..., webtest.TestResponse]


@dataclass
class Portal:
    own: Scene
    rival: Scene
    entry: ListEntry
    rival_entry: ListEntry
    order: RectificationOrder
    rival_order: RectificationOrder
    record: PublicRecord
    rival_record: PublicRecord


def _finished_with_order(data: Session, scene: Scene) -> RectificationOrder:
    finish(scene.inspection, None, refused=True)
    data.flush()
    return order_rectification(
        data, None, scene.inspection, calendar=calendar_for(None), now=FINISHED_AT
    )


def _abnormal(data: Session, enterprise: Enterprise, reason: str) -> ListEntry:
    entry = ListEntry(
        enterprise=enterprise,
        list=CreditList.ABNORMAL_OPERATION,
        reason=reason,
        listed_on=dt.date(2026, 1, 10),
    )
    data.add(entry)
    data.flush()
    return entry


@pytest.fixture
def portal(data: Session, make_user: Callable[..., Any]) -> Portal:
    own = make_scene(data, plan_code="PORTAL-OWN")
    rival = make_scene(data, plan_code="PORTAL-RIVAL")
    rival.enterprise.name = "宁波海曙竞争对手贸易有限公司"
    order, rival_order = _finished_with_order(data, own), _finished_with_order(data, rival)
    entry = _abnormal(data, own.enterprise, "通过登记的住所无法联系")
    rival_entry = _abnormal(data, rival.enterprise, "未按期公示年度报告秘密原因")
    disclosure.run(data, clock=lambda: FINISHED_AT + dt.timedelta(hours=1))
    RatingService(data).rate()
    data.commit()
    records = {r.enterprise_id: r for r in data.scalars(select(PublicRecord))}
    make_user("firm", Role.ENTERPRISE, enterprise_id=own.enterprise.id)
    make_user("rival", Role.ENTERPRISE, enterprise_id=rival.enterprise.id)
    make_user("boss", Role.SUPERVISOR)
    make_user("officer", Role.INSPECTOR)
    make_user("liaison", Role.LIAISON)
    return Portal(
        own,
        rival,
        entry,
        rival_entry,
        order,
        rival_order,
        records[own.enterprise.id],
        records[rival.enterprise.id],
    )


def csrf(page: webtest.TestResponse) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found is not None
    return found.group(1)


def signed_in(testapp: webtest.TestApp, sign_in: SignIn, username: str) -> webtest.TestApp:
    sign_in(testapp, username)
    return testapp


def main(page: webtest.TestResponse) -> str:
    """The page's content without the header (whose language links name the URL)."""
    return str(page.html.select_one("main"))


def audited(data: Session, action: str) -> int:
    data.commit()
    return data.scalar(select(func.count()).where(AuditLog.action == action)) or 0


def test_the_enterprise_reads_its_own_credit_and_nobody_elses(
    testapp: webtest.TestApp, sign_in: SignIn, portal: Portal, data: Session
) -> None:
    app = signed_in(testapp, sign_in, "firm")
    page = app.get("/portal/")
    assert '<html lang="zh-CN">' in page.text
    assert page.html.select_one("#tier").text.strip().startswith(portal.own.enterprise.credit_tier)
    assert page.html.select_one("#score-band").text.strip()
    reasons = [li.text for li in page.html.select("#reasons li")]
    assert any("经营异常" in reason for reason in reasons)
    assert page.html.select("#history tbody tr")
    assert portal.own.enterprise.name in page.text
    assert portal.rival.enterprise.name not in page.text
    assert "秘密原因" not in page.text
    english = app.get("/portal/", params={"_LOCALE_": "en"})
    assert '<html lang="en">' in english.text and "Why this tier" in english.text
    # The nav offers the portal to the enterprise account.
    assert 'href="/portal/"' in page.text
    inspections = app.get("/portal/inspections")
    assert "责令当事人立即下架过期茶叶。" in inspections.text
    assert len(inspections.html.select("#inspections tbody tr")) == 1


def test_other_roles_are_refused_the_portal_and_the_enterprise_the_other_desks(
    testapp: webtest.TestApp, sign_in: SignIn, portal: Portal
) -> None:
    anonymous = testapp.get("/portal/", status=303)
    assert "/login" in anonymous.location
    for username in ("boss", "officer", "liaison"):
        app = webtest.TestApp(testapp.app)
        sign_in(app, username)
        for url in ("/portal/", "/portal/commitments", "/portal/repairs", "/portal/records"):
            app.get(url, status=403)
    app = signed_in(testapp, sign_in, "firm")
    app.get("/liaison/", status=403)
    app.get("/commitments/", status=403)
    app.get("/directory/enterprises", status=403)


def test_the_enterprise_reports_its_order_rectified_but_not_anothers(
    testapp: webtest.TestApp, sign_in: SignIn, portal: Portal, data: Session
) -> None:
    app = signed_in(testapp, sign_in, "firm")
    page = app.get("/portal/rectifications")
    assert page.html.select_one(f"#order-{portal.order.id}") is not None
    assert page.html.select_one(f"#order-{portal.rival_order.id}") is None
    token = csrf(page)
    url = f"/portal/rectifications/{portal.order.id}/report"
    empty = app.post(url, {"csrf_token": token, "note": "   "}, status=422)
    assert "请说明整改了哪些问题" in empty.html.select_one(".field-error").text  # the service's
    # Another enterprise's order and an order that does not exist: the same 404 page.
    theirs = app.post(
        f"/portal/rectifications/{portal.rival_order.id}/report",
        {"csrf_token": token, "note": "已整改"},
        status=404,
    )
    nothing = app.post(
        "/portal/rectifications/99999999/report",
        {"csrf_token": token, "note": "已整改"},
        status=404,
    )
    assert main(theirs) == main(nothing)
    done = app.post(url, {"csrf_token": token, "note": "已下架全部过期茶叶并销毁"}, status=303)
    assert done.location.endswith("/portal/rectifications")
    after = done.follow()
    assert after.html.select_one("[role=status]") is not None
    data.commit()  # a fresh snapshot: the app committed on its own connection
    data.expire_all()
    assert data.get(RectificationOrder, portal.order.id).status is RectificationStatus.RECTIFIED
    assert data.get(RectificationOrder, portal.rival_order.id).status is RectificationStatus.OPEN
    again = app.post(url, {"csrf_token": token, "note": "再次报告"}, status=409)
    assert "已报告整改完成" in again.html.select_one(".field-error").text
    # Without the CSRF token nothing is accepted.
    app.post(url, {"note": "无令牌"}, status=400)


def test_commitments_are_filed_withdrawn_audited_and_seen_by_supervisors(
    testapp: webtest.TestApp, sign_in: SignIn, portal: Portal, data: Session
) -> None:
    app = signed_in(testapp, sign_in, "firm")
    page = app.get("/portal/commitments")
    token = csrf(page)
    bad = app.post(
        "/portal/commitments",
        {"csrf_token": token, "item_id": "", "licence": "", "text": "太短"},
        status=422,
    )
    errors = [p.text for p in bad.html.select(".field-error")]
    assert any("检查事项或许可" in e for e in errors) and any("10 至" in e for e in errors)
    assert bad.html.select_one("#text").text == "太短"  # what was typed is kept
    item = data.scalars(select(InspectionItem).order_by(InspectionItem.id)).first()
    text = "本企业承诺严格落实食品进货查验记录制度，如实记录并保存相关凭证。"
    filed = app.post(
        "/portal/commitments",
        {
            "csrf_token": token,
            "item_id": str(item.id),
            "licence": "食品经营许可证 JY13301060012345",
            "text": text,
        },
        status=303,
    )
    listed = filed.follow()
    assert text in listed.text and "JY13301060012345" in listed.text
    data.commit()
    commitment = data.scalars(select(Commitment)).one()
    assert commitment.enterprise_id == portal.own.enterprise.id and commitment.item_id == item.id
    assert audited(data, "commitment.file") == 1

    rival = webtest.TestApp(testapp.app)
    sign_in(rival, "rival")
    rival_page = rival.get("/portal/commitments")
    assert text not in rival_page.text
    rival_token = csrf(rival_page)
    theirs = rival.post(
        f"/portal/commitments/{commitment.id}/withdraw",
        {"csrf_token": rival_token, "reason": "恶意撤回"},
        status=404,
    )
    nothing = rival.post(
        "/portal/commitments/99999999/withdraw",
        {"csrf_token": rival_token, "reason": "恶意撤回"},
        status=404,
    )
    assert main(theirs) == main(nothing)

    boss = webtest.TestApp(testapp.app)
    sign_in(boss, "boss")
    overview = boss.get("/commitments/")
    assert text in overview.text and portal.own.enterprise.name in overview.text

    no_reason = app.post(
        f"/portal/commitments/{commitment.id}/withdraw",
        {"csrf_token": token, "reason": ""},
        status=422,
    )
    assert "请说明理由" in no_reason.text
    app.post(
        f"/portal/commitments/{commitment.id}/withdraw",
        {"csrf_token": token, "reason": "许可证已注销"},
        status=303,
    )
    data.commit()  # a fresh snapshot: the app committed on its own connection
    data.expire_all()
    assert data.get(Commitment, commitment.id).status is CommitmentStatus.WITHDRAWN
    assert audited(data, "commitment.withdraw") == 1
    assert "许可证已注销" in boss.get("/commitments/?status=withdrawn").text
    assert text not in boss.get("/commitments/?status=filed").text


def test_the_enterprise_applies_for_repair_of_its_own_records_only(
    testapp: webtest.TestApp, sign_in: SignIn, portal: Portal, data: Session
) -> None:
    app = signed_in(testapp, sign_in, "firm")
    page = app.get("/portal/repairs")
    options = [o["value"] for o in page.html.select("#subject option")]
    assert options == [f"list_entry:{portal.entry.id}"]
    token = csrf(page)
    short = app.post(
        "/portal/repairs",
        {"csrf_token": token, "subject": f"list_entry:{portal.entry.id}", "statement": "改了"},
        status=422,
    )
    assert "须说明已纠正的内容" in short.html.select_one(".field-error").text
    assert short.html.select_one("#statement").text == "改了"
    # Another enterprise's list entry is answered like one that does not exist.
    theirs = app.post(
        "/portal/repairs",
        {
            "csrf_token": token,
            "subject": f"list_entry:{portal.rival_entry.id}",
            "statement": "已办理住所变更登记，现可联系。",
        },
        status=422,
    )
    nothing = app.post(
        "/portal/repairs",
        {
            "csrf_token": token,
            "subject": "list_entry:99999999",
            "statement": "已办理住所变更登记，现可联系。",
        },
        status=422,
    )
    assert (
        theirs.html.select_one(".field-error").text == nothing.html.select_one(".field-error").text
    )
    assert "秘密原因" not in theirs.text
    done = app.post(
        "/portal/repairs",
        {
            "csrf_token": token,
            "subject": f"list_entry:{portal.entry.id}",
            "statement": "已办理住所变更登记，现可通过登记住所联系。",
        },
        status=303,
    )
    assert "已办理住所变更登记" in done.follow().html.select_one("#repairs").text
    data.commit()
    repair = data.scalars(select(CreditRepair)).one()
    assert repair.enterprise_id == portal.own.enterprise.id
    assert audited(data, "credit.repair.apply") == 1


def test_replies_and_appeals_to_its_own_published_results_only(
    testapp: webtest.TestApp, sign_in: SignIn, portal: Portal, data: Session
) -> None:
    app = signed_in(testapp, sign_in, "firm")
    page = app.get("/portal/records")
    assert page.html.select_one(f"#record-{portal.record.id}") is not None
    assert page.html.select_one(f"#record-{portal.rival_record.id}") is None
    token = csrf(page)
    short = app.post(
        f"/portal/records/{portal.record.id}/reply", {"csrf_token": token, "body": ""}, status=422
    )
    assert short.html.select_one(".field-error") is not None
    app.post(
        f"/portal/records/{portal.record.id}/reply",
        {"csrf_token": token, "body": "我公司已于当日完成整改，过期茶叶已全部销毁。"},
        status=303,
    )
    app.post(
        f"/portal/records/{portal.record.id}/appeal",
        {"csrf_token": token, "grounds": "检查记录中的数量有误，实际为6袋，请予更正。"},
        status=303,
    )
    shown = app.get("/portal/records")
    assert "过期茶叶已全部销毁" in shown.text and "实际为6袋" in shown.text
    data.commit()
    appeal = data.scalars(select(RecordAppeal)).one()
    assert appeal.enterprise_id == portal.own.enterprise.id
    theirs = app.post(
        f"/portal/records/{portal.rival_record.id}/reply",
        {"csrf_token": token, "body": "替别人回复的内容足够长了"},
        status=404,
    )
    nothing = app.post(
        "/portal/records/99999999/reply",
        {"csrf_token": token, "body": "替别人回复的内容足够长了"},
        status=404,
    )
    assert main(theirs) == main(nothing)
