"""The desk pages on a tablet held upright (800×1280): the supervisor console and directory,
the plan pages, the enterprise portal and the liaison desk. Each main page must fit the width
(no sideways scrolling of the whole document; wide tables scroll inside their own wrapper),
pass axe-core with no critical violation, and is kept as var/test-artifacts/desk/tablet-<page>.png.
The data come from the same builders as the laptop journeys of each role."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy.orm import Session

from enforcement.demo.accounts import DEMO_PASSWORD
from enforcement.models import ListEntry, User
from tests.evidence_helpers import Scene
from tests.field_work import PASSWORD, drawn_field_work
from tests.mobile_api.browser.desk import (
    TABLET,
    assert_accessible,
    open_desk_page,
    screenshot,
    sign_in,
)
from tests.mobile_api.browser.harness import LiveServer
from tests.mobile_api.browser.test_enterprise_portal import firm  # noqa: F401 (fixture)
from tests.mobile_api.browser.test_liaison_desk import ts  # noqa: F401 (fixture)
from tests.mobile_api.browser.test_supervisor_console import _case
from tests.transfer_helpers import TransferScene

FITS = "() => [document.documentElement.scrollWidth, window.innerWidth]"
#: The elements sticking out on the right, to name the culprit when a page scrolls sideways.
OVERFLOWING = """() => [...document.querySelectorAll('body *')]
  .filter(el => el.getBoundingClientRect().right > window.innerWidth + 0.5)
  .slice(0, 8)
  .map(el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
    + (typeof el.className === 'string' && el.className
      ? '.' + el.className.split(' ').join('.') : '')
    + ' right=' + Math.round(el.getBoundingClientRect().right))"""


@pytest.fixture
def tablet(browser: Any, desk_errors: list[str]) -> Iterator[Any]:
    """An 800×1280 zh-CN page in its own context (not signed in); closed afterwards."""
    page = open_desk_page(browser, size=TABLET, errors=desk_errors)
    yield page
    page.context.close()


def check(page: Any, server: LiveServer, path: str | None, name: str) -> None:
    """Open ``path`` (or stay on the current page), then check the width, axe and screenshot."""
    if path is not None:
        response = page.goto(f"{server.url}{path}")
        assert response is not None and response.status == 200, (path, response and response.status)
    assert page.locator("h1").count() == 1, page.url
    scroll_width, inner_width = page.evaluate(FITS)
    screenshot(page, f"tablet-{name}")
    assert scroll_width <= inner_width, (
        f"{page.url} scrolls sideways: {scroll_width} > {inner_width}: {page.evaluate(OVERFLOWING)}"
    )
    assert_accessible(page)


def test_supervisor_console_and_directory_fit_a_tablet(
    tablet: Any,
    desk_errors: list[str],
    live_server: LiveServer,
    data: Session,
    make_user: Callable[..., User],
) -> None:
    case_id = _case(data, make_user)
    sign_in(tablet, live_server, "chief", PASSWORD, next_path="/console/")
    check(tablet, live_server, None, "console-home")
    for path, name in (
        ("/console/imports", "console-imports"),
        ("/console/jobs/", "console-jobs"),
        ("/console/cases/", "console-cases"),
        (f"/console/cases/{case_id}", "console-case"),
        ("/console/feed/", "console-feed"),
        ("/directory/enterprises", "directory-enterprises"),
        ("/directory/inspectors", "directory-inspectors"),
        ("/directory/items", "directory-items"),
    ):
        check(tablet, live_server, path, name)
    assert desk_errors == []


def test_plan_pages_fit_a_tablet(
    tablet: Any, desk_errors: list[str], live_server: LiveServer, data: Session
) -> None:
    """The list, the form and a drawn plan's own page (strata, teams, alternates, bundle)."""
    plan = drawn_field_work(data).task.draw.plan
    sign_in(tablet, live_server, "supervisor", DEMO_PASSWORD, next_path="/desk/plans/")
    check(tablet, live_server, None, "plans-list")
    check(tablet, live_server, "/desk/plans/new", "plan-form")
    check(tablet, live_server, f"/desk/plans/{plan.code}", "plan")
    assert tablet.locator("main table").count() >= 1  # the drawn plan's tables are on the page
    assert desk_errors == []


def test_enterprise_portal_fits_a_tablet(
    tablet: Any,
    desk_errors: list[str],
    live_server: LiveServer,
    firm: tuple[Scene, ListEntry],  # noqa: F811
) -> None:
    sign_in(tablet, live_server, "longjing", next_path="/portal/")
    check(tablet, live_server, None, "portal-credit")
    for path, name in (
        ("/portal/inspections", "portal-inspections"),
        ("/portal/rectifications", "portal-rectifications"),
        ("/portal/commitments", "portal-commitments"),
        ("/portal/repairs", "portal-repairs"),
        ("/portal/records", "portal-records"),
    ):
        check(tablet, live_server, path, name)
    assert desk_errors == []


def test_liaison_desk_fits_a_tablet(
    tablet: Any,
    desk_errors: list[str],
    live_server: LiveServer,
    ts: TransferScene,  # noqa: F811
) -> None:
    sign_in(tablet, live_server, ts.liaison.username, next_path="/liaison/")
    check(tablet, live_server, None, "liaison-desk")
    check(tablet, live_server, f"/liaison/transfers/{ts.case.id}", "liaison-transfer")
    assert desk_errors == []
