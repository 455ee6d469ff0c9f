"""The shared page frame (base.jinja2 + suijian.css) in Chromium: the home page, the sign-in
page and a signed-in page pass axe-core (no critical or serious violations: lang, landmarks,
contrast), and signing in through the form works (the desk helpers every page test uses)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from enforcement.models import Role, User
from tests.mobile_api.browser.desk import assert_accessible, screenshot, sign_in
from tests.mobile_api.browser.harness import LiveServer

STRICT = ("critical", "serious")


def test_home_and_login_pass_axe(desk_page: Any, live_server: LiveServer, data: Any) -> None:
    desk_page.goto(f"{live_server.url}/")
    assert desk_page.locator("html").get_attribute("lang") == "zh-CN"
    screenshot(desk_page, "home")
    assert_accessible(desk_page, STRICT)
    desk_page.goto(f"{live_server.url}/login")
    screenshot(desk_page, "login")
    assert_accessible(desk_page, STRICT)


def test_english_frame_passes_axe(desk_page: Any, live_server: LiveServer, data: Any) -> None:
    desk_page.goto(f"{live_server.url}/?_LOCALE_=en")
    assert desk_page.locator("html").get_attribute("lang") == "en"
    assert_accessible(desk_page, STRICT)


def test_sign_in_through_the_form(
    desk_page: Any, live_server: LiveServer, make_user: Callable[..., User]
) -> None:
    make_user("desk-sup", Role.SUPERVISOR, display_name="Desk Supervisor")
    sign_in(desk_page, live_server, "desk-sup", next_path="/")
    assert desk_page.locator("header .who").inner_text() == "Desk Supervisor"
    screenshot(desk_page, "home-signed-in")
    assert_accessible(desk_page, STRICT)
