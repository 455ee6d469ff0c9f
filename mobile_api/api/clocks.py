"""Statutory clocks and their alerts over the API (supervisors, the liaison desk: their
department's; an administrator: all)."""

from __future__ import annotations

from typing import Any

from pyramid.i18n import TranslationString
from pyramid.request import Request

from enforcement.models import Alert, AlertLevel, Clock, utcnow
from enforcement.services import clocks
from mobile_api.api import api_view
from mobile_api.i18n import _
from mobile_api.security import Permission

DEFAULT_PAGE = 100

#: How each clock kind is named to people (unknown kinds show as they are).
KIND_LABELS: dict[str, TranslationString] = {
    "rectification": _("rectification deadline"),
    "case.deadline": _("case handling deadline"),
    "case.decision": _("case decision deadline"),
    "publication": _("publication deadline"),
    "transfer.decision": _("transfer decision deadline"),
    "transfer.send": _("transfer sending deadline"),
    "transfer.filing": _("public security filing deadline"),
}

MESSAGES: dict[AlertLevel, TranslationString] = {
    AlertLevel.WARNING: _("The ${kind} of ${subject} ends on ${due_date}."),
    AlertLevel.DUE: _("The ${kind} of ${subject} ends today (${due_date})."),
    AlertLevel.OVERDUE: _("The ${kind} of ${subject} passed on ${due_date}."),
}


def clock_state(clock: Clock) -> str:
    if clock.stopped_at is not None:
        return "stopped"
    return "overdue" if clock.due_at <= utcnow() else "running"


def present_clock(clock: Clock) -> dict[str, Any]:
    return {
        "id": clock.id,
        "kind": clock.kind,
        "subject_type": clock.subject_type,
        "subject_id": clock.subject_id,
        "department_id": clock.department_id,
        "state": clock_state(clock),
        "started_at": clock.started_at.isoformat(),
        "due_at": clock.due_at.isoformat(),
        "due_date": clocks.due_date_of(clock.due_at).isoformat(),
        "warn_at": clock.warn_at.isoformat() if clock.warn_at else None,
        "stopped_at": clock.stopped_at.isoformat() if clock.stopped_at else None,
        "outcome": clock.outcome.value if clock.outcome else None,
        "extensions": [
            {
                "from": entry.get("from"),
                "to": entry.get("to"),
                "reason": entry.get("reason"),
                "by": entry.get("by"),
                "at": entry.get("at"),
            }
            for entry in clock.extensions or []
        ],
    }


def present_alert(request: Request, alert: Alert) -> dict[str, Any]:
    level = AlertLevel(alert.level)
    params = dict(alert.params or {})
    kind = str(params.get("kind", ""))
    translate = request.localizer.translate
    mapping = {
        "kind": translate(KIND_LABELS[kind]) if kind in KIND_LABELS else kind,
        "subject": f"{params.get('subject_type', '')} {params.get('subject_id', '')}".strip(),
        "due_date": params.get("due_date", ""),
    }
    message = TranslationString(MESSAGES[level], mapping=mapping)
    return {
        "id": alert.id,
        "clock_id": alert.clock_id,
        "level": level.value,
        "extension": alert.extension,
        "created_at": alert.created_at.isoformat(),
        "department_id": alert.department_id,
        "message_key": alert.message_key,
        "params": params,
        "message": translate(message),
        "acknowledged_at": alert.acknowledged_at.isoformat() if alert.acknowledged_at else None,
        "acknowledged_by": alert.acknowledged_by_id,
    }


@api_view(route_name="api.alerts", request_method="GET", permission=Permission.WATCH_CLOCKS)
def alerts_index(request: Request) -> dict[str, Any]:
    query = request.openapi_validated.parameters.query
    limit = query.get("limit", DEFAULT_PAGE)
    alerts = clocks.list_alerts(
        request.dbsession,
        request.identity,
        state=query.get("state", "open"),
        level=query.get("level"),
        kind=query.get("kind"),
        after=query.get("after", 0),
        limit=limit + 1,
    )
    page = alerts[:limit]
    return {
        "alerts": [present_alert(request, alert) for alert in page],
        "next_after": page[-1].id if len(alerts) > limit else None,
    }


@api_view(
    route_name="api.alert.acknowledgement",
    request_method="POST",
    permission=Permission.WATCH_CLOCKS,
)
def alert_acknowledge(request: Request) -> dict[str, Any]:
    alert_id = int(request.matchdict["alert_id"])
    alert = clocks.acknowledge_alert(request.dbsession, request.identity, alert_id)
    request.dbsession.flush()
    return present_alert(request, alert)


@api_view(route_name="api.clocks", request_method="GET", permission=Permission.WATCH_CLOCKS)
def clocks_index(request: Request) -> dict[str, Any]:
    query = request.openapi_validated.parameters.query
    limit = query.get("limit", DEFAULT_PAGE)
    found = clocks.list_clocks(
        request.dbsession,
        request.identity,
        subject_type=query.get("subject_type"),
        kind=query.get("kind"),
        state=query.get("state", "running"),
        after=query.get("after", 0),
        limit=limit + 1,
    )
    page = found[:limit]
    return {
        "clocks": [present_clock(clock) for clock in page],
        "next_after": page[-1].id if len(found) > limit else None,
    }
