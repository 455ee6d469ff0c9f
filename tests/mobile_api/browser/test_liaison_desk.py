"""The judicial liaison in Chromium: signs in, finds the approved transfer on the desk with
its running clock, opens it, downloads the transfer package (verified with
``enforcement.transfer_package.verify_package`` against the manifest hash recorded on the
transfer), records that it was sent, and downloads the desk as CSV. Each page is kept as a
1280×800 screenshot and passes axe-core with no critical violations."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest
from pyramid.router import Router
from sqlalchemy import select
from sqlalchemy.orm import Session

from enforcement.models import Transfer, TransferStatus, User
from enforcement.security import hash_password
from enforcement.services.evidence import evidence_store
from enforcement.services.transfers import TransferService
from enforcement.transfer_package import verify_package
from tests.field_work import PASSWORD
from tests.mobile_api.browser.desk import assert_accessible, screenshot, sign_in
from tests.mobile_api.browser.harness import LiveServer
from tests.transfer_helpers import TransferScene, make_transfer_scene, report_body


@pytest.fixture
def ts(data: Session, web_app: Router) -> TransferScene:
    settings = web_app.registry.settings
    scene = make_transfer_scene(data, evidence_store(settings))
    scene.liaison.password_hash = hash_password(PASSWORD)
    service = TransferService(data, scene.supervisor, settings=settings)
    service.report(scene.case.id, report_body(scene))
    service.decide(scene.case.id, "approve")
    data.commit()
    return scene


def test_a_liaison_exports_a_transfer_package(
    desk_page: Any,
    desk_errors: list[str],
    live_server: LiveServer,
    ts: TransferScene,
    data: Session,
    tmp_path: Path,
) -> None:
    page = desk_page
    liaison: User = ts.liaison
    sign_in(page, live_server, liaison.username, next_path="/liaison/")
    row = page.locator(f"#transfer-{ts.case.id}")
    assert ts.case.case_no in row.inner_text() and "已批准移送" in row.inner_text()
    assert "移送公安机关（24小时）" in row.inner_text()
    screenshot(page, "liaison-desk")
    assert_accessible(page)

    with page.expect_navigation():
        row.locator(f"a[href='/liaison/transfers/{ts.case.id}']").click()
    assert page.locator("#transfer-status").inner_text() == "已批准移送"
    screenshot(page, "liaison-transfer")
    assert_accessible(page)

    with page.expect_download() as info:
        page.locator("#package").click()
    download = info.value
    target = tmp_path / "package.zip"
    download.save_as(str(target))
    data.commit()
    recorded = data.scalar(select(Transfer.package_sha256).where(Transfer.case_id == ts.case.id))
    report = verify_package(target, recorded)
    assert report.ok, report.first_problem
    assert download.suggested_filename.endswith(".zip")

    # Public security's receipt of the case, recorded on the page (PRG back to it).
    with page.expect_navigation():
        page.locator("#step-sent button[type=submit]").click()
    assert page.locator("[role=status]").count() == 1
    assert page.locator("#transfer-status").inner_text() == "已移送"
    assert page.locator("#step-receipt").count() == 1
    data.commit()
    status = data.scalar(select(Transfer.status).where(Transfer.case_id == ts.case.id))
    assert status is TransferStatus.SENT

    page.goto(f"{live_server.url}/liaison/")
    with page.expect_download() as info:
        page.locator("#export-csv").click()
    exported = tmp_path / "desk.csv"
    info.value.save_as(str(exported))
    rows = list(csv.reader(io.StringIO(exported.read_bytes().decode("utf-8-sig"))))
    assert rows[0][0] == "案件编号" and rows[1][0] == ts.case.case_no
    assert desk_errors == []
