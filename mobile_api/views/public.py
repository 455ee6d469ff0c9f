"""Public pages (一公开), no sign-in: published records searchable by enterprise name or USCC,
each with its corrections and the enterprise's replies; the open-data files and their
dictionary. Everything shown comes from the masked public documents."""

from __future__ import annotations

import json
from typing import Any

from pyramid.httpexceptions import HTTPNotFound, HTTPNotModified
from pyramid.i18n import TranslationString
from pyramid.request import Request
from pyramid.response import Response
from pyramid.view import view_config

from enforcement.models import InspectionMethod, PlanStatus, PublicKind
from enforcement.services import open_data
from enforcement.services.disclosure import (
    DisclosureNotFoundError,
    get_public_record,
    public_view,
    published_records,
)
from enforcement.services.public_lists import (
    BundleNotPublishedError,
    item_departments,
    public_items,
    public_tier,
    published_plans,
    verify_published,
)
from enforcement.settings import as_bool
from mobile_api.i18n import _

PAGE_SIZE = 20
ITEM_PAGE_SIZE = 50
MAX_CODE_LENGTH = 64
MAX_QUERY_LENGTH = 100
MAX_PAGE = 10_000
OPEN_DATA_CACHE = "public, max-age=300"

KIND_LABELS: dict[str, TranslationString] = {
    PublicKind.RESULT.value: _("Inspection results"),
    PublicKind.PENALTY.value: _("Penalty decisions"),
    PublicKind.PLAN.value: _("Inspection plans"),
    PublicKind.DRAW.value: _("Draw results"),
}
RESULT_LABELS: dict[str, TranslationString] = {
    "no_problem": _("No problem found"),
    "rectification_ordered": _("Problems found; rectification ordered"),
    "case_filed": _("Problems found; a case was filed"),
    "suspected_crime": _("Suspected crime; referred to the judicial authorities"),
}
MEASURE_LABELS: dict[str, TranslationString] = {
    "warning": _("Warning"),
    "fine": _("Fine"),
    "confiscation": _("Confiscation"),
    "suspension": _("Suspension"),
    "revocation": _("Revocation"),
}
SEVERITY_LABELS: dict[str, TranslationString] = {
    "minor": _("minor"),
    "serious": _("serious"),
    "critical": _("critical"),
}
METHOD_LABELS: dict[str, TranslationString] = {
    InspectionMethod.ON_SITE.value: _("On-site inspection"),
    InspectionMethod.DOCUMENTS.value: _("Document review"),
    InspectionMethod.ONLINE.value: _("Online monitoring"),
}
PLAN_STATUS_LABELS: dict[str, TranslationString] = {
    "drawn": _("Drawn"),
    "published": _("Published"),
    "superseded": _("Superseded"),
}
DATASET_LABELS: dict[str, TranslationString] = {
    "plans": _("Inspection plans"),
    "draws": _("Draw results"),
    "results": _("Inspection results"),
    "penalties": _("Penalty decisions"),
}


def publish_tiers(request: Request) -> bool:
    """Whether the configuration publishes credit tiers (``suijian.publish_tiers``, off by
    default: the public then sees no tier anywhere)."""
    return as_bool(request.registry.settings.get("suijian.publish_tiers", False))


def _page_number(params: Any, errors: dict[str, TranslationString]) -> int:
    raw = str(params.get("page", "1")).strip() or "1"
    if raw.isdigit() and 1 <= int(raw) <= MAX_PAGE:
        return int(raw)
    errors["page"] = _("Must be a whole number from 1.")
    return 1


def _search_text(params: Any, errors: dict[str, TranslationString]) -> str:
    text = str(params.get("q", "")).strip()
    if len(text) > MAX_QUERY_LENGTH:
        errors["q"] = _("At most ${n} characters.", mapping={"n": MAX_QUERY_LENGTH})
        return ""
    return text


TYPE_LABELS: dict[str, TranslationString] = {
    "string": _("text"),
    "integer": _("whole number"),
    "number": _("decimal number"),
    "boolean": _("true or false"),
    "date": _("date (YYYY-MM-DD, Beijing time)"),
    "datetime": _("instant (ISO 8601, UTC)"),
}


def _labels() -> dict[str, Any]:
    return {
        "kind_labels": KIND_LABELS,
        "result_labels": RESULT_LABELS,
        "measure_labels": MEASURE_LABELS,
        "severity_labels": SEVERITY_LABELS,
    }


@view_config(route_name="public.index", renderer="public/index.jinja2")
def index(request: Request) -> dict[str, Any]:
    """Search published records by enterprise name or USCC; results first."""
    errors: dict[str, TranslationString] = {}
    text = str(request.GET.get("q", "")).strip()
    if len(text) > MAX_QUERY_LENGTH:
        errors["q"] = _("At most ${n} characters.", mapping={"n": MAX_QUERY_LENGTH})
        text = ""
    kind = str(request.GET.get("kind", PublicKind.RESULT.value))
    if kind not in KIND_LABELS:
        errors["kind"] = _("Choose one of the listed kinds.")
        kind = PublicKind.RESULT.value
    raw_page = str(request.GET.get("page", "1")).strip() or "1"
    page = 1
    if raw_page.isdigit() and 1 <= int(raw_page) <= MAX_PAGE:
        page = int(raw_page)
    else:
        errors["page"] = _("Must be a whole number from 1.")
    records, total = published_records(
        request.dbsession,
        kinds=[PublicKind(kind)],
        text=text,
        offset=(page - 1) * PAGE_SIZE,
        limit=PAGE_SIZE,
    )
    pages = max(1, (total + PAGE_SIZE - 1) // PAGE_SIZE)

    def page_url(number: int) -> str:
        query = {"q": text, "kind": kind, "page": number}
        return request.route_path("public.index", _query={k: v for k, v in query.items() if v})

    tiers = publish_tiers(request)
    request.response.cache_control = "public, max-age=60"
    return {
        "publish_tiers": tiers,
        "tiers": {
            record.id: public_tier(request.dbsession, record.enterprise_id, publish_tiers=tiers)
            for record in records
            if record.kind is PublicKind.RESULT
        },
        "text": text,
        "kind": kind,
        "errors": errors,
        "records": [public_view(record) for record in records],
        "total": total,
        "page": page,
        "pages": pages,
        "page_url": page_url,
        **_labels(),
    }


@view_config(route_name="public.record", renderer="public/record.jinja2")
def record(request: Request) -> dict[str, Any]:
    """One record: its document (unless withdrawn), corrections and replies."""
    raw = request.matchdict["record_id"]
    if len(raw) > 10:
        raise HTTPNotFound()
    try:
        found = get_public_record(request.dbsession, int(raw))
    except DisclosureNotFoundError:
        raise HTTPNotFound() from None
    tiers = publish_tiers(request)
    tier = None
    if found.kind in (PublicKind.RESULT, PublicKind.PENALTY) and found.withdrawn_at is None:
        tier = public_tier(request.dbsession, found.enterprise_id, publish_tiers=tiers)
    verification_url = None
    document = found.document or {}
    published_plan = (
        document.get("status") == PlanStatus.PUBLISHED.value and found.withdrawn_at is None
    )
    if found.kind in (PublicKind.PLAN, PublicKind.DRAW) and published_plan:
        verification_url = request.route_path("public.plan.verification", code=found.subject_key)
    request.response.cache_control = "public, max-age=60"
    return {
        "record": public_view(found),
        "publish_tiers": tiers,
        "tier": tier,
        "verification_url": verification_url,
        **_labels(),
    }


@view_config(route_name="public.items", renderer="public/items.jinja2")
def items(request: Request) -> dict[str, Any]:
    """The inspection-item list (事项清单): every active item, searchable and by department."""
    errors: dict[str, TranslationString] = {}
    text = _search_text(request.GET, errors)
    departments = item_departments(request.dbsession)
    raw_department = str(request.GET.get("department", "")).strip()
    department_id: int | None = None
    if raw_department:
        if raw_department.isdigit() and int(raw_department) in {d.id for d in departments}:
            department_id = int(raw_department)
        else:
            errors["department"] = _("Choose one of the listed departments.")
    page = _page_number(request.GET, errors)
    found = public_items(request.dbsession, text, department_id, page, ITEM_PAGE_SIZE)

    def page_url(number: int) -> str:
        query = {"q": text, "department": department_id or "", "page": number}
        return request.route_path("public.items", _query={k: v for k, v in query.items() if v})

    request.response.cache_control = "public, max-age=300"
    return {
        "text": text,
        "department_id": department_id,
        "departments": departments,
        "errors": errors,
        "result": found,
        "page_url": page_url,
        "method_labels": METHOD_LABELS,
    }


@view_config(route_name="public.plans", renderer="public/plans.jinja2")
def plans(request: Request) -> dict[str, Any]:
    """Published sampling plans with their draws and verification bundles."""
    errors: dict[str, TranslationString] = {}
    text = _search_text(request.GET, errors)
    page = _page_number(request.GET, errors)
    found, total = published_plans(
        request.dbsession, text=text, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE
    )
    pages = max(1, (total + PAGE_SIZE - 1) // PAGE_SIZE)

    def page_url(number: int) -> str:
        query = {"q": text, "page": number}
        return request.route_path("public.plans", _query={k: v for k, v in query.items() if v})

    request.response.cache_control = "public, max-age=60"
    return {
        "text": text,
        "errors": errors,
        "plans": found,
        "total": total,
        "page": page,
        "pages": pages,
        "page_url": page_url,
        "status_labels": PLAN_STATUS_LABELS,
    }


@view_config(route_name="public.plan.verification", renderer="public/verification.jinja2")
def plan_verification(request: Request) -> dict[str, Any]:
    """A published plan's bundle re-run from the bundle alone: verified, or the first
    difference; with the bundle's download and how to check it offline."""
    code = request.matchdict["code"]
    if len(code) > MAX_CODE_LENGTH:
        raise HTTPNotFound()
    try:
        verification = verify_published(request.dbsession, code)
    except BundleNotPublishedError:
        raise HTTPNotFound() from None
    request.response.cache_control = "public, max-age=300"
    return {
        "v": verification,
        "bundle_url": request.route_path("api.plan.bundle", code=verification.code),
    }


@view_config(route_name="open_data.index", renderer="public/open_data.jinja2")
def open_data_index(request: Request) -> dict[str, Any]:
    request.response.cache_control = OPEN_DATA_CACHE
    return {
        "dictionary": open_data.dictionary(),
        "dataset_labels": DATASET_LABELS,
        "type_labels": TYPE_LABELS,
    }


@view_config(route_name="open_data.dictionary")
def open_data_dictionary(request: Request) -> Response:
    response = Response(
        json.dumps(open_data.dictionary(), ensure_ascii=False, indent=1),
        content_type="application/json",
        charset="utf-8",
    )
    response.cache_control = OPEN_DATA_CACHE
    return response


@view_config(route_name="open_data.file")
def open_data_file(request: Request) -> Response:
    """A dataset as CSV or JSON, with an ETag: unchanged data answers 304."""
    name, fmt = request.matchdict["dataset"], request.matchdict["format"]
    if name not in open_data.DATASETS:
        raise HTTPNotFound()
    ds = open_data.dataset(name)
    tag = f"{open_data.fingerprint(request.dbsession, ds)}-{fmt}"
    if tag in request.if_none_match:
        return HTTPNotModified(etag=tag, cache_control=OPEN_DATA_CACHE)
    body = open_data.render(request.dbsession, name, fmt)
    response = Response(
        body,
        content_type="text/csv" if fmt == "csv" else "application/json",
        charset="utf-8",
    )
    response.etag = tag
    response.cache_control = OPEN_DATA_CACHE
    response.content_disposition = f'inline; filename="{name}.{fmt}"'
    return response
