"""The commitments desk (告知承诺): every commitment of the supervisor's department, and the
review of each: accept (承诺受理) or reject with a reason, then record the check, true
(核查属实) or false (承诺不实) with a reason.

Pages call the same service as the API (``enforcement.services.commitments``); the views read
the forms (CSRF token and the version read, as the case desk does) and translate the
service's refusals: 422 naming each field, 409 for the wrong state, 412 when someone else
changed the commitment meanwhile, 403 for another department.
"""

from __future__ import annotations

from typing import Any

from pyramid.httpexceptions import HTTPForbidden, HTTPNotFound, HTTPSeeOther
from pyramid.i18n import TranslationString
from pyramid.request import Request
from pyramid.view import view_config

from enforcement.models import Commitment, CommitmentStatus
from enforcement.reasons import reason_of
from enforcement.services.commitments import (
    CommitmentError,
    CommitmentNotFoundError,
    CommitmentPermissionError,
    CommitmentService,
    CommitmentStaleVersionError,
    CommitmentValidationError,
    get_commitment,
    list_commitments,
)
from mobile_api.i18n import _
from mobile_api.security import Permission

MAX_ROWS = 200
MAX_NOTE = 500

STATUS_LABELS: dict[str, TranslationString] = {
    CommitmentStatus.FILED.value: _("Filed, awaiting review"),
    CommitmentStatus.ACCEPTED.value: _("Accepted, awaiting verification"),
    CommitmentStatus.REJECTED.value: _("Rejected"),
    CommitmentStatus.VERIFIED.value: _("Verified as true"),
    CommitmentStatus.FOUND_FALSE.value: _("Found false"),
    CommitmentStatus.WITHDRAWN.value: _("Withdrawn"),
}
#: Each review step: the status it starts from and its title.
STEPS: dict[str, tuple[CommitmentStatus, TranslationString]] = {
    "accept": (CommitmentStatus.FILED, _("Accept the commitment")),
    "reject": (CommitmentStatus.FILED, _("Reject the commitment")),
    "verify": (CommitmentStatus.ACCEPTED, _("Verified: the commitment is true")),
    "find_false": (CommitmentStatus.ACCEPTED, _("Found false: the commitment is not true")),
}
FIELD_LABELS = {"note": _("Note"), "reason": _("Reason")}


def _commitment(request: Request) -> Commitment:
    try:
        return get_commitment(
            request.dbsession, request.identity, int(request.matchdict["commitment_id"])
        )
    except CommitmentNotFoundError as exc:
        raise HTTPNotFound() from exc
    except CommitmentPermissionError as exc:
        raise HTTPForbidden() from exc


def _can_review(request: Request) -> bool:
    return bool(request.has_permission(Permission.REVIEW_COMMITMENTS))


@view_config(
    route_name="commitments.index",
    renderer="commitments/index.jinja2",
    permission=Permission.VIEW_COMMITMENTS,
)
def commitments_index(request: Request) -> dict[str, Any]:
    """The commitments of the supervisor's department (everybody's for the whole bureau),
    newest first; those awaiting review can be accepted from the list."""
    raw = request.GET.get("status", "")
    status = raw if raw in STATUS_LABELS else ""
    rows = list_commitments(
        request.dbsession,
        request.identity,
        status=CommitmentStatus(status) if status else None,
        limit=MAX_ROWS,
    )
    return {
        "commitments": rows,
        "labels": STATUS_LABELS,
        "status": status,
        "can_review": _can_review(request),
        "messages": request.session.pop_flash(),
    }


def commitment_page(
    request: Request,
    commitment: Commitment,
    *,
    errors: dict[str, Any] | None = None,
    problem: Any = None,
    failed_step: str | None = None,
    typed: dict[str, str] | None = None,
) -> dict[str, Any]:
    steps = [
        name
        for name, (start, _title) in STEPS.items()
        if commitment.status is start and _can_review(request)
    ]
    return {
        "commitment": commitment,
        "labels": STATUS_LABELS,
        "steps": steps,
        "step_labels": {name: title for name, (_start, title) in STEPS.items()},
        "errors": errors or {},
        "problem": problem,
        "failed_step": failed_step,
        "typed": typed or {},
        "field_labels": FIELD_LABELS,
        "messages": request.session.pop_flash(),
    }


@view_config(
    route_name="commitments.show",
    request_method="GET",
    renderer="commitments/show.jinja2",
    permission=Permission.VIEW_COMMITMENTS,
)
def commitment_show(request: Request) -> dict[str, Any]:
    return commitment_page(request, _commitment(request))


def _text(post: Any, name: str) -> str:
    value = post.get(name, "")
    return value[: MAX_NOTE * 4] if isinstance(value, str) else ""


@view_config(
    route_name="commitments.step",
    request_method="POST",
    renderer="commitments/show.jinja2",
    permission=Permission.REVIEW_COMMITMENTS,
)
def commitment_step(request: Request) -> Any:
    step = request.matchdict["step"]
    if step not in STEPS:
        raise HTTPNotFound()
    commitment = _commitment(request)
    raw_version = request.POST.get("version", "")
    version = int(raw_version) if raw_version.isdigit() and len(raw_version) <= 9 else None
    typed = {"note": _text(request.POST, "note"), "reason": _text(request.POST, "reason")}
    service = CommitmentService(request.dbsession, request.identity)
    try:
        if step == "accept":
            service.accept(commitment.id, note=typed["note"], if_match=version)
        elif step == "reject":
            service.reject(commitment.id, reason=typed["reason"], if_match=version)
        elif step == "verify":
            service.verify(commitment.id, note=typed["note"], if_match=version)
        else:
            service.find_false(commitment.id, reason=typed["reason"], if_match=version)
    except CommitmentPermissionError as exc:
        raise HTTPForbidden() from exc
    except CommitmentNotFoundError as exc:
        raise HTTPNotFound() from exc
    except CommitmentError as exc:
        request.tm.doom()  # nothing of a refused step is written
        request.dbsession.expire_all()  # and the page shows the commitment as it is
        if isinstance(exc, CommitmentValidationError):
            request.response.status_int = 422
            return commitment_page(
                request, commitment, errors=exc.errors, failed_step=step, typed=typed
            )
        if isinstance(exc, CommitmentStaleVersionError):
            request.response.status_int = 412
            problem: Any = _(
                "Someone else changed this commitment meanwhile; check it and try again."
            )
        else:
            request.response.status_int = 409
            problem = reason_of(exc)
        return commitment_page(request, commitment, problem=problem, failed_step=step, typed=typed)
    translate = request.localizer.translate
    request.session.flash(
        translate(
            _(
                "${step}: done. The commitment is now: ${status}.",
                mapping={
                    "step": translate(STEPS[step][1]),
                    "status": translate(STATUS_LABELS[commitment.status.value]),
                },
            )
        )
    )
    if request.POST.get("return_to") == "list":
        return HTTPSeeOther(request.route_path("commitments.index"))
    return HTTPSeeOther(request.route_path("commitments.show", commitment_id=commitment.id))
