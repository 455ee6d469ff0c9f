"""Object-level access: another department's or another enterprise's object is refused with
exactly the response given for an id that does not exist (status and body), so a refusal tells
nothing about what exists.

The world: department A's case (from an inspection with a photo, its transfer reported), plan,
inspection and evidence; a rival scene in another department whose inspection ordered a
rectification and published a record, with the rival enterprise's credit-repair application.
Each probe is made by someone with the right role but the wrong scope. The portal pages are
covered the same way in ``test_portal_pages.py`` (another enterprise's order, commitment,
record); the credit profile in ``test_api_credit.py``.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import webtest
from pyramid.router import Router
from sqlalchemy import select
from sqlalchemy.orm import Session

from enforcement.models import CreditList, ListEntry, PublicRecord, Role, User
from enforcement.security import hash_password
from enforcement.services import disclosure
from enforcement.services.clocks import calendar_for
from enforcement.services.evidence import evidence_store
from enforcement.services.rectification import order_rectification
from enforcement.services.tokens import TokenService
from tests.evidence_helpers import FINISHED_AT, Scene, finish, make_scene
from tests.mobile_api.conftest import PASSWORD, submit_login
from tests.transfer_helpers import TransferScene, make_transfer_scene, report_body

Headers = dict[str, str]
MISSING_UUID = str(uuid.UUID(int=0xDEAD))
MISSING_ID = 987654


@dataclass
class World:
    ts: TransferScene
    rival: Scene
    rival_order_id: int
    rival_record_id: int
    rival_repair_id: int
    rival_upload_id: str
    tokens: dict[str, Headers]


def bearer(data: Session, user: User) -> Headers:
    secret = TokenService(data).issue(user, label="object-access").secret
    data.commit()
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def world(
    data: Session, web_app: Router, testapp: webtest.TestApp, make_user: Callable[..., User]
) -> World:
    ts = make_transfer_scene(data, evidence_store(web_app.registry.settings))
    rival = make_scene(data, plan_code="RIVAL-PLAN")
    finish(rival.inspection, None, refused=True)
    data.flush()
    order = order_rectification(
        data, None, rival.inspection, calendar=calendar_for(None), now=FINISHED_AT
    )
    entry = ListEntry(
        enterprise=rival.enterprise,
        list=CreditList.ABNORMAL_OPERATION,
        reason="通过登记的住所无法联系",
        listed_on=dt.date(2026, 1, 10),
    )
    data.add(entry)
    data.flush()
    disclosure.run(data, clock=lambda: FINISHED_AT + dt.timedelta(hours=1))
    data.commit()
    record = data.scalars(
        select(PublicRecord).where(PublicRecord.enterprise_id == rival.enterprise.id)
    ).first()
    assert record is not None
    rival_firm = make_user("rival-firm", Role.ENTERPRISE, enterprise_id=rival.enterprise.id)
    rival_lead = make_user("rival-lead", Role.INSPECTOR, inspector_id=rival.lead.id)
    tokens = {
        name: bearer(data, getattr(ts, name))
        for name in ("supervisor", "other_supervisor", "lead", "enterprise_user", "liaison")
    }
    tokens["rival_firm"] = bearer(data, rival_firm)
    tokens["rival_lead"] = bearer(data, rival_lead)
    # Department A's transfer exists: reported by the department's head.
    testapp.put_json(
        f"/api/v1/cases/{ts.case.id}/transfer",
        report_body(ts),
        headers=tokens["supervisor"],
        status=201,
    )
    repair = testapp.post_json(
        "/api/v1/credit-repairs",
        {
            "subject": "list_entry",
            "subject_id": entry.id,
            "statement": "已办理住所变更登记，现可通过登记住所联系。",
        },
        headers=tokens["rival_firm"],
        status=201,
    ).json
    begun = testapp.post_json(
        "/api/v1/uploads",
        {"size": 1000, "kind": "photo", "sha256": "ab" * 32},
        headers=tokens["rival_lead"],
    ).json
    # Pages need a password to sign in with.
    for user in (ts.other_supervisor, ts.supervisor):
        user.password_hash = hash_password(PASSWORD)
        data.add(user)
    data.commit()
    return World(ts, rival, order.id, record.id, repair["id"], begun["id"], tokens)


def probes(w: World) -> list[tuple[str, str, str, str, str, dict[str, Any] | None]]:
    """(who, method, path to a foreign object, path to a missing one, JSON body or None)."""
    case, inspection = w.ts.case.id, w.ts.scene.inspection.uuid
    plan = w.ts.scene.task.draw.plan.code
    reply = {"text": "我司已完成整改，特此说明。"}
    return [
        # another department's supervisor
        ("other_supervisor", "GET", f"/api/v1/cases/{case}", f"/api/v1/cases/{MISSING_ID}", None),
        (
            "other_supervisor",
            "GET",
            f"/api/v1/cases/{case}/transfer",
            f"/api/v1/cases/{MISSING_ID}/transfer",
            None,
        ),
        (
            "other_supervisor",
            "POST",
            f"/api/v1/cases/{case}/transfer/decision",
            f"/api/v1/cases/{MISSING_ID}/transfer/decision",
            {"decision": "approve"},
        ),
        (
            "other_supervisor",
            "GET",
            f"/api/v1/inspections/{inspection}",
            f"/api/v1/inspections/{MISSING_UUID}",
            None,
        ),
        (
            "other_supervisor",
            "GET",
            f"/api/v1/inspections/{inspection}/record.pdf",
            f"/api/v1/inspections/{MISSING_UUID}/record.pdf",
            None,
        ),
        (
            "other_supervisor",
            "GET",
            f"/api/v1/evidence/{w.ts.photo_sha256}",
            f"/api/v1/evidence/{'0' * 64}",
            None,
        ),
        (
            "other_supervisor",
            "GET",
            f"/api/v1/plans/{plan}",
            "/api/v1/plans/NO-SUCH-PLAN",
            None,
        ),
        (
            "other_supervisor",
            "GET",
            f"/api/v1/audit/entities/penalty_case/{case}",
            f"/api/v1/audit/entities/penalty_case/{MISSING_ID}",
            None,
        ),
        (
            "supervisor",
            "GET",
            f"/api/v1/rectifications/{w.rival_order_id}",
            f"/api/v1/rectifications/{MISSING_ID}",
            None,
        ),
        # an inspector on no team of the object
        ("rival_lead", "GET", f"/api/v1/cases/{case}", f"/api/v1/cases/{MISSING_ID}", None),
        (
            "rival_lead",
            "GET",
            f"/api/v1/inspections/{inspection}",
            f"/api/v1/inspections/{MISSING_UUID}",
            None,
        ),
        (
            "rival_lead",
            "GET",
            f"/api/v1/evidence/{w.ts.photo_sha256}",
            f"/api/v1/evidence/{'0' * 64}",
            None,
        ),
        (
            "lead",
            "GET",
            f"/api/v1/rectifications/{w.rival_order_id}",
            f"/api/v1/rectifications/{MISSING_ID}",
            None,
        ),
        (
            "lead",
            "GET",
            f"/api/v1/uploads/{w.rival_upload_id}",
            f"/api/v1/uploads/{MISSING_UUID}",
            None,
        ),
        # another enterprise
        (
            "enterprise_user",
            "GET",
            f"/api/v1/rectifications/{w.rival_order_id}",
            f"/api/v1/rectifications/{MISSING_ID}",
            None,
        ),
        (
            "enterprise_user",
            "POST",
            f"/api/v1/rectifications/{w.rival_order_id}/report",
            f"/api/v1/rectifications/{MISSING_ID}/report",
            {"note": "已整改完毕"},
        ),
        (
            "enterprise_user",
            "GET",
            f"/api/v1/credit-repairs/{w.rival_repair_id}",
            f"/api/v1/credit-repairs/{MISSING_ID}",
            None,
        ),
        (
            "enterprise_user",
            "POST",
            f"/api/v1/public-records/{w.rival_record_id}/replies",
            f"/api/v1/public-records/{MISSING_ID}/replies",
            reply,
        ),
        (
            "enterprise_user",
            "GET",
            f"/api/v1/enterprises/{w.rival.enterprise.id}/credit",
            f"/api/v1/enterprises/{MISSING_ID}/credit",
            None,
        ),
        (
            "enterprise_user",
            "GET",
            f"/api/v1/inspections/{w.rival.inspection.uuid}",
            f"/api/v1/inspections/{MISSING_UUID}",
            None,
        ),
        ("enterprise_user", "GET", f"/api/v1/cases/{case}", f"/api/v1/cases/{MISSING_ID}", None),
    ]


def call(
    app: webtest.TestApp, method: str, path: str, headers: Headers, body: dict[str, Any] | None
) -> webtest.TestResponse:
    if body is None:
        return app.request(path, method=method, headers=headers, expect_errors=True)
    return app.request(
        path,
        method=method,
        headers={**headers, "Content-Type": "application/json"},
        json=body,
        expect_errors=True,
    )


def identifier(path: str) -> str:
    """The object's id in a probe's path (the segment after the collection's name)."""
    segments = path.split("/")
    collections = {
        "cases",
        "inspections",
        "evidence",
        "plans",
        "penalty_case",
        "rectifications",
        "uploads",
        "credit-repairs",
        "public-records",
        "enterprises",
    }
    return next(segments[i + 1] for i, s in enumerate(segments) if s in collections)


def test_foreign_objects_are_refused_like_missing_ones(
    testapp: webtest.TestApp, world: World
) -> None:
    leaks = []
    for who, method, foreign, missing, body in probes(world):
        headers = world.tokens[who]
        theirs = call(testapp, method, foreign, headers, body)
        nothing = call(testapp, method, missing, headers, body)
        # The answer may repeat the id asked for (the client's own input), nothing else.
        said = theirs.text.replace(identifier(foreign), "<id>")
        said_for_nothing = nothing.text.replace(identifier(missing), "<id>")
        if theirs.status_int < 400 or (theirs.status_int, said) != (
            nothing.status_int,
            said_for_nothing,
        ):
            leaks.append((who, method, foreign, theirs.status_int, said, said_for_nothing))
    assert leaks == [], "\n".join(map(str, leaks))


def test_the_owners_still_get_their_objects(testapp: webtest.TestApp, world: World) -> None:
    """The probes above must be refusals of scope, not of everything."""
    ts, tokens = world.ts, world.tokens
    testapp.get(f"/api/v1/cases/{ts.case.id}", headers=tokens["supervisor"], status=200)
    testapp.get(f"/api/v1/cases/{ts.case.id}/transfer", headers=tokens["supervisor"], status=200)
    testapp.get(
        f"/api/v1/inspections/{ts.scene.inspection.uuid}", headers=tokens["lead"], status=200
    )
    testapp.get(f"/api/v1/evidence/{ts.photo_sha256}", headers=tokens["lead"], status=200)
    testapp.get(
        f"/api/v1/rectifications/{world.rival_order_id}",
        headers=tokens["rival_firm"],
        status=200,
    )
    testapp.get(
        f"/api/v1/credit-repairs/{world.rival_repair_id}",
        headers=tokens["rival_firm"],
        status=200,
    )
    testapp.get(
        f"/api/v1/uploads/{world.rival_upload_id}", headers=tokens["rival_lead"], status=200
    )


def test_console_case_page_of_another_department_is_not_found(
    testapp: webtest.TestApp, world: World
) -> None:
    submit_login(testapp, world.ts.other_supervisor.username)
    theirs = testapp.get(f"/console/cases/{world.ts.case.id}", expect_errors=True)
    nothing = testapp.get(f"/console/cases/{MISSING_ID}", expect_errors=True)
    assert theirs.status_int == nothing.status_int == 404
    assert theirs.html.select_one("main") == nothing.html.select_one("main")
    assert world.ts.case.case_no not in theirs.text
