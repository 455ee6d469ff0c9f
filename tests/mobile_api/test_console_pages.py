"""The supervisor console's pages on both backends: who may see them, the directories, an
import run as a job (with its per-row error report), the re-rating job, the case desk with
its transitions and alerts, and the dead letters of the feed with re-queueing."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import webtest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from enforcement import feed
from enforcement.db import session_scope
from enforcement.models import (
    AuditLog,
    BackgroundJob,
    CaseStatus,
    Department,
    FeedRecord,
    JobKind,
    JobStatus,
    PenaltyCase,
    Role,
    User,
    utcnow,
)
from enforcement.services import clocks, jobs
from enforcement.services.cases import CaseService
from tests.factories import (
    DepartmentFactory,
    EnterpriseFactory,
    InspectionItemFactory,
    InspectorFactory,
)

DATA = Path(__file__).parents[1] / "enforcement" / "data"
PAGES = [
    "/console/",
    "/directory/inspectors",
    "/directory/items",
    "/console/imports",
    "/console/jobs/",
    "/console/cases/",
    "/console/feed/",
]


def csrf(page: webtest.TestResponse) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match, "no CSRF token on the page"
    return match.group(1)


def run_jobs(engine: Engine) -> None:
    """Run every queued job the way the worker does (one committed transaction per step)."""
    factory = sessionmaker(bind=engine, expire_on_commit=False)

    def sessions() -> contextlib.AbstractContextManager[Session]:
        return session_scope(factory)

    with Session(engine) as session:
        queued = session.scalars(
            select(BackgroundJob.uuid).where(BackgroundJob.status == JobStatus.QUEUED)
        ).all()
    for job_uuid in queued:
        jobs.run(sessions, str(job_uuid))


@pytest.fixture
def supervisor(testapp: webtest.TestApp, make_user: Callable[..., User], sign_in) -> User:
    user = make_user("chief", Role.SUPERVISOR)
    sign_in(testapp, "chief")
    return user


# ---------------------------------------------------------------------- who may come in


@pytest.mark.parametrize("path", PAGES)
def test_anonymous_visitors_are_sent_to_sign_in(testapp: webtest.TestApp, path: str) -> None:
    response = testapp.get(path, status=303)
    assert response.location.startswith("http://localhost/login?next=")


@pytest.mark.parametrize("role", [Role.INSPECTOR, Role.ENTERPRISE, Role.LIAISON])
def test_other_roles_are_refused(
    testapp: webtest.TestApp, make_user: Callable[..., User], sign_in, role: Role
) -> None:
    make_user("someone", role)
    sign_in(testapp, "someone")
    for path in PAGES:
        testapp.get(path, status=403)
    page = testapp.get("/console/", status=403)
    assert 'href="/console/"' not in page.text  # nor is the console offered
    # Posts are refused too (with a valid CSRF token, so the role is what refuses them).
    token = csrf(page)
    testapp.post("/console/jobs/rerate", {"csrf_token": token}, status=403)
    testapp.post("/console/feed/requeue", {"csrf_token": token, "all": "1"}, status=403)


@pytest.mark.parametrize("role", [Role.SUPERVISOR, Role.ADMIN])
def test_supervisors_and_admins_see_every_page(
    testapp: webtest.TestApp, make_user: Callable[..., User], sign_in, role: Role
) -> None:
    make_user("boss", role)
    sign_in(testapp, "boss")
    for path in PAGES:
        page = testapp.get(path)
        assert "<h1>" in page.text
    assert 'href="/console/"' in testapp.get("/").text


# ---------------------------------------------------------------------- directories


def test_inspector_and_item_directories_search_and_page(
    testapp: webtest.TestApp, data: Session, supervisor: User
) -> None:
    food = DepartmentFactory(code="SPAQ", name="食品安全科")
    other = DepartmentFactory(code="ZLJD", name="质量监督科")
    InspectorFactory(name="王建国", credential_no="QZ-77001", department=food)
    for _ in range(55):
        InspectorFactory(department=other)
    InspectionItemFactory(code="SPAQ-JY-009", name="食品经营许可检查", department=food)
    data.commit()

    page = testapp.get("/directory/inspectors", params={"q": "王建国"})
    assert "王建国" in page.text and "食品安全科" in page.text
    assert "共找到 1 " in page.text or "1 found" in page.text
    by_credential = testapp.get("/directory/inspectors", params={"q": "QZ-77"})
    assert "王建国" in by_credential.text
    by_department = testapp.get("/directory/inspectors", params={"department": "ZLJD"})
    assert "王建国" not in by_department.text
    assert 'rel="next"' in by_department.text  # 55 inspectors: two pages
    second = testapp.get("/directory/inspectors", params={"department": "ZLJD", "page": 2})
    assert second.text.split("<tbody>", 1)[1].count("<tr>") == 5

    bad = testapp.get("/directory/inspectors", params={"page": "x", "q": "a" * 101})
    assert bad.text.count('class="field-error"') == 2

    items = testapp.get("/directory/items", params={"q": "SPAQ-JY"})
    assert "食品经营许可检查" in items.text and "SPAQ-JY-009" in items.text


# ---------------------------------------------------------------------- imports and jobs


def _upload(testapp: webtest.TestApp, name: str, **fields: Any) -> webtest.TestResponse:
    form = testapp.get("/console/imports").forms["import-form"]
    form["kind"] = fields.pop("kind", "enterprises")
    for key, value in fields.items():
        form[key] = value
    form["file"] = webtest.Upload(name, (DATA / name).read_bytes())
    return form.submit()


def test_an_import_runs_as_a_job_and_shows_each_rejected_row(
    testapp: webtest.TestApp, web_engine: Engine, data: Session, supervisor: User
) -> None:
    started = _upload(testapp, "enterprises_bad.csv")
    assert started.status_int == 303
    job_page = started.follow()
    assert "排队" in job_page.text or "Queued" in job_page.text
    progress_url = re.search(r'data-progress-url="([^"]+)"', job_page.text).group(1)
    assert testapp.get(progress_url).json["status"] == "queued"

    run_jobs(web_engine)

    progress = testapp.get(progress_url).json
    assert progress["status"] == "done" and progress["final"] and progress["percent"] == 100
    # The outcome is stored in English and shown in the reader's language.
    assert progress["message"] == "7 行中有 5 行被拒绝；未导入任何数据"
    english = testapp.get(progress_url + "?_LOCALE_=en").json
    assert english["message"] == "5 of 7 rows rejected; nothing was imported"
    page = testapp.get(started.location)
    assert "7 行中有 5 行被拒绝；未导入任何数据" in page.text
    table = page.text.split('id="rejects"', 1)[1]
    for row, field in [(2, "uscc"), (3, "name"), (4, "registration_date"), (5, "longitude")]:
        assert re.search(rf'<td class="num">{row}</td>\s*<td class="code">{field}</td>', table)
    assert 'id="rejected-count">5<' in page.text
    assert "913307020972223384" in table  # the value as typed
    data.rollback()  # a new transaction: see what the app committed
    data.expire_all()
    assert data.scalar(select(BackgroundJob.input_data)) is None

    listed = testapp.get("/console/imports")
    assert "enterprises_bad.csv" in listed.text


def test_an_import_form_with_bad_fields_names_them_and_keeps_the_choices(
    testapp: webtest.TestApp, data: Session, supervisor: User
) -> None:
    form = testapp.get("/console/imports").forms["import-form"]
    form["kind"] = "items"
    form["skip_invalid"] = True
    page = form.submit(status=422)
    assert 'id="form-errors"' in page.text and "请选择一个非空文件" in page.text
    again = page.forms["import-form"]
    assert again["kind"].value == "items" and again["skip_invalid"].checked
    assert data.scalar(select(BackgroundJob.id)) is None  # nothing was queued


def test_skip_invalid_imports_the_good_rows(
    testapp: webtest.TestApp, web_engine: Engine, data: Session, supervisor: User
) -> None:
    started = _upload(testapp, "enterprises_bad.csv", skip_invalid=True)
    run_jobs(web_engine)
    page = testapp.get(started.location)
    assert "导入完成" in page.text or "The file was imported." in page.text
    assert "好公司甲" in testapp.get("/directory/enterprises", params={"q": "好公司甲"}).text


def test_full_rerating_job_from_the_jobs_page(
    testapp: webtest.TestApp, web_engine: Engine, data: Session, supervisor: User
) -> None:
    EnterpriseFactory.create_batch(7)
    data.commit()
    page = testapp.get("/console/jobs/")
    started = page.forms[1].submit()  # forms[0] is the sign-out form
    assert started.status_int == 303
    run_jobs(web_engine)
    progress = testapp.get(started.location + "/progress.json").json
    assert (progress["status"], progress["done"], progress["total"]) == ("done", 7, 7)
    assert "7" in testapp.get(started.location).text


def test_jobs_of_another_department_are_not_found(
    testapp: webtest.TestApp, data: Session, make_user: Callable[..., User], sign_in
) -> None:
    first, second = DepartmentFactory(), DepartmentFactory()
    data.commit()
    owner = make_user("owner", Role.SUPERVISOR, department_id=first.id)
    make_user("stranger", Role.SUPERVISOR, department_id=second.id)
    job = jobs.start(data, data.merge(owner), "rerate", {})
    data.commit()
    sign_in(testapp, "stranger")
    testapp.get(f"/console/jobs/{job.uuid}", status=404)
    testapp.get(f"/console/jobs/{job.uuid}/progress.json", status=404)
    assert str(job.uuid) not in testapp.get("/console/jobs/").text


# ---------------------------------------------------------------------- cases


@dataclasses.dataclass
class Desk:
    case_id: int
    department_id: int


@pytest.fixture
def desk(data: Session, make_user: Callable[..., User]) -> Desk:
    department = DepartmentFactory()
    enterprise = EnterpriseFactory(name="东阳市某某食品店")
    officers = [InspectorFactory(department=department) for _ in range(2)]
    data.commit()
    make_user("chief", Role.SUPERVISOR, department_id=department.id)
    lead = make_user("lead", Role.INSPECTOR, inspector_id=officers[0].id)
    member = make_user("member", Role.INSPECTOR, inspector_id=officers[1].id)
    case = CaseService(data, lead).file(
        enterprise_id=enterprise.id, summary="销售超过保质期的食品", members=[lead.id, member.id]
    )
    data.commit()
    return Desk(case_id=case.id, department_id=department.id)


def _status(data: Session, desk: Desk) -> CaseStatus:
    data.rollback()  # a new transaction: see what the app committed
    return data.scalars(select(PenaltyCase.status).where(PenaltyCase.id == desk.case_id)).one()


def test_the_case_desk_lists_cases_with_clocks_and_moves_them(
    testapp: webtest.TestApp, data: Session, desk: Desk, sign_in
) -> None:
    sign_in(testapp, "chief")
    listing = testapp.get("/console/cases/")
    assert "东阳市某某食品店" in listing.text
    assert "Decision deadline" in listing.text or "决定期限" in listing.text  # a running clock

    page = testapp.get(f"/console/cases/{desk.case_id}")
    assert 'id="step-investigate"' in page.text and 'id="step-withdraw"' in page.text
    moved = page.forms["step-investigate"].submit()
    assert moved.status_int == 303
    page = moved.follow()
    assert 'id="step-propose"' in page.text and 'id="step-investigate"' not in page.text
    assert _status(data, desk) is CaseStatus.INVESTIGATING

    # A proposal without its fields: each field named, the typed text kept, nothing written.
    form = page.forms["step-propose"]
    form["amount"] = "五千"
    refused = form.submit(status=422)
    assert 'id="propose-measure-error"' in refused.text
    assert 'id="propose-legal_basis-error"' in refused.text
    assert refused.forms["step-propose"]["amount"].value == "五千"
    assert _status(data, desk) is CaseStatus.INVESTIGATING

    form = refused.forms["step-propose"]
    form["measure"] = "fine"
    form["amount"] = "5000"
    form["legal_basis"] = "《食品安全法》第一百二十四条"
    page = form.submit().follow()
    assert _status(data, desk) is CaseStatus.DECISION_PROPOSED
    assert 'id="step-decide"' in page.text


def test_a_stale_form_is_refused_with_a_clear_message(
    testapp: webtest.TestApp, data: Session, desk: Desk, sign_in
) -> None:
    sign_in(testapp, "chief")
    page = testapp.get(f"/console/cases/{desk.case_id}")
    page.forms["step-investigate"].submit().follow()
    # The same (old) page again: the wrong state for this step now, or an old version.
    refused = page.forms["step-investigate"].submit(expect_errors=True)
    assert refused.status_int in (409, 412)
    assert 'id="problem"' in refused.text


def test_withdrawal_needs_a_reason(
    testapp: webtest.TestApp, data: Session, desk: Desk, sign_in
) -> None:
    sign_in(testapp, "chief")
    page = testapp.get(f"/console/cases/{desk.case_id}")
    refused = page.forms["step-withdraw"].submit(status=422)
    assert 'id="withdraw-reason-error"' in refused.text
    form = refused.forms["step-withdraw"]
    form["reason"] = "当事人不存在违法行为"
    done = form.submit().follow()
    assert "No further step" in done.text or "没有" in done.text or 'id="step-' not in done.text
    assert _status(data, desk) is CaseStatus.WITHDRAWN


def test_cases_of_another_department_are_refused(
    testapp: webtest.TestApp, data: Session, desk: Desk, make_user: Callable[..., User], sign_in
) -> None:
    other = DepartmentFactory()
    data.commit()
    make_user("outsider", Role.SUPERVISOR, department_id=other.id)
    sign_in(testapp, "outsider")
    assert "东阳市某某食品店" not in testapp.get("/console/cases/").text
    testapp.get(f"/console/cases/{desk.case_id}", status=404)  # as the API: as if missing


def alert_rows(page: webtest.TestResponse) -> int:
    if 'id="alerts"' not in page.text:
        return 0
    table = page.text.split('id="alerts"', 1)[1].split("</table>", 1)[0]
    return table.split("<tbody>", 1)[1].count("<tr>")


def test_open_alerts_are_listed_and_acknowledged(
    testapp: webtest.TestApp, data: Session, desk: Desk, sign_in
) -> None:
    raised = clocks.scan(data, utcnow() + dt.timedelta(days=400))
    data.commit()
    assert raised, "the case's clock raised no alert"
    sign_in(testapp, "chief")
    page = testapp.get("/console/cases/")
    assert alert_rows(page) == len(raised)
    form = next(f for f in page.forms.values() if "acknowledge" in (f.action or ""))
    after = form.submit().follow()
    assert alert_rows(after) == len(raised) - 1
    data.rollback()  # a new transaction: see what the app committed
    data.expire_all()
    assert (
        data.scalar(select(AuditLog.id).where(AuditLog.action == "alert.acknowledge")) is not None
    )


# ---------------------------------------------------------------------- the feed


@pytest.fixture
def dead_letters(data: Session) -> dict[str, FeedRecord]:
    now = utcnow()
    found = {
        name: feed.publish(data, "inspection", f"{name}-uuid", {"name": name})
        for name in ("dead1", "dead2", "delivered")
    }
    for name in ("dead1", "dead2"):
        found[name].attempts, found[name].dead_at = 8, now - dt.timedelta(minutes=5)
        found[name].last_error = "ConnectError: [Errno 111] Connection refused"
    found["delivered"].delivered_at = now
    data.commit()
    return found


def test_dead_letters_are_listed_and_requeued(
    testapp: webtest.TestApp, data: Session, dead_letters: dict[str, FeedRecord], supervisor: User
) -> None:
    page = testapp.get("/console/feed/")
    table = page.text.split('id="dead-letters"', 1)[1]
    assert "dead1-uuid" in table and "dead2-uuid" in table and "delivered-uuid" not in table
    assert "Connection refused" in table

    form = page.forms["requeue-form"]
    form.get("record", index=0).checked = True
    after = form.submit().follow()
    data.rollback()  # a new transaction: see what the app committed
    data.expire_all()
    states = {r.record_key: r.dead_at is None for r in data.scalars(select(FeedRecord))}
    assert sum(1 for k in ("dead1-uuid", "dead2-uuid") if states[k]) == 1
    assert after.text.split('id="dead-letters"', 1)[1].count("<tr>") == 2  # header + one

    everything = after.forms["requeue-form"].submit("all").follow()
    assert 'id="no-dead-letters"' in everything.text
    data.rollback()  # a new transaction: see what the app committed
    data.expire_all()
    assert all(r.dead_at is None for r in data.scalars(select(FeedRecord)))
    audited = data.scalars(select(AuditLog).where(AuditLog.action == "feed.requeue")).all()
    assert len(audited) == 2


def test_requeue_without_a_csrf_token_is_refused(
    testapp: webtest.TestApp, dead_letters: dict[str, FeedRecord], supervisor: User
) -> None:
    testapp.post("/console/feed/requeue", {"all": "1"}, status=400)


def test_finished_draw_and_failed_jobs_render_their_outcome(
    testapp: webtest.TestApp, data: Session, supervisor: User
) -> None:
    owner = data.merge(supervisor)
    done = BackgroundJob(
        kind=JobKind.DRAW,
        params={"plan_id": 1},
        status=JobStatus.DONE,
        progress_done=1,
        progress_total=1,
        message="drawn",
        result={"plan_id": 1, "plan_code": "2025-X-01", "draw_id": 3, "totals": {"drawn": 5}},
        created_by_id=owner.id,
    )
    failed = BackgroundJob(
        kind=JobKind.IMPORT,
        params={"kind": "items"},
        status=JobStatus.FAILED,
        progress_done=0,
        message="failed",
        error="file: the file could not be read as XLSX",
        input_name="bad.xlsx",
        created_by_id=owner.id,
    )
    data.add_all([done, failed])
    data.commit()
    page = testapp.get(f"/console/jobs/{done.uuid}")
    assert 'href="/desk/plans/2025-X-01"' in page.text and '"drawn": 5' in page.text
    assert 'data-final="true"' in page.text
    page = testapp.get(f"/console/jobs/{failed.uuid}")
    assert 'role="alert"' in page.text and "could not be read as XLSX" in page.text
    listing = testapp.get("/console/jobs/").text
    assert str(done.uuid) in listing and "bad.xlsx" in listing


def test_the_decision_deadline_is_extended_from_the_case_page(
    testapp: webtest.TestApp, data: Session, desk: Desk, sign_in
) -> None:
    sign_in(testapp, "chief")
    page = testapp.get(f"/console/cases/{desk.case_id}")
    form = page.forms["step-extend"]
    form["reason"] = "案情复杂，经负责人批准延长"
    done = form.submit().follow()
    assert 'id="problem"' not in done.text
    data.rollback()  # a new transaction: see what the app committed
    data.expire_all()
    case = data.get(PenaltyCase, desk.case_id)
    assert case is not None and case.deadline_extensions == 1
    assert case.status == CaseStatus.FILED


def test_a_second_extension_without_days_names_the_field_and_keeps_the_reason(
    testapp: webtest.TestApp, data: Session, desk: Desk, sign_in
) -> None:
    sign_in(testapp, "chief")
    page = testapp.get(f"/console/cases/{desk.case_id}")
    form = page.forms["step-extend"]
    form["reason"] = "第一次延长"
    page = form.submit().follow()
    form = page.forms["step-extend"]
    form["reason"] = "集体讨论决定再次延长"
    refused = form.submit(status=422)
    assert 'id="extend-days-error"' in refused.text
    again = refused.forms["step-extend"]
    assert again["reason"].value == "集体讨论决定再次延长"
    again["days"] = "abc"
    refused = again.submit(status=422)
    assert 'id="extend-days-error"' in refused.text
    data.rollback()  # a new transaction: see what the app committed
    data.expire_all()
    case = data.get(PenaltyCase, desk.case_id)
    assert case is not None and case.deadline_extensions == 1


def _decided(testapp: webtest.TestApp, desk: Desk) -> webtest.TestResponse:
    """Move the desk's case to a decision through the step forms."""
    page = testapp.get(f"/console/cases/{desk.case_id}")
    page = page.forms["step-investigate"].submit().follow()
    form = page.forms["step-propose"]
    form["measure"] = "warning"
    form["legal_basis"] = "《食品安全法》第一百二十四条"
    page = form.submit().follow()
    return page.forms["step-decide"].submit().follow()


def test_a_reconsideration_is_requested_and_decided_from_the_case_page(
    testapp: webtest.TestApp, data: Session, desk: Desk, sign_in
) -> None:
    sign_in(testapp, "chief")
    page = _decided(testapp, desk)
    assert _status(data, desk) is CaseStatus.DECIDED
    assert 'id="step-reconsider_decide"' not in page.text
    refused = page.forms["step-reconsider"].submit(status=422)  # the request needs a note
    assert 'id="reconsider-note-error"' in refused.text
    form = refused.forms["step-reconsider"]
    form["note"] = "当事人向市政府申请行政复议"
    page = form.submit().follow()
    assert 'id="step-reconsider"' not in page.text

    form = page.forms["step-reconsider_decide"]
    form["note"] = "复议机关决定维持"
    refused = form.submit(status=422)  # no outcome chosen
    assert 'id="reconsider_decide-outcome-error"' in refused.text
    assert refused.forms["step-reconsider_decide"]["note"].value == "复议机关决定维持"
    form = refused.forms["step-reconsider_decide"]
    form["outcome"] = "upheld"
    page = form.submit().follow()
    assert 'id="step-reconsider_decide"' not in page.text
    data.rollback()  # a new transaction: see what the app committed
    data.expire_all()
    case = data.get(PenaltyCase, desk.case_id)
    assert case is not None and case.reconsideration_status == "upheld"


def test_reconsideration_steps_are_refused_before_a_decision(
    testapp: webtest.TestApp, data: Session, desk: Desk, sign_in
) -> None:
    sign_in(testapp, "chief")
    page = testapp.get(f"/console/cases/{desk.case_id}")
    assert 'id="step-reconsider"' not in page.text
    token = csrf(page)
    refused = testapp.post(
        f"/console/cases/{desk.case_id}/reconsider",
        {"csrf_token": token, "note": "过早"},
        status=409,
    )
    assert 'id="problem"' in refused.text


def test_a_coercive_measure_is_imposed_extended_and_lifted_from_the_case_page(
    testapp: webtest.TestApp, data: Session, desk: Desk, sign_in
) -> None:
    sign_in(testapp, "chief")
    page = testapp.get(f"/console/cases/{desk.case_id}")
    assert 'id="step-coercive_extend"' not in page.text  # nothing to extend yet
    form = page.forms["step-coercive"]
    form["items"] = "过期牛奶\n过期面包"
    form["started_on"] = "2000-01-01"
    refused = form.submit(status=422)  # no kind, and a start long ago
    assert 'id="coercive-kind-error"' in refused.text
    assert 'id="coercive-started_on-error"' in refused.text
    assert refused.forms["step-coercive"]["items"].value == "过期牛奶\n过期面包"
    form = refused.forms["step-coercive"]
    form["kind"] = "seize"
    form["started_on"] = ""
    form["place"] = "店内仓库"
    page = form.submit().follow()
    assert "过期牛奶、过期面包" in page.text.split('id="coercive-measures"', 1)[1]

    form = page.forms["step-coercive_extend"]
    refused = form.submit(status=422)  # an extension needs its reason
    assert 'id="coercive_extend-reason-error"' in refused.text
    form = refused.forms["step-coercive_extend"]
    form["reason"] = "情况复杂，经负责人批准延长"
    page = form.submit().follow()
    assert 'id="step-coercive_extend"' not in page.text  # only once

    form = page.forms["step-coercive_lift"]
    form["reason"] = "已查清，解除扣押"
    page = form.submit().follow()
    assert 'id="step-coercive_lift"' not in page.text
    data.rollback()  # a new transaction: see what the app committed
    data.expire_all()
    case = data.get(PenaltyCase, desk.case_id)
    assert case is not None
    (measure,) = case.coercive_measures
    assert measure.extended and measure.lifted_at is not None


def test_lifting_an_unknown_measure_is_not_found(
    testapp: webtest.TestApp, desk: Desk, sign_in
) -> None:
    sign_in(testapp, "chief")
    token = csrf(testapp.get(f"/console/cases/{desk.case_id}"))
    testapp.post(
        f"/console/cases/{desk.case_id}/coercive_lift",
        {"csrf_token": token, "measure": "999999", "reason": "无"},
        status=404,
    )


def test_the_case_group_is_changed_from_the_case_page(
    testapp: webtest.TestApp, data: Session, desk: Desk, make_user: Callable[..., User], sign_in
) -> None:
    third = InspectorFactory(department=data.get(Department, desk.department_id))
    data.commit()
    newcomer = make_user("newcomer", Role.INSPECTOR, inspector_id=third.id)
    sign_in(testapp, "chief")
    page = testapp.get(f"/console/cases/{desk.case_id}")
    form = page.forms["step-members"]
    for box in form.fields["members"]:
        box.checked = box._value == str(newcomer.id)
    form["lead_id"] = str(newcomer.id)
    refused = form.submit(status=422)  # one officer is not a group
    assert 'id="members-members-error"' in refused.text
    kept = refused.forms["step-members"]
    assert [b.checked for b in kept.fields["members"] if b._value == str(newcomer.id)] == [True]
    assert kept["lead_id"].value == str(newcomer.id)
    for box in kept.fields["members"]:
        box.checked = True
    kept.submit().follow()
    data.rollback()  # a new transaction: see what the app committed
    data.expire_all()
    case = data.get(PenaltyCase, desk.case_id)
    assert case is not None
    assert case.lead is not None and case.lead.user_id == newcomer.id
    assert len(case.members) == len(kept.fields["members"])  # every officer ticked
