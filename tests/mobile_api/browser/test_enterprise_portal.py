"""An enterprise in Chromium: signs in, reads its tier, score band and the reasons in plain
language, goes to credit repair and applies for the repair of its abnormal-operation listing;
the application shows up as submitted. Every portal page is kept as a 1280×800 screenshot and
passes axe-core with no critical violations."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from enforcement.models import CreditList, CreditRepair, ListEntry, RepairStatus, Role
from enforcement.services import disclosure
from enforcement.services.clocks import calendar_for
from enforcement.services.credit import RatingService
from enforcement.services.rectification import order_rectification
from tests.evidence_helpers import FINISHED_AT, Scene, finish, make_scene
from tests.mobile_api.browser.desk import assert_accessible, screenshot, sign_in
from tests.mobile_api.browser.harness import LiveServer

STATEMENT = "已办理住所变更登记，现可通过登记的住所联系，附变更通知书。"


@pytest.fixture
def firm(data: Session, make_user: Callable[..., Any]) -> tuple[Scene, ListEntry]:
    scene = make_scene(data)
    finish(scene.inspection, None, refused=True)
    data.flush()
    order_rectification(data, None, scene.inspection, calendar=calendar_for(None), now=FINISHED_AT)
    entry = ListEntry(
        enterprise=scene.enterprise,
        list=CreditList.ABNORMAL_OPERATION,
        reason="通过登记的住所无法联系",
        listed_on=dt.date(2026, 1, 10),
    )
    data.add(entry)
    disclosure.run(data, clock=lambda: FINISHED_AT + dt.timedelta(hours=1))
    RatingService(data).rate()
    data.commit()
    data.refresh(scene.enterprise)
    make_user("longjing", Role.ENTERPRISE, enterprise_id=scene.enterprise.id)
    return scene, entry


def test_an_enterprise_reads_its_tier_and_reasons_and_applies_for_repair(
    desk_page: Any,
    desk_errors: list[str],
    live_server: LiveServer,
    firm: tuple[Scene, ListEntry],
    data: Session,
) -> None:
    scene, entry = firm
    page = desk_page
    sign_in(page, live_server, "longjing", next_path="/portal/")
    assert page.url.endswith("/portal/")
    tier = page.locator("#tier").inner_text()
    assert tier.startswith(scene.enterprise.credit_tier)
    assert page.locator("#score-band").inner_text().strip()
    reasons = page.locator("#reasons li").all_inner_texts()
    assert reasons and any("经营异常" in reason for reason in reasons)
    assert page.locator("#history tbody tr").count() >= 1
    screenshot(page, "portal-credit")
    assert_accessible(page)

    # The other portal pages: kept and checked too.
    for link, name in (
        ("/portal/inspections", "portal-inspections"),
        ("/portal/rectifications", "portal-rectifications"),
        ("/portal/commitments", "portal-commitments"),
        ("/portal/records", "portal-records"),
    ):
        page.goto(f"{live_server.url}{link}")
        assert page.locator("h1").count() == 1
        screenshot(page, name)
        assert_accessible(page)

    page.goto(f"{live_server.url}/portal/")
    with page.expect_navigation():
        page.locator("main p a[href='/portal/repairs']").click()
    page.locator("#subject").select_option(f"list_entry:{entry.id}")
    page.locator("#statement").fill("太短")
    with page.expect_navigation():
        page.locator("#repair-form button[type=submit]").click()
    assert page.locator(".field-error").count() == 1  # refused, what was typed is kept
    assert page.locator("#statement").input_value() == "太短"
    page.locator("#statement").fill(STATEMENT)
    with page.expect_navigation():
        page.locator("#repair-form button[type=submit]").click()
    assert page.url.endswith("/portal/repairs")
    assert page.locator("[role=status]").count() == 1
    assert STATEMENT in page.locator("#repairs").inner_text()
    screenshot(page, "portal-repair")
    assert_accessible(page)
    assert desk_errors == []

    data.commit()
    repair = data.scalars(select(CreditRepair)).one()
    assert repair.enterprise_id == scene.enterprise.id and repair.list_entry_id == entry.id
    assert repair.status is RepairStatus.SUBMITTED
