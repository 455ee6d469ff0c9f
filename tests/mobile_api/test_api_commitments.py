"""Commitments (告知承诺) over the API on both backends: the enterprise files, reads and
withdraws its own; the item's department accepts or rejects, then records the check true or
false; each state change answers with the ETag, a stale If-Match is 412, a wrong state 409,
another department 403, another enterprise's commitment 404. A false commitment is audited,
fed to the data center and queues a re-rating."""

from __future__ import annotations

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
    Enterprise,
    FeedRecord,
    InspectionItem,
    OutboxMessage,
    Role,
    User,
)
from tests.factories import DepartmentFactory, EnterpriseFactory, InspectionItemFactory
from tests.mobile_api.test_api_inspections import token

TEXT = "本企业承诺严格落实食品进货查验记录制度，如实记录并保存相关凭证。"
Headers = dict[str, str]


@dataclass
class Desk:
    own: Enterprise
    rival: Enterprise
    item: InspectionItem
    firm: Headers
    rival_firm: Headers
    head: Headers
    stranger: Headers
    bureau: Headers
    officer: Headers


@pytest.fixture
def desk(testapp: webtest.TestApp, data: Session, make_user: Callable[..., User]) -> Desk:
    own, rival = EnterpriseFactory(), EnterpriseFactory()
    item = InspectionItemFactory()
    elsewhere = DepartmentFactory()
    data.commit()
    make_user("firm", Role.ENTERPRISE, enterprise_id=own.id)
    make_user("rival", Role.ENTERPRISE, enterprise_id=rival.id)
    make_user("head", Role.SUPERVISOR, department_id=item.department_id)
    make_user("stranger", Role.SUPERVISOR, department_id=elsewhere.id)
    make_user("bureau", Role.SUPERVISOR)
    make_user("officer", Role.INSPECTOR)
    return Desk(
        own,
        rival,
        item,
        *(
            token(testapp, name)
            for name in ("firm", "rival", "head", "stranger", "bureau", "officer")
        ),
    )


def _file(app: webtest.TestApp, desk: Desk, **body: Any) -> dict[str, Any]:
    answer = app.post_json(
        "/api/v1/commitments",
        {"text": TEXT, "item_id": desk.item.id, **body},
        headers=desk.firm,
        status=201,
    )
    assert answer.headers["ETag"] == '"1"'
    assert answer.headers["Location"].endswith(f"/api/v1/commitments/{answer.json['id']}")
    return answer.json


def _url(commitment: dict[str, Any], step: str = "") -> str:
    return f"/api/v1/commitments/{commitment['id']}" + (f"/{step}" if step else "")


def _fresh(data: Session, commitment_id: int) -> Commitment:
    data.commit()  # a fresh snapshot: the app committed on its own connection
    data.expire_all()
    found = data.get(Commitment, commitment_id)
    assert found is not None
    return found


def test_the_enterprise_files_reads_and_withdraws_its_own(
    testapp: webtest.TestApp, desk: Desk, data: Session
) -> None:
    filed = _file(testapp, desk, licence="食品经营许可证 JY13301060012345")
    assert filed["status"] == "filed" and filed["version"] == 1
    assert filed["enterprise"]["id"] == desk.own.id
    assert filed["item"]["code"] == desk.item.code
    assert filed["department"]["id"] == desk.item.department_id
    listed = testapp.get("/api/v1/commitments", headers=desk.firm).json
    assert [c["id"] for c in listed["commitments"]] == [filed["id"]]
    assert listed["next_after"] is None
    assert testapp.get(_url(filed), headers=desk.firm).json["text"] == TEXT
    # Another enterprise: the same 404 as a commitment that does not exist.
    theirs = testapp.get(_url(filed), headers=desk.rival_firm, status=404).json
    nothing = testapp.get("/api/v1/commitments/99999999", headers=desk.rival_firm, status=404)
    assert theirs["error"]["code"] == nothing.json["error"]["code"] == "not_found"
    assert testapp.get("/api/v1/commitments", headers=desk.rival_firm).json["commitments"] == []
    testapp.post_json(
        _url(filed, "withdrawal"), {"reason": "恶意撤回"}, headers=desk.rival_firm, status=404
    )
    # Missing reason: 422 naming the field.
    blank = testapp.post_json(
        _url(filed, "withdrawal"), {"reason": "  "}, headers=desk.firm, status=422
    ).json
    assert "reason" in blank["error"]["fields"]
    stale = testapp.post_json(
        _url(filed, "withdrawal"),
        {"reason": "许可证已注销"},
        headers={**desk.firm, "If-Match": '"5"'},
        status=412,
    )
    assert stale.json["error"]["code"] == "precondition_failed"
    done = testapp.post_json(
        _url(filed, "withdrawal"),
        {"reason": "许可证已注销"},
        headers={**desk.firm, "If-Match": '"1"'},
    )
    assert done.json["status"] == "withdrawn" and done.headers["ETag"] == '"2"'
    again = testapp.post_json(
        _url(filed, "withdrawal"), {"reason": "再次撤回"}, headers=desk.firm, status=409
    )
    assert again.json["error"]["code"] == "conflict"
    assert _fresh(data, filed["id"]).status is CommitmentStatus.WITHDRAWN


def test_bad_input_is_refused_naming_each_field(testapp: webtest.TestApp, desk: Desk) -> None:
    short = testapp.post_json(
        "/api/v1/commitments", {"text": "太短", "licence": ""}, headers=desk.firm, status=422
    ).json
    assert set(short["error"]["fields"]) == {"text", "item_id"}
    unknown = testapp.post_json(
        "/api/v1/commitments", {"text": TEXT, "item_id": 99999999}, headers=desk.firm, status=422
    ).json
    assert set(unknown["error"]["fields"]) == {"item_id"}
    too_long = testapp.post_json(
        "/api/v1/commitments", {"text": TEXT, "licence": "x" * 201}, headers=desk.firm, status=422
    ).json
    assert "licence" in too_long["error"]["fields"]
    # Only an enterprise account files.
    testapp.post_json("/api/v1/commitments", {"text": TEXT}, headers=desk.head, status=403)


def test_accept_then_verify_through_the_api(
    testapp: webtest.TestApp, desk: Desk, data: Session
) -> None:
    filed = _file(testapp, desk)
    head = desk.head
    assert [
        c["id"] for c in testapp.get("/api/v1/commitments", headers=head).json["commitments"]
    ] == [filed["id"]]
    accepted = testapp.post_json(
        _url(filed, "acceptance"), {"note": "材料齐全"}, headers={**head, "If-Match": '"1"'}
    )
    assert accepted.json["status"] == "accepted" and accepted.headers["ETag"] == '"2"'
    assert accepted.json["reviewed_by"]["id"] and accepted.json["review_note"] == "材料齐全"
    # The enterprise cannot withdraw it any more.
    testapp.post_json(_url(filed, "withdrawal"), {"reason": "撤回"}, headers=desk.firm, status=409)
    testapp.post_json(_url(filed, "acceptance"), {}, headers=head, status=409)
    verified = testapp.post_json(
        _url(filed, "verification"),
        {"outcome": "verified", "note": "现场核查属实"},
        headers={**head, "If-Match": '"2"'},
    ).json
    assert verified["status"] == "verified" and verified["verification_note"] == "现场核查属实"
    testapp.post_json(
        _url(filed, "verification"),
        {"outcome": "found_false", "note": "x"},
        headers=head,
        status=409,
    )
    mine = testapp.get(_url(filed), headers=desk.firm).json
    assert mine["status"] == "verified" and mine["verified_at"] is not None
    assert _fresh(data, filed["id"]).verified_at is not None


def test_reject_needs_a_reason(testapp: webtest.TestApp, desk: Desk, data: Session) -> None:
    filed = _file(testapp, desk)
    missing = testapp.post_json(
        _url(filed, "rejection"), {"reason": ""}, headers=desk.head, status=422
    ).json
    assert "reason" in missing["error"]["fields"]
    rejected = testapp.post_json(
        _url(filed, "rejection"), {"reason": "许可证号与登记信息不符"}, headers=desk.head
    ).json
    assert rejected["status"] == "rejected" and rejected["review_note"] == "许可证号与登记信息不符"
    testapp.post_json(
        _url(filed, "verification"), {"outcome": "verified"}, headers=desk.head, status=409
    )
    assert _fresh(data, filed["id"]).status is CommitmentStatus.REJECTED


def test_a_false_commitment_is_audited_fed_and_re_rates(
    testapp: webtest.TestApp, desk: Desk, data: Session
) -> None:
    filed = _file(testapp, desk)
    testapp.post_json(_url(filed, "acceptance"), {}, headers=desk.head)
    no_reason = testapp.post_json(
        _url(filed, "verification"), {"outcome": "found_false"}, headers=desk.head, status=422
    ).json
    assert set(no_reason["error"]["fields"]) == {"note"}
    false = testapp.post_json(
        _url(filed, "verification"),
        {"outcome": "found_false", "note": "现场未见进货查验记录"},
        headers=desk.head,
    ).json
    assert false["status"] == "found_false" and false["version"] == 3
    data.commit()
    audit = data.scalars(
        select(AuditLog).where(
            AuditLog.action == "commitment.find_false", AuditLog.entity_id == str(filed["id"])
        )
    ).one()
    assert audit.details["reason"] == "现场未见进货查验记录"
    fed = data.scalars(
        select(FeedRecord)
        .where(
            FeedRecord.kind == "commitment", FeedRecord.record_key == f"commitment:{filed['id']}"
        )
        .order_by(FeedRecord.version.desc())
    ).first()
    assert fed is not None and fed.payload["found_false"] is True and fed.version == 3
    rerates = data.scalars(
        select(OutboxMessage).where(OutboxMessage.topic == "credit.rerate")
    ).all()
    assert [m.payload["enterprise_ids"] for m in rerates] == [[desk.own.id]]


def test_only_the_department_reviews(testapp: webtest.TestApp, desk: Desk, data: Session) -> None:
    filed = _file(testapp, desk)
    other = testapp.post_json(_url(filed, "acceptance"), {}, headers=desk.stranger, status=403)
    assert other.json["error"]["code"] == "forbidden"
    testapp.get(_url(filed), headers=desk.stranger, status=403)
    assert testapp.get("/api/v1/commitments", headers=desk.stranger).json["commitments"] == []
    # Neither an enterprise nor an inspector may review (the permission).
    testapp.post_json(_url(filed, "acceptance"), {}, headers=desk.firm, status=403)
    testapp.post_json(
        _url(filed, "rejection"), {"reason": "不予受理"}, headers=desk.officer, status=403
    )
    assert testapp.get("/api/v1/commitments", headers=desk.officer).json["commitments"] == []
    assert _fresh(data, filed["id"]).status is CommitmentStatus.FILED
    # The whole bureau may review any.
    testapp.post_json(_url(filed, "acceptance"), {}, headers=desk.bureau)
    # Without a token nothing is changed; a session cookie would not do either.
    testapp.post_json(_url(filed, "rejection"), {"reason": "x"}, status=401)


def test_the_list_pages_with_after(testapp: webtest.TestApp, desk: Desk) -> None:
    ids = [_file(testapp, desk)["id"] for _ in range(3)]
    first = testapp.get("/api/v1/commitments", {"limit": 2}, headers=desk.head).json
    assert [c["id"] for c in first["commitments"]] == ids[:2]
    assert first["next_after"] == ids[1]
    rest = testapp.get(
        "/api/v1/commitments", {"limit": 2, "after": first["next_after"]}, headers=desk.head
    ).json
    assert [c["id"] for c in rest["commitments"]] == ids[2:] and rest["next_after"] is None
    testapp.post_json(_url({"id": ids[0]}, "acceptance"), {}, headers=desk.head)
    accepted = testapp.get("/api/v1/commitments", {"status": "accepted"}, headers=desk.head).json
    assert [c["id"] for c in accepted["commitments"]] == [ids[0]]
    testapp.get("/api/v1/commitments", {"status": "nonsense"}, headers=desk.head, status=422)
