"""Penalty cases over the API: the whole workflow with ETags, the list with its clocks and
filters, coercive measures, and the refusal of each route by role and by department."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable
from typing import Any

import pytest
import webtest
from sqlalchemy import select
from sqlalchemy.orm import Session

from enforcement.models import CaseStatus, FeedRecord, PenaltyCase, Role, User
from enforcement.services.transfers import TransferService
from tests.factories import DepartmentFactory, EnterpriseFactory, InspectorFactory
from tests.field_work import drawn_field_work
from tests.mobile_api.conftest import PASSWORD
from tests.mobile_api.test_api_inspections import add_signature_file, all_answers, checkin_body
from tests.mobile_api.test_api_inspections import token as inspection_token


@dataclasses.dataclass
class People:
    enterprise_id: int
    department_id: int
    ids: dict[str, int]
    tokens: dict[str, dict[str, str]]

    def __getitem__(self, name: str) -> dict[str, str]:
        return self.tokens[name]


def _token(app: webtest.TestApp, username: str) -> dict[str, str]:
    answer = app.post_json("/api/v1/tokens", {"username": username, "password": PASSWORD})
    return {"Authorization": f"Bearer {answer.json['token']}"}


@pytest.fixture
def people(testapp: webtest.TestApp, data: Session, make_user: Callable[..., User]) -> People:
    department, other = DepartmentFactory(), DepartmentFactory()
    enterprise = EnterpriseFactory()
    officers = [InspectorFactory(department=department) for _ in range(2)]
    data.commit()
    users = {
        "head": make_user("head", Role.SUPERVISOR, department_id=department.id),
        "reviewer": make_user("reviewer", Role.SUPERVISOR, department_id=department.id),
        "lead": make_user("lead", Role.INSPECTOR, inspector_id=officers[0].id),
        "member": make_user("member", Role.INSPECTOR, inspector_id=officers[1].id),
        "colleague": make_user("colleague", Role.INSPECTOR, department_id=department.id),
        "foreign": make_user("foreign", Role.SUPERVISOR, department_id=other.id),
        "liaison": make_user("liaison", Role.LIAISON, department_id=department.id),
        "firm": make_user("firm", Role.ENTERPRISE, enterprise_id=enterprise.id),
    }
    return People(
        enterprise_id=enterprise.id,
        department_id=department.id,
        ids={name: user.id for name, user in users.items()},
        tokens={name: _token(testapp, name) for name in users},
    )


def _file(app: webtest.TestApp, people: People, **extra: Any) -> webtest.TestResponse:
    body = {
        "enterprise_id": people.enterprise_id,
        "summary": "销售超过保质期的食品",
        "members": [people.ids["lead"], people.ids["member"]],
        **extra,
    }
    return app.post_json("/api/v1/cases", body, headers=people["lead"], status=201)


def _post(
    app: webtest.TestApp,
    people: People,
    who: str,
    url: str,
    body: dict[str, Any] | None = None,
    *,
    etag: str | None = None,
    status: int = 200,
) -> webtest.TestResponse:
    headers = dict(people[who])
    if etag is not None:
        headers["If-Match"] = etag
    return app.post_json(url, body or {}, headers=headers, status=status)


def test_the_workflow_over_the_api(testapp: webtest.TestApp, people: People, data: Session) -> None:
    filed = _file(testapp, people)
    case = filed.json
    url = f"/api/v1/cases/{case['id']}"
    assert filed.headers["Location"].endswith(url) and filed.headers["ETag"] == '"1"'
    assert case["case_no"].startswith("CASE-") and case["status"] == "filed"
    assert [m["role"] for m in case["members"]] == ["lead", "member"]
    (clock,) = case["clocks"]
    assert clock["kind"] == "case.decision" and clock["stopped_at"] is None
    assert case["decision_due_on"] == clock["due_on"]
    assert [e["action"] for e in case["events"]] == ["file"]

    stale = _post(testapp, people, "lead", f"{url}/investigation", etag='"7"', status=412)
    assert stale.json["error"]["code"] == "precondition_failed"
    step = _post(testapp, people, "lead", f"{url}/investigation", {"note": "调取台账"}, etag='"1"')
    assert step.json["status"] == "investigating" and step.headers["ETag"] == '"2"'

    proposal = {"measure": "revocation", "legal_basis": "《食品安全法》第一百二十四条"}
    step = _post(testapp, people, "member", f"{url}/proposal", proposal)
    assert step.json["status"] == "legal_review" and step.json["is_major"]
    assert step.json["proposal"]["measure"] == "revocation"
    conflict = _post(testapp, people, "head", f"{url}/decision", status=409)
    assert conflict.json["error"]["code"] == "conflict"
    review = {"approve": True, "opinion": "事实清楚，证据确凿，同意"}
    _post(testapp, people, "reviewer", f"{url}/legal-review", review)
    decided = _post(
        testapp, people, "head", f"{url}/decision", {"decision_no": "东市监罚〔2026〕9号"}
    )
    assert decided.json["status"] == "decided"
    assert decided.json["penalty"]["decision_no"] == "东市监罚〔2026〕9号"
    assert decided.json["penalty"]["measure"] == "revocation"
    assert decided.json["clocks"][0]["stopped_at"] is not None
    assert decided.json["decision_due_on"] is None

    _post(testapp, people, "lead", f"{url}/execution", {"note": "已吊销许可证"})
    _post(testapp, people, "lead", f"{url}/reconsideration", {"note": "当事人申请行政复议"})
    upheld = _post(
        testapp,
        people,
        "head",
        f"{url}/reconsideration/decision",
        {"outcome": "upheld", "note": "复议维持"},
    )
    assert upheld.json["reconsideration"]["status"] == "upheld"
    detail = testapp.get(url, headers=people["liaison"]).json
    assert [e["action"] for e in detail["events"]] == [
        "file",
        "investigate",
        "propose",
        "review.approve",
        "decide",
        "execute",
        "reconsideration.request",
        "reconsideration.decide",
    ]
    assert detail["events"][1]["note"] == "调取台账"
    assert detail["events"][4]["actor"]["id"] == people.ids["head"]
    fed = data.scalars(select(FeedRecord.kind).where(FeedRecord.kind.in_(["case", "penalty"])))
    assert set(fed) == {"case", "penalty"}


def test_the_list_filters_pages_and_shows_running_clocks(
    testapp: webtest.TestApp, people: People
) -> None:
    first = _file(testapp, people).json
    second = _file(testapp, people, is_major=True).json
    _post(
        testapp, people, "head", f"/api/v1/cases/{first['id']}/withdrawal", {"reason": "不予立案"}
    )

    listed = testapp.get("/api/v1/cases", headers=people["head"]).json
    assert listed["total"] == 2 and [c["id"] for c in listed["cases"]] == [
        second["id"],
        first["id"],
    ]
    by_id = {c["id"]: c for c in listed["cases"]}
    assert by_id[first["id"]]["clocks"] == []  # withdrawn: its clock stopped
    assert [c["kind"] for c in by_id[second["id"]]["clocks"]] == ["case.decision"]
    assert "events" not in by_id[second["id"]]

    def ids(query: str, who: str = "head") -> list[int]:
        return [
            c["id"]
            for c in testapp.get(f"/api/v1/cases?{query}", headers=people[who]).json["cases"]
        ]

    assert ids("status=withdrawn") == [first["id"]]
    assert ids("is_major=true") == [second["id"]]
    assert ids(f"enterprise_id={people.enterprise_id}&limit=1") == [second["id"]]
    assert ids("limit=1&offset=1") == [first["id"]]
    assert ids("mine=true", "lead") == [second["id"], first["id"]]
    assert ids("mine=true", "colleague") == []
    assert ids("", "foreign") == []
    testapp.get("/api/v1/cases?limit=0", headers=people["head"], status=422)
    testapp.get("/api/v1/cases?status=open", headers=people["head"], status=422)


def test_filing_names_bad_fields(testapp: webtest.TestApp, people: People) -> None:
    refused = testapp.post_json(
        "/api/v1/cases",
        {"enterprise_id": people.enterprise_id, "summary": " ", "members": [people.ids["lead"]]},
        headers=people["lead"],
        status=422,
    )
    assert set(refused.json["error"]["fields"]) == {"summary", "members"}
    missing = testapp.post_json(
        "/api/v1/cases", {"summary": "x"}, headers=people["lead"], status=422
    )
    assert "enterprise_id" in missing.json["error"]["fields"]


def test_withdrawal_and_deadline_extension(testapp: webtest.TestApp, people: People) -> None:
    case = _file(testapp, people).json
    url = f"/api/v1/cases/{case['id']}"
    due = case["decision_due_on"]
    extended = _post(testapp, people, "head", f"{url}/deadline-extension", {"reason": "案情复杂"})
    assert extended.json["deadline_extensions"] == 1
    assert extended.json["decision_due_on"] > due
    assert extended.json["clocks"][0]["extensions"] == 1
    refused = _post(
        testapp, people, "head", f"{url}/deadline-extension", {"reason": "再延"}, status=422
    )
    assert set(refused.json["error"]["fields"]) == {"days"}
    _post(testapp, people, "head", f"{url}/withdrawal", {"reason": ""}, status=422)
    withdrawn = _post(testapp, people, "head", f"{url}/withdrawal", {"reason": "违法事实不能成立"})
    assert withdrawn.json["status"] == "withdrawn"
    assert withdrawn.json["withdrawal_reason"] == "违法事实不能成立"
    _post(testapp, people, "lead", f"{url}/investigation", status=409)


def test_coercive_measures_over_the_api(
    testapp: webtest.TestApp, people: People, data: Session
) -> None:
    case = _file(testapp, people).json
    url = f"/api/v1/cases/{case['id']}"
    body = {
        "kind": "seize",
        "items": [{"name": "过期乳制品", "quantity": 12, "unit": "箱"}],
        "place": "仓库一号",
    }
    started = _post(testapp, people, "lead", f"{url}/coercive-measures", body, status=201)
    (measure,) = started.json["coercive_measures"]
    assert started.json["measure_id"] == measure["id"] and measure["kind"] == "seize"
    assert measure["items"] == [{"name": "过期乳制品", "quantity": 12, "unit": "箱", "note": ""}]
    m_url = f"{url}/coercive-measures/{measure['id']}"
    _post(testapp, people, "lead", f"{m_url}/extension", {"reason": "需检验"}, status=403)
    extended = _post(testapp, people, "head", f"{m_url}/extension", {"reason": "需检验"})
    assert extended.json["coercive_measures"][0]["extended"]
    _post(testapp, people, "head", f"{m_url}/extension", {"reason": "again"}, status=409)
    lifted = _post(testapp, people, "member", f"{m_url}/lifting", {"reason": "检验合格"})
    assert lifted.json["coercive_measures"][0]["lifted_at"] is not None
    _post(
        testapp,
        people,
        "lead",
        f"{url}/coercive-measures/999999/lifting",
        {"reason": "x"},
        status=404,
    )
    bad = _post(
        testapp,
        people,
        "lead",
        f"{url}/coercive-measures",
        {"kind": "seal", "items": [{"name": "x"}], "started_on": "2999-01-01"},
        status=422,
    )
    assert set(bad.json["error"]["fields"]) == {"started_on"}
    kinds = data.scalars(select(FeedRecord.version).where(FeedRecord.kind == "coercive_measure"))
    assert sorted(kinds) == [1, 2, 3]


def _routes(
    case_id: int, measure_id: int, people: People
) -> list[tuple[str, str, str, dict[str, Any]]]:
    """(method, url, what is needed, body): "view", "handle" (officers) or "decide" (the head)."""
    base = f"/api/v1/cases/{case_id}"
    measure = f"{base}/coercive-measures/{measure_id}"
    members = {"members": [people.ids["lead"], people.ids["member"]]}
    return [
        ("GET", "/api/v1/cases", "view", {}),
        ("GET", base, "view", {}),
        (
            "POST",
            "/api/v1/cases",
            "handle",
            {
                "enterprise_id": people.enterprise_id,
                "summary": "x",
                "department_id": people.department_id,
                **members,
            },
        ),
        ("PUT", f"{base}/members", "handle", members),
        ("POST", f"{base}/investigation", "handle", {}),
        ("POST", f"{base}/proposal", "handle", {"measure": "warning", "legal_basis": "x"}),
        ("POST", f"{base}/execution", "handle", {}),
        ("POST", f"{base}/reconsideration", "handle", {"note": "x"}),
        ("POST", f"{base}/coercive-measures", "handle", {"kind": "seal", "items": [{"name": "x"}]}),
        ("POST", f"{measure}/lifting", "handle", {"reason": "x"}),
        ("POST", f"{base}/legal-review", "decide", {"approve": True, "opinion": "x"}),
        ("POST", f"{base}/decision", "decide", {}),
        ("POST", f"{base}/closing", "decide", {}),
        ("POST", f"{base}/withdrawal", "decide", {"reason": "x"}),
        ("POST", f"{base}/deadline-extension", "decide", {"reason": "x"}),
        ("POST", f"{base}/reconsideration/decision", "decide", {"outcome": "upheld", "note": "x"}),
        ("POST", f"{measure}/extension", "decide", {"reason": "x"}),
    ]


def _call(
    app: webtest.TestApp,
    method: str,
    url: str,
    body: dict[str, Any],
    headers: dict[str, str] | None,
) -> webtest.TestResponse:
    if method == "GET":
        return app.get(url, headers=headers or {}, expect_errors=True)
    send = app.put_json if method == "PUT" else app.post_json
    return send(url, body, headers=headers or {}, expect_errors=True)


def test_each_route_refuses_roles_and_other_departments(
    testapp: webtest.TestApp, people: People, data: Session
) -> None:
    case = _file(testapp, people).json
    started = _post(
        testapp,
        people,
        "lead",
        f"/api/v1/cases/{case['id']}/coercive-measures",
        {"kind": "seal", "items": [{"name": "设备"}]},
        status=201,
    )
    routes = _routes(case["id"], started.json["measure_id"], people)
    version = data.scalar(select(PenaltyCase.version).where(PenaltyCase.id == case["id"]))
    for method, url, needs, body in routes:
        where = f"{method} {url}"
        assert _call(testapp, method, url, body, None).status_int == 401, where
        assert _call(testapp, method, url, body, people["firm"]).status_int == 403, where
        if needs != "view":
            assert _call(testapp, method, url, body, people["liaison"]).status_int == 403, where
        if needs == "decide":
            assert _call(testapp, method, url, body, people["lead"]).status_int == 403, where
        if url == "/api/v1/cases" and method == "GET":
            listed = _call(testapp, method, url, body, people["foreign"]).json
            assert listed["cases"] == [], where
        else:
            # Another department's head: the case is out of scope, answered as if missing
            # (404, nothing tells it exists), whatever the role allows.
            answer = _call(testapp, method, url, body, people["foreign"])
            hidden = 403 if url == "/api/v1/cases" else 404  # filing names no case
            assert answer.status_int == hidden, (where, answer.json)
        # An officer of the department outside the group may read, not act.
        if needs == "handle" and url != "/api/v1/cases":
            answer = _call(testapp, method, url, body, people["colleague"])
            assert answer.status_int == 403, (where, answer.json)
    # Nothing was changed by the refused calls.
    data.expire_all()
    stored = data.get_one(PenaltyCase, case["id"])
    assert stored.version == version and stored.status == CaseStatus.FILED


def test_an_inspection_that_ends_in_a_case_files_it(
    testapp: webtest.TestApp, data: Session
) -> None:
    """The tablet's result ``case_filed`` opens the case (once) for the inspection's team."""
    field = drawn_field_work(data)
    lead = inspection_token(testapp, "field-lead")
    base = f"/api/v1/inspections/{uuid.uuid4()}"
    testapp.put_json(base, checkin_body(field), headers=lead, status=201)
    code = field.task.checklist[0]["code"]
    answers = all_answers(field)
    answers[code] = {"answer": "non_compliant"}
    testapp.put_json(f"{base}/answers", {"answers": answers}, headers=lead)
    finding = {"item_code": code, "description": "销售过期食品", "severity": "critical"}
    testapp.put_json(f"{base}/findings/{uuid.uuid4()}", finding, headers=lead, status=201)
    signature = {
        "signer_name": "王五",
        "image_sha256": add_signature_file(data),
        "signed_at": "2025-04-02T02:05:00Z",
    }
    testapp.put_json(f"{base}/signature", signature, headers=lead)
    result = {"result": "case_filed", "finished_at": "2025-04-02T02:10:00Z"}
    testapp.put_json(f"{base}/result", result, headers=lead)
    testapp.put_json(f"{base}/result", result, headers=lead)  # a retried finish

    listed = testapp.get("/api/v1/cases?mine=true", headers=lead).json
    assert listed["total"] == 1
    (case,) = listed["cases"]
    assert case["origin_inspection"] == base.rsplit("/", 1)[1]
    assert case["enterprise"]["id"] == field.task.enterprise_id
    assert {m["user_id"] for m in case["members"]} == {field.lead.id, field.member.id}
    member = inspection_token(testapp, "field-member")
    started = testapp.post_json(
        f"/api/v1/cases/{case['id']}/investigation", {}, headers=member
    ).json
    assert started["status"] == "investigating"


def test_closing_over_the_api_waits_for_a_pending_transfer(
    testapp: webtest.TestApp, people: People, data: Session
) -> None:
    case = _file(testapp, people, suspected_crime=True).json
    url = f"/api/v1/cases/{case['id']}"
    head = data.get_one(User, people.ids["head"])
    TransferService(data, head).report(
        case["id"],
        {
            "facts": "销售假冒注册商标的商品",
            "evidence_summary": "扣押物品清单、鉴定意见",
            "suspected_offence": "涉嫌销售假冒注册商标的商品罪",
            "legal_basis": "《刑法》第二百一十四条",
        },
    )
    data.commit()
    _post(testapp, people, "lead", f"{url}/investigation")
    _post(
        testapp,
        people,
        "lead",
        f"{url}/proposal",
        {"measure": "fine", "amount": 3000, "legal_basis": "x"},
    )
    _post(testapp, people, "head", f"{url}/decision")
    _post(testapp, people, "lead", f"{url}/execution")
    refused = _post(testapp, people, "head", f"{url}/closing", status=409)
    assert "不得以罚代刑" in refused.json["error"]["detail"]
    TransferService(data, head).decide(case["id"], "reject", "不构成犯罪")
    data.commit()
    closed = _post(testapp, people, "head", f"{url}/closing", {"note": "结案"})
    assert closed.json["status"] == "closed" and closed.json["closed_at"]
