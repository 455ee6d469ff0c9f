"""The supervisor console in Chromium: import a small enterprises file with one bad row (run
by a real Celery worker on the app's own broker, the page following its progress) and read
the per-row error report; then open a case and move it one step. Screenshots at 1280×800 go
to var/test-artifacts/desk/, and axe-core finds no critical violation on any page."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pyramid.router import Router
from sqlalchemy import select
from sqlalchemy.orm import Session

from enforcement.models import BackgroundJob, CaseStatus, JobStatus, PenaltyCase, Role, User
from enforcement.services.cases import CaseService
from tests.factories import DepartmentFactory, EnterpriseFactory, InspectorFactory
from tests.mobile_api.browser.desk import assert_accessible, screenshot, sign_in
from tests.mobile_api.browser.harness import LiveServer
from tests.mobile_api.conftest import PASSWORD
from tests.workers import running_worker

# Two good rows and, between them, one whose USCC check character is wrong (row 2).
ENTERPRISES = (
    "uscc,name,industry_code,longitude,latitude,status,registration_date,registered_capital\n"
    "913307020972223383,好公司甲,F5212,119.65,29.08,in_business,2019-05-05,1000\n"
    "913307020972223384,校验位错误公司,F5212,119.65,29.08,in_business,2019-05-05,1000\n"
    "91330783202466335A,好公司乙,H62,120.31,29.15,开业,2019-05-05,50万\n"
)


def submit(page: Any, selector: str) -> None:
    with page.expect_navigation():
        page.locator(selector).click()


def _case(data: Session, make_user: Callable[..., User]) -> int:
    department = DepartmentFactory()
    enterprise = EnterpriseFactory(name="东阳市浏览器测试食品店")
    officers = [InspectorFactory(department=department) for _ in range(2)]
    data.commit()
    make_user("chief", Role.SUPERVISOR, department_id=department.id)
    lead = make_user("lead", Role.INSPECTOR, inspector_id=officers[0].id)
    member = make_user("member", Role.INSPECTOR, inspector_id=officers[1].id)
    case = CaseService(data, lead).file(
        enterprise_id=enterprise.id, summary="销售超过保质期的食品", members=[lead.id, member.id]
    )
    data.commit()
    return case.id


def test_supervisor_imports_a_file_and_moves_a_case(
    desk_page: Any,
    desk_errors: list[str],
    live_server: LiveServer,
    web_app: Router,
    data: Session,
    make_user: Callable[..., User],
) -> None:
    case_id = _case(data, make_user)
    page = desk_page
    sign_in(page, live_server, "chief", PASSWORD, next_path="/console/imports")
    assert page.locator("h1").inner_text() in ("Import a file", "导入文件")
    screenshot(page, "console-import-form")
    assert_accessible(page)

    # The worker listens on the app's own broker: the upload's commit kicks the outbox drain,
    # which sends the job to it; the page polls until the job is final and then reloads.
    with running_worker(dict(web_app.registry.settings)):
        page.locator("#kind").select_option("enterprises")
        page.set_input_files(
            "#file",
            files=[
                {
                    "name": "enterprises-small.csv",
                    "mimeType": "text/csv",
                    "buffer": ENTERPRISES.encode("utf-8"),
                }
            ],
        )
        submit(page, "#import-form button[type=submit]")
        page.wait_for_selector("#rejects", timeout=90_000)
    data.expire_all()
    job = data.scalars(select(BackgroundJob)).one()
    assert job.status is JobStatus.DONE and job.result["applied"] is False

    rows = page.locator("#rejects tbody tr")
    assert rows.count() == 1
    cells = rows.first.locator("td").all_inner_texts()
    assert cells[:3] == ["2", "uscc", "913307020972223384"]
    assert cells[3]  # the reason, in the page's language
    assert page.locator("#rejected-count").inner_text() == "1"
    screenshot(page, "console-import-report")
    assert_accessible(page)

    # The case desk: the list with its clocks, the case, one step.
    page.goto(f"{live_server.url}/console/cases/")
    assert page.locator("#cases").inner_text().count("东阳市浏览器测试食品店") == 1
    screenshot(page, "console-cases")
    assert_accessible(page)
    with page.expect_navigation():
        page.locator("#cases a").first.click()
    screenshot(page, "console-case")
    assert_accessible(page)
    page.locator("#investigate-note").fill("已调取进货台账")
    submit(page, "#step-investigate button[type=submit]")
    assert page.locator("#step-propose").count() == 1
    assert page.locator("#step-investigate").count() == 0
    assert "已调取进货台账" in page.locator("#history").inner_text()
    screenshot(page, "console-case-investigating")
    assert_accessible(page)

    data.rollback()
    data.expire_all()
    assert data.get(PenaltyCase, case_id).status is CaseStatus.INVESTIGATING
    assert desk_errors == []
