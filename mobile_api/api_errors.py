"""The JSON API's one error envelope, for every error under ``/api/``::

    {"error": {"code": "not_found", "message": "<in the user's language>", "fields": {}}}

``fields`` maps a request field to what is wrong with it (422 validation errors).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from pyramid.config import Configurator
from pyramid.httpexceptions import HTTPException, HTTPForbidden, HTTPNotFound
from pyramid.i18n import TranslationString
from pyramid.request import Request
from pyramid.response import Response

from mobile_api.i18n import _

log = logging.getLogger(__name__)

API_PATHS = r"/api/"

#: Status -> (stable code, default message). Codes are part of the API contract.
ERRORS: dict[int, tuple[str, TranslationString]] = {
    400: ("bad_request", _("The request is malformed.")),
    401: ("unauthenticated", _("Sign in first.")),
    403: ("forbidden", _("You do not have permission to do this.")),
    404: ("not_found", _("There is nothing at this address.")),
    405: ("method_not_allowed", _("This method is not allowed here.")),
    409: ("conflict", _("The request conflicts with the current state of the data.")),
    422: ("validation_failed", _("Some fields are not valid.")),
    500: ("internal_error", _("Something went wrong on our side; it has been logged.")),
}


class ApiError(Exception):
    """Raise from an API view to answer with the envelope."""

    def __init__(
        self,
        status: int,
        message: str | TranslationString | None = None,
        *,
        code: str | None = None,
        fields: dict[str, str | TranslationString] | None = None,
    ) -> None:
        super().__init__(message or status)
        self.status = status
        self.message = message
        self.code = code
        self.fields = fields or {}


class ValidationError(ApiError):
    def __init__(self, fields: dict[str, str | TranslationString]) -> None:
        super().__init__(422, fields=fields)


def envelope(
    request: Request,
    status: int,
    message: str | TranslationString | None = None,
    code: str | None = None,
    fields: dict[str, str | TranslationString] | None = None,
) -> Response:
    default_code, default_message = ERRORS.get(status, ERRORS[500 if status >= 500 else 400])
    translate = request.localizer.translate
    body: dict[str, Any] = {
        "error": {
            "code": code or default_code,
            "message": translate(message or default_message),
            "fields": {name: translate(reason) for name, reason in (fields or {}).items()},
        }
    }
    response = request.response
    response.status_int = status
    response.content_type = "application/json"
    response.charset = "utf-8"
    response.text = json.dumps(body, ensure_ascii=False)
    response.cache_control = "no-store"
    return response


def api_error_view(exc: ApiError, request: Request) -> Response:
    return envelope(request, exc.status, exc.message, exc.code, exc.fields)


def http_exception_view(exc: HTTPException, request: Request) -> Response:
    status = exc.status_int
    if isinstance(exc, HTTPForbidden) and request.authenticated_userid is None:
        status = 401
    if status < 400:  # redirects and the like pass through unchanged
        return exc
    response = envelope(request, status)
    if "Allow" in exc.headers:
        response.headers["Allow"] = exc.headers["Allow"]
    return response


def unexpected_error_view(exc: Exception, request: Request) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.path_qs)
    return envelope(request, 500)


def includeme(config: Configurator) -> None:
    # The path predicate keeps these to the API; more specific contexts first, since
    # Pyramid picks the view by exception class before it looks at predicates.
    config.add_exception_view(api_error_view, context=ApiError, path_info=API_PATHS)
    for context in (HTTPNotFound, HTTPForbidden, HTTPException):
        config.add_exception_view(http_exception_view, context=context, path_info=API_PATHS)
    config.add_exception_view(unexpected_error_view, context=Exception, path_info=API_PATHS)
