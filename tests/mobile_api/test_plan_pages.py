"""The sampling-plan pages of the supervisor console: the whole life cycle through the forms
(create, edit, preview, approve, commit, draw, review, publish, verify), the per-field
errors with the user's input kept, and the refusals by role and department."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
import webtest
from pyramid.router import Router
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from enforcement.demo.accounts import DEMO_PASSWORD
from enforcement.models import (
    AuditLog,
    BackgroundJob,
    Department,
    JobKind,
    JobStatus,
    PlanStatus,
    Role,
    SamplingPlan,
)
from enforcement.services import jobs
from random_sampler import seeds
from tests.factories import load_small_demo

SEED = bytes.fromhex("7c" * 32)
ITEMS = ["SCJG-GS-001", "SPAQ-JY-001", "TZSB-SY-001"]


@pytest.fixture
def demo(data: Session) -> Session:
    load_small_demo(data, 11)
    data.commit()
    return data


def sign_in(app: webtest.TestApp, username: str, password: str = DEMO_PASSWORD) -> None:
    form = app.get("/login").forms["login-form"]
    form["username"] = username
    form["password"] = password
    form.submit(status=303)


def fill_plan(form: webtest.forms.Form, **values: object) -> None:
    """Fill the plan form like a person: tick the items and jurisdictions, type the rest."""
    items = values.pop("items", ITEMS)
    jurisdictions = values.pop("jurisdictions", ["330783", "330702"])
    for field in form.fields.get("items", []):
        field.checked = field._value in items
    for field in form.fields.get("jurisdictions", []):
        field.checked = field._value in jurisdictions
    for name, value in values.items():
        form[name] = value


def field_errors(html: str) -> dict[str, str]:
    return dict(re.findall(r'data-field="([a-z_]+)">([^<]*)<', html))


def status_of(page: webtest.TestResponse) -> str:
    match = re.search(r'id="plan-status" data-status="([a-z_]+)"', page.text)
    assert match, "no status on the page"
    return match.group(1)


def audit_count(session: Session, action: str) -> int:
    session.commit()
    return session.scalar(select(func.count()).where(AuditLog.action == action)) or 0


def create_plan(
    app: webtest.TestApp, code: str = "2025-DESK-01", status: int = 303, **values: object
) -> webtest.TestResponse:
    form = app.get("/desk/plans/new").forms["plan-form"]
    fill_plan(form, code=code, title="2025年桌面抽查计划", year="2025", **values)
    return form.submit(status=status)


# ---------------------------------------------------------------------- the life cycle


def test_the_whole_life_cycle_through_the_pages(testapp: webtest.TestApp, demo: Session) -> None:
    sign_in(testapp, "supervisor")
    listing = testapp.get("/desk/plans/")
    assert 'href="/desk/plans/"' in listing.text  # the nav link
    created = create_plan(testapp, ratio_B="0.5", team_size="2", alternates_per_stratum="2")
    assert created.status_int == 303
    page = created.follow()
    assert status_of(page) == "draft"
    assert 'id="preview"' in page.text  # expected counts per stratum before drawing
    assert audit_count(demo, "plan.create") == 1

    # Edit: a change is saved and audited.
    edit = page.click(href="/desk/plans/2025-DESK-01/edit").forms["plan-form"]
    assert edit["title"].value == "2025年桌面抽查计划" and edit["ratio_B"].value == "0.5"
    edit["budget"] = "12"
    edit["exclude_within_months"] = "6"
    edit["annual_cap"] = "3"
    edit["due_date"] = "2025-11-30"
    page = edit.submit(status=303).follow()
    assert "2025-11-30" in page.text
    demo.commit()  # end the test session's read transaction: see the app's commits
    plan = demo.scalar(select(SamplingPlan).where(SamplingPlan.code == "2025-DESK-01"))
    demo.refresh(plan)
    assert plan.budget == 12 and plan.annual_cap == 3 and plan.exclude_within_months == 6
    assert audit_count(demo, "plan.update") == 1

    # The preview comes from the draw's allocation: the expectations sum to the budget.
    expected = [float(x) for x in re.findall(r'<td class="num">([\d.]+)</td></tr>', page.text)]
    assert expected and abs(sum(expected) - 12) < 0.05

    preview = {
        label: (int(candidates), expected)
        for label, candidates, expected in re.findall(
            r'<td class="mono">([^<]+)</td><td>[A-D]</td><td class="num">(\d+)</td>\s*'
            r'<td class="num">[\d.]+</td><td class="num">([\d.]+)</td></tr>',
            page.text,
        )
    }
    assert preview

    page = page.forms[1].submit(status=303).follow()  # approve (forms[0] is sign-out)
    assert status_of(page) == "approved"

    commit = page.forms["commit-form"]
    assert "seed" not in commit.fields  # only the commitment is ever submitted
    commit["commitment"] = seeds.commit(SEED)
    page = commit.submit(status=303).follow()
    assert status_of(page) == "seed_committed"
    assert seeds.commit(SEED) in page.text

    draw = page.forms["draw-form"]
    draw["seed"] = SEED.hex()
    page = draw.submit(status=303).follow()
    assert status_of(page) == "drawn"
    drawn = int(re.search(r'id="drawn-count">(\d+)', page.text).group(1))
    assert drawn >= 12
    tasks = page.text.split('id="tasks"', 1)[1].split("</table>", 1)[0]
    assert tasks.count('<tr class="alternate">') >= 1  # alternates are reviewed too
    assert tasks.count("<tr>") - 1 == drawn  # one row per drawn target (plus the header)
    assert 'id="preview"' not in page.text
    # The preview came from the draw's own allocation: the draw's report agrees per stratum.
    reported = {
        label: (int(candidates), expected)
        for label, candidates, expected in re.findall(
            r'<td class="mono">([^<]+)</td><td>[A-D]</td><td class="num">(\d+)</td>'
            r'<td class="num">([\d.]+)</td><td class="num">\d+</td>',
            page.text,
        )
    }
    assert reported == preview

    page = page.forms[1].submit(status=303).follow()  # publish
    assert status_of(page) == "published"
    bundle = page.click(href="/desk/plans/2025-DESK-01/bundle")
    assert 'id="verify-result" data-ok="true"' in bundle.text
    assert SEED.hex() in bundle.text
    public = testapp.get("/api/v1/plans/2025-DESK-01/bundle")
    assert public.json["seed"] == SEED.hex()

    listing = testapp.get("/desk/plans/", params={"status": "published", "year": "2025"})
    assert "2025-DESK-01" in listing.text
    assert "2025-DESK-01" not in testapp.get("/desk/plans/?status=draft").text


def test_blocked_targets_are_listed_with_their_reasons(
    testapp: webtest.TestApp, demo: Session
) -> None:
    sign_in(testapp, "admin")
    # Teams of 20 cannot be formed from the demo's officers: every target is blocked.
    create_plan(testapp, "2025-DESK-BIG", team_size="20", budget="5").follow()
    testapp.post("/desk/plans/2025-DESK-BIG/approve", {"csrf_token": csrf(testapp)}, status=303)
    testapp.post(
        "/desk/plans/2025-DESK-BIG/commit",
        {"csrf_token": csrf(testapp), "commitment": seeds.commit(SEED)},
        status=303,
    )
    page = testapp.post(
        "/desk/plans/2025-DESK-BIG/draw",
        {"csrf_token": csrf(testapp), "seed": SEED.hex()},
        status=303,
    ).follow()
    assert int(re.search(r'id="blocked-count">(\d+)', page.text).group(1)) >= 5
    assert 'id="blocked"' in page.text and "data-reason=" in page.text


def csrf(app: webtest.TestApp) -> str:
    page = app.get("/desk/plans/")
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


# ---------------------------------------------------------------------- validation


def test_bad_fields_are_named_and_the_input_is_kept(
    testapp: webtest.TestApp, demo: Session
) -> None:
    sign_in(testapp, "supervisor")
    form = testapp.get("/desk/plans/new").forms["plan-form"]
    fill_plan(
        form,
        items=[],
        code="bad code!",
        title="保留的标题",
        year="1999",
        ratio_C="abc",
        team_size="1",
        annual_cap="x",
        due_date="2025-02-30",
    )
    for field in form.fields["strata_keys"]:
        field.checked = field._value == "jurisdiction"
    page = form.submit(status=422)
    errors = field_errors(page.text)
    assert set(errors) >= {
        "code",
        "year",
        "items",
        "tier_ratios",
        "team_size",
        "annual_cap",
        "strata_keys",
        "due_date",
    }
    assert "必须在2000至2100之间" in errors["year"]  # the service's reasons, in Chinese
    assert "等级C" in errors["tier_ratios"]
    assert "必须在2至20之间" in errors["team_size"]
    kept = page.forms["plan-form"]
    assert kept["title"].value == "保留的标题" and kept["ratio_C"].value == "abc"
    assert kept["code"].value == "bad code!" and kept["annual_cap"].value == "x"
    assert audit_count(demo, "plan.create") == 0
    assert demo.scalar(select(func.count()).select_from(SamplingPlan)) == 0


def test_a_wrong_seed_and_a_bad_commitment_are_named(
    testapp: webtest.TestApp, demo: Session
) -> None:
    sign_in(testapp, "supervisor")
    create_plan(testapp)
    token = csrf(testapp)
    testapp.post("/desk/plans/2025-DESK-01/approve", {"csrf_token": token}, status=303)
    bad = testapp.post(
        "/desk/plans/2025-DESK-01/commit",
        {"csrf_token": token, "commitment": "xyz", "public_value_source": "福彩 2025-03-04"},
        status=422,
    )
    assert "64位十六进制数字" in field_errors(bad.text)["commitment"]
    assert bad.forms["commit-form"]["public_value_source"].value == "福彩 2025-03-04"
    testapp.post(
        "/desk/plans/2025-DESK-01/commit",
        {"csrf_token": token, "commitment": seeds.commit(SEED)},
        status=303,
    )
    wrong = testapp.post(
        "/desk/plans/2025-DESK-01/draw",
        {"csrf_token": token, "seed": "00" * 32},
        status=422,
    )
    assert "seed" in field_errors(wrong.text)
    not_hex = testapp.post(
        "/desk/plans/2025-DESK-01/draw", {"csrf_token": token, "seed": "zz"}, status=422
    )
    assert "十六进制" in field_errors(not_hex.text)["seed"]
    # A repeated approval names the state, in the reader's language.
    again = testapp.post("/desk/plans/2025-DESK-01/approve", {"csrf_token": token}, status=409)
    problem = again.html.select_one("#problem").text.strip()
    assert problem == "计划2025-DESK-01状态为已提交种子承诺值：批准需要状态为草稿"
    assert audit_count(demo, "plan.draw") == 0


def test_a_form_without_the_csrf_token_is_refused(testapp: webtest.TestApp, demo: Session) -> None:
    sign_in(testapp, "supervisor")
    create_plan(testapp)
    testapp.post("/desk/plans/2025-DESK-01/approve", {}, status=400)


# ---------------------------------------------------------------------- refusals


def test_anonymous_visitors_are_sent_to_sign_in(testapp: webtest.TestApp, demo: Session) -> None:
    response = testapp.get("/desk/plans/", status=303)
    assert response.location.startswith("http://localhost/login?next=")
    testapp.get("/desk/plans/new", status=303)


@pytest.mark.parametrize("username", ["inspector", "enterprise", "liaison"])
def test_other_roles_are_refused(testapp: webtest.TestApp, demo: Session, username: str) -> None:
    sign_in(testapp, "supervisor")
    create_plan(testapp)
    testapp.reset()
    sign_in(testapp, username)
    testapp.get("/desk/plans/", status=403)
    testapp.get("/desk/plans/new", status=403)
    testapp.get("/desk/plans/2025-DESK-01", status=403)
    assert 'href="/desk/plans/"' not in testapp.get("/").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', testapp.get("/").text).group(1)
    testapp.post("/desk/plans/2025-DESK-01/approve", {"csrf_token": token}, status=403)
    demo.commit()
    plan = demo.scalar(select(SamplingPlan).where(SamplingPlan.code == "2025-DESK-01"))
    assert plan.status is PlanStatus.DRAFT


def test_another_departments_supervisor_neither_sees_nor_acts(
    testapp: webtest.TestApp, demo: Session, make_user
) -> None:
    sign_in(testapp, "supervisor")  # department SCJG
    create_plan(testapp, items=["SCJG-GS-001"])
    testapp.reset()
    other = demo.scalar(select(Department).where(Department.code != "SCJG").order_by(Department.id))
    make_user("tzsb_chief", Role.SUPERVISOR, password=DEMO_PASSWORD, department_id=other.id)
    sign_in(testapp, "tzsb_chief")
    assert "2025-DESK-01" not in testapp.get("/desk/plans/").text
    testapp.get("/desk/plans/2025-DESK-01", status=404)
    testapp.get("/desk/plans/2025-DESK-01/edit", status=404)
    token = csrf(testapp)
    testapp.post("/desk/plans/2025-DESK-01/approve", {"csrf_token": token}, status=404)
    # Nor may they create a plan of items outside their department.
    create_plan(testapp, "2025-DESK-02", status=403, items=["SCJG-GS-001"])
    demo.commit()
    assert demo.scalar(select(func.count()).select_from(SamplingPlan)) == 1


# ---------------------------------------------------------------------- large plans


@pytest.fixture(scope="session")
def small_threshold_app(web_engine: Engine, build_app: Callable[..., Router]) -> Router:
    """The app with every plan counted as large: draws go to the worker."""
    return build_app(web_engine, **{"suijian.desk.background_draw_threshold": "10"})


def test_a_large_plan_is_drawn_on_the_worker(
    small_threshold_app: Router, web_engine: Engine, demo: Session
) -> None:
    app = webtest.TestApp(small_threshold_app)
    sign_in(app, "supervisor")
    create_plan(app)
    token = csrf(app)
    app.post("/desk/plans/2025-DESK-01/approve", {"csrf_token": token}, status=303)
    app.post(
        "/desk/plans/2025-DESK-01/commit",
        {"csrf_token": token, "commitment": seeds.commit(SEED)},
        status=303,
    )
    # A wrong seed is refused on the page, before any job is queued.
    wrong = app.post(
        "/desk/plans/2025-DESK-01/draw", {"csrf_token": token, "seed": "11" * 32}, status=422
    )
    assert "种子承诺值不符" in field_errors(wrong.text)["seed"]
    demo.commit()
    assert demo.scalar(select(func.count()).select_from(BackgroundJob)) == 0

    queued = app.post(
        "/desk/plans/2025-DESK-01/draw", {"csrf_token": token, "seed": SEED.hex()}, status=303
    )
    demo.commit()
    job = demo.scalars(select(BackgroundJob)).one()
    assert job.kind is JobKind.DRAW and job.status is JobStatus.QUEUED
    assert str(job.uuid) in queued.location
    plan = demo.scalar(select(SamplingPlan).where(SamplingPlan.code == "2025-DESK-01"))
    assert plan.status is PlanStatus.SEED_COMMITTED  # nothing drawn in the web request

    # What the worker does with it (enforcement.tasks.run_job), then the page shows the draw.
    jobs.run(sessionmaker(bind=web_engine, expire_on_commit=False).begin, str(job.uuid))
    page = app.get("/desk/plans/2025-DESK-01")
    assert status_of(page) == "drawn" and 'id="tasks"' in page.text


def test_an_edit_with_bad_fields_changes_nothing(testapp: webtest.TestApp, demo: Session) -> None:
    sign_in(testapp, "supervisor")
    create_plan(testapp)
    edit = testapp.get("/desk/plans/2025-DESK-01/edit").forms["plan-form"]
    edit["workload_cap"] = "0"
    edit["exclude_within_months"] = "121"
    edit["title"] = "改过的标题"
    page = edit.submit(status=422)
    errors = field_errors(page.text)
    assert set(errors) == {"workload_cap", "exclude_within_months"}
    assert page.forms["plan-form"]["title"].value == "改过的标题"
    assert audit_count(demo, "plan.update") == 0
    # Once approved the plan cannot be edited: the edit page leads back to the plan.
    testapp.post("/desk/plans/2025-DESK-01/approve", {"csrf_token": csrf(testapp)}, status=303)
    assert testapp.get("/desk/plans/2025-DESK-01/edit", status=303).location.endswith(
        "/desk/plans/2025-DESK-01"
    )
