"""Supervisors' progress pages (监管看板): the indicators with their goals, and the task map on the
county polygons. The figures come from ``enforcement.services.dashboards``; the pages only parse
the query, translate labels and hand the numbers to ECharts (with a table beside every chart)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from pyramid.httpexceptions import HTTPForbidden
from pyramid.i18n import TranslationString
from pyramid.request import Request
from pyramid.view import view_config

from enforcement.models import utcnow
from enforcement.services import dashboards as figures
from enforcement.services.clocks import local_date
from mobile_api.i18n import _
from mobile_api.security import Permission

MAX_PLAN_CODE = 64

STATE_LABELS = {
    "open": _("Open"),
    "in_progress": _("In progress"),
    "done": _("Done"),
    "cancelled": _("Cancelled"),
    "overdue": _("Overdue"),
}
#: Colour per map state; the legend also names each state (colour is never the only cue).
STATE_COLOURS = {
    "open": "#1d4ed8",
    "in_progress": "#b45309",
    "done": "#166534",
    "cancelled": "#6b7280",
    "overdue": "#b3261e",
}
FLAG_LABELS = {
    "": _("Within the limits"),
    "warning_high": _("Above the 95 percent limit"),
    "warning_low": _("Below the 95 percent limit"),
    "high": _("Above the 99.8 percent limit (outlier)"),
    "low": _("Below the 99.8 percent limit (outlier)"),
}
CHANNEL_LABELS = {"tablet": _("Tablet app"), "other": _("Other means")}


@dataclass
class Query:
    period: figures.Period
    plan: str = ""
    errors: dict[str, TranslationString] = field(default_factory=dict)


def parse_query(params: Any, today: dt.date) -> Query:
    """``from``/``to`` (dates, default: this calendar year) and ``plan``; a bad field is named
    and replaced by its default."""
    default = figures.Period.year_of(today)
    errors: dict[str, TranslationString] = {}
    bounds = {"from": default.start, "to": default.end}
    for name in bounds:
        raw = str(params.get(name, "")).strip()
        if not raw:
            continue
        try:
            bounds[name] = dt.date.fromisoformat(raw)
        except ValueError:
            errors[name] = _("A date such as 2025-01-31.")
    try:
        period = figures.Period(bounds["from"], bounds["to"])
    except figures.DashboardValidationError:
        errors["to"] = _("Must be on or after the start date, at most three years later.")
        period = default
    plan = str(params.get("plan", "")).strip()
    if len(plan) > MAX_PLAN_CODE:
        errors["plan"] = _("At most ${n} characters.", mapping={"n": MAX_PLAN_CODE})
        plan = ""
    return Query(period, plan, errors)


def _scope(request: Request) -> figures.Scope:
    try:
        return figures.scope_for(request.identity)
    except figures.DashboardPermissionError as error:
        raise HTTPForbidden() from error


def _today() -> dt.date:
    return local_date(utcnow())


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f} %"


@view_config(
    route_name="dashboards",
    renderer="dashboards/index.jinja2",
    permission=Permission.GOVERN_PLANS,
)
def index(request: Request) -> dict[str, Any]:
    _scope(request)
    query = parse_query(request.GET, _today())
    found = figures.dashboard(request.dbsession, request.identity, query.period)
    t = request.localizer.translate
    consistency = found["consistency"]
    chart_data = {
        "labels": {
            "share": t(_("Share")),
            "goal": t(_("Goal")),
            "achieved": t(_("Achieved")),
            "remaining": t(_("Not yet")),
            "rate": t(_("Finding rate")),
            "inspections": t(_("Inspections")),
            "overall": t(_("Overall rate")),
            "limits95": t(_("95 percent limits")),
            "limits998": t(_("99.8 percent limits")),
            "inspector": t(_("Inspector")),
        },
        "shares": {
            key: {
                "title": t(title),
                "share": found[key].share,
                "goal": found[key].goal,
                "numerator": found[key].numerator,
                "denominator": found[key].denominator,
            }
            for key, title in (
                ("item_coverage", _("Item coverage")),
                ("cross_department", _("Cross-department share")),
                ("mobile_rate", _("掌上执法率 (mobile enforcement)")),
            )
        },
        "tiers": found["tiers"],
        "consistency": {
            "overall": consistency["overall_rate"],
            "inspectors": consistency["inspectors"],
            "funnel": consistency["funnel"],
        },
    }
    return {
        "query": query,
        "found": found,
        "chart_data": chart_data,
        "percent": _percent,
        "channel_labels": CHANNEL_LABELS,
        "flag_labels": FLAG_LABELS,
        "tiers": figures.TIERS,
    }


@view_config(
    route_name="dashboards.map",
    renderer="dashboards/map.jinja2",
    permission=Permission.GOVERN_PLANS,
)
def task_map(request: Request) -> dict[str, Any]:
    scope = _scope(request)
    query = parse_query(request.GET, _today())
    plan_error = None
    if query.plan:
        try:
            figures.plan_in_scope(request.dbsession, scope, query.plan)
        except figures.DashboardNotFoundError:
            plan_error = _("No plan with this code in your department's scope.")
    on_map = figures.map_tasks(
        request.dbsession, scope, _today(), query.plan if query.plan and not plan_error else None
    )
    t = request.localizer.translate
    tasks_url = request.route_path(
        "dashboards.tasks", _query={"plan": query.plan} if query.plan and not plan_error else {}
    )
    map_config = {
        "counties": request.route_path("dashboards.counties"),
        "tasks": tasks_url,
        "states": [
            {"key": key, "label": t(label), "colour": STATE_COLOURS[key]}
            for key, label in STATE_LABELS.items()
        ],
        "labels": {"due": t(_("Due")), "state": t(_("State"))},
    }
    return {
        "query": query,
        "plan_error": plan_error,
        "on_map": on_map,
        "map_config": map_config,
        "state_labels": STATE_LABELS,
        "state_colours": STATE_COLOURS,
    }


@view_config(
    route_name="dashboards.counties",
    renderer="json",
    permission=Permission.GOVERN_PLANS,
    request_method="GET",
)
def counties(request: Request) -> dict[str, Any]:
    """The base map: county polygons (WGS-84, simplified), cacheable for a while."""
    _scope(request)
    request.response.cache_control.private = True
    request.response.cache_control.max_age = 300
    return figures.county_geojson(request.dbsession)


@view_config(
    route_name="dashboards.tasks",
    renderer="json",
    permission=Permission.GOVERN_PLANS,
    request_method="GET",
)
def tasks(request: Request) -> dict[str, Any]:
    """Task points with their map state: of ``plan``, or all open work in scope."""
    scope = _scope(request)
    plan = str(request.GET.get("plan", "")).strip()
    if len(plan) > MAX_PLAN_CODE:
        request.response.status = 422
        return {"errors": {"plan": f"at most {MAX_PLAN_CODE} characters"}}
    try:
        return figures.map_tasks(request.dbsession, scope, _today(), plan or None)
    except figures.DashboardNotFoundError:
        request.response.status = 404
        return {"errors": {"plan": "no such plan in the department's scope"}}
