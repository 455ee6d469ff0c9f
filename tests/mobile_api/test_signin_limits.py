"""Hostile sign-ins: the limit on failed sign-ins per client address (login page and token
endpoint alike, refused before any password is checked), and sessions that end for good at
sign-out, on a new password and on deactivation (``users.session_epoch``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
import webtest
from pyramid.router import Router
from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session

from enforcement.models import Role, SigninFailure, User
from enforcement.services import signin_limits
from enforcement.services.accounts import AccountService
from enforcement.services.signin_limits import SigninLimit
from enforcement.settings import SettingsError
from mobile_api.security import signin_limit_from_settings
from tests.mobile_api.conftest import PASSWORD

LIMIT = 4
WINDOW_SECONDS = 600
ATTACKER = "203.0.113.7"
BYSTANDER = "198.51.100.20"
REFUSED_ZH = "来自你的网络地址的登录失败次数过多，请在 10 分钟后再试。"
REFUSED_EN = "Too many failed sign-ins from your network address. Try again in 10 minutes."
WRONG_ZH = "用户名或密码错误，或账户因多次登录失败已被暂时锁定。"
NEW = "绿茶-检查-2025-西湖"


@pytest.fixture(scope="session")
def limited_app(web_engine: Engine, build_app: Callable[..., Router]) -> Router:
    """The application with a small limit, so a test need not make 20 failures."""
    return build_app(
        web_engine,
        **{
            "suijian.signin.max_failures_per_address": str(LIMIT),
            "suijian.signin.address_window_seconds": str(WINDOW_SECONDS),
        },
    )


def client(app: Router, address: str) -> webtest.TestApp:
    return webtest.TestApp(app, extra_environ={"REMOTE_ADDR": address})


def page_sign_in(
    app: webtest.TestApp, username: str, password: str = PASSWORD, status: int | str = "*"
) -> webtest.TestResponse:
    form = app.get("/login").forms["login-form"]
    form["username"], form["password"] = username, password
    return form.submit(status=status)


def api_sign_in(
    app: webtest.TestApp, username: str, password: str = PASSWORD, **headers: str
) -> webtest.TestResponse:
    return app.post_json(
        "/api/v1/tokens", {"username": username, "password": password}, headers=headers, status="*"
    )


def failures_of(data: Session, address: str) -> int:
    data.rollback()  # a new transaction: the app's commits are visible
    return data.scalar(
        select(func.count()).select_from(SigninFailure).where(SigninFailure.address == address)
    )


def retry_after(response: webtest.TestResponse) -> int:
    seconds = int(response.headers["Retry-After"])
    assert 0 < seconds <= WINDOW_SECONDS
    return seconds


def spray(attacker: webtest.TestApp) -> None:
    """``LIMIT`` wrong passwords over as many usernames, through the page and the API."""
    for n in range(LIMIT):
        username = f"guess{n}"
        if n % 2:
            assert api_sign_in(attacker, username, "Password123!").status_int == 401
        else:
            assert WRONG_ZH in page_sign_in(attacker, username, "Password123!", status=200).text


def test_spraying_from_one_address_is_refused_on_page_and_api(
    limited_app: Router, data: Session, make_user: Callable[..., User]
) -> None:
    make_user("wangfang", Role.SUPERVISOR, display_name="王芳")
    attacker = client(limited_app, ATTACKER)
    spray(attacker)
    assert failures_of(data, ATTACKER) == LIMIT

    # Even the right password is refused now, before it is checked.
    page = page_sign_in(attacker, "wangfang", status=429)
    assert REFUSED_ZH in page.text and retry_after(page) > WINDOW_SECONDS - 60
    assert "suijian_session" not in page.headers.get("Set-Cookie", "")
    assert "王芳" not in attacker.get("/").text  # not signed in
    in_english = client(limited_app, ATTACKER)
    in_english.set_cookie("_LOCALE_", "en")
    assert REFUSED_EN in page_sign_in(in_english, "wangfang", status=429).text

    api = api_sign_in(attacker, "wangfang")
    assert api.status_int == 429 and retry_after(api) > 0
    assert api.headers["Content-Type"].startswith("application/json")
    assert api.json["error"]["code"] == "too_many_failed_signins"
    assert api.json["error"]["message"] == REFUSED_ZH
    api_en = api_sign_in(attacker, "wangfang", **{"Accept-Language": "en"})
    assert api_en.json["error"]["message"] == REFUSED_EN and "token" not in api_en.json

    # The refusals are not failures of the account, nor new failures of the address.
    data.expire_all()
    user = data.scalars(select(User).where(User.username == "wangfang")).one()
    assert user.failed_logins == 0 and user.locked_until is None
    assert failures_of(data, ATTACKER) == LIMIT

    # A forged X-Forwarded-For does not make the attacker someone else.
    forged = api_sign_in(attacker, "wangfang", **{"X-Forwarded-For": BYSTANDER})
    assert forged.status_int == 429

    # Another address is not affected.
    bystander = client(limited_app, BYSTANDER)
    assert page_sign_in(bystander, "wangfang", status=303).location == "http://localhost/"
    assert api_sign_in(client(limited_app, BYSTANDER), "wangfang").status_int == 201


def test_a_success_does_not_reset_the_count(
    limited_app: Router, data: Session, make_user: Callable[..., User]
) -> None:
    make_user("insider", Role.INSPECTOR)
    attacker = client(limited_app, ATTACKER)
    for n in range(LIMIT - 1):
        assert api_sign_in(attacker, f"guess{n}", "Password123!").status_int == 401
    assert api_sign_in(attacker, "insider").status_int == 201  # one known password
    assert api_sign_in(attacker, "guess9", "Password123!").status_int == 401
    assert api_sign_in(attacker, "insider").status_int == 429
    assert failures_of(data, ATTACKER) == LIMIT


def test_the_limit_lifts_as_failures_leave_the_window(
    limited_app: Router, data: Session, make_user: Callable[..., User]
) -> None:
    make_user("zhaolei", Role.INSPECTOR)
    attacker = client(limited_app, ATTACKER)
    spray(attacker)
    assert api_sign_in(attacker, "zhaolei").status_int == 429
    # Age the failures instead of waiting: one falls out of the window, then the address may
    # try again, and its next failure fills the window again.
    data.rollback()
    oldest = data.scalar(select(func.min(SigninFailure.at)))
    data.execute(
        update(SigninFailure)
        .where(SigninFailure.at == oldest)
        .values(at=oldest - dt.timedelta(seconds=WINDOW_SECONDS))
    )
    data.commit()
    assert api_sign_in(attacker, "zhaolei", "wrong password").status_int == 401
    assert api_sign_in(attacker, "zhaolei").status_int == 429
    assert failures_of(data, ATTACKER) == LIMIT  # the aged one was pruned with that failure
    for failure in data.scalars(select(SigninFailure)):
        failure.at -= dt.timedelta(seconds=WINDOW_SECONDS)
    data.commit()
    assert api_sign_in(attacker, "zhaolei").status_int == 201


def test_the_service_counts_a_sliding_window_on_its_clock(data: Session) -> None:
    limit = SigninLimit(max_failures=3, window=dt.timedelta(minutes=15))
    start = dt.datetime(2026, 11, 23, 1, 0, tzinfo=dt.UTC)
    for minutes in (0, 5, 10):
        assert signin_limits.retry_after(data, "10.0.0.1", limit, now=start) is None
        signin_limits.record_failure(
            data, "10.0.0.1", limit, now=start + dt.timedelta(minutes=minutes)
        )
    signin_limits.record_failure(data, "10.0.0.2", limit, now=start)
    now = start + dt.timedelta(minutes=11)
    # Refused until the oldest of the three leaves the window: 15:00 after it, 4 minutes on.
    assert signin_limits.retry_after(data, "10.0.0.1", limit, now=now) == 4 * 60
    assert signin_limits.retry_after(data, "10.0.0.2", limit, now=now) is None
    assert signin_limits.failures(data, "10.0.0.1", limit, now=now) == 3
    later = start + dt.timedelta(minutes=15)
    assert signin_limits.retry_after(data, "10.0.0.1", limit, now=later) is None
    assert signin_limits.failures(data, "10.0.0.1", limit, now=later) == 2
    # Recording prunes every address's failures that no longer count.
    signin_limits.record_failure(data, None, limit, now=later)
    data.commit()
    kept = data.execute(select(SigninFailure.address, SigninFailure.at)).all()
    assert sorted((address, at) for address, at in kept) == [
        ("10.0.0.1", start + dt.timedelta(minutes=5)),
        ("10.0.0.1", start + dt.timedelta(minutes=10)),
        ("unknown", later),
    ]


def test_the_limit_comes_from_the_settings() -> None:
    assert signin_limit_from_settings({}) == SigninLimit(20, dt.timedelta(minutes=15))
    assert signin_limit_from_settings(
        {
            "suijian.signin.max_failures_per_address": "5",
            "suijian.signin.address_window_seconds": " 60 ",
        }
    ) == SigninLimit(5, dt.timedelta(seconds=60))
    for bad in ("0", "-1", "many"):
        with pytest.raises(SettingsError, match="max_failures_per_address"):
            signin_limit_from_settings({"suijian.signin.max_failures_per_address": bad})


# --- sessions end for good ------------------------------------------------------------------


def copy_of(app: Router, original: webtest.TestApp) -> webtest.TestApp:
    """Another browser holding a copy of ``original``'s session cookie."""
    thief = webtest.TestApp(app)
    thief.set_cookie("suijian_session", original.cookies["suijian_session"])
    return thief


def signed_in(app: webtest.TestApp, name: str) -> bool:
    return name in app.get("/").text


def test_a_copied_cookie_stops_working_at_sign_out(
    web_app: Router, data: Session, make_user: Callable[..., User]
) -> None:
    make_user("wangfang", Role.SUPERVISOR, display_name="王芳")
    browser = webtest.TestApp(web_app)
    page_sign_in(browser, "wangfang", status=303)
    thief = copy_of(web_app, browser)
    elsewhere = webtest.TestApp(web_app)
    page_sign_in(elsewhere, "wangfang", status=303)
    assert signed_in(thief, "王芳") and signed_in(elsewhere, "王芳")

    confirm = browser.get("/logout")
    assert "退出登录将结束你的账户在所有浏览器中的会话" in confirm.text
    confirm.forms["logout-form"].submit(status=303)
    assert not signed_in(browser, "王芳")
    # The copy is anonymous (not an error), and so is every other session of the account.
    assert not signed_in(thief, "王芳") and not signed_in(elsewhere, "王芳")
    assert thief.get("/account/password", status=303).location.endswith(
        "/login?next=%2Faccount%2Fpassword"
    )
    # Signing in again works, and the new session is not ended by the old one's copy.
    page_sign_in(browser, "wangfang", status=303)
    assert signed_in(browser, "王芳")


def test_a_password_change_ends_the_other_sessions_only(
    web_app: Router, make_user: Callable[..., User]
) -> None:
    make_user("lina", Role.LIAISON)
    mine, other = webtest.TestApp(web_app), webtest.TestApp(web_app)
    page_sign_in(mine, "lina", status=303)
    page_sign_in(other, "lina", status=303)
    token = api_sign_in(webtest.TestApp(web_app), "lina").json["token"]
    form = mine.get("/account/password").forms["password-form"]
    form["current_password"], form["new_password"], form["confirm_password"] = PASSWORD, NEW, NEW
    assert "你的密码已修改。" in form.submit(status=303).follow().text
    assert signed_in(mine, "Lina")  # the session that made the change stays
    assert not signed_in(other, "Lina")
    # API tokens are not sessions: they stay until revoked or expired.
    webtest.TestApp(web_app).get(
        "/api/v1/me", headers={"Authorization": f"Bearer {token}"}, status=200
    )


def test_a_reset_and_a_deactivation_end_the_sessions(
    web_app: Router, data: Session, make_user: Callable[..., User]
) -> None:
    user = make_user("zhaoli", Role.INSPECTOR)
    browser = webtest.TestApp(web_app)
    page_sign_in(browser, "zhaoli", status=303)
    assert signed_in(browser, "Zhaoli")
    AccountService(data).set_password(user, NEW)  # an administrator's reset
    data.commit()
    assert not signed_in(browser, "Zhaoli")

    page_sign_in(browser, "zhaoli", NEW, status=303)
    assert signed_in(browser, "Zhaoli")
    thief = copy_of(web_app, browser)
    service = AccountService(data)
    assert service.set_active(user, False) and not service.set_active(user, False)
    data.commit()
    assert service.set_active(user, True)
    data.commit()
    # Activated again, the account's earlier sessions do not come back.
    assert not signed_in(browser, "Zhaoli") and not signed_in(thief, "Zhaoli")
    page_sign_in(browser, "zhaoli", NEW, status=303)
    assert signed_in(browser, "Zhaoli")
