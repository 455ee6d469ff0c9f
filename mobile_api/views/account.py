"""The signed-in person's own account: changing their password.

The change goes through ``AccountService.change_password``: the current password must be
right (a wrong one counts towards the sign-in lock, so the form cannot be used to guess it)
and the new one must pass the password policy. A refusal re-renders the form (422) with each
field's reason; the failure count is still committed (pyramid_tm commits unless the view
raises). A new password ends every other session of the account (``users.session_epoch``);
the one that made the change stays signed in.
"""

from __future__ import annotations

from typing import Any

from pyramid.httpexceptions import HTTPSeeOther
from pyramid.request import Request
from pyramid.response import Response
from pyramid.view import view_config

from enforcement.services.accounts import (
    MIN_PASSWORD_LENGTH,
    AccountLockedError,
    AccountService,
    AccountValidationError,
)
from mobile_api.i18n import _
from mobile_api.security import Permission, keep_session

#: The service's field names -> the form's.
FORM_FIELDS = {"current_password": "current_password", "password": "new_password"}


def _page(errors: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"errors": errors or {}, "min_length": MIN_PASSWORD_LENGTH}


@view_config(
    route_name="account.password",
    request_method="GET",
    renderer="account/password.jinja2",
    permission=Permission.AUTHENTICATED,
)
def password_form(request: Request) -> dict[str, Any]:
    return _page()


@view_config(
    route_name="account.password",
    request_method="POST",
    renderer="account/password.jinja2",
    permission=Permission.AUTHENTICATED,
)
def change_password(request: Request) -> dict[str, Any] | Response:
    current = request.POST.get("current_password", "")
    new = request.POST.get("new_password", "")
    confirm = request.POST.get("confirm_password", "")
    errors: dict[str, Any] = {}
    if not current:
        errors["current_password"] = _("Enter your current password.")
    if not new:
        errors["new_password"] = _("Enter a new password.")
    elif new != confirm:
        errors["confirm_password"] = _("The two new passwords are not the same.")
    if not errors:
        try:
            AccountService(request.dbsession).change_password(request.identity, current, new)
        except AccountLockedError:
            errors["current_password"] = _(
                "Too many wrong passwords: the account is locked for a while. Try again later."
            )
        except AccountValidationError as exc:
            errors = {FORM_FIELDS.get(field, field): why for field, why in exc.errors.items()}
    if errors:
        # Passwords are never sent back into the form.
        request.response.status_int = 422
        return _page(errors)
    keep_session(request, request.identity)
    request.session.flash(request.localizer.translate(_("Your password has been changed.")))
    return HTTPSeeOther(request.route_path("account.password"))
