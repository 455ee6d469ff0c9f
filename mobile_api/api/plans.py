"""Sampling plans over the API: the same services, roles and audit as ``suijian plan …``.

Plans outside the user's department scope do not exist for them (404), so ids of other
departments' plans reveal nothing. Transitions are idempotent: repeating an approval,
commitment, draw or publication that already happened with the same inputs answers with
the stored result, so a client may retry after a lost response.
"""

from __future__ import annotations

from typing import Any

from pyramid.httpexceptions import HTTPNotFound, HTTPNotModified
from pyramid.request import Request
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from enforcement.models import InspectionTask, PlanStatus, SamplingPlan, TaskMember
from enforcement.services.draws import DrawService
from enforcement.services.plans import (
    PlanNotFoundError,
    PlanService,
    get_plan,
    in_department_scope,
    list_plans,
)
from enforcement.services.publication import PublicationService, published_bundle
from mobile_api.api import api_view, presenters
from mobile_api.api_errors import ApiError
from mobile_api.security import Permission

DEFAULT_PAGE = 100
# The statuses at or after each transition: repeating the transition there is a no-op.
_APPROVED_OR_LATER = frozenset(
    {PlanStatus.APPROVED, PlanStatus.SEED_COMMITTED, PlanStatus.DRAWN, PlanStatus.PUBLISHED}
)
_DRAWN_OR_LATER = frozenset({PlanStatus.DRAWN, PlanStatus.PUBLISHED})


def _plan_in_scope(request: Request) -> SamplingPlan:
    code = request.matchdict["code"]
    plan = get_plan(request.dbsession, code)
    if not in_department_scope(request.identity, plan.departments):
        raise PlanNotFoundError(code)
    return plan


def _service(request: Request) -> PlanService:
    return PlanService(request.dbsession, request.identity)


def _plan_response(request: Request, plan: SamplingPlan, status: int = 200) -> dict[str, Any]:
    request.dbsession.flush()
    document = presenters.plan(plan)
    request.response.status_int = status
    request.response.etag = presenters.etag(document)
    request.response.cache_control = "no-cache"
    return document


@api_view(route_name="api.plans", request_method="GET", permission=Permission.GOVERN_PLANS)
def plans_index(request: Request) -> dict[str, Any]:
    query = request.openapi_validated.parameters.query
    plans = list_plans(request.dbsession, year=query.get("year"), status=query.get("status"))
    return {
        "plans": [
            presenters.plan_list_entry(plan)
            for plan in plans
            if in_department_scope(request.identity, plan.departments)
        ]
    }


@api_view(route_name="api.plans", request_method="POST", permission=Permission.GOVERN_PLANS)
def plans_create(request: Request) -> dict[str, Any]:
    plan = _service(request).create(**request.openapi_validated.body)
    request.response.location = request.route_url("api.plan", code=plan.code)
    return _plan_response(request, plan, 201)


@api_view(route_name="api.plan", request_method="GET", permission=Permission.GOVERN_PLANS)
def plan_show(request: Request) -> dict[str, Any]:
    document = _plan_response(request, _plan_in_scope(request))
    request.response.conditional_response = True  # 304 for a matching If-None-Match
    return document


@api_view(route_name="api.plan", request_method="PATCH", permission=Permission.GOVERN_PLANS)
def plan_update(request: Request) -> dict[str, Any]:
    plan = _plan_in_scope(request)
    if request.if_match is not None and str(request.if_match) != "*":
        current = presenters.etag(presenters.plan(plan))
        if current not in request.if_match:
            raise ApiError(412)
    _service(request).update(plan, **request.openapi_validated.body)
    return _plan_response(request, plan)


@api_view(route_name="api.plan.approval", request_method="POST", permission=Permission.GOVERN_PLANS)
def plan_approve(request: Request) -> dict[str, Any]:
    plan = _plan_in_scope(request)
    if plan.status not in _APPROVED_OR_LATER:
        _service(request).approve(plan)
    return _plan_response(request, plan)


@api_view(
    route_name="api.plan.seed_commitment",
    request_method="POST",
    permission=Permission.GOVERN_PLANS,
)
def plan_commit_seed(request: Request) -> dict[str, Any]:
    plan = _plan_in_scope(request)
    body = request.openapi_validated.body
    commitment = body["commitment"].lower()
    source = (body.get("public_value_source") or "").strip() or None
    repeated = (
        plan.seed_commitment == commitment
        and plan.public_value_source == source
        and plan.status is not PlanStatus.APPROVED
    )
    if not repeated:
        _service(request).commit_seed(plan, commitment, public_value_source=source)
    return _plan_response(request, plan)


@api_view(route_name="api.plan.draw", request_method="POST", permission=Permission.GOVERN_PLANS)
def plan_draw(request: Request) -> dict[str, Any]:
    plan = _plan_in_scope(request)
    body = request.openapi_validated.body
    seed = bytes.fromhex(body["seed"])
    public_value = (body.get("public_value") or "").strip() or None
    repeated = (
        plan.status in _DRAWN_OR_LATER
        and plan.revealed_seed == seed.hex()
        and plan.public_value == public_value
    )
    if not repeated:
        DrawService(request.dbsession, request.identity).draw(plan, seed, public_value)
        request.dbsession.flush()
    return presenters.draw(plan)


@api_view(route_name="api.plan.draw", request_method="GET", permission=Permission.GOVERN_PLANS)
def plan_draw_show(request: Request) -> dict[str, Any]:
    plan = _plan_in_scope(request)
    if plan.draw is None:
        raise HTTPNotFound()
    return presenters.draw(plan)


@api_view(route_name="api.plan.tasks", request_method="GET", permission=Permission.GOVERN_PLANS)
def plan_tasks(request: Request) -> dict[str, Any]:
    plan = _plan_in_scope(request)
    if plan.draw is None:
        raise HTTPNotFound()
    query = request.openapi_validated.parameters.query
    limit = query.get("limit", DEFAULT_PAGE)
    tasks = list(
        request.dbsession.scalars(
            select(InspectionTask)
            .where(
                InspectionTask.draw_id == plan.draw.id,
                InspectionTask.round == 1,  # the drawn tasks, not re-inspections
                InspectionTask.id > query.get("after", 0),
            )
            .order_by(InspectionTask.id)
            .limit(limit + 1)
            .options(
                selectinload(InspectionTask.enterprise),
                selectinload(InspectionTask.members).selectinload(TaskMember.inspector),
            )
        )
    )
    page = tasks[:limit]
    return {
        "tasks": [presenters.task(task) for task in page],
        "next_after": page[-1].id if len(tasks) > limit else None,
    }


@api_view(
    route_name="api.plan.publication", request_method="POST", permission=Permission.GOVERN_PLANS
)
def plan_publish(request: Request) -> dict[str, Any]:
    plan = _plan_in_scope(request)
    if plan.status is not PlanStatus.PUBLISHED:
        PublicationService(request.dbsession, request.identity).publish(plan)
    return _plan_response(request, plan)


@api_view(route_name="api.plan.redraw", request_method="POST", permission=Permission.GOVERN_PLANS)
def plan_redraw(request: Request) -> dict[str, Any]:
    plan = _plan_in_scope(request)
    body = request.openapi_validated.body
    new = _service(request).redraw(plan, body["reason"], code=body.get("code"))
    request.response.location = request.route_url("api.plan", code=new.code)
    return _plan_response(request, new, 201)


@api_view(route_name="api.plan.bundle", request_method="GET")
def plan_bundle(request: Request) -> dict[str, Any] | HTTPNotModified:
    """Public: the verification bundle of a published plan; nothing for any other plan."""
    try:
        plan = get_plan(request.dbsession, request.matchdict["code"])
    except PlanNotFoundError:
        raise HTTPNotFound() from None
    if plan.status is not PlanStatus.PUBLISHED or plan.draw is None:
        raise HTTPNotFound()
    # A published bundle never changes; the tag is known before the (costly) rebuild.
    tag = presenters.etag([plan.code, plan.draw.snapshot_hash, str(plan.published_at)])
    if tag in request.if_none_match:
        return HTTPNotModified(etag=tag)
    request.response.etag = tag
    request.response.cache_control = "public, max-age=3600"
    return published_bundle(request.dbsession, plan)
