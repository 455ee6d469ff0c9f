"""One error envelope for every error under /api/v1, in the user's language."""

from __future__ import annotations

import pytest
import webtest
from pyramid.httpexceptions import HTTPForbidden

from mobile_api.api_errors import ApiError, ValidationError
from mobile_api.i18n import _


def test_unknown_api_path_gets_the_envelope_in_chinese(testapp) -> None:
    response = testapp.get("/api/v1/no-such-thing", status=404)
    assert response.content_type == "application/json"
    assert response.json == {
        "error": {"code": "not_found", "message": "该地址不存在任何内容。", "fields": {}}
    }
    assert "该地址" in response.text  # readable UTF-8, not \\u escapes


def test_unknown_api_path_gets_the_envelope_in_english(testapp) -> None:
    response = testapp.get("/api/v1/no-such-thing", params={"_LOCALE_": "en"}, status=404)
    assert response.json == {
        "error": {"code": "not_found", "message": "There is nothing at this address.", "fields": {}}
    }
    testapp.set_cookie("_LOCALE_", "en")
    assert testapp.get("/api/v1/nothing", status=404).json["error"]["message"].startswith("There")


def test_pages_outside_the_api_keep_html_errors(testapp) -> None:
    page = testapp.get("/no-such-page", status=404)
    assert page.content_type == "text/html" and "页面不存在" in page.text


def _error_views(config) -> None:  # type: ignore[no-untyped-def]
    """Test-only API routes that fail in each way the envelope must cover."""

    def fail(request):  # type: ignore[no-untyped-def]
        kind = request.matchdict["kind"]
        if kind == "forbidden":
            raise HTTPForbidden()
        if kind == "conflict":
            raise ApiError(409, code="duplicate_uscc")
        if kind == "invalid":
            raise ValidationError({"page": _("Must be a whole number from 1.")})
        if kind == "bad":
            raise ApiError(400)
        raise RuntimeError("boom")

    config.add_route("test.fail", "/api/v1/test/{kind}")
    config.add_view(fail, route_name="test.fail", renderer="json")


@pytest.fixture
def failing_api(web_engine, build_app, data) -> webtest.TestApp:  # type: ignore[no-untyped-def]
    return webtest.TestApp(build_app(web_engine, extend=_error_views))


@pytest.mark.parametrize(
    ("kind", "status", "code", "message_zh"),
    [
        ("bad", 400, "bad_request", "请求格式不正确。"),
        ("forbidden", 401, "unauthenticated", "请先登录。"),
        ("conflict", 409, "duplicate_uscc", "请求与数据的当前状态冲突。"),
        ("invalid", 422, "validation_failed", "部分字段无效。"),
        ("crash", 500, "internal_error", "服务器内部出错，错误已记录。"),
    ],
)
def test_every_api_error_uses_the_envelope(failing_api, kind, status, code, message_zh) -> None:
    response = failing_api.get(f"/api/v1/test/{kind}", status=status)
    error = response.json["error"]
    assert (error["code"], error["message"]) == (code, message_zh)
    expected_fields = {"page": "必须是不小于 1 的整数。"} if kind == "invalid" else {}
    assert error["fields"] == expected_fields


def test_forbidden_for_a_signed_in_user_is_403(failing_api, make_user) -> None:
    from enforcement.models import Role

    make_user("someone", Role.ENTERPRISE)
    form = failing_api.get("/login").forms["login-form"]
    form["username"], form["password"] = "someone", "correct horse battery staple"
    form.submit(status=303)
    response = failing_api.get("/api/v1/test/forbidden?_LOCALE_=en", status=403)
    assert response.json["error"] == {
        "code": "forbidden",
        "message": "You do not have permission to do this.",
        "fields": {},
    }


def test_a_value_the_database_cannot_store_is_a_422_not_a_500(testapp: webtest.TestApp) -> None:
    # PostgreSQL refuses NUL characters in text; SQLite stores them and finds no such user.
    answer = testapp.post_json(
        "/api/v1/tokens", {"username": "a\x00b", "password": "x"}, expect_errors=True
    )
    assert answer.status_int in (401, 422)
    if answer.status_int == 422:
        assert "body" in answer.json["error"]["fields"]
