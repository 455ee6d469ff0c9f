"""Sign in, sign out and the language switch."""

from __future__ import annotations

from typing import Any

from pyramid.httpexceptions import HTTPNotFound, HTTPSeeOther
from pyramid.request import Request
from pyramid.response import Response
from pyramid.security import forget, remember
from pyramid.view import view_config

from enforcement.services.accounts import AccountService, AuthenticationError
from enforcement.settings import as_bool
from mobile_api.i18n import LOCALE_COOKIE, _, normalise_locale
from mobile_api.security import record_signin_failure, signin_refusal

LOCALE_COOKIE_MAX_AGE = 365 * 24 * 3600


def safe_next(request: Request, value: str | None) -> str:
    """A same-site path to go to after a form; anything else becomes the home page."""
    if value and value.startswith("/") and not value.startswith(("//", "/\\")):
        return value
    return request.route_path("home")


@view_config(route_name="login", request_method="GET", renderer="login.jinja2")
def login_form(request: Request) -> dict[str, Any] | Response:
    next_url = safe_next(request, request.params.get("next"))
    if request.authenticated_userid is not None:
        return HTTPSeeOther(next_url)
    return {"next": next_url, "username": "", "errors": {}, "error": None}


@view_config(route_name="login", request_method="POST", renderer="login.jinja2")
def login(request: Request) -> dict[str, Any] | Response:
    username = request.POST.get("username", "").strip()
    password = request.POST.get("password", "")
    next_url = safe_next(request, request.POST.get("next"))
    form = {"next": next_url, "username": username, "errors": {}, "error": None}
    if not username:
        form["errors"]["username"] = _("Enter your username.")
    if not password:
        form["errors"]["password"] = _("Enter your password.")
    if form["errors"]:
        return form
    refusal = signin_refusal(request)
    if refusal is not None:  # before the password is looked at: no answer about it either way
        seconds, form["error"] = refusal
        request.response.status_int = 429
        request.response.headers["Retry-After"] = str(seconds)
        return form
    try:
        user = AccountService(request.dbsession).authenticate(username, password)
    except AuthenticationError:
        # One message for every refusal (locked included): it must not reveal which usernames
        # exist. The form is re-rendered with 200 so the failure counts are committed.
        record_signin_failure(request)
        form["error"] = _(
            "Incorrect username or password, or the account is temporarily locked "
            "after repeated failures."
        )
        return form
    # A new session on sign-in: a session id planted before cannot be reused (fixation).
    request.session.invalidate()
    return HTTPSeeOther(next_url, headers=remember(request, user.id))


@view_config(route_name="logout", request_method="GET", renderer="logout.jinja2")
def logout_form(request: Request) -> dict[str, Any] | Response:
    if request.authenticated_userid is None:
        return HTTPSeeOther(request.route_path("home"))
    return {}


@view_config(route_name="logout", request_method="POST")
def logout(request: Request) -> Response:
    user = request.identity
    if user is not None and request.api_token is None:
        # Every session of the account ends, including copies of this cookie.
        AccountService(request.dbsession).end_sessions(user)
    headers = forget(request)
    request.session.invalidate()
    return HTTPSeeOther(request.route_path("home"), headers=headers)


@view_config(route_name="set_locale", request_method="GET")
def set_locale(request: Request) -> Response:
    locale = normalise_locale(request.matchdict["locale"])
    if locale is None:
        raise HTTPNotFound()
    response = HTTPSeeOther(safe_next(request, request.params.get("next")))
    response.set_cookie(
        LOCALE_COOKIE,
        locale,
        max_age=LOCALE_COOKIE_MAX_AGE,
        path="/",
        httponly=True,
        samesite="Lax",
        secure=as_bool(request.registry.settings.get("suijian.secure_cookies", False)),
    )
    return response
