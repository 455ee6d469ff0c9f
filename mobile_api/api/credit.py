"""Credit over the API: an enterprise's rating (by the visibility policy) and credit repair."""

from __future__ import annotations

from typing import Any

from pyramid.httpexceptions import HTTPNotFound
from pyramid.request import Request

from enforcement.models import CreditRepair, Enterprise, RepairStatus
from enforcement.services.credit import CreditNotVisibleError, credit_profile
from enforcement.services.credit_repair import RepairService, get_repair, list_repairs
from enforcement.settings import as_bool
from mobile_api.api import api_view
from mobile_api.security import Permission


def present_repair(repair: CreditRepair) -> dict[str, Any]:
    return {
        "id": repair.id,
        "enterprise_id": repair.enterprise_id,
        "subject": repair.subject.value,
        "subject_id": repair.list_entry_id or repair.penalty_id,
        "statement": repair.statement,
        "evidence": list(repair.evidence),
        "status": repair.status.value,
        "submitted_at": repair.created_at.isoformat(),
        "decided_at": repair.decided_at.isoformat() if repair.decided_at else None,
        "decision_reason": repair.decision_reason,
    }


@api_view(route_name="api.enterprise.credit", request_method="GET")
def enterprise_credit(request: Request) -> dict[str, Any]:
    """Nothing is told apart: an unknown enterprise and a hidden rating are both 404."""
    enterprise = request.dbsession.get(Enterprise, int(request.matchdict["enterprise_id"]))
    if enterprise is None:
        raise HTTPNotFound()
    public = as_bool(request.registry.settings.get("suijian.publish_tiers", False))
    try:
        return credit_profile(request.dbsession, request.identity, enterprise, public_tiers=public)
    except CreditNotVisibleError:
        raise HTTPNotFound() from None


@api_view(route_name="api.repairs", request_method="GET", permission=Permission.AUTHENTICATED)
def repairs_index(request: Request) -> dict[str, Any]:
    status = request.openapi_validated.parameters.query.get("status")
    repairs = list_repairs(
        request.dbsession, request.identity, RepairStatus(status) if status else None
    )
    return {"repairs": [present_repair(repair) for repair in repairs]}


@api_view(route_name="api.repairs", request_method="POST", permission=Permission.AUTHENTICATED)
def repairs_apply(request: Request) -> dict[str, Any]:
    body = request.openapi_validated.body
    repair = RepairService(request.dbsession, request.identity).apply(
        subject=body["subject"],
        subject_id=body["subject_id"],
        statement=body["statement"],
        evidence=body.get("evidence", []),
    )
    request.dbsession.flush()
    request.response.status_int = 201
    return present_repair(repair)


@api_view(route_name="api.repair", request_method="GET", permission=Permission.AUTHENTICATED)
def repair_show(request: Request) -> dict[str, Any]:
    repair_id = int(request.matchdict["repair_id"])
    return present_repair(get_repair(request.dbsession, request.identity, repair_id))


@api_view(
    route_name="api.repair.decision", request_method="POST", permission=Permission.AUTHENTICATED
)
def repair_decide(request: Request) -> dict[str, Any]:
    repair_id = int(request.matchdict["repair_id"])
    repair = get_repair(request.dbsession, request.identity, repair_id)
    body = request.openapi_validated.body
    RepairService(request.dbsession, request.identity).decide(
        repair, approve=body["approve"], reason=body.get("reason", "")
    )
    return present_repair(repair)
