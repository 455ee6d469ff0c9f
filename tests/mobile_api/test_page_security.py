"""Pages against hostile use: CSRF on every state-changing form, security headers on pages and
the API, markup in data shown inert, sign-in lockout through the API too, the password policy,
and idle sessions expiring.

The route lists come from the introspector (as in ``test_access_matrix.py``), so a new form
route is covered without an edit here. The web tests run on both backends except where the
docstring says why one is enough.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Callable, Iterator

import pytest
import webtest
from pyramid import session as pyramid_session
from pyramid.router import Router
from sqlalchemy import select
from sqlalchemy.orm import Session

from enforcement.models import AuditLog, PublicRecord, Role, User
from enforcement.security import verify_password
from enforcement.services import disclosure
from enforcement.services.accounts import (
    MIN_PASSWORD_LENGTH,
    AccountService,
    AccountValidationError,
    password_problem,
)
from enforcement.services.evidence import evidence_store
from mobile_api import security
from mobile_api.sessions import DEFAULT_TIMEOUT
from tests import factories
from tests.evidence_helpers import FINISHED_AT, finish, make_scene
from tests.mobile_api.conftest import PASSWORD, submit_login
from tests.mobile_api.test_access_matrix import route_patterns, sample_path, view_table
from tests.transfer_helpers import make_transfer_scene

SCRIPT = "<script>alert(1)</script>"
ATTRIBUTE = '"><img src=x onerror=alert(1)>'
SCRIPT_ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
ATTRIBUTE_ESCAPED = "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;"


def csrf_of(page: webtest.TestResponse) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found is not None
    return found.group(1)


def page_post_routes(app: Router) -> list[tuple[str, str]]:
    """(route, sample path) of every page route whose views take POST (or any method)."""
    patterns = route_patterns(app)
    return sorted(
        (route, sample_path(patterns[route]))
        for route, methods in view_table(app).items()
        if not patterns[route].startswith("/api/")
        and not route.startswith("__static")
        and ({"POST", "*"} & set(methods))
    )


# --- CSRF --------------------------------------------------------------------------------


def test_every_form_route_refuses_a_post_without_the_token(
    backend: str,
    web_app: Router,
    testapp: webtest.TestApp,
    make_user: Callable[..., User],
    sign_in: Callable[..., webtest.TestResponse],
) -> None:
    """An administrator passes every permission, so only the CSRF check can refuse. One
    backend: the check runs before the view, with no SQL."""
    if backend != "postgis":
        pytest.skip("the CSRF check runs before any SQL")
    make_user("csrf-admin", Role.ADMIN)
    sign_in(testapp, "csrf-admin")
    token = csrf_of(testapp.get("/logout"))
    routes = page_post_routes(web_app)
    assert ("login", "/login") in routes and ("console.imports", "/console/imports") in routes
    let_through = []
    for route, path in routes:
        for body in ({}, {"csrf_token": "forged" + token[6:]}):
            answer = testapp.post(path, body, expect_errors=True)
            if answer.status_int != 400:
                let_through.append((route, body and "forged", answer.status_int))
    assert let_through == []
    # The session is still signed in: the refusals were the token's, not the sign-in's.
    assert testapp.get("/console/").status_int == 200


def test_a_forged_header_token_is_refused_too(testapp: webtest.TestApp) -> None:
    testapp.get("/login")
    answer = testapp.post("/login", {}, headers={"X-CSRF-Token": "nope"}, expect_errors=True)
    assert answer.status_int == 400


# --- security headers ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    ["/", "/login", "/public/", "/api/v1/health", "/api/v1/plans", "/static/suijian.css"],
)
def test_security_headers_on_pages_and_api(testapp: webtest.TestApp, path: str) -> None:
    answer = testapp.get(path, expect_errors=True)
    headers = answer.headers
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert headers["Referrer-Policy"] in {"same-origin", "no-referrer"}
    assert "Strict-Transport-Security" not in headers  # plain HTTP: no HSTS promise
    if not path.startswith("/api/"):
        directives = dict(
            part.strip().split(" ", 1) for part in headers["Content-Security-Policy"].split(";")
        )
        assert directives["script-src"] == "'self'"  # no inline script, no eval
        assert directives["object-src"] == directives["base-uri"] == "'none'"


def test_hsts_over_https_and_own_policies_kept(testapp: webtest.TestApp) -> None:
    secure = testapp.get("/login", extra_environ={"wsgi.url_scheme": "https"})
    assert secure.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    api = testapp.get("/api/v1/health", extra_environ={"wsgi.url_scheme": "https"})
    assert "Strict-Transport-Security" in api.headers
    # The tablet shell allows its import map by hash: the default must not replace that.
    tablet = testapp.get("/tablet/")
    assert "sha256-" in tablet.headers["Content-Security-Policy"]
    assert testapp.get("/verify/nothing-here", expect_errors=True).headers["Referrer-Policy"] in {
        "no-referrer",
        "same-origin",
    }


def test_no_page_template_runs_inline_script() -> None:
    """The page CSP allows no inline script: templates may only carry data blocks."""
    from pathlib import Path

    templates = Path(__file__).parents[2] / "mobile_api" / "templates"
    for template in templates.rglob("*.jinja2"):
        text = template.read_text(encoding="utf-8")
        for tag in re.findall(r"<script\b[^>]*>", text):
            assert "src=" in tag or re.search(r'type="(application/json|importmap)"', tag), (
                template.name,
                tag,
            )
        assert not re.search(r"\son[a-z]+=", text), template.name


# --- output escaping ---------------------------------------------------------------------


@pytest.fixture
def hostile(data: Session, web_app: Router, make_user: Callable[..., User]) -> Iterator[dict]:
    """Enterprises named like attacks: one with a case (console), one with a published
    record (public pages, portal)."""
    ts = make_transfer_scene(data, evidence_store(web_app.registry.settings))
    ts.scene.enterprise.name = SCRIPT
    published = make_scene(data, plan_code="HOSTILE-PUB")
    published.enterprise.name = ATTRIBUTE
    finish(published.inspection, None, refused=True)
    data.flush()
    disclosure.run(data, clock=lambda: FINISHED_AT + dt.timedelta(hours=1))
    data.commit()
    record = data.scalars(
        select(PublicRecord).where(PublicRecord.enterprise_id == published.enterprise.id)
    ).first()
    assert record is not None
    make_user("xss-admin", Role.ADMIN)
    make_user("xss-firm", Role.ENTERPRISE, enterprise_id=published.enterprise.id)
    yield {"case_id": ts.case.id, "record_id": record.id}


def inert(page: webtest.TestResponse, raw: str, escaped: str) -> None:
    assert raw not in page.text
    assert escaped in page.text


def test_hostile_names_are_shown_inert(
    testapp: webtest.TestApp, hostile: dict, sign_in: Callable[..., webtest.TestResponse]
) -> None:
    inert(testapp.get("/public/"), ATTRIBUTE, ATTRIBUTE_ESCAPED)
    inert(testapp.get(f"/public/records/{hostile['record_id']}"), ATTRIBUTE, ATTRIBUTE_ESCAPED)
    sign_in(testapp, "xss-firm")
    inert(testapp.get("/portal/"), ATTRIBUTE, ATTRIBUTE_ESCAPED)
    testapp.post("/logout", {"csrf_token": csrf_of(testapp.get("/logout"))})
    sign_in(testapp, "xss-admin")
    inert(testapp.get(f"/console/cases/{hostile['case_id']}"), SCRIPT, SCRIPT_ESCAPED)
    directory = testapp.get("/directory/enterprises", {"q": "script"})
    inert(directory, SCRIPT, SCRIPT_ESCAPED)
    # The search box echoes the query escaped as well.
    echoed = testapp.get("/directory/enterprises", {"q": ATTRIBUTE})
    assert ATTRIBUTE not in echoed.text


def test_hostile_names_in_the_api_are_json_not_markup(
    testapp: webtest.TestApp, hostile: dict
) -> None:
    answer = testapp.get(f"/api/v1/public-records/{hostile['record_id']}")
    assert answer.content_type == "application/json"
    assert ATTRIBUTE in answer.text  # data as given; a JSON document is never rendered


# --- sign-in lockout through the API -------------------------------------------------------


def test_the_token_endpoint_counts_failures_and_locks_like_the_form(
    testapp: webtest.TestApp, data: Session, make_user: Callable[..., User]
) -> None:
    make_user("api-guess", Role.INSPECTOR)
    for attempt in range(5):
        testapp.post_json(
            "/api/v1/tokens", {"username": "api-guess", "password": f"guess {attempt}"}, status=401
        )
    refused = testapp.post_json(
        "/api/v1/tokens", {"username": "api-guess", "password": PASSWORD}, status=401
    )
    assert refused.json["error"]["code"] == "invalid_credentials"
    data.expire_all()
    user = data.scalar(select(User).where(User.username == "api-guess"))
    assert user is not None and user.locked_until is not None
    # The form refuses it too: one lock for both ways in.
    assert submit_login(testapp, "api-guess").status_int == 200  # re-shown, not signed in


# --- password policy -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("short", "at least"),
        ("x" * (MIN_PASSWORD_LENGTH - 1), "at least"),
        ("y" * 129, "at most"),
        ("Password2024!", "common"),
        ("qwertyuiop!!", "common"),
        ("123456789012", "common"),
        ("aaaaaaaaaaaaaaaa", "repeated or consecutive"),
        ("abcdefghijklmnop", "repeated or consecutive"),
        ("wangfang-2025-x", "username"),
        (None, "at least"),
    ],
)
def test_weak_passwords_are_refused_with_a_reason(password: object, why: str) -> None:
    problem = password_problem(password, username="wangfang")
    assert problem is not None and why in problem
    assert problem.msgid  # a translatable reason, not an f-string


def test_a_good_password_passes() -> None:
    assert password_problem(PASSWORD, username="wangfang") is None
    assert password_problem("绿茶-检查-2025-西湖", username="wangfang") is None


def test_account_creation_and_password_change_apply_the_policy(data: Session) -> None:
    department = factories.DepartmentFactory()
    accounts = AccountService(data)
    with pytest.raises(AccountValidationError) as refused:
        accounts.create_user(
            username="wangfang",
            display_name="王芳",
            role="inspector",
            password="password123",
            department_id=department.id,
        )
    assert set(refused.value.errors) == {"password"}
    with pytest.raises(AccountValidationError) as refused:
        accounts.create_user(username="", display_name="", role="pilot", password="")
    assert set(refused.value.errors) == {"username", "display_name", "role", "password"}
    user = accounts.create_user(
        username="wangfang",
        display_name="王芳",
        role=Role.SUPERVISOR,
        password=PASSWORD,
        department_id=department.id,
    )
    data.commit()
    assert verify_password(user.password_hash, PASSWORD).ok
    with pytest.raises(AccountValidationError) as refused:
        accounts.create_user(
            username="wangfang", display_name="另一个", role="inspector", password=PASSWORD + "!"
        )
    assert set(refused.value.errors) == {"username"}

    with pytest.raises(AccountValidationError) as refused:
        accounts.change_password(user, "wrong current password", "a new long passphrase")
    assert set(refused.value.errors) == {"current_password"} and user.failed_logins == 1
    with pytest.raises(AccountValidationError) as refused:
        accounts.change_password(user, PASSWORD, "iloveyou2024")
    assert "common" in refused.value.errors["password"]
    with pytest.raises(AccountValidationError):
        accounts.change_password(user, PASSWORD, PASSWORD)  # must differ
    accounts.change_password(user, PASSWORD, "a new long passphrase")
    data.commit()
    assert verify_password(user.password_hash, "a new long passphrase").ok
    assert user.failed_logins == 0
    actions = data.scalars(select(AuditLog.action).where(AuditLog.entity_id == str(user.id)))
    assert {"account.create", "account.password"} <= set(actions)


# --- session expiry ----------------------------------------------------------------------


class Clock:
    """``time.time`` as pyramid's signed-cookie session reads it, moved by the test."""

    def __init__(self) -> None:
        self.offset = 0.0

    def time(self) -> float:
        return time.time() + self.offset


def test_an_idle_session_expires_and_activity_keeps_it(
    testapp: webtest.TestApp,
    make_user: Callable[..., User],
    sign_in: Callable[..., webtest.TestResponse],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = Clock()
    monkeypatch.setattr(pyramid_session, "time", clock)
    monkeypatch.setattr(security, "time", clock)
    make_user("idle-boss", Role.SUPERVISOR)
    sign_in(testapp, "idle-boss")
    assert testapp.get("/console/").status_int == 200
    # Active every 0.6 timeout: the session is reissued and lives on.
    for _ in range(3):
        clock.offset += DEFAULT_TIMEOUT * 0.6
        assert testapp.get("/console/").status_int == 200
    # Idle for longer than the timeout: signed out, sent to the login page.
    clock.offset += DEFAULT_TIMEOUT + 1
    expired = testapp.get("/console/", expect_errors=True)
    assert expired.status_int == 303 and "/login" in expired.headers["Location"]
    assert testapp.get("/api/v1/me", expect_errors=True).status_int == 401


def test_a_busy_session_still_ends_at_its_maximum_age(
    testapp: webtest.TestApp,
    make_user: Callable[..., User],
    sign_in: Callable[..., webtest.TestResponse],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Activity keeps a session from idling out, not for ever: after
    ``DEFAULT_SESSION_MAX_AGE`` the person signs in again (a copied cookie dies too)."""
    clock = Clock()
    monkeypatch.setattr(pyramid_session, "time", clock)
    monkeypatch.setattr(security, "time", clock)
    make_user("busy-boss", Role.SUPERVISOR)
    sign_in(testapp, "busy-boss")
    step = DEFAULT_TIMEOUT * 0.5
    while clock.offset + step < security.DEFAULT_SESSION_MAX_AGE:
        clock.offset += step
        assert testapp.get("/console/").status_int == 200
    clock.offset = security.DEFAULT_SESSION_MAX_AGE + 1
    ended = testapp.get("/console/", expect_errors=True)
    assert ended.status_int == 303 and "/login" in ended.headers["Location"]
    assert sign_in(testapp, "busy-boss").status_int == 303  # a new sign-in starts afresh
    assert testapp.get("/console/").status_int == 200
