"""Publication over the API: public records (anyone), replies and appeals (the enterprise the
record is about), appeal decisions and what awaits publication (supervisors), and the joint
rewards-and-punishments list (supervisors, administrators and consumer tokens).

The joint list accepts two kinds of bearer token: a user's (a supervisor's or an
administrator's) and a consumer's (``sjc_…``, issued by ``suijian joint consumer add`` to
another department's system; it opens this list and nothing else).
"""

from __future__ import annotations

from typing import Any

from pyramid.httpexceptions import HTTPForbidden
from pyramid.request import Request
from pyramid.response import Response

from enforcement.models import AppealStatus, JointListConsumer, PublicKind, User
from enforcement.services import joint_list
from enforcement.services.disclosure import (
    DisclosureService,
    due_items,
    get_appeal,
    get_public_record,
    list_appeals,
    present_appeal,
    public_reply,
    public_view,
    published_records,
)
from mobile_api.api import api_view
from mobile_api.security import Permission, Root, bearer_secret

PUBLIC_CACHE = "public, max-age=60"


def _record_id(request: Request) -> int:
    return int(request.matchdict["record_id"])


def _query(request: Request) -> dict[str, Any]:
    return dict(request.openapi_validated.parameters.query)


def _body(request: Request) -> dict[str, Any]:
    return dict(request.openapi_validated.body)


# --- public records ------------------------------------------------------------------------------


@api_view(route_name="api.public_records", request_method="GET")
def records_index(request: Request) -> dict[str, Any]:
    """Published records, newest first; ``q`` is a USCC or part of an enterprise's name."""
    query = _query(request)
    limit = int(query.get("limit", 20))
    page = int(query.get("page", 1))
    kind = query.get("kind")
    rows, total = published_records(
        request.dbsession,
        kinds=[PublicKind(kind)] if kind else None,
        text=str(query.get("q", "")),
        offset=(page - 1) * limit,
        limit=limit,
    )
    request.response.cache_control = PUBLIC_CACHE
    return {
        "total": total,
        "page": page,
        "limit": limit,
        "records": [public_view(record) for record in rows],
    }


@api_view(route_name="api.public_record", request_method="GET")
def record_show(request: Request) -> dict[str, Any]:
    record = get_public_record(request.dbsession, _record_id(request))
    request.response.cache_control = PUBLIC_CACHE
    return public_view(record)


@api_view(
    route_name="api.public_record.replies",
    request_method="POST",
    permission=Permission.AUTHENTICATED,
)
def record_reply(request: Request) -> dict[str, Any]:
    reply = DisclosureService(request.dbsession, request.identity).reply(
        _record_id(request), _body(request)["body"]
    )
    request.response.status_int = 201
    return public_reply(reply)


@api_view(
    route_name="api.public_record.appeals",
    request_method="POST",
    permission=Permission.AUTHENTICATED,
)
def record_appeal(request: Request) -> dict[str, Any]:
    appeal = DisclosureService(request.dbsession, request.identity).appeal(
        _record_id(request), _body(request)["grounds"]
    )
    request.response.status_int = 201
    return present_appeal(appeal)


# --- appeals -------------------------------------------------------------------------------------


@api_view(route_name="api.appeals", request_method="GET", permission=Permission.AUTHENTICATED)
def appeals_index(request: Request) -> dict[str, Any]:
    status = _query(request).get("status")
    appeals = list_appeals(
        request.dbsession, request.identity, AppealStatus(status) if status else None
    )
    return {"appeals": [present_appeal(appeal) for appeal in appeals]}


@api_view(route_name="api.appeal", request_method="GET", permission=Permission.AUTHENTICATED)
def appeal_show(request: Request) -> dict[str, Any]:
    appeal_id = int(request.matchdict["appeal_id"])
    return present_appeal(get_appeal(request.dbsession, request.identity, appeal_id))


@api_view(
    route_name="api.appeal.decision",
    request_method="POST",
    permission=Permission.OVERSEE_PUBLICATION,
)
def appeal_decide(request: Request) -> dict[str, Any]:
    appeal = get_appeal(request.dbsession, request.identity, int(request.matchdict["appeal_id"]))
    body = _body(request)
    DisclosureService(request.dbsession, request.identity).decide(
        appeal, uphold=body["uphold"], reason=body["reason"], action=body.get("action")
    )
    return present_appeal(appeal)


@api_view(
    route_name="api.publication.due",
    request_method="GET",
    permission=Permission.OVERSEE_PUBLICATION,
)
def publication_due(request: Request) -> dict[str, Any]:
    """What awaits publication (new, held, ready, overdue), soonest deadline first."""
    limit = int(_query(request).get("limit", 200))
    items = due_items(request.dbsession, settings=request.registry.settings, limit=limit)
    return {
        "items": [
            {
                "kind": i.kind,
                "subject": i.subject,
                "event_at": i.event_at.isoformat(),
                "publish_on": i.publish_on.isoformat(),
                "due_on": i.due_on.isoformat(),
                "state": i.state,
                "record_id": i.record_id,
            }
            for i in items[:limit]
        ]
    }


# --- the joint list ---------------------------------------------------------------------------


def _joint_reader(request: Request) -> tuple[User | None, JointListConsumer | None]:
    """A supervisor or administrator, or a consumer token; else 401 (nobody) or 403."""
    user = request.identity
    if user is not None:
        if request.has_permission(Permission.EXPORT_JOINT_LIST, Root(request)):
            return user, None
        raise HTTPForbidden()
    consumer = joint_list.authenticate_consumer(request.dbsession, bearer_secret(request))
    if consumer is None:
        raise HTTPForbidden()  # answered 401: nobody is signed in
    return None, consumer


def _joint_page(request: Request, channel: str) -> tuple[joint_list.Page, int]:
    user, consumer = _joint_reader(request)
    query = _query(request)
    since = int(query.get("since", 0))
    page = joint_list.changes(
        request.dbsession, since=since, limit=int(query.get("limit", joint_list.DEFAULT_LIMIT))
    )
    joint_list.record_export(
        request.dbsession, actor=user, consumer=consumer, since=since, page=page, channel=channel
    )
    request.response.cache_control = "no-store"
    return page, since


@api_view(route_name="api.joint_list", request_method="GET")
def joint_list_json(request: Request) -> dict[str, Any]:
    page, since = _joint_page(request, "api")
    return joint_list.as_json(page, since)


@api_view(route_name="api.joint_list.csv", request_method="GET", renderer="string")
def joint_list_csv(request: Request) -> Response:
    page, _ = _joint_page(request, "api.csv")
    response = request.response
    response.content_type = "text/csv"
    response.charset = "utf-8"
    response.text = joint_list.as_csv(page.entries)
    response.headers["X-Joint-List-Cursor"] = str(page.cursor)
    response.headers["X-Joint-List-More"] = "true" if page.more else "false"
    response.content_disposition = 'attachment; filename="joint-list.csv"'
    return response
