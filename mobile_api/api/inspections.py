"""On-site inspections over the API: the tablets' task feed and the inspection record.

Writes are idempotent by the tablet's UUIDs (201 the first time, 200 on a replay, 409 with
the stored record in ``current`` when the UUID holds other content); the ETag is the
inspection's version and ``If-Match`` guards the checklist against lost edits (412).
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from pyramid.request import Request
from pyramid.response import Response
from pyramid.view import exception_view_config
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from enforcement.models import FieldInspection, InspectionFinding, InspectionTask, TaskMember
from enforcement.reasons import reason_of
from enforcement.services.inspection_documents import (
    finding_document,
    inspection_document,
    task_documents,
)
from enforcement.services.inspections import (
    InspectionConflictError,
    InspectionService,
    StaleVersionError,
)
from enforcement.services.task_feed import changes_since
from mobile_api.api import api_view, if_match_version
from mobile_api.api_errors import API_PATHS, envelope
from mobile_api.i18n import _
from mobile_api.security import Permission


def _service(request: Request) -> InspectionService:
    return InspectionService(request.dbsession, request.identity, request.registry.settings)


def _uuid(request: Request, name: str) -> uuid.UUID:
    return uuid.UUID(str(request.openapi_validated.parameters.path[name]))


def _if_match(request: Request) -> int | None:
    return if_match_version(request, _("is not a version of this inspection"))


def inspection_response(
    request: Request, inspection: FieldInspection, status: int = 200
) -> dict[str, Any]:
    request.dbsession.flush()
    document = inspection_document(inspection)
    document["record_url"] = (
        request.route_url("api.inspection", inspection_uuid=str(inspection.uuid)) + "/record.pdf"
        if inspection.result is not None
        else None
    )
    request.response.status_int = status
    request.response.etag = str(inspection.version)
    request.response.cache_control = "no-cache"
    return document


@api_view(route_name="api.my.tasks", request_method="GET", permission=Permission.RECORD_INSPECTIONS)
def my_tasks(request: Request) -> dict[str, Any]:
    service = _service(request)
    query = request.openapi_validated.parameters.query
    changes = changes_since(
        request.dbsession, service.inspector_id, query.get("since", 0), query.get("limit", 200)
    )
    tasks = request.dbsession.scalars(
        select(InspectionTask)
        .where(InspectionTask.id.in_(changes.task_ids))
        .options(
            selectinload(InspectionTask.members).selectinload(TaskMember.inspector),
            selectinload(InspectionTask.items),
        )
    ).all()
    by_id = {task.id: task for task in tasks}
    ordered = [by_id[task_id] for task_id in changes.task_ids]
    return {
        "tasks": task_documents(request.dbsession, ordered, service.inspector_id),
        "deleted": [str(u) for u in changes.deleted],
        "cursor": changes.cursor,
        "more": changes.more,
    }


@api_view(route_name="api.my.task", request_method="GET", permission=Permission.RECORD_INSPECTIONS)
def my_task(request: Request) -> dict[str, Any]:
    service = _service(request)
    task = service.task(_uuid(request, "task_uuid"))
    return task_documents(request.dbsession, [task], service.inspector_id)[0]


@api_view(
    route_name="api.inspection", request_method="PUT", permission=Permission.RECORD_INSPECTIONS
)
def check_in(request: Request) -> dict[str, Any]:
    body = request.openapi_validated.body
    inspection, created = _service(request).check_in(
        _uuid(request, "inspection_uuid"), uuid.UUID(str(body["task"])), body["checkin"]
    )
    return inspection_response(request, inspection, 201 if created else 200)


@api_view(route_name="api.inspection", request_method="GET", permission=Permission.AUTHENTICATED)
def inspection_detail(request: Request) -> dict[str, Any]:
    return inspection_response(
        request, _service(request).readable(_uuid(request, "inspection_uuid"))
    )


@api_view(
    route_name="api.inspection.answers",
    request_method="PUT",
    permission=Permission.RECORD_INSPECTIONS,
)
def set_answers(request: Request) -> dict[str, Any]:
    inspection = _service(request).set_answers(
        _uuid(request, "inspection_uuid"),
        request.openapi_validated.body["answers"],
        if_match=_if_match(request),
    )
    return inspection_response(request, inspection)


@api_view(
    route_name="api.inspection.finding",
    request_method="PUT",
    permission=Permission.RECORD_INSPECTIONS,
)
def put_finding(request: Request) -> dict[str, Any]:
    finding, created = _service(request).put_finding(
        _uuid(request, "inspection_uuid"),
        _uuid(request, "finding_uuid"),
        request.openapi_validated.body,
    )
    return inspection_response(request, finding.inspection, 201 if created else 200)


@api_view(
    route_name="api.inspection.signature",
    request_method="PUT",
    permission=Permission.RECORD_INSPECTIONS,
)
def sign(request: Request) -> dict[str, Any]:
    inspection = _service(request).sign(
        _uuid(request, "inspection_uuid"), request.openapi_validated.body
    )
    return inspection_response(request, inspection)


@api_view(
    route_name="api.inspection.result",
    request_method="PUT",
    permission=Permission.RECORD_INSPECTIONS,
)
def finish(request: Request) -> dict[str, Any]:
    inspection = _service(request).finish(
        _uuid(request, "inspection_uuid"), request.openapi_validated.body
    )
    return inspection_response(request, inspection)


@api_view(
    route_name="api.checkins.flagged", request_method="GET", permission=Permission.GOVERN_PLANS
)
def flagged_checkins(request: Request) -> dict[str, Any]:
    return {"checkins": [inspection_document(i) for i in _service(request).flagged()]}


@api_view(
    route_name="api.checkin.acknowledgement",
    request_method="POST",
    permission=Permission.GOVERN_PLANS,
)
def acknowledge_checkin(request: Request) -> dict[str, Any]:
    inspection = _service(request).acknowledge(
        _uuid(request, "inspection_uuid"), request.openapi_validated.body["note"]
    )
    return inspection_response(request, inspection)


@exception_view_config(context=InspectionConflictError, path_info=API_PATHS)
@exception_view_config(context=StaleVersionError, path_info=API_PATHS)
def conflict_view(exc: InspectionConflictError | StaleVersionError, request: Request) -> Response:
    """409 (UUID reused with other content) or 412 (stale If-Match), with the stored record
    in ``current`` so an offline client can reconcile without another round trip."""
    stale = isinstance(exc, StaleVersionError)
    message = (
        _("The record has changed since you read it; reload it.")
        if stale
        else _("This identifier already holds a different record; the stored one is attached.")
    )
    response = envelope(request, 412 if stale else 409, message, detail=reason_of(exc))
    current = exc.current
    body = json.loads(response.text)
    body["current"] = (
        finding_document(current)
        if isinstance(current, InspectionFinding)
        else inspection_document(current)
    )
    response.text = json.dumps(body, ensure_ascii=False)
    if isinstance(current, FieldInspection):
        response.etag = str(current.version)
    return response
