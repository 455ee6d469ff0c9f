"""``/account/password``: a signed-in person changes their own password through
``AccountService.change_password``; refusals are shown next to their field in the reader's
language, a wrong current password counts towards the lock, the form needs its CSRF token."""

from __future__ import annotations

import re
from collections.abc import Callable

import webtest
from sqlalchemy import select
from sqlalchemy.orm import Session

from enforcement.models import AuditLog, Role, User
from enforcement.security import verify_password
from tests.mobile_api.conftest import PASSWORD

NEW = "绿茶-检查-2025-西湖"


def reload(data: Session, username: str) -> User:
    data.rollback()  # a new transaction, so the app's latest commits are visible
    data.expire_all()
    return data.scalars(select(User).where(User.username == username)).one()


def field_error(page: webtest.TestResponse, field: str) -> str:
    found = re.search(rf'<p class="field-error" id="{field}-error">([^<]*)</p>', page.text)
    assert found is not None, f"no error shown next to {field}"
    return found.group(1)


def submit(
    app: webtest.TestApp, current: str, new: str, confirm: str | None = None, status: int = 303
) -> webtest.TestResponse:
    form = app.get("/account/password").forms["password-form"]
    form["current_password"] = current
    form["new_password"] = new
    form["confirm_password"] = new if confirm is None else confirm
    return form.submit(status=status)


def test_the_page_is_for_signed_in_people(
    testapp: webtest.TestApp, make_user: Callable[..., User], sign_in: Callable[..., object]
) -> None:
    answer = testapp.get("/account/password", status=303)
    assert answer.location.endswith("/login?next=%2Faccount%2Fpassword")
    make_user("qiye", Role.ENTERPRISE, display_name="东阳示范餐饮")
    sign_in(testapp, "qiye")
    home = testapp.get("/")
    assert 'href="/account/password"' in home.text and "修改密码" in home.text  # header link
    page = testapp.get("/account/password")
    assert "<h1>修改密码</h1>" in page.text and 'autocomplete="new-password"' in page.text


def test_a_wrong_current_password_is_refused_and_counted(
    testapp: webtest.TestApp,
    data: Session,
    make_user: Callable[..., User],
    sign_in: Callable[..., object],
) -> None:
    make_user("wangfang", Role.INSPECTOR)
    sign_in(testapp, "wangfang")
    page = submit(testapp, "not my password at all", NEW, status=422)
    assert field_error(page, "current_password") == "不正确"
    assert "new_password-error" not in page.text
    assert NEW not in page.text and "not my password" not in page.text  # never echoed
    user = reload(data, "wangfang")
    assert verify_password(user.password_hash, PASSWORD).ok
    assert user.failed_logins == 1  # committed with the refusal, as a failed sign-in is

    page = submit(testapp, "", "", status=422)
    assert field_error(page, "current_password") == "请输入当前密码。"
    assert field_error(page, "new_password") == "请输入新密码。"
    page = submit(testapp, PASSWORD, NEW, confirm=NEW + "!", status=422)
    assert field_error(page, "confirm_password") == "两次输入的新密码不一致。"
    assert reload(data, "wangfang").failed_logins == 1  # form errors are not guesses


def test_a_weak_new_password_is_refused_with_the_reason_in_chinese(
    testapp: webtest.TestApp,
    data: Session,
    make_user: Callable[..., User],
    sign_in: Callable[..., object],
) -> None:
    make_user("zhaoli", Role.SUPERVISOR)
    sign_in(testapp, "zhaoli")
    page = submit(testapp, PASSWORD, "iloveyou2024", status=422)
    assert field_error(page, "new_password") == "属于最常见的密码之一，请另选"
    page = submit(testapp, PASSWORD, "short", status=422)
    assert field_error(page, "new_password") == "不得少于 12 个字符"
    page = submit(testapp, PASSWORD, "zhaoli-the-supervisor", status=422)
    assert field_error(page, "new_password") == "不得包含用户名"
    page = submit(testapp, PASSWORD, PASSWORD, status=422)
    assert field_error(page, "new_password") == "不得与当前密码相同"
    # In English for a reader who asks for it.
    testapp.get("/lang/en")
    page = submit(testapp, PASSWORD, "abcdefghijklmn", status=422)
    assert field_error(page, "new_password") == (
        "is a repeated or consecutive run of characters; choose another"
    )
    user = reload(data, "zhaoli")
    assert verify_password(user.password_hash, PASSWORD).ok and user.failed_logins == 0


def test_a_change_lets_one_sign_in_with_the_new_password_only(
    testapp: webtest.TestApp,
    web_app: object,
    data: Session,
    make_user: Callable[..., User],
    sign_in: Callable[..., webtest.TestResponse],
) -> None:
    user = make_user("lina", Role.LIAISON)
    sign_in(testapp, "lina")
    done = submit(testapp, PASSWORD, NEW)
    assert done.location.endswith("/account/password")
    shown = done.follow()
    assert "你的密码已修改。" in shown.text
    assert "你的密码已修改。" not in testapp.get("/account/password").text  # shown once
    actions = data.execute(
        select(AuditLog.action, AuditLog.actor_id).where(
            AuditLog.entity_type == "users", AuditLog.entity_id == str(user.id)
        )
    ).all()
    assert [tuple(row) for row in actions] == [("account.password", user.id)]

    other = webtest.TestApp(web_app)
    assert sign_in(other, "lina", PASSWORD).status_int == 200  # the old one: refused
    assert sign_in(other, "lina", NEW).status_int == 303
    assert "Lina" in other.get("/").text


def test_the_form_needs_its_csrf_token(
    testapp: webtest.TestApp,
    data: Session,
    make_user: Callable[..., User],
    sign_in: Callable[..., object],
) -> None:
    make_user("chen", Role.ADMIN)
    sign_in(testapp, "chen")
    form = testapp.get("/account/password").forms["password-form"]
    token = form["csrf_token"].value
    body = {"current_password": PASSWORD, "new_password": NEW, "confirm_password": NEW}
    testapp.post("/account/password", body, status=400)
    testapp.post("/account/password", {**body, "csrf_token": "forged" + token[6:]}, status=400)
    assert verify_password(reload(data, "chen").password_hash, PASSWORD).ok
    testapp.post("/account/password", {**body, "csrf_token": token}, status=303)
    assert verify_password(reload(data, "chen").password_hash, NEW).ok
