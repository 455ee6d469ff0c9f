"""Bearer tokens and sampling plans over the JSON API (validated against openapi.yaml)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
import webtest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from enforcement.demo.accounts import DEMO_PASSWORD
from enforcement.models import AuditLog, Department, Role, User
from enforcement.services.publication import verify_bundle
from enforcement.services.tokens import TokenService
from random_sampler import seeds
from tests.factories import load_small_demo, user_named

SEED = bytes.fromhex("5a" * 32)
ITEMS = ["SCJG-GS-001", "SPAQ-JY-001", "TZSB-SY-001"]
PLAN = {
    "code": "2025-API-01",
    "title": "2025年接口抽查计划",
    "year": 2025,
    "items": ITEMS,
    "jurisdictions": ["330783", "330702"],
    "tier_ratios": {"A": 0.03, "B": 0.5, "C": 0.3, "D": 0.8},
}


@pytest.fixture
def demo(data: Session) -> Session:
    load_small_demo(data, 11)
    data.commit()
    return data


def token_for(app: webtest.TestApp, username: str, password: str = DEMO_PASSWORD) -> str:
    answer = app.post_json(
        "/api/v1/tokens", {"username": username, "password": password, "label": "平板 1"}
    )
    assert answer.status_int == 201 and answer.json["token_type"] == "Bearer"
    return answer.json["token"]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def supervisor(testapp: webtest.TestApp, demo: Session) -> dict[str, str]:
    return bearer(token_for(testapp, "supervisor"))


def _audit_count(session: Session, action: str) -> int:
    session.commit()  # end the test session's read transaction: see the app's commits
    return session.scalar(select(func.count()).where(AuditLog.action == action)) or 0


# ---------------------------------------------------------------------- tokens


def test_token_life_cycle(testapp: webtest.TestApp, demo: Session) -> None:
    token = token_for(testapp, "inspector")
    me = testapp.get("/api/v1/me", headers=bearer(token)).json
    assert me["username"] == "inspector" and me["role"] == "inspector"
    assert me["inspector_id"] is not None

    testapp.delete("/api/v1/tokens/current", headers=bearer(token), status=204)
    refused = testapp.get("/api/v1/me", headers=bearer(token), status=401)
    assert refused.json["error"]["code"] == "unauthenticated"
    testapp.get("/api/v1/me", headers=bearer("sj_forged"), status=401)


def test_an_expired_token_is_refused(testapp: webtest.TestApp, demo: Session) -> None:
    long_ago = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    issued = TokenService(demo, clock=lambda: long_ago).issue(user_named(demo, "supervisor"))
    demo.commit()
    testapp.get("/api/v1/me", headers=bearer(issued.secret), status=401)


def test_wrong_passwords_lock_the_account_and_every_refusal_looks_the_same(
    testapp: webtest.TestApp, demo: Session
) -> None:
    bodies = []
    for _ in range(5):
        answer = testapp.post_json(
            "/api/v1/tokens", {"username": "supervisor", "password": "wrong"}, status=401
        )
        bodies.append(answer.json)
    locked = testapp.post_json(
        "/api/v1/tokens", {"username": "supervisor", "password": DEMO_PASSWORD}, status=401
    )
    unknown = testapp.post_json(
        "/api/v1/tokens", {"username": "nobody", "password": "x"}, status=401
    )
    assert locked.json == unknown.json == bodies[0]
    assert locked.json["error"]["code"] == "invalid_credentials"
    demo.expire_all()
    assert user_named(demo, "supervisor").locked_until is not None


def test_a_missing_field_and_a_malformed_body_are_explained(
    testapp: webtest.TestApp, demo: Session
) -> None:
    missing = testapp.post_json("/api/v1/tokens", {"username": "x"}, status=422)
    assert "password" in missing.json["error"]["fields"]
    broken = testapp.post(
        "/api/v1/tokens", "{not json", content_type="application/json", status=400
    )
    assert broken.json["error"]["code"] == "bad_request"
    english = testapp.post_json(
        "/api/v1/tokens", {"username": "x"}, headers={"Accept-Language": "en"}, status=422
    )
    assert english.json["error"]["message"] == "Some fields are not valid."
    assert missing.json["error"]["message"] != english.json["error"]["message"]


def test_the_session_cookie_reads_but_cannot_change_data(
    testapp: webtest.TestApp, demo: Session, sign_in: Callable[..., Any]
) -> None:
    sign_in(testapp, "supervisor", DEMO_PASSWORD)
    assert testapp.get("/api/v1/plans").json == {"plans": []}
    refused = testapp.post_json("/api/v1/plans", PLAN, status=401)
    assert refused.json["error"]["code"] == "unauthenticated"


# ---------------------------------------------------------------------- plans


def test_plan_life_cycle_over_the_api(
    testapp: webtest.TestApp, demo: Session, supervisor: dict[str, str]
) -> None:
    created = testapp.post_json("/api/v1/plans", PLAN, headers=supervisor, status=201)
    assert created.json["status"] == "draft"
    assert created.headers["Location"].endswith("/api/v1/plans/2025-API-01")
    url = "/api/v1/plans/2025-API-01"
    etag = created.headers["ETag"]
    testapp.get(url, headers={**supervisor, "If-None-Match": etag}, status=304)

    stale = testapp.patch_json(
        url, {"title": "改名"}, headers={**supervisor, "If-Match": '"stale"'}, status=412
    )
    assert stale.json["error"]["code"] == "precondition_failed"
    changed = testapp.patch_json(
        url, {"budget": 12}, headers={**supervisor, "If-Match": etag}, status=200
    )
    assert changed.json["budget"] == 12 and changed.headers["ETag"] != etag

    for _ in range(2):  # a retried approval is a no-op
        assert testapp.post(f"{url}/approval", headers=supervisor).json["status"] == "approved"
    assert _audit_count(demo, "plan.approve") == 1
    commitment = {"commitment": seeds.commit(SEED), "public_value_source": "福彩 2025-03-04"}
    for _ in range(2):
        answer = testapp.post_json(f"{url}/seed-commitment", commitment, headers=supervisor)
        assert answer.json["status"] == "seed_committed"

    wrong = testapp.post_json(
        f"{url}/draw", {"seed": "00" * 32, "public_value": "1 2 3"}, headers=supervisor, status=422
    )
    assert (
        "seed" in wrong.json["error"]["fields"]
        and "种子承诺值不符" in wrong.json["error"]["detail"]
    )
    body = {"seed": SEED.hex(), "public_value": "1 2 3"}
    drawn = testapp.post_json(f"{url}/draw", body, headers=supervisor).json
    assert drawn["summary"]["drawn"] == 12 + drawn["summary"]["added_for_coverage"]
    assert testapp.post_json(f"{url}/draw", body, headers=supervisor).json == drawn  # retry
    assert _audit_count(demo, "plan.draw") == 1
    assert testapp.get(f"{url}/draw", headers=supervisor).json == drawn
    other_seed = testapp.post_json(
        f"{url}/draw", {"seed": "11" * 32, "public_value": "1 2 3"}, headers=supervisor, status=409
    )
    assert other_seed.json["error"]["code"] == "conflict"

    tasks, after = [], None
    while True:
        query = "?limit=7" + (f"&after={after}" if after else "")
        page = testapp.get(f"{url}/tasks{query}", headers=supervisor).json
        tasks += page["tasks"]
        after = page["next_after"]
        if after is None:
            break
    drawn_tasks = [t for t in tasks if not t["is_alternate"]]
    assert len(drawn_tasks) == drawn["summary"]["drawn"]
    assert len(tasks) - len(drawn_tasks) == drawn["summary"]["alternates"]
    staffed = [t for t in drawn_tasks if t["team"]]
    assert len(staffed) == drawn["summary"]["staffed"]
    assert all(len(t["team"]) >= 2 and t["team"][0]["role"] == "lead" for t in staffed)

    testapp.get(f"{url}/bundle", status=404)  # not published yet: nothing public
    for _ in range(2):
        published = testapp.post(f"{url}/publication", headers=supervisor)
        assert published.json["status"] == "published"
    bundle = testapp.get(f"{url}/bundle")  # public: no token
    assert verify_bundle(bundle.json) is None
    assert bundle.json["seed"] == SEED.hex()
    testapp.get(f"{url}/bundle", headers={"If-None-Match": bundle.headers["ETag"]}, status=304)

    redraw = testapp.post_json(
        f"{url}/redraw", {"reason": "名录库更新"}, headers=supervisor, status=201
    )
    assert redraw.json["supersedes"] == "2025-API-01" and redraw.json["status"] == "draft"


def test_a_budget_above_the_candidates_is_named_at_draw_time(
    testapp: webtest.TestApp, demo: Session, supervisor: dict[str, str]
) -> None:
    url = "/api/v1/plans/2025-API-01"
    testapp.post_json("/api/v1/plans", {**PLAN, "budget": 100000}, headers=supervisor)
    testapp.post(f"{url}/approval", headers=supervisor)
    testapp.post_json(
        f"{url}/seed-commitment", {"commitment": seeds.commit(SEED)}, headers=supervisor
    )
    refused = testapp.post_json(f"{url}/draw", {"seed": SEED.hex()}, headers=supervisor, status=422)
    assert "exceeds" in refused.json["error"]["fields"]["budget"]
    assert testapp.get(url, headers=supervisor).json["status"] == "seed_committed"


def test_invalid_plan_fields_are_named(
    testapp: webtest.TestApp, demo: Session, supervisor: dict[str, str]
) -> None:
    by_schema = testapp.post_json(
        "/api/v1/plans",
        {**PLAN, "tier_ratios": {"A": 2, "B": 0.1, "C": 0.1, "D": 0.1}, "colour": "red"},
        headers=supervisor,
        status=422,
    )
    assert by_schema.json["error"]["code"] == "validation_failed"
    assert by_schema.json["error"]["fields"]
    by_service = testapp.post_json(
        "/api/v1/plans", {**PLAN, "items": ["NO-SUCH-ITEM"]}, headers=supervisor, status=422
    )
    assert "NO-SUCH-ITEM" in by_service.json["error"]["fields"]["items"]
    testapp.post_json("/api/v1/plans", PLAN, headers=supervisor, status=201)
    duplicate = testapp.post_json("/api/v1/plans", PLAN, headers=supervisor, status=422)
    assert "code" in duplicate.json["error"]["fields"]


@pytest.mark.parametrize("username", ["inspector", "enterprise", "liaison"])
def test_other_roles_cannot_reach_plans(
    testapp: webtest.TestApp, demo: Session, supervisor: dict[str, str], username: str
) -> None:
    testapp.post_json("/api/v1/plans", PLAN, headers=supervisor, status=201)
    headers = bearer(token_for(testapp, username))
    url = "/api/v1/plans/2025-API-01"
    assert testapp.get("/api/v1/plans", headers=headers, status=403).json["error"]["code"] == (
        "forbidden"
    )
    testapp.get(url, headers=headers, status=403)
    testapp.post(f"{url}/approval", headers=headers, status=403)
    testapp.post_json("/api/v1/plans", {**PLAN, "code": "X"}, headers=headers, status=403)
    testapp.get(url, status=401)


def test_plans_of_other_departments_do_not_exist_for_a_department_supervisor(
    testapp: webtest.TestApp, demo: Session, supervisor: dict[str, str], make_user: Any
) -> None:
    testapp.post_json(
        "/api/v1/plans", {**PLAN, "items": ["SCJG-GS-001"]}, headers=supervisor, status=201
    )
    food = demo.scalar(select(Department).where(Department.code == "SPAQ"))
    make_user("food-head", Role.SUPERVISOR, department_id=food.id)
    headers = bearer(token_for(testapp, "food-head", "correct horse battery staple"))
    assert testapp.get("/api/v1/plans", headers=headers).json == {"plans": []}
    url = "/api/v1/plans/2025-API-01"
    hidden = testapp.get(url, headers=headers, status=404).text
    absent = testapp.get("/api/v1/plans/2025-API-00", headers=headers, status=404).text
    assert hidden == absent.replace("2025-API-00", "2025-API-01")  # existence is not revealed
    testapp.post(f"{url}/approval", headers=headers, status=404)
    refused = testapp.post_json(
        "/api/v1/plans",
        {**PLAN, "code": "MINE", "items": ["SCJG-GS-001"]},
        headers=headers,
        status=403,
    )
    assert "该计划不涉及该用户所在部门" in refused.json["error"]["detail"]
    assert demo.scalar(select(func.count()).select_from(User)) > 0


def test_the_openapi_document_is_served(testapp: webtest.TestApp) -> None:
    document = testapp.get("/api/v1/openapi.json").json
    assert document["openapi"].startswith("3.")
    assert "/api/v1/plans/{code}/draw" in document["paths"]
    assert testapp.get("/api/v1/openapi.yaml").content_type == "text/yaml"
