"""The full-process record (执法全过程记录) over the API.

* ``GET /api/v1/audit/anchors``: the anchors of the audit hash chain, public (no sign-in), so
  anyone can keep a copy and later check the bureau's log against it
  (``suijian audit verify --anchors FILE``).
* ``GET /api/v1/audit/entities/{entity_type}/{entity_id}``: the audit trail of one entity for
  supervisors (department scope in ``enforcement.services.audit.entity_trail``) and admins.
"""

from __future__ import annotations

from typing import Any

from pyramid.request import Request

from enforcement.models import AuditLog
from enforcement.models.audit import HASH_ALGORITHM, row_hash
from enforcement.services import audit
from mobile_api.api import api_view
from mobile_api.api_errors import ApiError
from mobile_api.security import Permission

DEFAULT_PAGE = 100


@api_view(route_name="api.audit.anchors", request_method="GET")
def anchors(request: Request) -> dict[str, Any]:
    """Public: the anchors in seq order, paged by ``after`` (the last seq seen)."""
    query = request.openapi_validated.parameters.query
    limit = int(query.get("limit") or DEFAULT_PAGE)
    found = audit.list_anchors(
        request.dbsession, after_seq=int(query.get("after") or 0), limit=limit
    )
    request.response.cache_control = "no-cache"
    return {
        "algorithm": HASH_ALGORITHM,
        "anchors": [audit.anchor_document(anchor) for anchor in found],
        "next_after": found[-1].seq if len(found) == limit else None,
    }


@api_view(route_name="api.audit.trail", request_method="GET", permission=Permission.VIEW_AUDIT)
def trail(request: Request) -> dict[str, Any]:
    path = request.openapi_validated.parameters.path
    entity_type, entity_id = str(path["entity_type"]), str(path["entity_id"])
    try:
        rows = audit.entity_trail(request.dbsession, request.identity, entity_type, entity_id)
    except audit.AuditTrailNotFoundError:
        raise ApiError(404) from None
    request.response.cache_control = "no-store"
    return {
        "entity_type": entity_type,
        "entity_id": entity_id,
        "entries": [entry(row) for row in rows],
    }


def entry(row: AuditLog) -> dict[str, Any]:
    """One audit row with its place in the chain; ``hash_ok`` says whether the row still
    hashes to its ``entry_hash`` (None while unchained; the links are ``suijian audit
    verify``'s)."""
    hash_ok = None
    if row.seq is not None and row.prev_hash is not None:
        hash_ok = row_hash(row, row.seq, row.prev_hash) == row.entry_hash
    actor = row.actor
    return {
        "id": row.id,
        "seq": row.seq,
        "at": row.at.isoformat(),
        "actor": None
        if actor is None
        else {"id": actor.id, "username": actor.username, "display_name": actor.display_name},
        "action": row.action,
        "details": row.details if isinstance(row.details, dict) else {"value": row.details},
        "prev_hash": row.prev_hash,
        "entry_hash": row.entry_hash,
        "hash_ok": hash_ok,
    }
