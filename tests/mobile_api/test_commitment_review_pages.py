"""The commitments desk on both backends: a supervisor of the item's department accepts a
commitment from the list, then records the check on its page (true, or false with a reason);
rejection needs a reason; the forms carry the CSRF token and the version read (a stale form is
412, a wrong state 409); another department is refused; the enterprise sees the outcome."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import webtest
from sqlalchemy import select
from sqlalchemy.orm import Session

from enforcement.models import (
    AuditLog,
    Commitment,
    CommitmentStatus,
    FeedRecord,
    OutboxMessage,
    Role,
    User,
)
from enforcement.services.commitments import CommitmentService
from tests.factories import DepartmentFactory, EnterpriseFactory, InspectionItemFactory

SignIn = Callable[..., webtest.TestResponse]
TEXT = "本企业承诺严格落实食品进货查验记录制度，如实记录并保存相关凭证。"


@dataclass
class Scene:
    commitment: Commitment
    licence_only: Commitment


@pytest.fixture
def scene(data: Session, make_user: Callable[..., User]) -> Scene:
    own = EnterpriseFactory(name="宁波海曙诚信食品有限公司")
    item = InspectionItemFactory()
    elsewhere = DepartmentFactory()
    data.commit()
    firm = make_user("firm", Role.ENTERPRISE, enterprise_id=own.id)
    make_user("head", Role.SUPERVISOR, department_id=item.department_id)
    make_user("stranger", Role.SUPERVISOR, department_id=elsewhere.id)
    make_user("officer", Role.INSPECTOR)
    service = CommitmentService(data, firm)
    commitment = service.file(text=TEXT, item_id=item.id)
    licence_only = service.file(text=TEXT + "（许可）", licence="食品经营许可证 JY1")
    data.commit()
    return Scene(commitment, licence_only)


def _app(testapp: webtest.TestApp, sign_in: SignIn, username: str) -> webtest.TestApp:
    app = webtest.TestApp(testapp.app)
    sign_in(app, username)
    return app


def _fresh(data: Session, commitment_id: int) -> Commitment:
    data.commit()
    data.expire_all()
    found = data.get(Commitment, commitment_id)
    assert found is not None
    return found


def _csrf(page: webtest.TestResponse) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found is not None
    return found.group(1)


def test_accept_from_the_list_then_verify_on_the_page(
    testapp: webtest.TestApp, sign_in: SignIn, scene: Scene, data: Session
) -> None:
    head = _app(testapp, sign_in, "head")
    listed = head.get("/commitments/")
    rows = listed.html.select("#commitments tbody tr")
    # The head's department: the item's commitment, not the licence-only one (the bureau's).
    assert [r["id"] for r in rows] == [f"commitment-{scene.commitment.id}"]
    form = listed.forms[f"accept-{scene.commitment.id}"]
    accepted = form.submit(status=303)
    assert accepted.location.endswith("/commitments/")
    assert accepted.follow().html.select_one("[role=status]") is not None
    assert _fresh(data, scene.commitment.id).status is CommitmentStatus.ACCEPTED
    page = head.get(f"/commitments/{scene.commitment.id}")
    assert page.html.select_one("#step-accept") is None
    assert page.html.select_one("#step-verify") is not None
    verify = page.forms["step-verify"]
    verify["note"] = "现场核查属实"
    done = verify.submit(status=303).follow()
    assert "现场核查属实" in done.html.select_one("#commitment-verification").text
    assert done.html.select("form.panel") == []  # nothing more to do
    assert _fresh(data, scene.commitment.id).status is CommitmentStatus.VERIFIED
    # The enterprise sees the outcome in its portal.
    firm = _app(testapp, sign_in, "firm")
    portal = firm.get("/portal/commitments")
    assert "现场核查属实" in portal.html.select_one(f"#commitment-{scene.commitment.id}").text


def test_found_false_needs_a_reason_and_has_its_consequences(
    testapp: webtest.TestApp, sign_in: SignIn, scene: Scene, data: Session
) -> None:
    head = _app(testapp, sign_in, "head")
    head.get(f"/commitments/{scene.commitment.id}").forms["step-accept"].submit(status=303)
    page = head.get(f"/commitments/{scene.commitment.id}")
    form = page.forms["step-find_false"]
    refused = form.submit(status=422)
    assert refused.html.select_one("#find_false-reason-error") is not None
    assert _fresh(data, scene.commitment.id).status is CommitmentStatus.ACCEPTED
    form = refused.forms["step-find_false"]
    form["reason"] = "现场未见进货查验记录"
    form.submit(status=303)
    commitment = _fresh(data, scene.commitment.id)
    assert commitment.status is CommitmentStatus.FOUND_FALSE
    assert commitment.verification_note == "现场未见进货查验记录"
    assert (
        data.scalars(select(AuditLog).where(AuditLog.action == "commitment.find_false"))
        .one()
        .details["reason"]
        == "现场未见进货查验记录"
    )
    fed = data.scalars(
        select(FeedRecord).where(FeedRecord.kind == "commitment").order_by(FeedRecord.id.desc())
    ).first()
    assert fed is not None and fed.payload["status"] == "found_false"
    rerate = data.scalars(select(OutboxMessage).where(OutboxMessage.topic == "credit.rerate")).one()
    assert rerate.payload["enterprise_ids"] == [commitment.enterprise_id]


def test_rejection_needs_a_reason(
    testapp: webtest.TestApp, sign_in: SignIn, scene: Scene, data: Session
) -> None:
    head = _app(testapp, sign_in, "head")
    page = head.get(f"/commitments/{scene.commitment.id}")
    refused = page.forms["step-reject"].submit(status=422)
    assert "请说明理由" in refused.html.select_one("#reject-reason-error").text
    form = refused.forms["step-reject"]
    form["reason"] = "许可证号与登记信息不符"
    shown = form.submit(status=303).follow()
    assert "许可证号与登记信息不符" in shown.html.select_one("#commitment-review").text
    assert _fresh(data, scene.commitment.id).status is CommitmentStatus.REJECTED


def test_stale_forms_wrong_states_and_missing_tokens_are_refused(
    testapp: webtest.TestApp, sign_in: SignIn, scene: Scene, data: Session
) -> None:
    head = _app(testapp, sign_in, "head")
    page = head.get(f"/commitments/{scene.commitment.id}")
    token = _csrf(page)
    url = f"/commitments/{scene.commitment.id}"
    head.post(f"{url}/accept", {"csrf_token": token, "version": "1"}, status=303)
    # The same form again: the version read is stale.
    stale = head.post(
        f"{url}/reject", {"csrf_token": token, "version": "1", "reason": "x"}, status=412
    )
    assert stale.html.select_one("#problem") is not None
    # Without a version: the state decides (accepted cannot be accepted again).
    wrong = head.post(f"{url}/accept", {"csrf_token": token}, status=409)
    problem = wrong.html.select_one("#problem").text.strip()
    assert problem == "该承诺状态为“已受理待核查”：只有状态为“已承诺待受理”时才能受理"
    head.post(f"{url}/verify", {"version": "2"}, status=400)  # no CSRF token
    head.post(f"{url}/nonsense", {"csrf_token": token}, status=404)
    assert _fresh(data, scene.commitment.id).status is CommitmentStatus.ACCEPTED


def test_another_department_and_other_roles_are_refused(
    testapp: webtest.TestApp, sign_in: SignIn, scene: Scene, data: Session
) -> None:
    stranger = _app(testapp, sign_in, "stranger")
    assert stranger.get("/commitments/").html.select("#commitments tbody tr") == []
    stranger.get(f"/commitments/{scene.commitment.id}", status=403)
    token = _csrf(stranger.get("/commitments/?status=filed"))
    stranger.post(f"/commitments/{scene.commitment.id}/accept", {"csrf_token": token}, status=403)
    for username in ("firm", "officer"):
        app = _app(testapp, sign_in, username)
        app.get("/commitments/", status=403)
        app.get(f"/commitments/{scene.commitment.id}", status=403)
    assert _fresh(data, scene.commitment.id).status is CommitmentStatus.FILED
    stranger.get("/commitments/99999999", status=404)


def test_the_pages_speak_english_on_request(
    testapp: webtest.TestApp, sign_in: SignIn, scene: Scene, make_user: Callable[..., Any]
) -> None:
    make_user("bureau", Role.SUPERVISOR)
    bureau = _app(testapp, sign_in, "bureau")
    listed = bureau.get("/commitments/", params={"_LOCALE_": "en"})
    assert len(listed.html.select("#commitments tbody tr")) == 2  # the whole bureau's
    page = bureau.get(f"/commitments/{scene.licence_only.id}", params={"_LOCALE_": "en"})
    assert "Filed, awaiting review" in page.html.select_one("#commitment-status").text
    assert "The whole bureau" in page.text
