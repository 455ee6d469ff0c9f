"""The services' own reasons (``enforcement.reasons.reason``) reach people in their language:
the API's ``detail`` and ``fields``, and the desk pages, Chinese by default, English on request.

That every reason has its Chinese is test_catalogues' concern; here the point is that the
reason a service raised is the one translated, values and nested labels included."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest
import webtest
from sqlalchemy.orm import Session

from enforcement.models import Role, User
from enforcement.services.cases import CaseService
from tests.factories import DepartmentFactory, EnterpriseFactory, InspectorFactory
from tests.mobile_api.conftest import PASSWORD
from tests.mobile_api.test_console_pages import csrf


@dataclasses.dataclass
class Filed:
    case_id: int
    enterprise_id: int
    ids: dict[str, int]


@pytest.fixture
def filed(data: Session, make_user: Callable[..., User]) -> Filed:
    """A case just filed (立案) by a group of two, with its department's head."""
    department = DepartmentFactory()
    enterprise = EnterpriseFactory()
    officers = [InspectorFactory(department=department) for _ in range(2)]
    data.commit()
    head = make_user("chief", Role.SUPERVISOR, department_id=department.id)
    lead = make_user("lead", Role.INSPECTOR, inspector_id=officers[0].id)
    member = make_user("member", Role.INSPECTOR, inspector_id=officers[1].id)
    english = make_user("reader", Role.SUPERVISOR, department_id=department.id, locale="en")
    case = CaseService(data, lead).file(
        enterprise_id=enterprise.id, summary="销售超过保质期的食品", members=[lead.id, member.id]
    )
    data.commit()
    ids = {"chief": head.id, "lead": lead.id, "member": member.id, "reader": english.id}
    return Filed(case_id=case.id, enterprise_id=enterprise.id, ids=ids)


def _bearer(app: webtest.TestApp, username: str, **headers: str) -> dict[str, str]:
    answer = app.post_json("/api/v1/tokens", {"username": username, "password": PASSWORD})
    return {"Authorization": f"Bearer {answer.json['token']}", **headers}


# The same refusal, in each language: a decision on a case still at its filing.
DECIDE_ZH = "不能作出处罚决定：案件处于“已立案”阶段（须为：已提出处罚意见）"
DECIDE_EN = (
    "cannot decide the case: the case is at the stage 'case filed' "
    "(needs: penalty decision proposed)"
)


def test_a_state_refusal_is_explained_in_chinese_by_default(
    testapp: webtest.TestApp, filed: Filed
) -> None:
    url = f"/api/v1/cases/{filed.case_id}/decision"
    refused = testapp.post_json(url, {}, headers=_bearer(testapp, "chief"), status=409)
    error = refused.json["error"]
    assert error["code"] == "conflict"
    assert error["detail"] == DECIDE_ZH


@pytest.mark.parametrize(
    ("who", "extra", "query"),
    [
        ("reader", {}, ""),  # the user's own language
        ("chief", {}, "?_LOCALE_=en"),  # asked for on this request
    ],
)
def test_a_state_refusal_is_explained_in_english_on_request(
    testapp: webtest.TestApp, filed: Filed, who: str, extra: dict[str, str], query: str
) -> None:
    url = f"/api/v1/cases/{filed.case_id}/decision{query}"
    refused = testapp.post_json(url, {}, headers=_bearer(testapp, who, **extra), status=409)
    assert refused.json["error"]["detail"] == DECIDE_EN


def test_a_client_without_an_account_gets_the_language_it_asks_for(
    testapp: webtest.TestApp,
) -> None:
    # Signed-in users read their own language (it wins over Accept-Language); anyone else
    # gets what Accept-Language asks for, Chinese when it asks for nothing.
    url = "/api/v1/public-records/987654"
    chinese = testapp.get(url, status=404).json["error"]
    assert chinese["detail"] == "公示信息987654不存在"
    english = testapp.get(url, headers={"Accept-Language": "en"}, status=404).json["error"]
    assert english["detail"] == "no published record 987654"


def test_field_reasons_are_translated_with_their_values(
    testapp: webtest.TestApp, filed: Filed
) -> None:
    lead = _bearer(testapp, "lead")
    url = f"/api/v1/cases/{filed.case_id}"
    testapp.post_json(f"{url}/investigation", {}, headers=lead)
    body = {"measure": "fine", "legal_basis": " "}  # a fine without its amount
    zh = testapp.post_json(f"{url}/proposal", body, headers=lead, status=422).json["error"]
    assert zh["fields"] == {"amount": "罚款须填写金额（元）", "legal_basis": "不能为空"}
    en = testapp.post_json(f"{url}/proposal?_LOCALE_=en", body, headers=lead, status=422)
    assert en.json["error"]["fields"] == {
        "amount": "a fine needs its amount in yuan",
        "legal_basis": "must not be empty",
    }
    # A value of its own in the reason: the number of officers a group needs.
    filing = {"enterprise_id": filed.enterprise_id, "summary": "无证经营", "members": [1]}
    one = testapp.post_json("/api/v1/cases", filing, headers=lead, status=422).json["error"]
    assert one["fields"]["members"] == "办案组至少须有2名执法人员"


def test_the_case_page_shows_the_services_reasons_in_chinese(
    testapp: webtest.TestApp, filed: Filed, sign_in
) -> None:
    sign_in(testapp, "chief")
    page = testapp.get(f"/console/cases/{filed.case_id}")
    token = csrf(page)
    early = testapp.post(
        f"/console/cases/{filed.case_id}/reconsider",
        {"csrf_token": token, "note": "过早"},
        status=409,
    )
    problem = early.html.select_one("#problem").text.strip()
    assert problem.startswith("不能登记行政复议申请：案件处于“已立案”阶段（须为：")
    assert "已作出处罚决定" in problem and "cannot" not in problem

    refused = page.forms["step-withdraw"].submit(status=422)  # no reason given
    assert refused.html.select_one("#withdraw-reason-error").text.strip() == "不能为空"

    english = testapp.post(
        f"/console/cases/{filed.case_id}/reconsider?_LOCALE_=en",
        {"csrf_token": token, "note": "过早"},
        status=409,
    )
    assert (
        english.html.select_one("#problem")
        .text.strip()
        .startswith(
            "cannot record a reconsideration request: the case is at the stage 'case filed'"
        )
    )
