"""Publication over the API: public records for anyone, replies and appeals by the enterprise
concerned (refused to others), decisions by the department's supervisor, what is due, and the
joint list for supervisors and consumer tokens."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable
from dataclasses import dataclass

import pytest
import webtest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from enforcement.models import AuditLog, CreditList, PublicRecord, Role, User
from enforcement.services import disclosure, joint_list
from enforcement.services.credit_records import add_list_entry
from tests import factories
from tests.evidence_helpers import FINISHED_AT, Scene, finish, make_scene
from tests.mobile_api.conftest import PASSWORD


@dataclass
class Published:
    scene: Scene
    record: PublicRecord


@pytest.fixture
def published(data: Session) -> Published:
    scene = make_scene(data)
    finish(scene.inspection, None, refused=True)
    data.flush()
    disclosure.run(data, clock=lambda: FINISHED_AT + dt.timedelta(hours=1))
    data.commit()
    record = data.scalars(select(PublicRecord)).one()
    return Published(scene, record)


def token(app: webtest.TestApp, username: str) -> dict[str, str]:
    answer = app.post_json("/api/v1/tokens", {"username": username, "password": PASSWORD})
    return {"Authorization": f"Bearer {answer.json['token']}"}


def audited(data: Session, action: str) -> int:
    data.commit()
    return data.scalar(select(func.count()).where(AuditLog.action == action)) or 0


def test_anyone_reads_and_searches_published_records(
    testapp: webtest.TestApp, published: Published
) -> None:
    record = published.record
    shown = testapp.get(f"/api/v1/public-records/{record.id}").json
    assert shown["kind"] == "result" and shown["status"] == "published"
    assert shown["document"]["team"] == ["张*", "李*"]
    assert shown["replies"] == [] and shown["corrections"] == []
    uscc = published.scene.enterprise.uscc
    found = testapp.get("/api/v1/public-records", {"q": uscc}).json
    assert found["total"] == 1 and found["records"][0]["id"] == record.id
    by_name = testapp.get("/api/v1/public-records", {"q": "龙井人家", "kind": "result"}).json
    assert [r["id"] for r in by_name["records"]] == [record.id]
    assert testapp.get("/api/v1/public-records", {"q": "不存在的企业"}).json["total"] == 0
    assert testapp.get("/api/v1/public-records", {"kind": "penalty"}).json["records"] == []
    missing = testapp.get("/api/v1/public-records/999999", status=404)
    assert missing.json["error"]["code"] == "not_found"


def test_the_enterprise_replies_and_appeals_others_are_refused(
    testapp: webtest.TestApp,
    published: Published,
    make_user: Callable[..., User],
    data: Session,
) -> None:
    scene, record = published.scene, published.record
    make_user("shop", Role.ENTERPRISE, enterprise_id=scene.enterprise.id)
    other = factories.EnterpriseFactory()
    data.commit()
    make_user("neighbour", Role.ENTERPRISE, enterprise_id=other.id)
    make_user("officer", Role.INSPECTOR, inspector_id=scene.lead.id)
    owner = token(testapp, "shop")
    path = f"/api/v1/public-records/{record.id}"

    reply = testapp.post_json(f"{path}/replies", {"body": "已整改，电话13812345678"}, headers=owner)
    assert reply.status_int == 201 and reply.json["body"] == "已整改，电话138****5678"
    assert [r["body"] for r in testapp.get(path).json["replies"]] == ["已整改，电话138****5678"]

    for username in ("neighbour", "officer"):
        refused = testapp.post_json(
            f"{path}/replies", {"body": "不是我们的"}, headers=token(testapp, username), status=403
        )
        assert refused.json["error"]["code"] == "forbidden"
    testapp.post_json(f"{path}/replies", {"body": "匿名"}, status=401)
    empty = testapp.post_json(f"{path}/replies", {"body": "  "}, headers=owner, status=422)
    assert "body" in empty.json["error"]["fields"]

    appeal = testapp.post_json(
        f"{path}/appeals", {"grounds": "检查当日本店停业，结果有误。"}, headers=owner
    )
    assert appeal.status_int == 201 and appeal.json["status"] == "submitted"
    again = testapp.post_json(
        f"{path}/appeals", {"grounds": "再次申诉，结果有误请更正。"}, headers=owner, status=409
    )
    assert again.json["error"]["code"] == "conflict"
    mine = testapp.get("/api/v1/appeals", headers=owner).json["appeals"]
    assert [a["id"] for a in mine] == [appeal.json["id"]]
    neighbour = token(testapp, "neighbour")
    assert testapp.get("/api/v1/appeals", headers=neighbour).json["appeals"] == []
    testapp.get(f"/api/v1/appeals/{appeal.json['id']}", headers=neighbour, status=404)
    assert audited(data, "publication.reply") == 1
    assert audited(data, "publication.appeal") == 1


def test_the_departments_supervisor_decides_and_an_upheld_appeal_withdraws(
    testapp: webtest.TestApp,
    published: Published,
    make_user: Callable[..., User],
    data: Session,
) -> None:
    scene, record = published.scene, published.record
    make_user("shop", Role.ENTERPRISE, enterprise_id=scene.enterprise.id)
    make_user("chief", Role.SUPERVISOR, department_id=scene.department.id)
    make_user("elsewhere", Role.SUPERVISOR, department_id=scene.other_department.id)
    owner = token(testapp, "shop")
    appeal = testapp.post_json(
        f"/api/v1/public-records/{record.id}/appeals",
        {"grounds": "被检查的不是本企业，请撤回。"},
        headers=owner,
    ).json
    decision = f"/api/v1/appeals/{appeal['id']}/decision"
    body = {"uphold": True, "reason": "经核实检查对象有误，撤回公示。", "action": "withdraw"}

    testapp.post_json(decision, body, headers=owner, status=403)
    testapp.post_json(decision, body, headers=token(testapp, "elsewhere"), status=404)
    chief = token(testapp, "chief")
    no_action = testapp.post_json(
        decision, {"uphold": True, "reason": "属实"}, headers=chief, status=422
    )
    assert "action" in no_action.json["error"]["fields"]
    decided = testapp.post_json(decision, body, headers=chief).json
    assert decided["status"] == "upheld" and decided["action"] == "withdraw"
    testapp.post_json(decision, body, headers=chief, status=409)

    shown = testapp.get(f"/api/v1/public-records/{record.id}").json
    assert shown["status"] == "withdrawn" and shown["document"] is None
    assert shown["withdrawal_reason"] == "经核实检查对象有误，撤回公示。"
    testapp.post_json(
        f"/api/v1/public-records/{record.id}/replies", {"body": "谢谢"}, headers=owner, status=409
    )
    assert audited(data, "publication.appeal.uphold") == 1
    assert audited(data, "publication.withdraw") == 1


def test_supervisors_see_what_awaits_publication(
    testapp: webtest.TestApp, data: Session, make_user: Callable[..., User]
) -> None:
    scene = make_scene(data)
    finish(scene.inspection, None, refused=True)
    data.commit()
    make_user("chief", Role.SUPERVISOR)
    make_user("shop", Role.ENTERPRISE, enterprise_id=scene.enterprise.id)
    items = testapp.get("/api/v1/publication/due", headers=token(testapp, "chief")).json["items"]
    assert [(i["kind"], i["subject"], i["state"]) for i in items] == [
        ("result", str(scene.inspection.uuid), "overdue")  # finished in March 2025
    ]
    testapp.get("/api/v1/publication/due", headers=token(testapp, "shop"), status=403)


def test_the_joint_list_for_supervisors_and_consumer_tokens(
    testapp: webtest.TestApp, data: Session, make_user: Callable[..., User]
) -> None:
    listed = factories.EnterpriseFactory(name="东阳市失信贸易有限公司")
    add_list_entry(
        data,
        None,
        listed,
        which=CreditList.SERIOUS_ILLEGAL,
        reason="提交虚假材料取得登记",
        listed_on=dt.date(2026, 1, 5),
    )
    joint_list.sync(data)
    _, secret = joint_list.add_consumer(data, "东阳市税务局")
    revoked, old_secret = joint_list.add_consumer(data, "旧系统")
    joint_list.revoke_consumer(data, "旧系统")
    data.commit()
    make_user("chief", Role.SUPERVISOR)
    make_user("officer", Role.INSPECTOR)

    page = testapp.get("/api/v1/joint-list", headers=token(testapp, "chief")).json
    assert page["since"] == 0 and page["more"] is False
    assert [(e["change"], e["basis"], e["enterprise_uscc"]) for e in page["entries"]] == [
        ("added", "serious_illegal", listed.uscc)
    ]
    consumer = {"Authorization": f"Bearer {secret}"}
    assert testapp.get("/api/v1/joint-list", headers=consumer).json == page
    after = testapp.get("/api/v1/joint-list", {"since": page["cursor"]}, headers=consumer).json
    assert after["entries"] == [] and after["cursor"] == page["cursor"]

    as_csv = testapp.get("/api/v1/joint-list.csv", headers=consumer)
    assert as_csv.content_type == "text/csv"
    assert as_csv.headers["X-Joint-List-Cursor"] == str(page["cursor"])
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert [r["enterprise_name"] for r in rows] == ["东阳市失信贸易有限公司"]

    testapp.get("/api/v1/joint-list", status=401)
    testapp.get("/api/v1/joint-list", headers={"Authorization": f"Bearer {old_secret}"}, status=401)
    testapp.get("/api/v1/joint-list", headers=token(testapp, "officer"), status=403)
    # A consumer token opens nothing else.
    testapp.get("/api/v1/appeals", headers=consumer, status=401)
    assert audited(data, "joint_list.export") == 4
    assert revoked.revoked_at is not None
