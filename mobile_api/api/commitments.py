"""Commitments (告知承诺) over the API: the enterprise files, reads and withdraws its own; the
department responsible reads its commitments and reviews them (accept or reject, then
verified true or found false).

Every change answers with the commitment and its ``ETag`` (the version); ``If-Match`` with an
older version is refused with 412. Refusals are the service's
(``enforcement.services.commitments``): 403 for the role or another department, 404 for an
unknown commitment or another enterprise's, 409 for the wrong state, 422 naming each field.
"""

from __future__ import annotations

from typing import Any

from pyramid.request import Request

from enforcement.models import Commitment, CommitmentStatus
from enforcement.services.commitments import (
    CommitmentService,
    CommitmentValidationError,
    get_commitment,
    list_commitments,
)
from enforcement.services.wire import iso_utc
from mobile_api.api import api_view, if_match_version
from mobile_api.i18n import _
from mobile_api.security import Permission

DEFAULT_PAGE = 100


def _person(user: Any) -> dict[str, Any] | None:
    return None if user is None else {"id": user.id, "name": user.display_name or user.username}


def present_commitment(commitment: Commitment) -> dict[str, Any]:
    item = commitment.item
    department = commitment.department
    return {
        "id": commitment.id,
        "status": commitment.status.value,
        "version": commitment.version,
        "enterprise": {
            "id": commitment.enterprise.id,
            "name": commitment.enterprise.name,
            "uscc": commitment.enterprise.uscc,
        },
        "item": None if item is None else {"id": item.id, "code": item.code, "name": item.name},
        "licence": commitment.licence,
        "text": commitment.text,
        "department": None
        if department is None
        else {"id": department.id, "code": department.code, "name": department.name},
        "filed_at": iso_utc(commitment.created_at),
        "withdrawn_at": iso_utc(commitment.withdrawn_at),
        "withdrawal_reason": commitment.withdrawal_reason,
        "reviewed_at": iso_utc(commitment.reviewed_at),
        "reviewed_by": _person(commitment.reviewed_by),
        "review_note": commitment.review_note,
        "verified_at": iso_utc(commitment.verified_at),
        "verified_by": _person(commitment.verified_by),
        "verification_note": commitment.verification_note,
    }


def _respond(request: Request, commitment: Commitment, status: int = 200) -> dict[str, Any]:
    request.dbsession.flush()
    request.response.status_int = status
    request.response.etag = str(commitment.version)
    request.response.cache_control = "no-cache"
    return present_commitment(commitment)


def _id(request: Request) -> int:
    return int(request.openapi_validated.parameters.path["commitment_id"])


def _body(request: Request) -> dict[str, Any]:
    return dict(request.openapi_validated.body or {})


def _if_match(request: Request) -> int | None:
    return if_match_version(request, _("is not a version of this commitment"))


def _service(request: Request) -> CommitmentService:
    return CommitmentService(request.dbsession, request.identity)


@api_view(route_name="api.commitments", request_method="GET", permission=Permission.AUTHENTICATED)
def commitments_index(request: Request) -> dict[str, Any]:
    """An enterprise its own, a supervisor their department's; oldest first from ``after``."""
    query = request.openapi_validated.parameters.query
    limit = query.get("limit", DEFAULT_PAGE)
    status = query.get("status")
    found = list_commitments(
        request.dbsession,
        request.identity,
        status=CommitmentStatus(status) if status else None,
        after=query.get("after", 0),
        limit=limit + 1,
    )
    page = found[:limit]
    return {
        "commitments": [present_commitment(c) for c in page],
        "next_after": page[-1].id if len(found) > limit else None,
    }


@api_view(route_name="api.commitments", request_method="POST", permission=Permission.USE_PORTAL)
def commitments_file(request: Request) -> dict[str, Any]:
    body = _body(request)
    commitment = _service(request).file(
        text=body["text"], item_id=body.get("item_id"), licence=body.get("licence", "")
    )
    request.response.location = request.route_url("api.commitment", commitment_id=commitment.id)
    return _respond(request, commitment, 201)


@api_view(route_name="api.commitment", request_method="GET", permission=Permission.AUTHENTICATED)
def commitment_show(request: Request) -> dict[str, Any]:
    return _respond(request, get_commitment(request.dbsession, request.identity, _id(request)))


@api_view(
    route_name="api.commitment.withdrawal",
    request_method="POST",
    permission=Permission.USE_PORTAL,
)
def commitment_withdraw(request: Request) -> dict[str, Any]:
    commitment = _service(request).withdraw(
        _id(request), reason=_body(request)["reason"], if_match=_if_match(request)
    )
    return _respond(request, commitment)


@api_view(
    route_name="api.commitment.acceptance",
    request_method="POST",
    permission=Permission.REVIEW_COMMITMENTS,
)
def commitment_accept(request: Request) -> dict[str, Any]:
    commitment = _service(request).accept(
        _id(request), note=_body(request).get("note", ""), if_match=_if_match(request)
    )
    return _respond(request, commitment)


@api_view(
    route_name="api.commitment.rejection",
    request_method="POST",
    permission=Permission.REVIEW_COMMITMENTS,
)
def commitment_reject(request: Request) -> dict[str, Any]:
    commitment = _service(request).reject(
        _id(request), reason=_body(request)["reason"], if_match=_if_match(request)
    )
    return _respond(request, commitment)


@api_view(
    route_name="api.commitment.verification",
    request_method="POST",
    permission=Permission.REVIEW_COMMITMENTS,
)
def commitment_verify(request: Request) -> dict[str, Any]:
    """The outcome of the check: ``verified`` (true) or ``found_false`` (承诺不实, a reason)."""
    body = _body(request)
    service = _service(request)
    if body["outcome"] == "verified":
        commitment = service.verify(
            _id(request), note=body.get("note", ""), if_match=_if_match(request)
        )
        return _respond(request, commitment)
    try:
        commitment = service.find_false(
            _id(request), reason=body.get("note", ""), if_match=_if_match(request)
        )
    except CommitmentValidationError as exc:  # the reason is the body's "note"
        errors = {"note" if name == "reason" else name: why for name, why in exc.errors.items()}
        raise CommitmentValidationError(errors) from None
    return _respond(request, commitment)
