"""The supervisor's journey in Chromium: create a sampling plan through the form, see the
expected counts per stratum, approve, commit a seed generated in the browser (only its
commitment is sent), draw with the revealed seed, review the teams, publish, and see the
bundle verify; then the plan's tasks on the map. Screenshots of each main page at 1280×800
go to var/test-artifacts/desk/, and axe-core finds no critical violation on any of them."""

from __future__ import annotations

import hashlib
import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from enforcement.demo.accounts import DEMO_PASSWORD
from enforcement.models import PlanStatus, SamplingPlan
from tests.factories import load_small_demo
from tests.mobile_api.browser.desk import assert_accessible, screenshot, sign_in
from tests.mobile_api.browser.harness import LiveServer

CODE = "2025-BROWSER-01"
ITEMS = ("SCJG-GS-001", "SPAQ-JY-001")


def submit(page: Any, selector: str) -> None:
    with page.expect_navigation():
        page.locator(selector).click()


def test_supervisor_creates_draws_and_publishes_a_plan(
    desk_page: Any, desk_errors: list[str], live_server: LiveServer, data: Session
) -> None:
    load_small_demo(data, 11)
    data.commit()
    page = desk_page
    sign_in(page, live_server, "supervisor", DEMO_PASSWORD, next_path="/desk/plans/")
    assert page.locator("h1").inner_text() in ("Sampling plans", "抽查计划")
    screenshot(page, "plans-list")
    assert_accessible(page)

    # Create: tick items and a county, type the rest.
    page.locator("#new-plan").click()
    page.wait_for_selector("#plan-form")
    page.locator("#code").fill(CODE)
    page.locator("#title").fill("2025年浏览器抽查计划")
    page.locator("#year").fill("2025")
    for code in ITEMS:
        page.locator(f"input[name=items][value='{code}']").check()
    for adcode in ("330783", "330702"):
        page.locator(f"input[name=jurisdictions][value='{adcode}']").check()
    page.locator("#ratio_B").fill("0.4")
    page.locator("#budget").fill("8")
    screenshot(page, "plan-form")
    assert_accessible(page)
    submit(page, "#save-plan")

    # The draft with the preview of the expected counts per stratum.
    assert page.locator("#plan-status").get_attribute("data-status") == "draft"
    assert page.locator("#preview tbody tr").count() > 0
    screenshot(page, "plan-draft")
    assert_accessible(page)
    submit(page, "#approve")
    assert page.locator("#plan-status").get_attribute("data-status") == "approved"

    # Commit: the seed is generated in the browser and shown once; only its hash is sent.
    page.locator("#generate-seed").click()
    page.wait_for_function("() => document.getElementById('commitment').value.length === 64")
    seed_hex = page.locator("#seed-value").inner_text().strip()
    assert re.fullmatch(r"[0-9a-f]{64}", seed_hex)
    commitment = page.locator("#commitment").input_value()
    assert commitment == hashlib.sha256(bytes.fromhex(seed_hex)).hexdigest()
    screenshot(page, "plan-commit")
    assert_accessible(page)
    submit(page, "#commit")
    assert page.locator("#plan-status").get_attribute("data-status") == "seed_committed"
    assert seed_hex not in page.content()  # the server never had it

    # Draw: reveal the seed.
    page.locator("#seed").fill(seed_hex)
    screenshot(page, "plan-draw")
    submit(page, "#draw")
    assert page.locator("#plan-status").get_attribute("data-status") == "drawn"
    drawn = int(page.locator("#drawn-count").inner_text().split()[0])
    assert drawn >= 8
    assert page.locator("#tasks tbody tr").count() >= drawn
    screenshot(page, "plan-drawn", full_page=True)
    assert_accessible(page)

    submit(page, "#publish")
    assert page.locator("#plan-status").get_attribute("data-status") == "published"
    submit(page, "#open-bundle")
    assert page.locator("#verify-result").get_attribute("data-ok") == "true"
    assert seed_hex in page.content()
    screenshot(page, "plan-bundle")
    assert_accessible(page)

    data.commit()
    plan = data.scalar(select(SamplingPlan).where(SamplingPlan.code == CODE))
    assert plan.status is PlanStatus.PUBLISHED and plan.revealed_seed == seed_hex

    # The plan's tasks on the progress map (the dashboards' page).
    page.goto(f"{live_server.url}/desk/plans/{CODE}")
    if page.locator("#plan-map").count():
        submit(page, "#plan-map")
        assert CODE in page.url
        screenshot(page, "plan-map")
    assert desk_errors == []
