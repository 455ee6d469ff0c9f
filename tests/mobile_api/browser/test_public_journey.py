"""A member of the public in Chromium, without signing in: from the home page finds an
inspection result by USCC, opens it (inspectors masked), and downloads the open data, whose
CSV header equals the published data dictionary; looks at the item list, the published plans
and a draw's verification result. Every public page is kept as a 1280×800 screenshot and
passes axe-core with no critical violations; the pages also fit a tablet held upright."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from enforcement.models import PublicKind, PublicRecord, SamplingPlan
from enforcement.services import disclosure
from enforcement.services.publication import PublicationService
from tests.evidence_helpers import FINISHED_AT, Scene, finish, make_scene
from tests.factories import user_named
from tests.field_work import drawn_field_work
from tests.mobile_api.browser.desk import (
    TABLET,
    assert_accessible,
    open_desk_page,
    screenshot,
)
from tests.mobile_api.browser.harness import LiveServer

NO_OVERFLOW = "() => document.scrollingElement.scrollWidth <= window.innerWidth"


@pytest.fixture
def published(data: Session) -> tuple[Scene, PublicRecord, SamplingPlan]:
    """A published inspection result and a published plan (with its draw); committed."""
    field = drawn_field_work(data)
    plan = field.task.draw.plan
    now = plan.drawn_at + dt.timedelta(days=1)
    PublicationService(data, user_named(data, "supervisor"), clock=lambda: now).publish(plan)
    data.flush()
    scene = make_scene(data)
    finish(scene.inspection, None, refused=True)
    data.flush()
    disclosure.run(data, clock=lambda: max(now, FINISHED_AT) + dt.timedelta(hours=1))
    data.commit()
    result = data.scalars(select(PublicRecord).where(PublicRecord.kind == PublicKind.RESULT)).one()
    return scene, result, plan


def test_the_public_finds_a_result_by_uscc_and_downloads_the_open_data(
    desk_page: Any,
    desk_errors: list[str],
    live_server: LiveServer,
    published: tuple[Scene, PublicRecord, SamplingPlan],
    tmp_path: Path,
) -> None:
    scene, result, plan = published
    page = desk_page
    page.goto(f"{live_server.url}/")
    screenshot(page, "public-home")
    page.locator("#public-entry a[href='/public/']").click()
    page.wait_for_url("**/public/")

    # Search by USCC, then open the result.
    page.locator("#q").fill(scene.enterprise.uscc)
    with page.expect_navigation():
        page.locator("#public-search button[type=submit]").click()
    row = page.locator(f"#record-{result.id}")
    assert scene.enterprise.uscc in row.inner_text()
    assert page.locator("#records tbody tr").count() == 1
    screenshot(page, "public-search")
    assert_accessible(page)
    with page.expect_navigation():
        row.locator("a").first.click()
    assert page.url.endswith(f"/public/records/{result.id}")
    assert page.locator("#team").inner_text() == "张*、李*"
    assert scene.lead.name not in page.content()
    screenshot(page, "public-record")
    assert_accessible(page)

    # The open data: the results CSV, its header exactly the dictionary's columns.
    with page.expect_navigation():
        page.locator("nav.sub a[href='/open-data/']").click()
    screenshot(page, "public-open-data")
    assert_accessible(page)
    dictionary = json.loads(page.request.get(f"{live_server.url}/open-data/dictionary.json").text())
    columns = {ds["name"]: [c["name"] for c in ds["columns"]] for ds in dictionary["datasets"]}
    shown = page.locator("table.dictionary[data-dataset=results] tbody tr td:first-child")
    assert shown.all_inner_texts() == columns["results"]
    with page.expect_download() as download_info:
        page.locator("#download-results a[data-format=csv]").click()
    download = download_info.value
    assert download.suggested_filename == "results.csv"
    target = tmp_path / "results.csv"
    download.save_as(target)
    rows = list(csv.reader(io.StringIO(target.read_text(encoding="utf-8"))))
    assert rows[0] == columns["results"]
    record_ids = [r[rows[0].index("record_id")] for r in rows[1:]]
    assert record_ids == [str(result.id)]

    # The item list, the published plans and the draw's verification result.
    with page.expect_navigation():
        page.locator("nav.sub a[href='/public/items/']").click()
    assert page.locator("#items tbody tr").count() >= 3
    screenshot(page, "public-items")
    assert_accessible(page)
    with page.expect_navigation():
        page.locator("nav.sub a[href='/public/plans/']").click()
    screenshot(page, "public-plans")
    assert_accessible(page)
    with page.expect_navigation():
        page.locator(f"#plan-{plan.code} a[href$='/verification']").click()
    assert page.locator("#verdict").get_attribute("data-verified") == "true"
    screenshot(page, "public-verification")
    assert_accessible(page)
    with page.expect_download() as bundle_info:
        page.locator("#bundle").click()
    bundle_path = tmp_path / "bundle.json"
    bundle_info.value.save_as(bundle_path)
    bundle = json.loads(bundle_path.read_text(encoding="utf-8"))
    assert bundle["plan"]["code"] == plan.code
    assert page.locator("#sha256").inner_text() != ""
    assert desk_errors == []


def test_public_pages_fit_a_tablet_held_upright(
    browser: Any, live_server: LiveServer, published: tuple[Scene, PublicRecord, SamplingPlan]
) -> None:
    _, result, plan = published
    page = open_desk_page(browser, size=TABLET)
    try:
        for path in (
            "/public/",
            f"/public/records/{result.id}",
            "/public/items/",
            "/public/plans/",
            f"/public/plans/{plan.code}/verification",
            "/open-data/",
        ):
            page.goto(f"{live_server.url}{path}")
            assert page.evaluate(NO_OVERFLOW), f"{path} scrolls sideways at 800 px"
    finally:
        page.context.close()
