"""Penalty cases over the API: the list (department scope, filters, paging, open clocks), filing,
the detail (history, group, clocks, penalty) and one POST per transition.

Every transition answers with the case and its ``ETag`` (the case's version); ``If-Match``
with an older version is refused with 412, so two officers cannot overwrite each other's step.
Refusals are the services' (``enforcement.services.cases``): 403 for the role, the department
or the group, 404 for an unknown case, 409 for the wrong state, 422 naming each bad field.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pyramid.request import Request

from enforcement.models import CoerciveMeasure, PenaltyCase
from enforcement.services.cases import (
    CaseService,
    CaseValidationError,
    case_clocks,
    case_document,
)
from mobile_api.api import api_view, if_match_version
from mobile_api.i18n import _
from mobile_api.security import Permission


def _service(request: Request) -> CaseService:
    return CaseService(request.dbsession, request.identity, settings=request.registry.settings)


def _case_id(request: Request) -> int:
    return int(request.openapi_validated.parameters.path["case_id"])


def _body(request: Request) -> dict[str, Any]:
    return dict(request.openapi_validated.body or {})


def _if_match(request: Request) -> int | None:
    return if_match_version(request, _("is not a version of this case"))


def _date(value: Any, field: str) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise CaseValidationError({field: "must be a date (YYYY-MM-DD)"}) from None


def case_response(request: Request, case: PenaltyCase, status: int = 200) -> dict[str, Any]:
    request.dbsession.flush()
    found = case_clocks(request.dbsession, [case])[case.id]
    document = case_document(case, found, detail=True)
    request.response.status_int = status
    request.response.etag = str(case.version)
    request.response.cache_control = "no-cache"
    return document


def measure_response(request: Request, measure: CoerciveMeasure, status: int) -> dict[str, Any]:
    document = case_response(request, measure.case, status)
    document["measure_id"] = measure.id
    return document


# ---------------------------------------------------------------------- list, file, detail


@api_view(route_name="api.cases", request_method="GET", permission=Permission.VIEW_CASES)
def cases_index(request: Request) -> dict[str, Any]:
    query = request.openapi_validated.parameters.query
    page = _service(request).list_cases(
        status=query.get("status"),
        enterprise_id=query.get("enterprise_id"),
        department_id=query.get("department_id"),
        is_major=query.get("is_major"),
        suspected_crime=query.get("suspected_crime"),
        mine=bool(query.get("mine", False)),
        limit=query.get("limit", 50),
        offset=query.get("offset", 0),
    )
    found = case_clocks(request.dbsession, page.cases)
    return {
        "cases": [
            case_document(case, [c for c in found[case.id] if c.stopped_at is None])
            for case in page.cases
        ],
        "total": page.total,
        "limit": page.limit,
        "offset": page.offset,
    }


@api_view(route_name="api.cases", request_method="POST", permission=Permission.HANDLE_CASES)
def cases_file(request: Request) -> dict[str, Any]:
    body = _body(request)
    case = _service(request).file(
        enterprise_id=body["enterprise_id"],
        summary=body["summary"],
        members=body["members"],
        lead_id=body.get("lead_id"),
        department_id=body.get("department_id"),
        is_major=bool(body.get("is_major", False)),
        suspected_crime=bool(body.get("suspected_crime", False)),
    )
    request.response.location = request.route_url("api.case", case_id=case.id)
    return case_response(request, case, 201)


@api_view(route_name="api.case", request_method="GET", permission=Permission.VIEW_CASES)
def case_detail(request: Request) -> dict[str, Any]:
    return case_response(request, _service(request).get(_case_id(request)))


@api_view(route_name="api.case.members", request_method="PUT", permission=Permission.HANDLE_CASES)
def case_members(request: Request) -> dict[str, Any]:
    body = _body(request)
    case = _service(request).set_members(
        _case_id(request),
        body["members"],
        lead_id=body.get("lead_id"),
        if_match=_if_match(request),
    )
    return case_response(request, case)


# ---------------------------------------------------------------------- the transitions


@api_view(
    route_name="api.case.investigation", request_method="POST", permission=Permission.HANDLE_CASES
)
def case_investigate(request: Request) -> dict[str, Any]:
    case = _service(request).start_investigation(
        _case_id(request), note=_body(request).get("note", ""), if_match=_if_match(request)
    )
    return case_response(request, case)


@api_view(route_name="api.case.proposal", request_method="POST", permission=Permission.HANDLE_CASES)
def case_propose(request: Request) -> dict[str, Any]:
    body = _body(request)
    case = _service(request).propose_decision(
        _case_id(request),
        measure=body["measure"],
        amount=body.get("amount"),
        legal_basis=body["legal_basis"],
        is_major=bool(body.get("is_major", False)),
        note=body.get("note", ""),
        if_match=_if_match(request),
    )
    return case_response(request, case)


@api_view(
    route_name="api.case.legal_review", request_method="POST", permission=Permission.DECIDE_CASES
)
def case_legal_review(request: Request) -> dict[str, Any]:
    body = _body(request)
    case = _service(request).legal_review(
        _case_id(request),
        approve=bool(body["approve"]),
        opinion=body["opinion"],
        if_match=_if_match(request),
    )
    return case_response(request, case)


@api_view(route_name="api.case.decision", request_method="POST", permission=Permission.DECIDE_CASES)
def case_decide(request: Request) -> dict[str, Any]:
    body = _body(request)
    case = _service(request).decide(
        _case_id(request),
        decision_no=body.get("decision_no"),
        note=body.get("note", ""),
        if_match=_if_match(request),
    )
    return case_response(request, case)


@api_view(
    route_name="api.case.execution", request_method="POST", permission=Permission.HANDLE_CASES
)
def case_execute(request: Request) -> dict[str, Any]:
    case = _service(request).execute(
        _case_id(request), note=_body(request).get("note", ""), if_match=_if_match(request)
    )
    return case_response(request, case)


@api_view(route_name="api.case.closing", request_method="POST", permission=Permission.DECIDE_CASES)
def case_close(request: Request) -> dict[str, Any]:
    case = _service(request).close(
        _case_id(request), note=_body(request).get("note", ""), if_match=_if_match(request)
    )
    return case_response(request, case)


@api_view(
    route_name="api.case.withdrawal", request_method="POST", permission=Permission.DECIDE_CASES
)
def case_withdraw(request: Request) -> dict[str, Any]:
    case = _service(request).withdraw(
        _case_id(request), reason=_body(request)["reason"], if_match=_if_match(request)
    )
    return case_response(request, case)


@api_view(
    route_name="api.case.deadline_extension",
    request_method="POST",
    permission=Permission.DECIDE_CASES,
)
def case_extend(request: Request) -> dict[str, Any]:
    body = _body(request)
    case = _service(request).extend_deadline(
        _case_id(request),
        reason=body["reason"],
        days=body.get("days"),
        if_match=_if_match(request),
    )
    return case_response(request, case)


@api_view(
    route_name="api.case.reconsideration",
    request_method="POST",
    permission=Permission.HANDLE_CASES,
)
def case_request_reconsideration(request: Request) -> dict[str, Any]:
    case = _service(request).request_reconsideration(
        _case_id(request), note=_body(request)["note"], if_match=_if_match(request)
    )
    return case_response(request, case)


@api_view(
    route_name="api.case.reconsideration_decision",
    request_method="POST",
    permission=Permission.DECIDE_CASES,
)
def case_decide_reconsideration(request: Request) -> dict[str, Any]:
    body = _body(request)
    case = _service(request).decide_reconsideration(
        _case_id(request),
        outcome=body["outcome"],
        note=body["note"],
        measure=body.get("measure"),
        amount=body.get("amount"),
        legal_basis=body.get("legal_basis"),
        decision_no=body.get("decision_no"),
        if_match=_if_match(request),
    )
    return case_response(request, case)


# ---------------------------------------------------------------------- coercive measures


@api_view(
    route_name="api.case.coercive_measures",
    request_method="POST",
    permission=Permission.HANDLE_CASES,
)
def coercive_start(request: Request) -> dict[str, Any]:
    body = _body(request)
    measure = _service(request).start_coercive_measure(
        _case_id(request),
        kind=body["kind"],
        items=body["items"],
        place=body.get("place", ""),
        started_on=_date(body.get("started_on"), "started_on"),
        note=body.get("note", ""),
        if_match=_if_match(request),
    )
    return measure_response(request, measure, 201)


def _measure_id(request: Request) -> int:
    return int(request.openapi_validated.parameters.path["measure_id"])


@api_view(
    route_name="api.case.coercive_measure.extension",
    request_method="POST",
    permission=Permission.DECIDE_CASES,
)
def coercive_extend(request: Request) -> dict[str, Any]:
    measure = _service(request).extend_coercive_measure(
        _case_id(request),
        _measure_id(request),
        reason=_body(request)["reason"],
        if_match=_if_match(request),
    )
    return measure_response(request, measure, 200)


@api_view(
    route_name="api.case.coercive_measure.lifting",
    request_method="POST",
    permission=Permission.HANDLE_CASES,
)
def coercive_lift(request: Request) -> dict[str, Any]:
    measure = _service(request).lift_coercive_measure(
        _case_id(request),
        _measure_id(request),
        reason=_body(request)["reason"],
        if_match=_if_match(request),
    )
    return measure_response(request, measure, 200)
