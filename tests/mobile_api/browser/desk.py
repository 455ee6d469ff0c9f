"""Shared pieces for the desk pages' browser tests (issue 7): a laptop-sized page on the live
app, signing in through the login page, screenshots kept as artefacts, and the axe-core check.

Use from a test module in tests/mobile_api/browser/ (the ``live_server``, ``browser`` and
``data`` fixtures come from the conftests)::

    from tests.mobile_api.browser.desk import assert_accessible, screenshot, sign_in

    def test_console(desk_page, live_server, make_user):
        make_user("sup", Role.SUPERVISOR)
        sign_in(desk_page, live_server, "sup", next_path="/console/")
        screenshot(desk_page, "console")
        assert_accessible(desk_page)

``desk_page`` is a fixture defined here and re-exported by the browser conftest, so every
browser test module can ask for it directly.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from tests.field_work import PASSWORD
from tests.mobile_api.browser.harness import LiveServer

ROOT = Path(__file__).resolve().parents[3]
#: Screenshots of the desk pages at 1280×800 (gitignored with var/).
DESK_ARTIFACTS = ROOT / "var" / "test-artifacts" / "desk"
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
#: The laptop size every desk page is checked at; the tablet size is for layout checks.
LAPTOP = (1280, 800)
TABLET = (800, 1280)

RUN_AXE = """async () => {
  const results = await axe.run(document, {resultTypes: ['violations']});
  return results.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map(n => n.target.join(' ')),
  }));
}"""


def open_desk_page(
    browser: Any,
    size: tuple[int, int] = LAPTOP,
    locale: str = "zh-CN",
    errors: list[str] | None = None,
) -> Any:
    """A fresh browser context (own cookies) with one page at ``size``.

    Uncaught script errors are appended to ``errors`` when given. The context bypasses the
    pages' Content-Security-Policy only so that axe-core can be injected for the check.
    """
    width, height = size
    context = browser.new_context(
        viewport={"width": width, "height": height},
        device_scale_factor=1,
        locale=locale,
        timezone_id="Asia/Shanghai",
        accept_downloads=True,
        bypass_csp=True,
    )
    context.set_default_timeout(20000)
    page = context.new_page()
    if errors is not None:
        page.on("pageerror", lambda error: errors.append(str(error)))
    return page


@pytest.fixture
def desk_errors() -> list[str]:
    """Uncaught script errors of ``desk_page``; a test may assert it stays empty."""
    return []


@pytest.fixture
def desk_page(browser: Any, desk_errors: list[str]) -> Iterator[Any]:
    """A 1280×800 zh-CN page in its own context (not signed in); closed afterwards."""
    page = open_desk_page(browser, errors=desk_errors)
    yield page
    page.context.close()


def sign_in(
    page: Any,
    server: LiveServer,
    username: str,
    password: str = PASSWORD,
    next_path: str = "/",
) -> None:
    """Sign in through the real login form, then wait for the page it redirects to."""
    page.goto(f"{server.url}/login?next={quote(next_path, safe='/')}")
    page.locator("#username").fill(username)
    page.locator("#password").fill(password)
    with page.expect_navigation():
        page.locator("#login-form button[type=submit]").click()
    if page.url.split("?")[0].endswith("/login"):
        message = page.locator(".error, .field-error").all_inner_texts()
        raise AssertionError(f"sign-in as {username!r} failed: {message}")


def screenshot(page: Any, name: str, full_page: bool = False) -> Path:
    """Save the page as var/test-artifacts/desk/<name>.png (the viewport unless ``full_page``)."""
    DESK_ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = DESK_ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """Run axe-core on the current page; every violation with its impact and nodes."""
    if not AXE.is_file():
        pytest.fail(f"axe-core missing at {AXE} (run `make vendor`)")
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    return page.evaluate(RUN_AXE)


def assert_accessible(page: Any, impacts: tuple[str, ...] = ("critical",)) -> None:
    """Fail listing every axe violation whose impact is in ``impacts`` (critical by default)."""
    found = [v for v in axe_violations(page) if v["impact"] in impacts]
    if found:
        report = json.dumps(found, ensure_ascii=False, indent=2)
        raise AssertionError(f"axe-core: {len(found)} violation(s) on {page.url}:\n{report}")
