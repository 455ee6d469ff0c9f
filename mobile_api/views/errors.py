"""Error pages for people (the API answers with its JSON envelope instead)."""

from __future__ import annotations

import logging
from typing import Any

from pyramid.httpexceptions import HTTPSeeOther
from pyramid.request import Request
from pyramid.response import Response
from pyramid.view import exception_view_config, forbidden_view_config, notfound_view_config

from enforcement.db import RETRY_AFTER_SECONDS, database_unavailable
from mobile_api.db import identity_from_memory, retry_if_stale
from mobile_api.i18n import _

log = logging.getLogger(__name__)


@notfound_view_config(renderer="error.jinja2")
def not_found(request: Request) -> dict[str, Any]:
    request.response.status_int = 404
    return {"title": _("Page not found"), "message": _("There is nothing at this address.")}


@forbidden_view_config(renderer="error.jinja2")
def forbidden(request: Request) -> dict[str, Any] | Response:
    if request.authenticated_userid is None:
        login = request.route_path("login", _query={"next": request.path_qs})
        return HTTPSeeOther(login)
    request.response.status_int = 403
    return {
        "title": _("Not allowed"),
        "message": _("Your role does not give access to this page."),
    }


@exception_view_config(Exception, renderer="error.jinja2")
def server_error(exc: Exception, request: Request) -> dict[str, Any]:
    # The database may be what failed (down, or a PostgreSQL transaction aborted by the
    # error): the page must render from memory, or the error view fails in turn.
    identity_from_memory(request)
    retry_if_stale(exc)
    if database_unavailable(exc):
        log.warning("database unavailable on %s %s: %s", request.method, request.path_qs, exc)
        request.response.status_int = 503
        request.response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        request.response.cache_control = "no-store"
        return {
            "title": _("Temporarily unavailable"),
            "message": _(
                "The database cannot be reached at the moment. Please try again in a minute; "
                "if you were saving a form, send it again."
            ),
        }
    log.exception("unhandled error on %s %s", request.method, request.path_qs)
    request.response.status_int = 500
    return {
        "title": _("Something went wrong"),
        "message": _("The error has been logged. Please try again later."),
    }
