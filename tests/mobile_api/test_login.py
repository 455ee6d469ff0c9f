"""Sign-in against users.password_hash (argon2id), failure counting and the 15-minute lock."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from enforcement.models import Role, User
from enforcement.security import hash_password

GENERIC_ERROR_ZH = "用户名或密码错误，或账户因多次登录失败已被暂时锁定。"


def reload(data: Session, username: str) -> User:
    data.rollback()  # a new transaction, so the app's latest commits are visible
    data.expire_all()
    return data.scalars(select(User).where(User.username == username)).one()


def test_login_success_signs_in_and_logout_signs_out(testapp, data, make_user, sign_in) -> None:
    make_user("wangfang", Role.SUPERVISOR, display_name="王芳")
    response = sign_in(testapp, "wangfang")
    assert response.status_int == 303 and response.location == "http://localhost/"
    home = response.follow()
    assert "王芳" in home.text and "退出登录" in home.text
    assert "检查对象名录库" in home.text  # a supervisor sees the directory link

    confirm = testapp.get("/logout")
    signed_out = confirm.forms["logout-form"].submit(status=303).follow()
    assert "王芳" not in signed_out.text and 'href="/login"' in signed_out.text


def test_a_users_language_preference_applies_after_sign_in(testapp, make_user, sign_in) -> None:
    make_user("smith", Role.SUPERVISOR, locale="en")
    assert "市场主体" in testapp.get("/").text
    sign_in(testapp, "smith")
    assert "Market entities" in testapp.get("/").text
    # An explicit choice still wins.
    assert "市场主体" in testapp.get("/", params={"_LOCALE_": "zh_CN"}).text


def test_login_goes_back_to_the_page_asked_for(testapp, make_user, sign_in) -> None:
    make_user("lina", Role.INSPECTOR)
    redirect = testapp.get("/directory/enterprises?q=abc", status=303)
    login_page = redirect.follow()
    form = login_page.forms["login-form"]
    form["username"], form["password"] = "lina", "correct horse battery staple"
    assert form.submit(status=303).location == "http://localhost/directory/enterprises?q=abc"


def test_wrong_password_and_unknown_user_get_the_same_generic_message(
    testapp, data, make_user, sign_in
) -> None:
    make_user("zhaolei", Role.INSPECTOR)
    wrong = sign_in(testapp, "zhaolei", "wrong password")
    unknown = sign_in(testapp, "nobody", "wrong password")
    for response in (wrong, unknown):
        assert response.status_int == 200
        assert GENERIC_ERROR_ZH in response.text
        assert "suijian_session" not in response.headers.get("Set-Cookie", "")
    assert reload(data, "zhaolei").failed_logins == 1


def test_missing_fields_are_named(testapp, sign_in) -> None:
    response = sign_in(testapp, "", "")
    assert "请输入用户名。" in response.text and "请输入密码。" in response.text


def test_login_without_csrf_token_is_refused(testapp, make_user) -> None:
    make_user("csrf", Role.ADMIN)
    testapp.post(
        "/login", {"username": "csrf", "password": "correct horse battery staple"}, status=400
    )


def test_five_failures_lock_the_account_for_15_minutes(testapp, data, make_user, sign_in) -> None:
    make_user("liuyang", Role.SUPERVISOR)
    for attempt in range(1, 5):
        sign_in(testapp, "liuyang", f"guess {attempt}")
        assert reload(data, "liuyang").failed_logins == attempt
    before = dt.datetime.now(dt.UTC)
    sign_in(testapp, "liuyang", "guess 5")
    user = reload(data, "liuyang")
    assert user.locked_until is not None
    assert before + dt.timedelta(minutes=14) < user.locked_until
    assert user.locked_until <= dt.datetime.now(dt.UTC) + dt.timedelta(minutes=15)

    # Locked: even the right password is refused, with the same message.
    refused = sign_in(testapp, "liuyang")
    assert refused.status_int == 200 and GENERIC_ERROR_ZH in refused.text

    # Once the lock has expired the right password works and clears the record. (Reloaded:
    # the refusal above wrote the address's failure, which SQLite will not let an older
    # read transaction write over.)
    user = reload(data, "liuyang")
    user.locked_until = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    data.commit()
    assert sign_in(testapp, "liuyang").status_int == 303
    user = reload(data, "liuyang")
    assert user.failed_logins == 0 and user.locked_until is None


def test_success_resets_the_failure_count(testapp, data, make_user, sign_in) -> None:
    make_user("sunli", Role.INSPECTOR)
    for _ in range(3):
        sign_in(testapp, "sunli", "nope")
    assert reload(data, "sunli").failed_logins == 3
    assert sign_in(testapp, "sunli").status_int == 303
    assert reload(data, "sunli").failed_logins == 0


def test_inactive_account_cannot_sign_in(testapp, make_user, sign_in) -> None:
    make_user("gone", Role.INSPECTOR, active=False)
    assert GENERIC_ERROR_ZH in sign_in(testapp, "gone").text


def test_outdated_hash_parameters_are_upgraded_on_sign_in(testapp, data, sign_in) -> None:
    from argon2 import PasswordHasher

    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    data.add(
        User(
            username="legacy",
            display_name="Legacy",
            role=Role.INSPECTOR,
            password_hash=weak.hash("correct horse battery staple"),
        )
    )
    data.commit()
    assert sign_in(testapp, "legacy").status_int == 303
    upgraded = reload(data, "legacy").password_hash
    # Now hashed with the current parameters (the "m=...,t=...,p=..." field of the PHC string).
    assert upgraded.split("$")[3] == hash_password("x").split("$")[3] != "m=8,t=1,p=1"
    testapp.reset()  # signed out: the upgraded hash still accepts the password
    assert sign_in(testapp, "legacy").status_int == 303
