"""Bearer tokens: sign in (``POST /tokens``), sign out a device, and who am I."""

from __future__ import annotations

from typing import Any

from pyramid.httpexceptions import HTTPNoContent
from pyramid.request import Request
from pyramid.response import Response

from enforcement.services.accounts import AccountService, AuthenticationError
from enforcement.services.tokens import TokenService
from mobile_api.api import api_view, presenters
from mobile_api.api_errors import envelope
from mobile_api.i18n import _
from mobile_api.security import Permission, record_signin_failure, signin_refusal


@api_view(route_name="api.tokens", request_method="POST")
def issue_token(request: Request) -> dict[str, Any] | Response:
    body = request.openapi_validated.body
    refusal = signin_refusal(request)
    if refusal is not None:  # before the password is looked at: no answer about it either way
        seconds, message = refusal
        response = envelope(request, 429, message, "too_many_failed_signins")
        response.headers["Retry-After"] = str(seconds)
        return response
    try:
        user = AccountService(request.dbsession).authenticate(body["username"], body["password"])
    except AuthenticationError:
        # Returned, not raised: the failure counts (the account's lock, the address's limit)
        # must be committed.
        record_signin_failure(request)
        return envelope(
            request,
            401,
            _(
                "Incorrect username or password, or the account is temporarily locked "
                "after repeated failures."
            ),
            "invalid_credentials",
        )
    issued = TokenService(request.dbsession).issue(user, label=body.get("label", ""))
    request.response.status_int = 201
    request.response.cache_control = "no-store"
    return {
        "token": issued.secret,
        "token_type": "Bearer",
        "expires_at": issued.token.expires_at.isoformat(),
        "user": presenters.me(user),
    }


@api_view(
    route_name="api.tokens.current",
    request_method="DELETE",
    renderer=None,
    permission=Permission.AUTHENTICATED,
)
def revoke_token(request: Request) -> Response:
    token = request.api_token
    if token is not None:  # signed in with the session cookie: nothing to revoke
        TokenService(request.dbsession).revoke(token)
    return HTTPNoContent()


@api_view(route_name="api.me", request_method="GET", permission=Permission.AUTHENTICATED)
def me(request: Request) -> dict[str, Any]:
    return presenters.me(request.identity)
