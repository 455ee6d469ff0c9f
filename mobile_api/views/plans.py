"""The supervisor's sampling-plan pages: list, create/edit, preview, approve, commit, draw,
review, publish and verify.

Every action calls the same services as the API and the command line (PlanService,
DrawService, PublicationService) with the same permission (``Permission.GOVERN_PLANS``);
plans outside the user's department scope do not exist for them (404), as in the API. The
views only turn form text into the values the services take: a value that cannot be read is
passed on as typed, so the service names the field and the reason with all the others.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any, NoReturn

from pyramid.httpexceptions import HTTPForbidden, HTTPNotFound, HTTPSeeOther
from pyramid.request import Request
from pyramid.view import view_config
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from enforcement.models import (
    Department,
    InspectionItem,
    InspectionTask,
    Jurisdiction,
    PlanError,
    PlanStatus,
    SamplingPlan,
    TaskMember,
)
from enforcement.reasons import reason_of
from enforcement.services import jobs
from enforcement.services.draws import (
    DrawService,
    check_draw_inputs,
    draw_summary,
    preview_allocation,
    scope_size,
)
from enforcement.services.plans import (
    DEFAULT_STRATA_KEYS,
    FIELDS,
    STRATA_KEYS,
    PermissionDeniedError,
    PlanNotFoundError,
    PlanService,
    PlanValidationError,
    current_fields,
    get_plan,
    in_department_scope,
    list_plans,
)
from enforcement.services.publication import (
    PublicationService,
    bundle_sha256,
    published_bundle,
    verify_bundle,
)
from mobile_api.i18n import _
from mobile_api.security import Permission
from random_sampler.allocation import TIERS

TASK_PAGE = 100
#: A plan whose jurisdictions hold more market entities than this is drawn on the worker
#: (a background job with progress); setting ``suijian.desk.background_draw_threshold``.
BACKGROUND_DRAW_THRESHOLD = 50_000
INT_FIELDS = (
    "year",
    "budget",
    "exclude_within_months",
    "annual_cap",
    "alternates_per_stratum",
    "team_size",
    "workload_cap",
)
STATUS_LABELS = {
    PlanStatus.DRAFT: _("Draft"),
    PlanStatus.APPROVED: _("Approved"),
    PlanStatus.SEED_COMMITTED: _("Seed committed"),
    PlanStatus.DRAWN: _("Drawn"),
    PlanStatus.PUBLISHED: _("Published"),
}
STRATA_LABELS = {
    "jurisdiction": _("Jurisdiction"),
    "tier": _("Credit-risk tier"),
    "industry_section": _("Industry section"),
    "industry_division": _("Industry division"),
    "entity_type": _("Entity type"),
}
METHOD_LABELS = {
    "exact": _("Exact (fixed counts, budget met exactly)"),
    "poisson": _("Poisson (independent inclusion)"),
}
# Statuses in which the preview of the expected counts is useful (before the draw).
PREVIEW_STATUSES = (PlanStatus.DRAFT, PlanStatus.APPROVED, PlanStatus.SEED_COMMITTED)


# ---------------------------------------------------------------------- helpers


def _plan_in_scope(request: Request) -> SamplingPlan:
    """The plan named in the URL, or 404 when it is unknown or outside the user's scope."""
    try:
        plan = get_plan(request.dbsession, request.matchdict["code"])
    except PlanNotFoundError:
        raise HTTPNotFound() from None
    if not in_department_scope(request.identity, plan.departments):
        raise HTTPNotFound()
    return plan


def _refuse(request: Request, exc: PermissionDeniedError) -> NoReturn:
    """The service refused the user (role or department): the forbidden page, nothing kept."""
    raise HTTPForbidden(reason_of(exc)) from exc


def _text(params: Any, name: str) -> str:
    return str(params.get(name, "")).strip()


def _int_or_raw(raw: str) -> int | str | None:
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError:
        return raw  # the service names the field: "must be a whole number, not 'x'"


def _ratio_or_raw(raw: str) -> float | str | None:
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        return raw
    return value if math.isfinite(value) else raw


def _date_or_raw(raw: str) -> dt.date | str | None:
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        return raw


def form_from_post(params: Any) -> dict[str, Any]:
    """What the user typed, as the form shows it again."""
    form: dict[str, Any] = {
        name: _text(params, name) for name in ("code", "title", "method", "due_date", *INT_FIELDS)
    }
    for tier in TIERS:
        form[f"ratio_{tier}"] = _text(params, f"ratio_{tier}")
    for name in ("items", "jurisdictions", "strata_keys"):
        form[name] = [str(v).strip() for v in params.getall(name) if str(v).strip()]
    form["recuse_same_jurisdiction"] = params.get("recuse_same_jurisdiction") == "on"
    return form


def fields_from_form(form: dict[str, Any]) -> dict[str, Any]:
    """The form's text turned into the values ``PlanService.create``/``update`` take."""
    fields: dict[str, Any] = {
        "code": form["code"] or None,
        "title": form["title"] or None,
        "items": form["items"],
        "jurisdictions": form["jurisdictions"],
        "tier_ratios": {tier: _ratio_or_raw(form[f"ratio_{tier}"]) for tier in TIERS},
        "method": form["method"] or FIELDS["method"],
        "strata_keys": form["strata_keys"],
        "recuse_same_jurisdiction": form["recuse_same_jurisdiction"],
        "due_date": _date_or_raw(form["due_date"]),
    }
    for name in INT_FIELDS:
        value = _int_or_raw(form[name])
        fields[name] = FIELDS[name] if value is None and FIELDS[name] is not None else value
    return fields


def form_from_plan(plan: SamplingPlan) -> dict[str, Any]:
    values = current_fields(plan)
    form: dict[str, Any] = {
        "code": values["code"],
        "title": values["title"],
        "method": values["method"].value,
        "due_date": values["due_date"].isoformat() if values["due_date"] else "",
        "items": values["items"],
        "jurisdictions": values["jurisdictions"],
        "strata_keys": values["strata_keys"],
        "recuse_same_jurisdiction": values["recuse_same_jurisdiction"],
    }
    for name in INT_FIELDS:
        form[name] = "" if values[name] is None else str(values[name])
    for tier in TIERS:
        form[f"ratio_{tier}"] = f"{values['tier_ratios'][tier]:g}"
    return form


def blank_form() -> dict[str, Any]:
    form: dict[str, Any] = {
        "code": "",
        "title": "",
        "method": FIELDS["method"].value,
        "due_date": "",
        "items": [],
        "jurisdictions": [],
        "strata_keys": list(DEFAULT_STRATA_KEYS),
        "recuse_same_jurisdiction": False,
        "year": str(dt.date.today().year),
    }
    for name in INT_FIELDS:
        form.setdefault(name, "" if FIELDS[name] is None else str(FIELDS[name]))
    for tier, ratio in zip(TIERS, ("0.03", "0.1", "0.3", "0.8"), strict=True):
        form[f"ratio_{tier}"] = ratio
    return form


def _choices(request: Request) -> dict[str, Any]:
    """The item list (active items, by department) and the jurisdictions to choose from."""
    session = request.dbsession
    items = session.scalars(
        select(InspectionItem)
        .where(InspectionItem.active.is_(True))
        .options(selectinload(InspectionItem.department))
        .order_by(InspectionItem.department_id, InspectionItem.code)
    ).all()
    by_department: dict[str, dict[str, Any]] = {}
    for item in items:
        group = by_department.setdefault(
            item.department.code, {"department": item.department, "items": []}
        )
        group["items"].append(item)
    jurisdictions = session.scalars(select(Jurisdiction).order_by(Jurisdiction.adcode)).all()
    return {
        "item_groups": list(by_department.values()),
        "jurisdiction_choices": jurisdictions,
        "strata_choices": STRATA_KEYS,
        "strata_labels": STRATA_LABELS,
        "method_labels": METHOD_LABELS,
        "tiers": TIERS,
    }


def _form_page(
    request: Request, form: dict[str, Any], errors: dict[str, str], plan: SamplingPlan | None
) -> dict[str, Any]:
    return {"form": form, "errors": errors, "plan": plan, **_choices(request)}


def _localised(entry: dict[str, Any], request: Request) -> str:
    """A report text in the page's language (the report holds "zh" and "en")."""
    locale = request.localizer.locale_name
    return str(entry.get("zh" if locale == "zh_CN" else "en") or entry.get("en") or "")


# ---------------------------------------------------------------------- list


@view_config(
    route_name="desk.plans", renderer="plans/index.jinja2", permission=Permission.GOVERN_PLANS
)
def plans_index(request: Request) -> dict[str, Any]:
    errors: dict[str, Any] = {}
    year_raw = _text(request.GET, "year")
    status_raw = _text(request.GET, "status")
    department = _text(request.GET, "department")
    year = None
    if year_raw:
        if year_raw.isdigit() and 2000 <= int(year_raw) <= 2100:
            year = int(year_raw)
        else:
            errors["year"] = _("A year from 2000 to 2100.")
    status = None
    if status_raw:
        try:
            status = PlanStatus(status_raw)
        except ValueError:
            errors["status"] = _("Not a plan status.")
    plans = [
        plan
        for plan in list_plans(request.dbsession, year=year, status=status)
        if in_department_scope(request.identity, plan.departments)
        and (not department or department in {d.code for d in plan.departments})
    ]
    departments = request.dbsession.scalars(select(Department).order_by(Department.code)).all()
    return {
        "plans": plans,
        "errors": errors,
        "filters": {"year": year_raw, "status": status_raw, "department": department},
        "departments": departments,
        "status_labels": STATUS_LABELS,
    }


# ---------------------------------------------------------------------- create and edit


@view_config(
    route_name="desk.plans.new",
    request_method="GET",
    renderer="plans/form.jinja2",
    permission=Permission.GOVERN_PLANS,
)
def plan_new(request: Request) -> dict[str, Any]:
    return _form_page(request, blank_form(), {}, None)


@view_config(
    route_name="desk.plans.new",
    request_method="POST",
    renderer="plans/form.jinja2",
    permission=Permission.GOVERN_PLANS,
)
def plan_create(request: Request) -> Any:
    form = form_from_post(request.POST)
    try:
        plan = PlanService(request.dbsession, request.identity).create(**fields_from_form(form))
    except PlanValidationError as exc:
        request.tm.doom()
        request.response.status_int = 422
        return _form_page(request, form, exc.errors, None)
    except PermissionDeniedError as exc:
        _refuse(request, exc)
    _flash(request, _("Plan ${code} created as a draft.", mapping={"code": plan.code}))
    return HTTPSeeOther(request.route_path("desk.plan", code=plan.code))


@view_config(
    route_name="desk.plan.edit",
    request_method="GET",
    renderer="plans/form.jinja2",
    permission=Permission.GOVERN_PLANS,
)
def plan_edit(request: Request) -> Any:
    plan = _plan_in_scope(request)
    if plan.status is not PlanStatus.DRAFT:
        return HTTPSeeOther(request.route_path("desk.plan", code=plan.code))
    return _form_page(request, form_from_plan(plan), {}, plan)


@view_config(
    route_name="desk.plan.edit",
    request_method="POST",
    renderer="plans/form.jinja2",
    permission=Permission.GOVERN_PLANS,
)
def plan_update(request: Request) -> Any:
    plan = _plan_in_scope(request)
    form = form_from_post(request.POST)
    try:
        PlanService(request.dbsession, request.identity).update(plan, **fields_from_form(form))
    except PlanValidationError as exc:
        request.tm.doom()
        request.response.status_int = 422
        return _form_page(request, form, exc.errors, plan)
    except PermissionDeniedError as exc:
        _refuse(request, exc)
    except PlanError as exc:  # not a draft any more (state, frozen)
        request.tm.doom()
        request.response.status_int = 409
        return {**_form_page(request, form, {}, plan), "problem": reason_of(exc)}
    _flash(request, _("Plan ${code} saved.", mapping={"code": plan.code}))
    return HTTPSeeOther(request.route_path("desk.plan", code=plan.code))


# ---------------------------------------------------------------------- the plan page


def plan_page(
    request: Request,
    plan: SamplingPlan,
    *,
    errors: dict[str, str] | None = None,
    problem: str | None = None,
    typed: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Everything the plan page shows for the plan's status."""
    session = request.dbsession
    page: dict[str, Any] = {
        "plan": plan,
        "errors": errors or {},
        "problem": problem,
        "typed": typed or {},
        "status_labels": STATUS_LABELS,
        "strata_labels": STRATA_LABELS,
        "method_labels": METHOD_LABELS,
        "tiers": TIERS,
        "jurisdictions": current_fields(plan)["jurisdictions"],
        "preview": None,
        "preview_error": None,
        "summary": None,
    }
    if plan.status in PREVIEW_STATUSES and plan.superseded_by is None:
        try:
            page["preview"] = preview_allocation(session, plan)
        except (PlanError, ValueError) as exc:  # e.g. no candidates in scope
            page["preview_error"] = reason_of(exc)
    if plan.draw is not None:
        page.update(_draw_review(request, plan))
        page["map_url"] = _map_url(request, plan)
    return page


def _map_url(request: Request, plan: SamplingPlan) -> str | None:
    """The progress map of this plan's tasks (the dashboards' page), when the app has it."""
    try:
        return request.route_path("dashboards.map", _query={"plan": plan.code})
    except KeyError:
        return None


def _draw_review(request: Request, plan: SamplingPlan) -> dict[str, Any]:
    """The draw's figures, its strata, the blocked targets with reasons, a page of tasks."""
    session = request.dbsession
    draw = plan.draw
    assert draw is not None
    report = draw.report
    raw_page = _text(request.GET, "page") or "1"
    page_no = int(raw_page) if raw_page.isdigit() and int(raw_page) >= 1 else 1
    base = select(InspectionTask).where(
        InspectionTask.draw_id == draw.id, InspectionTask.round == 1
    )
    total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    pages = max(1, math.ceil(total / TASK_PAGE))
    page_no = min(page_no, pages)
    tasks = session.scalars(
        base.order_by(InspectionTask.is_alternate, InspectionTask.stratum, InspectionTask.id)
        .offset((page_no - 1) * TASK_PAGE)
        .limit(TASK_PAGE)
        .options(
            selectinload(InspectionTask.enterprise),
            selectinload(InspectionTask.members).selectinload(TaskMember.inspector),
        )
    ).all()
    by_reason = report["teams"]["by_reason"]
    blocked_ids = [entry["target_id"] for entry in report["teams"]["blocked_targets"]]
    names = {}
    if blocked_ids:
        names = {
            task.enterprise_id: task.enterprise
            for task in session.scalars(
                select(InspectionTask)
                .where(
                    InspectionTask.draw_id == draw.id,
                    InspectionTask.enterprise_id.in_(blocked_ids),
                )
                .options(selectinload(InspectionTask.enterprise))
            )
        }
    blocked = [
        {
            "enterprise": names.get(entry["target_id"]),
            "target_id": entry["target_id"],
            "reason": entry["reason"],
            "text": _localised(by_reason.get(entry["reason"], {}), request),
        }
        for entry in report["teams"]["blocked_targets"]
    ]
    reasons = [
        {"key": key, "count": entry["count"], "text": _localised(entry, request)}
        for key, entry in by_reason.items()
        if entry["count"]
    ]
    return {
        "summary": draw_summary(draw),
        "report": report,
        "blocked": blocked,
        "blocked_reasons": reasons,
        "tasks": tasks,
        "task_total": total,
        "task_page": page_no,
        "task_pages": pages,
    }


@view_config(
    route_name="desk.plan",
    request_method="GET",
    renderer="plans/show.jinja2",
    permission=Permission.GOVERN_PLANS,
)
def plan_show(request: Request) -> dict[str, Any]:
    return plan_page(request, _plan_in_scope(request))


def _flash(request: Request, message: Any) -> None:
    """Translated now: the session keeps plain text, not the message's mapping."""
    request.session.flash(request.localizer.translate(message))


def _after(request: Request, plan: SamplingPlan, message: Any) -> HTTPSeeOther:
    _flash(request, message)
    return HTTPSeeOther(request.route_path("desk.plan", code=plan.code))


def _failed(
    request: Request,
    plan: SamplingPlan,
    exc: PlanError,
    typed: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Re-render the plan page with the service's reasons (nothing was written)."""
    request.tm.doom()  # pyramid_tm aborts a doomed transaction instead of committing
    if isinstance(exc, PlanValidationError):
        request.response.status_int = 422
        return plan_page(request, plan, errors=exc.errors, typed=typed)
    request.response.status_int = 409
    return plan_page(request, plan, problem=reason_of(exc), typed=typed)


@view_config(
    route_name="desk.plan.approve",
    request_method="POST",
    renderer="plans/show.jinja2",
    permission=Permission.GOVERN_PLANS,
)
def plan_approve(request: Request) -> Any:
    plan = _plan_in_scope(request)
    try:
        PlanService(request.dbsession, request.identity).approve(plan)
    except PermissionDeniedError as exc:
        _refuse(request, exc)
    except PlanError as exc:
        return _failed(request, plan, exc)
    return _after(request, plan, _("Plan ${code} approved.", mapping={"code": plan.code}))


@view_config(
    route_name="desk.plan.commit",
    request_method="POST",
    renderer="plans/show.jinja2",
    permission=Permission.GOVERN_PLANS,
)
def plan_commit(request: Request) -> Any:
    plan = _plan_in_scope(request)
    commitment = _text(request.POST, "commitment")
    source = _text(request.POST, "public_value_source")
    typed = {"commitment": commitment, "public_value_source": source}
    try:
        if not commitment:
            raise PlanValidationError({"commitment": _("is required")})
        PlanService(request.dbsession, request.identity).commit_seed(
            plan, commitment, public_value_source=source or None
        )
    except PermissionDeniedError as exc:
        _refuse(request, exc)
    except PlanError as exc:
        return _failed(request, plan, exc, typed)
    return _after(
        request, plan, _("The seed commitment of ${code} is stored.", mapping={"code": plan.code})
    )


@view_config(
    route_name="desk.plan.draw",
    request_method="POST",
    renderer="plans/show.jinja2",
    permission=Permission.GOVERN_PLANS,
)
def plan_draw(request: Request) -> Any:
    plan = _plan_in_scope(request)
    seed_hex = _text(request.POST, "seed").lower()
    public_value = _text(request.POST, "public_value") or None
    typed = {"public_value": public_value or ""}  # the seed is never echoed back
    try:
        if not seed_hex:
            raise PlanValidationError({"seed": _("is required: the secret seed, in hexadecimal")})
        try:
            seed = bytes.fromhex(seed_hex)
        except ValueError:
            raise PlanValidationError(
                {"seed": _("must be hexadecimal digits (two per byte), as shown at commit time")}
            ) from None
        if scope_size(request.dbsession, plan) > _draw_threshold(request):
            return _draw_in_background(request, plan, seed, public_value)
        DrawService(request.dbsession, request.identity).draw(plan, seed, public_value)
    except PermissionDeniedError as exc:
        _refuse(request, exc)
    except PlanError as exc:
        return _failed(request, plan, exc, typed)
    return _after(request, plan, _("Plan ${code} drawn.", mapping={"code": plan.code}))


def _draw_threshold(request: Request) -> int:
    value = request.registry.settings.get("suijian.desk.background_draw_threshold")
    return BACKGROUND_DRAW_THRESHOLD if value in (None, "") else int(value)


def _draw_in_background(
    request: Request, plan: SamplingPlan, seed: bytes, public_value: str | None
) -> HTTPSeeOther:
    """A large draw goes to the worker (D1's job service) after the same checks the draw
    makes first, so a wrong seed is refused on this page; the job page shows the progress."""
    check_draw_inputs(plan, seed, public_value)
    try:
        job = jobs.start(
            request.dbsession,
            request.identity,
            "draw",
            {"plan_id": plan.id, "seed": seed.hex(), "public_value": public_value},
        )
    except jobs.JobPermissionError as exc:
        raise HTTPForbidden(reason_of(exc)) from exc
    except jobs.JobValidationError as exc:
        raise PlanValidationError(exc.errors) from exc
    _flash(
        request,
        _(
            "The draw of ${code} runs on the worker; this page shows its progress.",
            mapping={"code": plan.code},
        ),
    )
    try:
        return HTTPSeeOther(request.route_path("console.job", uuid=str(job.uuid)))
    except KeyError:
        return HTTPSeeOther(request.route_path("desk.plan", code=plan.code))


@view_config(
    route_name="desk.plan.publish",
    request_method="POST",
    renderer="plans/show.jinja2",
    permission=Permission.GOVERN_PLANS,
)
def plan_publish(request: Request) -> Any:
    plan = _plan_in_scope(request)
    try:
        PublicationService(request.dbsession, request.identity).publish(plan)
    except PermissionDeniedError as exc:
        _refuse(request, exc)
    except PlanError as exc:
        return _failed(request, plan, exc)
    return _after(request, plan, _("Plan ${code} published.", mapping={"code": plan.code}))


# ---------------------------------------------------------------------- the public bundle


@view_config(
    route_name="desk.plan.bundle",
    request_method="GET",
    renderer="plans/bundle.jinja2",
    permission=Permission.GOVERN_PLANS,
)
def plan_bundle(request: Request) -> dict[str, Any]:
    """The published bundle, checked by ``verify_bundle`` exactly as anyone would check it."""
    plan = _plan_in_scope(request)
    if plan.status is not PlanStatus.PUBLISHED or plan.draw is None:
        raise HTTPNotFound()
    bundle = published_bundle(request.dbsession, plan)
    difference = verify_bundle(bundle)
    return {
        "plan": plan,
        "bundle": bundle,
        "verified": difference is None,
        "difference": difference,
        "sha256": bundle_sha256(bundle),
        "json_url": request.route_path("api.plan.bundle", code=plan.code),
    }
