"""A refusal that names a status names it in the reader's language: the services pass the
status as a reason of its own (``PLAN_STATUS_NAMES``, ``TASK_STATUS_NAMES``,
``COMMITMENT_STATUS_NAMES``), never as its code, and the web layer translates both. (The
plan page's refusal: test_plan_pages.)"""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
import webtest
from sqlalchemy.orm import Session

from enforcement.models import Role, TaskStatus, User
from tests.factories import EnterpriseFactory, InspectionItemFactory
from tests.field_work import FieldWork, drawn_field_work
from tests.mobile_api.test_api_inspections import checkin_body, token
from tests.mobile_api.test_api_plans import PLAN, demo, supervisor  # noqa: F401 (fixtures)

CODE = PLAN["code"]


def test_a_plan_refusal_names_both_statuses_in_chinese(
    testapp: webtest.TestApp,
    supervisor: dict[str, str],  # noqa: F811
) -> None:
    testapp.post_json("/api/v1/plans", PLAN, headers=supervisor, status=201)
    url = f"/api/v1/plans/{CODE}"
    commitment = {"commitment": "ab" * 32, "public_value_source": "福彩 2025-03-04"}
    early = testapp.post_json(f"{url}/seed-commitment", commitment, headers=supervisor, status=409)
    assert early.json["error"]["detail"] == f"计划{CODE}状态为草稿：提交种子承诺值需要状态为已批准"
    english = testapp.post_json(
        f"{url}/seed-commitment?_LOCALE_=en", commitment, headers=supervisor, status=409
    )
    assert english.json["error"]["detail"] == (
        f"plan {CODE} is draft: commit a seed needs status approved"
    )
    draw = {"seed": "5a" * 32, "public_value": "1 2 3"}
    not_yet = testapp.post_json(f"{url}/draw", draw, headers=supervisor, status=409)
    detail = not_yet.json["error"]["detail"]
    assert detail == f"计划{CODE}状态为草稿：抽取需要状态为已提交种子承诺值"
    assert "draft" not in detail and "seed" not in detail


@pytest.fixture
def field(data: Session) -> FieldWork:
    return drawn_field_work(data)


def test_a_task_refusal_names_the_task_status_in_chinese(
    testapp: webtest.TestApp, field: FieldWork, data: Session
) -> None:
    field.task.status = TaskStatus.CANCELLED
    data.commit()
    lead = token(testapp, "field-lead")
    path = f"/api/v1/inspections/{uuid.uuid4()}"
    refused = testapp.put_json(path, checkin_body(field), headers=lead, status=409)
    assert refused.json["error"]["detail"] == "检查任务状态为已取消，不能开展检查"
    english = testapp.put_json(f"{path}?_LOCALE_=en", checkin_body(field), headers=lead, status=409)
    assert english.json["error"]["detail"] == "the task is cancelled: it cannot be inspected"


def test_a_commitment_refusal_names_both_statuses_in_chinese(
    testapp: webtest.TestApp, data: Session, make_user: Callable[..., User]
) -> None:
    own, item = EnterpriseFactory(), InspectionItemFactory()
    data.commit()
    make_user("firm", Role.ENTERPRISE, enterprise_id=own.id)
    firm = token(testapp, "firm")
    body = {"text": "本企业承诺严格落实食品进货查验记录制度，如实记录并保存相关凭证。"}
    filed = testapp.post_json(
        "/api/v1/commitments", {**body, "item_id": item.id}, headers=firm, status=201
    ).json
    url = f"/api/v1/commitments/{filed['id']}/withdrawal"
    testapp.post_json(url, {"reason": "许可证已注销"}, headers=firm)
    again = testapp.post_json(url, {"reason": "再次撤回"}, headers=firm, status=409)
    assert again.json["error"]["detail"] == (
        "该承诺状态为“已撤回”：只有状态为“已承诺待受理”时才能撤回"
    )
    english = testapp.post_json(
        f"{url}?_LOCALE_=en", {"reason": "再次撤回"}, headers=firm, status=409
    )
    assert english.json["error"]["detail"] == (
        "the commitment is withdrawn: cannot withdraw it unless it is awaiting acceptance"
    )
