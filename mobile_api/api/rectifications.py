"""Rectification orders over the API: the enterprise sees and reports its own, officers
their department's (and their team's)."""

from __future__ import annotations

from typing import Any

from pyramid.request import Request

from enforcement.models import RECTIFICATION_CLOCK, RectificationOrder
from enforcement.services import rectification
from enforcement.services.clocks import calendar_for, end_of_date, running_clock
from mobile_api.api import api_view
from mobile_api.security import Permission

DEFAULT_PAGE = 100


def present_order(request: Request, order: RectificationOrder) -> dict[str, Any]:
    task = order.reinspection_task
    clock = running_clock(request.dbsession, kind=RECTIFICATION_CLOCK, subject=order)
    return {
        "id": order.id,
        "status": order.status.value,
        "inspection_uuid": str(order.inspection.uuid),
        "enterprise": {
            "id": order.enterprise.id,
            "name": order.enterprise.name,
            "uscc": order.enterprise.uscc,
        },
        "department_id": order.department_id,
        "due_date": order.due_date.isoformat(),
        "due_at": end_of_date(order.due_date).isoformat(),
        "clock_running": clock is not None,
        "reported_at": order.reported_at.isoformat() if order.reported_at else None,
        "report_note": order.report_note,
        "reinspection_task": None
        if task is None
        else {
            "uuid": str(task.uuid),
            "round": task.round,
            "due_date": task.due_date.isoformat(),
            "status": task.status.value,
        },
        "reinspection_uuid": str(order.reinspection.uuid) if order.reinspection else None,
        "reinspection_result": order.reinspection_result.value
        if order.reinspection_result
        else None,
        "closed_at": order.closed_at.isoformat() if order.closed_at else None,
        "created_at": order.created_at.isoformat(),
    }


@api_view(
    route_name="api.rectifications",
    request_method="GET",
    permission=Permission.VIEW_RECTIFICATIONS,
)
def rectifications_index(request: Request) -> dict[str, Any]:
    query = request.openapi_validated.parameters.query
    limit = query.get("limit", DEFAULT_PAGE)
    orders = rectification.list_orders(
        request.dbsession,
        request.identity,
        status=query.get("status"),
        after=query.get("after", 0),
        limit=limit + 1,
    )
    page = orders[:limit]
    return {
        "rectifications": [present_order(request, order) for order in page],
        "next_after": page[-1].id if len(orders) > limit else None,
    }


@api_view(
    route_name="api.rectification",
    request_method="GET",
    permission=Permission.VIEW_RECTIFICATIONS,
)
def rectification_show(request: Request) -> dict[str, Any]:
    order_id = int(request.matchdict["order_id"])
    return present_order(
        request, rectification.get_order(request.dbsession, request.identity, order_id)
    )


@api_view(
    route_name="api.rectification.report",
    request_method="POST",
    permission=Permission.REPORT_RECTIFICATION,
)
def rectification_report(request: Request) -> dict[str, Any]:
    order_id = int(request.matchdict["order_id"])
    body = request.openapi_validated.body
    order = rectification.report_rectified(
        request.dbsession,
        request.identity,
        order_id,
        note=body["note"],
        calendar=calendar_for(request.registry.settings),
    )
    request.dbsession.flush()
    return present_order(request, order)
