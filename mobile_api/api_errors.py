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
from pyramid_openapi3.exceptions import RequestValidationError, ResponseValidationError
from sqlalchemy.exc import DataError, SQLAlchemyError

from enforcement.db import RETRY_AFTER_SECONDS, database_unavailable
from enforcement.reasons import reason_of
from enforcement.services.cases import (
    CaseHiddenError,
    CaseNotFoundError,
    CasePermissionError,
    CaseStaleVersionError,
    CaseStateError,
    CaseValidationError,
)
from enforcement.services.clocks import (
    ClockNotFoundError,
    ClockPermissionError,
    ClockStateError,
    ClockValidationError,
)
from enforcement.services.commitments import (
    CommitmentNotFoundError,
    CommitmentPermissionError,
    CommitmentStaleVersionError,
    CommitmentStateError,
    CommitmentValidationError,
)
from enforcement.services.credit_repair import (
    RepairNotFoundError,
    RepairPermissionError,
    RepairStateError,
    RepairValidationError,
)
from enforcement.services.disclosure import (
    DisclosureNotFoundError,
    DisclosurePermissionError,
    DisclosureStateError,
    DisclosureValidationError,
)
from enforcement.services.evidence import (
    AttachmentConflictError,
    AttachmentValidationError,
    EvidenceAccessError,
    InspectionFrozenError,
)
from enforcement.services.inspections import (
    InspectionNotFoundError,
    InspectionPermissionError,
    InspectionStateError,
    InspectionValidationError,
)
from enforcement.services.jobs import (
    JobNotFoundError,
    JobPermissionError,
    JobValidationError,
)
from enforcement.services.plans import (
    PermissionDeniedError,
    PlanNotFoundError,
    PlanStateError,
    PlanValidationError,
)
from enforcement.services.rectification import (
    RectificationNotFoundError,
    RectificationPermissionError,
    RectificationStateError,
    RectificationValidationError,
)
from enforcement.services.transfers import (
    TransferHiddenError,
    TransferNotFoundError,
    TransferPermissionError,
    TransferStateError,
    TransferValidationError,
)
from enforcement.transfer_package import PackageError
from mobile_api.db import identity_from_memory, retry_if_stale
from mobile_api.i18n import _, localize

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
    412: ("precondition_failed", _("The record has changed since you read it; reload it.")),
    422: ("validation_failed", _("Some fields are not valid.")),
    500: ("internal_error", _("Something went wrong on our side; it has been logged.")),
    503: (
        "unavailable",
        _("The service is unavailable for a moment; send the request again in a minute."),
    ),
    507: ("insufficient_storage", _("Storage is full on our side; try again later.")),
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
    detail: str | None = None,
) -> Response:
    """The error response; ``detail`` is a service's own explanation (a reason), when any."""
    default_code, default_message = ERRORS.get(status, ERRORS[500 if status >= 500 else 400])
    body: dict[str, Any] = {
        "error": {
            "code": code or default_code,
            "message": localize(request, message or default_message),
            "fields": {name: localize(request, why) for name, why in (fields or {}).items()},
        }
    }
    if detail is not None:
        body["error"]["detail"] = localize(request, detail)
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


#: Domain exceptions of the services and the status each answers with (most specific first:
#: the first matching class wins).
DOMAIN_ERRORS: tuple[tuple[type[Exception], int], ...] = (
    (PermissionDeniedError, 403),
    (PlanNotFoundError, 404),
    (PlanValidationError, 422),
    (PlanStateError, 409),
    (RepairPermissionError, 403),
    (RepairNotFoundError, 404),
    (RepairValidationError, 422),
    (RepairStateError, 409),
    (InspectionPermissionError, 403),
    (InspectionNotFoundError, 404),
    (InspectionValidationError, 422),
    (InspectionStateError, 409),
    (EvidenceAccessError, 404),
    (AttachmentValidationError, 422),
    (AttachmentConflictError, 409),
    (InspectionFrozenError, 409),
    (CaseHiddenError, 404),  # out of scope: as if it did not exist
    (CasePermissionError, 403),
    (CaseNotFoundError, 404),
    (CaseValidationError, 422),
    (CaseStateError, 409),
    (CaseStaleVersionError, 412),
    (ClockPermissionError, 403),
    (ClockNotFoundError, 404),
    (ClockValidationError, 422),
    (ClockStateError, 409),
    (JobPermissionError, 403),
    (JobNotFoundError, 404),
    (JobValidationError, 422),
    (RectificationPermissionError, 403),
    (RectificationNotFoundError, 404),
    (RectificationValidationError, 422),
    (RectificationStateError, 409),
    (DisclosurePermissionError, 403),
    (DisclosureNotFoundError, 404),
    (DisclosureValidationError, 422),
    (DisclosureStateError, 409),
    (TransferHiddenError, 404),
    (TransferPermissionError, 403),
    (TransferNotFoundError, 404),
    (TransferValidationError, 422),
    (TransferStateError, 409),
    (PackageError, 409),
    (CommitmentPermissionError, 403),
    (CommitmentNotFoundError, 404),
    (CommitmentValidationError, 422),
    (CommitmentStateError, 409),
    (CommitmentStaleVersionError, 412),
)


def domain_error_view(exc: Exception, request: Request) -> Response:
    """A service's refusal: the stable code of its status, the service's own explanation in
    ``detail``, and for validation errors each field with its reason."""
    status = next(code for kind, code in DOMAIN_ERRORS if isinstance(exc, kind))
    fields = dict(getattr(exc, "errors", {}) or {}) if status == 422 else None
    return envelope(request, status, None, None, fields, detail=reason_of(exc))


def openapi_error_view(exc: RequestValidationError, request: Request) -> Response:
    """A request that does not match the OpenAPI document: 422 naming each field (400 when
    the body is not JSON at all)."""
    if any("deserialize" in str(error).lower() for error in exc.errors):
        return envelope(request, 400, _("The request body is not valid JSON."))
    fields: dict[str, str | TranslationString] = {}
    for error in exc.errors:
        for name, reason in _openapi_fields(error):
            fields.setdefault(name, reason)
    return envelope(request, 422, None, None, fields or {"request": str(exc)})


def _openapi_fields(error: Exception) -> list[tuple[str, str]]:
    """(field path, reason) pairs from an openapi-core error and its schema errors."""
    found: list[tuple[str, str]] = []
    cause = error.__cause__ or error
    schema_errors = getattr(cause, "schema_errors", None)
    if schema_errors:
        for schema_error in schema_errors:
            path = ".".join(str(p) for p in schema_error.absolute_path)
            if not path and schema_error.validator == "required":
                path = str(schema_error.message).split("'")[1]
            found.append((path or "body", schema_error.message))
        return found
    name = getattr(cause, "name", None) or getattr(error, "name", None)
    found.append((str(name) if name else "request", str(cause)))
    return found


def undecodable_body_view(exc: UnicodeError, request: Request) -> Response:
    """A body (or header) that is not UTF-8 is malformed, not our failure."""
    return envelope(request, 400, _("The request body is not valid JSON."))


def unstorable_value_view(exc: DataError, request: Request) -> Response:
    """A value the database refuses to hold (a NUL character in text, a number out of range):
    the client's data is at fault, and the transaction is rolled back whole."""
    log.info("unstorable value on %s %s: %s", request.method, request.path, exc.orig)
    reason = _("contains a value that cannot be stored (for example a NUL character)")
    return envelope(request, 422, None, None, {"body": reason})


def invalid_response_view(exc: ResponseValidationError, request: Request) -> Response:
    """A response that breaks the OpenAPI document is our bug: logged, answered with 500."""
    log.error("response of %s %s breaks the API document: %s", request.method, request.path, exc)
    return envelope(request, 500)


def database_error_view(exc: SQLAlchemyError, request: Request) -> Response:
    """The database is down, restarting or overloaded: 503 with ``Retry-After``, so a tablet
    keeps its queue and sends it again (every write is one transaction: nothing of this
    request was kept, unless the commit itself succeeded, and replays are idempotent).
    Other database errors are our bugs: 500."""
    identity_from_memory(request)  # the language of the message must not need the database
    retry_if_stale(exc)
    if not database_unavailable(exc):
        return unexpected_error_view(exc, request)
    log.warning("database unavailable on %s %s: %s", request.method, request.path, exc)
    message = _(
        "The database cannot be reached at the moment; send the request again in "
        "${seconds} seconds.",
        mapping={"seconds": RETRY_AFTER_SECONDS},
    )
    response = envelope(request, 503, message, "database_unavailable")
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def unexpected_error_view(exc: Exception, request: Request) -> Response:
    identity_from_memory(request)  # the database may be what failed: answer from memory
    log.exception("unhandled error on %s %s", request.method, request.path_qs)
    return envelope(request, 500)


def includeme(config: Configurator) -> None:
    # The path predicate keeps these to the API; more specific contexts first, since
    # Pyramid picks the view by exception class before it looks at predicates.
    config.add_exception_view(api_error_view, context=ApiError, path_info=API_PATHS)
    for kind, _status in DOMAIN_ERRORS:
        config.add_exception_view(domain_error_view, context=kind, path_info=API_PATHS)
    config.add_exception_view(
        openapi_error_view, context=RequestValidationError, path_info=API_PATHS
    )
    config.add_exception_view(
        invalid_response_view, context=ResponseValidationError, path_info=API_PATHS
    )
    config.add_exception_view(undecodable_body_view, context=UnicodeError, path_info=API_PATHS)
    config.add_exception_view(unstorable_value_view, context=DataError, path_info=API_PATHS)
    config.add_exception_view(database_error_view, context=SQLAlchemyError, path_info=API_PATHS)
    for context in (HTTPNotFound, HTTPForbidden, HTTPException):
        config.add_exception_view(http_exception_view, context=context, path_info=API_PATHS)
    config.add_exception_view(unexpected_error_view, context=Exception, path_info=API_PATHS)
