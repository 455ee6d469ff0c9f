"""The feed to the supervision data center over the API: its backlog, the dead-letter list
and re-queueing (supervisors and admins; ``Permission.GOVERN_PLANS``).

The feed is the bureau's, not a department's, so there is no department scope here; the list
shows what each record is and why it failed, never its payload (that stays with the
operators' ``suijian feed dead-letters --payload``).
"""

from __future__ import annotations

from typing import Any

from pyramid.request import Request

from enforcement import feed
from enforcement.models import FeedRecord
from enforcement.services import audit
from mobile_api.api import api_view
from mobile_api.api_errors import ApiError
from mobile_api.security import Permission

DEFAULT_PAGE = 100


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def feed_record(record: FeedRecord) -> dict[str, Any]:
    if record.delivered_at is not None:
        state = "delivered"
    elif record.dead_at is not None:
        state = "dead"
    else:
        state = "pending"
    return {
        "id": record.id,
        "idempotency_key": record.idempotency_key,
        "kind": record.kind,
        "record_key": record.record_key,
        "version": record.version,
        "state": state,
        "attempts": record.attempts,
        "created_at": _iso(record.created_at),
        "next_attempt_at": _iso(record.next_attempt_at),
        "delivered_at": _iso(record.delivered_at),
        "dead_at": _iso(record.dead_at),
        "last_error": record.last_error,
    }


@api_view(route_name="api.feed.status", request_method="GET", permission=Permission.GOVERN_PLANS)
def feed_status(request: Request) -> dict[str, Any]:
    request.response.cache_control = "no-cache"
    return feed.status(request.dbsession).as_dict()


@api_view(
    route_name="api.feed.dead_letters", request_method="GET", permission=Permission.GOVERN_PLANS
)
def dead_letters(request: Request) -> dict[str, Any]:
    query = request.openapi_validated.parameters.query
    limit = int(query.get("limit") or DEFAULT_PAGE)
    found = feed.dead_letters(request.dbsession, limit=limit, after_id=int(query.get("after") or 0))
    request.response.cache_control = "no-cache"
    return {
        "dead_letters": [feed_record(record) for record in found],
        "next_after": found[-1].id if len(found) == limit else None,
    }


@api_view(
    route_name="api.feed.dead_letter.requeue",
    request_method="POST",
    permission=Permission.GOVERN_PLANS,
)
def requeue(request: Request) -> dict[str, Any]:
    """Re-queue one dead record. Repeating it (a retry after a lost answer) while the record
    waits for delivery answers the same; a delivered record cannot be re-queued (409)."""
    session = request.dbsession
    record = session.get(FeedRecord, request.openapi_validated.parameters.path["record_id"])
    if record is None:
        raise ApiError(404)
    if record.delivered_at is not None:
        raise ApiError(409, code="already_delivered")  # the default message: no new string
    if record.dead_at is not None:
        feed.requeue(session, [record.id])
        session.refresh(record)
        audit.record(
            session,
            request.identity,
            "feed.requeue",
            record,
            {"idempotency_key": record.idempotency_key},
        )
    return {"record": feed_record(record)}
