"""The supervisor console: directories of inspectors and items, imports and other long
operations run on the worker (with progress), the case desk with its statutory clocks and
alerts, and the dead letters of the data-center feed.

Pages call the same services as the API and the command line (``enforcement.services.jobs``,
``cases``, ``clocks``, ``enforcement.feed``); the views only read forms and translate the
services' domain exceptions into a page that names each field and its reason.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pyramid.httpexceptions import HTTPForbidden, HTTPNotFound, HTTPSeeOther
from pyramid.i18n import TranslationString
from pyramid.request import Request
from pyramid.view import view_config
from sqlalchemy import select

from enforcement import feed
from enforcement.importers import CRS_CHOICES, KINDS, bundled_mappings, stored_reason
from enforcement.models import (
    FINAL_CASE_STATUSES,
    BackgroundJob,
    CaseStatus,
    CoerciveKind,
    FeedRecord,
    JobKind,
    JobStatus,
    PenaltyCase,
    PenaltyMeasure,
    ReconsiderationStatus,
    User,
)
from enforcement.reasons import reason_of
from enforcement.services import audit, jobs
from enforcement.services.cases import (
    DECIDED_STATUSES,
    MEMBER_ROLES,
    OPEN_STATUSES,
    CaseError,
    CaseNotFoundError,
    CasePermissionError,
    CaseService,
    CaseStaleVersionError,
    CaseValidationError,
    case_clocks,
)
from enforcement.services.clocks import (
    ClockError,
    ClockNotFoundError,
    acknowledge_alert,
    due_date_of,
    list_alerts,
)
from enforcement.services.departments import officer_department_id
from enforcement.services.registry_lists import search_inspectors, search_items
from mobile_api.i18n import _, localize
from mobile_api.security import Permission

CONSOLE = Permission.USE_CONSOLE
PAGE_SIZE = 50
CASE_PAGE = 25
MAX_QUERY_LENGTH = 100
MAX_PAGE = 100_000
FEED_PAGE = 100

JOB_KIND_LABELS = {
    JobKind.IMPORT: _("Import"),
    JobKind.RERATE: _("Full re-rating"),
    JobKind.DRAW: _("Draw of a plan"),
}
JOB_STATUS_LABELS = {
    JobStatus.QUEUED: _("Queued"),
    JobStatus.RUNNING: _("Running"),
    JobStatus.DONE: _("Done"),
    JobStatus.FAILED: _("Failed"),
}
IMPORT_KIND_LABELS = {
    "jurisdictions": _("Jurisdictions"),
    "enterprises": _("Enterprises"),
    "inspectors": _("Inspectors"),
    "items": _("Inspection items"),
}
CASE_STATUS_LABELS = {
    CaseStatus.FILED: _("Filed"),
    CaseStatus.INVESTIGATING: _("Investigating"),
    CaseStatus.DECISION_PROPOSED: _("Decision proposed"),
    CaseStatus.LEGAL_REVIEW: _("Legal review"),
    CaseStatus.DECIDED: _("Decided"),
    CaseStatus.EXECUTED: _("Executed"),
    CaseStatus.CLOSED: _("Closed"),
    CaseStatus.WITHDRAWN: _("Withdrawn"),
}
MEASURE_LABELS = {
    PenaltyMeasure.WARNING: _("Warning"),
    PenaltyMeasure.FINE: _("Fine"),
    PenaltyMeasure.CONFISCATION: _("Confiscation"),
    PenaltyMeasure.SUSPENSION: _("Suspension"),
    PenaltyMeasure.REVOCATION: _("Revocation"),
}
ALERT_LEVEL_LABELS = {
    "warning": _("Warning"),
    "due": _("Due"),
    "overdue": _("Overdue"),
}
CLOCK_LABELS = {
    "case.decision": _("Decision deadline"),
    "coercive.measure": _("Coercive measure"),
    "rectification": _("Rectification deadline"),
    "transfer.head_decision": _("Transfer: head's decision"),
    "transfer.send": _("Transfer: sending"),
    "transfer.police_decision": _("Transfer: police decision"),
    "transfer.reconsideration": _("Transfer: reconsideration"),
    "transfer.reconsideration_decision": _("Transfer: reconsideration decision"),
    "transfer.supervision": _("Transfer: supervision"),
}
FIELD_LABELS = {
    "kind": _("What to import"),
    "file": _("File"),
    "mapping": _("Column mapping"),
    "crs": _("Coordinate system"),
    "note": _("Note"),
    "measure": _("Measure"),
    "amount": _("Amount (CNY)"),
    "legal_basis": _("Legal basis"),
    "is_major": _("Major decision"),
    "approve": _("Review outcome"),
    "opinion": _("Review opinion"),
    "decision_no": _("Decision number"),
    "reason": _("Reason"),
    "days": _("Days of extension"),
    "outcome": _("Reconsideration outcome"),
    "items": _("Items"),
    "place": _("Place"),
    "started_on": _("Started on"),
    "members": _("Case group"),
    "lead_id": _("Lead of the case group"),
    "version": _("Version"),
    "q": _("Search"),
    "department": _("Department"),
    "page": _("Page"),
    "status": _("Status"),
}


# ---------------------------------------------------------------------- shared helpers


def _text(params: Any, name: str, limit: int = 2000) -> str:
    return str(params.get(name, "") or "").strip()[:limit]


def _page_number(params: Any, errors: dict[str, Any]) -> int:
    raw = _text(params, "page", 12) or "1"
    if raw.isdigit() and 1 <= int(raw) <= MAX_PAGE:
        return int(raw)
    errors["page"] = _("Must be a whole number from 1.")
    return 1


def _local(value: dt.datetime | None) -> str:
    from mobile_api.templating import local_time

    return local_time(value)


# ---------------------------------------------------------------------- directories


@dataclass
class DirectorySearch:
    text: str = ""
    department: str = ""
    page: int = 1
    errors: dict[str, TranslationString] = field(default_factory=dict)


def parse_directory_search(params: Any) -> DirectorySearch:
    """Read the query string; a bad field is reported by name and otherwise ignored."""
    search = DirectorySearch()
    for name, attr in (("q", "text"), ("department", "department")):
        value = str(params.get(name, "")).strip()
        if len(value) > MAX_QUERY_LENGTH:
            search.errors[name] = _("At most ${n} characters.", mapping={"n": MAX_QUERY_LENGTH})
            value = ""
        setattr(search, attr, value)
    search.page = _page_number(params, search.errors)  # type: ignore[arg-type]
    return search


def _directory_page(request: Request, route: str, searcher: Callable[..., Any]) -> dict[str, Any]:
    search = parse_directory_search(request.GET)
    result = searcher(
        request.dbsession, search.text, search.department, page=search.page, per_page=PAGE_SIZE
    )

    def page_url(page: int) -> str:
        query = {"q": search.text, "department": search.department, "page": page}
        return request.route_path(route, _query={k: v for k, v in query.items() if v})

    return {
        "search": search,
        "page_url": page_url,
        "total": result.total,
        "page": result.page,
        "pages": result.pages,
        "rows": result.items,
        "route": route,
    }


@view_config(
    route_name="directory.inspectors", renderer="console/inspectors.jinja2", permission=CONSOLE
)
def inspectors(request: Request) -> dict[str, Any]:
    return _directory_page(request, "directory.inspectors", search_inspectors)


@view_config(route_name="directory.items", renderer="console/items.jinja2", permission=CONSOLE)
def items(request: Request) -> dict[str, Any]:
    return _directory_page(request, "directory.items", search_items)


# ---------------------------------------------------------------------- console home and jobs


@view_config(route_name="console.home", renderer="console/home.jinja2", permission=CONSOLE)
def console_home(request: Request) -> dict[str, Any]:
    return {
        "recent": jobs.recent(request.dbsession, request.identity, limit=10),
        "kind_labels": JOB_KIND_LABELS,
        "status_labels": JOB_STATUS_LABELS,
    }


@view_config(
    route_name="console.jobs",
    request_method="GET",
    renderer="console/jobs.jinja2",
    permission=CONSOLE,
)
def jobs_index(request: Request) -> dict[str, Any]:
    return {
        "recent": jobs.recent(request.dbsession, request.identity, limit=50),
        "kind_labels": JOB_KIND_LABELS,
        "status_labels": JOB_STATUS_LABELS,
        "percent": jobs.percent,
    }


@view_config(route_name="console.jobs.rerate", request_method="POST", permission=CONSOLE)
def jobs_rerate(request: Request) -> HTTPSeeOther:
    try:
        job = jobs.start(request.dbsession, request.identity, JobKind.RERATE, {})
    except jobs.JobPermissionError as exc:
        raise HTTPForbidden() from exc
    return HTTPSeeOther(request.route_path("console.job", uuid=str(job.uuid)))


def _job_in_scope(request: Request) -> BackgroundJob:
    try:
        return jobs.get(request.dbsession, request.identity, request.matchdict["uuid"])
    except jobs.JobNotFoundError as exc:
        raise HTTPNotFound() from exc
    except jobs.JobPermissionError as exc:
        raise HTTPForbidden() from exc


@view_config(route_name="console.job", renderer="console/job.jinja2", permission=CONSOLE)
def job_show(request: Request) -> dict[str, Any]:
    job = _job_in_scope(request)
    result = dict(job.result or {})
    if job.kind is JobKind.IMPORT and result.get("rejects"):
        # The stored report is JSON: each reject's reason becomes translatable again.
        result["rejects"] = [
            {**reject, "reason": stored_reason(reject)} for reject in result["rejects"]
        ]
    return {
        "job": job,
        "result": result,
        "progress": jobs.progress_document(job),
        "kind_labels": JOB_KIND_LABELS,
        "status_labels": JOB_STATUS_LABELS,
        "import_kind_labels": IMPORT_KIND_LABELS,
        "zh": request.localizer.locale_name == "zh_CN",
    }


@view_config(route_name="console.job.progress", renderer="json", permission=CONSOLE)
def job_progress(request: Request) -> dict[str, Any]:
    """What the job page polls (small: no result, no report)."""
    request.response.cache_control = "no-store"
    job = _job_in_scope(request)
    document = jobs.progress_document(job)
    document["status_label"] = request.localizer.translate(
        JOB_STATUS_LABELS[JobStatus(document["status"])]
    )
    # The stored texts are English; the services' reasons among them in the reader's language.
    document["message"] = localize(request, job.message_text)
    document["error"] = localize(request, job.error_text)
    return document


# ---------------------------------------------------------------------- imports


def _import_page(
    request: Request, form: dict[str, Any], errors: dict[str, Any] | None = None
) -> dict[str, Any]:
    recent = [
        job
        for job in jobs.recent(request.dbsession, request.identity, limit=50)
        if job.kind is JobKind.IMPORT
    ][:10]
    return {
        "form": form,
        "errors": errors or {},
        "kinds": list(KINDS),
        "kind_labels": IMPORT_KIND_LABELS,
        "mappings": list(bundled_mappings()),
        "crs_choices": list(CRS_CHOICES),
        "recent": recent,
        "status_labels": JOB_STATUS_LABELS,
        "field_labels": FIELD_LABELS,
        "max_mb": jobs.MAX_UPLOAD_BYTES // (1024 * 1024),
    }


def _import_form(params: Any) -> dict[str, Any]:
    return {
        "kind": _text(params, "kind", 40) or "enterprises",
        "mapping": _text(params, "mapping", 100),
        "crs": _text(params, "crs", 20) or "wgs84",
        "skip_invalid": bool(params.get("skip_invalid")),
        "dry_run": bool(params.get("dry_run")),
    }


@view_config(
    route_name="console.imports",
    request_method="GET",
    renderer="console/imports.jinja2",
    permission=CONSOLE,
)
def imports_form(request: Request) -> dict[str, Any]:
    return _import_page(request, _import_form({}))


@view_config(
    route_name="console.imports",
    request_method="POST",
    renderer="console/imports.jinja2",
    permission=CONSOLE,
)
def imports_start(request: Request) -> Any:
    form = _import_form(request.POST)
    upload = request.POST.get("file")
    file = None
    if upload is not None and hasattr(upload, "file"):
        data = upload.file.read(jobs.MAX_UPLOAD_BYTES + 1)
        file = (str(upload.filename or "upload"), data)
    try:
        job = jobs.start(
            request.dbsession,
            request.identity,
            JobKind.IMPORT,
            {**form, "mapping": form["mapping"] or None},
            upload=file,
        )
    except jobs.JobPermissionError as exc:
        raise HTTPForbidden() from exc
    except jobs.JobValidationError as exc:
        request.tm.doom()
        request.response.status_int = 422
        return _import_page(request, form, exc.errors)
    return HTTPSeeOther(request.route_path("console.job", uuid=str(job.uuid)))


# ---------------------------------------------------------------------- cases


def _case_service(request: Request) -> CaseService:
    return CaseService(request.dbsession, request.identity, settings=request.registry.settings)


def _clock_rows(found: list[Any], now: dt.datetime) -> list[dict[str, Any]]:
    rows = []
    for clock in found:
        rows.append(
            {
                "kind": clock.kind,
                "label": CLOCK_LABELS.get(clock.kind),
                "due_on": due_date_of(clock.due_at).isoformat(),
                "running": clock.stopped_at is None,
                "overdue": clock.stopped_at is None and clock.due_at <= now,
                "stopped_at": _local(clock.stopped_at),
                "outcome": clock.outcome.value if clock.outcome is not None else "",
            }
        )
    return rows


@view_config(route_name="console.cases", renderer="console/cases.jinja2", permission=CONSOLE)
def cases_index(request: Request) -> dict[str, Any]:
    errors: dict[str, Any] = {}
    status = _text(request.GET, "status", 40)
    if status and status not in {s.value for s in CaseStatus}:
        errors["status"] = _("Not a case status.")
        status = ""
    page = _page_number(request.GET, errors)
    service = _case_service(request)
    result = service.list_cases(
        status=status or None, limit=CASE_PAGE, offset=(page - 1) * CASE_PAGE
    )
    pages = max(1, -(-result.total // CASE_PAGE))
    found = case_clocks(request.dbsession, result.cases)
    now = dt.datetime.now(dt.UTC)
    try:
        alerts = list_alerts(request.dbsession, request.identity, state="open", limit=100)
    except ClockError:
        alerts = []

    def page_url(number: int) -> str:
        query = {"status": status, "page": number}
        return request.route_path("console.cases", _query={k: v for k, v in query.items() if v})

    return {
        "cases": [
            (
                case,
                [c for c in _clock_rows(found[case.id], now) if c["running"]],
            )
            for case in result.cases
        ],
        "total": result.total,
        "page": min(page, pages),
        "pages": pages,
        "page_url": page_url,
        "status": status,
        "errors": errors,
        "statuses": list(CaseStatus),
        "status_labels": CASE_STATUS_LABELS,
        "alerts": alerts,
        "alert_labels": ALERT_LEVEL_LABELS,
        "clock_labels": CLOCK_LABELS,
        "field_labels": FIELD_LABELS,
    }


#: Each step: the statuses it starts from and the form fields it takes.
CASE_STEPS: dict[str, tuple[frozenset[CaseStatus], TranslationString]] = {
    "investigate": (frozenset({CaseStatus.FILED}), _("Start investigation")),
    "propose": (frozenset({CaseStatus.INVESTIGATING}), _("Propose a decision")),
    "review": (frozenset({CaseStatus.LEGAL_REVIEW}), _("Legal review")),
    "decide": (frozenset({CaseStatus.DECISION_PROPOSED}), _("Decide")),
    "execute": (frozenset({CaseStatus.DECIDED}), _("Record execution")),
    "close": (frozenset({CaseStatus.EXECUTED, CaseStatus.DECIDED}), _("Close the case")),
    "withdraw": (OPEN_STATUSES, _("Withdraw the case")),
    "extend": (OPEN_STATUSES, _("Extend the decision deadline")),
    "reconsider": (DECIDED_STATUSES, _("Record a reconsideration request")),
    "reconsider_decide": (DECIDED_STATUSES, _("Record the reconsideration decision")),
    "coercive": (OPEN_STATUSES, _("Impose a coercive measure")),
    "coercive_extend": (frozenset(CaseStatus), _("Extend a coercive measure")),
    "coercive_lift": (frozenset(CaseStatus), _("Lift a coercive measure")),
    "members": (frozenset(CaseStatus) - FINAL_CASE_STATUSES, _("Change the case group")),
}
#: Steps that also depend on more of the case than its status.
STEP_CONDITIONS: dict[str, Callable[[PenaltyCase], bool]] = {
    "reconsider": lambda case: case.reconsideration_status is None,
    "reconsider_decide": lambda case: (
        case.reconsideration_status == ReconsiderationStatus.REQUESTED
    ),
    "coercive_extend": lambda case: any(
        m.lifted_at is None and not m.extended for m in case.coercive_measures
    ),
    "coercive_lift": lambda case: any(m.lifted_at is None for m in case.coercive_measures),
}
COERCIVE_KIND_LABELS: dict[str, TranslationString] = {
    CoerciveKind.SEAL.value: _("Seal (查封)"),
    CoerciveKind.SEIZE.value: _("Seizure (扣押)"),
}
RECONSIDERATION_OUTCOMES: dict[str, TranslationString] = {
    ReconsiderationStatus.UPHELD.value: _("Upheld"),
    ReconsiderationStatus.REVOKED.value: _("Revoked"),
    ReconsiderationStatus.CHANGED.value: _("Changed"),
}
#: Steps that need an API permission beyond the console's own (as in mobile_api/api/cases.py).
STEP_PERMISSIONS: dict[str, Permission] = {
    "extend": Permission.DECIDE_CASES,
    "reconsider": Permission.HANDLE_CASES,
    "reconsider_decide": Permission.DECIDE_CASES,
    "coercive": Permission.HANDLE_CASES,
    "coercive_extend": Permission.DECIDE_CASES,
    "coercive_lift": Permission.HANDLE_CASES,
    "members": Permission.HANDLE_CASES,
}


def _step_allowed(request: Request, step: str) -> bool:
    needed = STEP_PERMISSIONS.get(step)
    return needed is None or bool(request.has_permission(needed))


def _officers(request: Request, case: PenaltyCase) -> list[User]:
    """The active officers of the case's department: who may be in its group."""
    users = request.dbsession.scalars(
        select(User)
        .where(User.active.is_(True), User.role.in_([r.value for r in MEMBER_ROLES]))
        .order_by(User.display_name, User.id)
    )
    return [u for u in users if officer_department_id(u) == case.department_id]


def _case_in_scope(request: Request) -> PenaltyCase:
    try:
        return _case_service(request).get(int(request.matchdict["case_id"]))
    except CaseNotFoundError as exc:
        raise HTTPNotFound() from exc
    except CasePermissionError as exc:
        raise HTTPForbidden() from exc


def case_page(
    request: Request,
    case: PenaltyCase,
    *,
    errors: dict[str, Any] | None = None,
    problem: str | None = None,
    failed_step: str | None = None,
    typed: dict[str, str] | None = None,
) -> dict[str, Any]:
    request.dbsession.flush()
    found = case_clocks(request.dbsession, [case])[case.id]
    now = dt.datetime.now(dt.UTC)
    status = CaseStatus(case.status)
    steps = [
        name
        for name, (starts, _label) in CASE_STEPS.items()
        if status in starts
        and _step_allowed(request, name)
        and STEP_CONDITIONS.get(name, lambda _case: True)(case)
    ]
    if failed_step and failed_step not in steps:
        steps.append(failed_step)
    return {
        "case": case,
        "clocks": _clock_rows(found, now),
        "events": sorted(case.events, key=lambda e: (e.at, e.id)),
        "steps": steps,
        "step_labels": {name: label for name, (_starts, label) in CASE_STEPS.items()},
        "status_labels": CASE_STATUS_LABELS,
        "measures": list(PenaltyMeasure),
        "measure_labels": MEASURE_LABELS,
        "outcome_labels": RECONSIDERATION_OUTCOMES,
        "coercive_kinds": COERCIVE_KIND_LABELS,
        "coercive_measures": sorted(case.coercive_measures, key=lambda m: m.id),
        "officers": _officers(request, case) if "members" in steps else [],
        "group": {m.user_id: m.role for m in case.members},
        "errors": errors or {},
        "problem": problem,
        "failed_step": failed_step,
        "typed": typed or {},
        "field_labels": FIELD_LABELS | {"kind": _("Kind of measure")},
        "local": _local,
    }


@view_config(
    route_name="console.case",
    request_method="GET",
    renderer="console/case.jinja2",
    permission=CONSOLE,
)
def case_show(request: Request) -> dict[str, Any]:
    return case_page(request, _case_in_scope(request))


def _run_step(service: CaseService, case_id: int, step: str, post: Any, version: int | None) -> Any:
    note = _text(post, "note")
    if step == "investigate":
        return service.start_investigation(case_id, note=note, if_match=version)
    if step == "propose":
        return service.propose_decision(
            case_id,
            measure=_text(post, "measure", 40),
            amount=_text(post, "amount", 40) or None,
            legal_basis=_text(post, "legal_basis"),
            is_major=bool(post.get("is_major")),
            note=note,
            if_match=version,
        )
    if step == "review":
        outcome = _text(post, "approve", 10)
        if outcome not in {"yes", "no"}:
            raise CaseValidationError({"approve": "choose approve or send back"})
        return service.legal_review(
            case_id, approve=outcome == "yes", opinion=_text(post, "opinion"), if_match=version
        )
    if step == "decide":
        return service.decide(
            case_id,
            decision_no=_text(post, "decision_no", 64) or None,
            note=note,
            if_match=version,
        )
    if step == "execute":
        return service.execute(case_id, note=note, if_match=version)
    if step == "close":
        return service.close(case_id, note=note, if_match=version)
    if step == "withdraw":
        return service.withdraw(case_id, reason=_text(post, "reason"), if_match=version)
    if step == "extend":
        raw_days = _text(post, "days", 12)
        if raw_days and not raw_days.isdigit():
            raise CaseValidationError({"days": "must be a whole number of days"})
        return service.extend_deadline(
            case_id,
            reason=_text(post, "reason"),
            days=int(raw_days) if raw_days else None,
            if_match=version,
        )
    if step == "reconsider":
        return service.request_reconsideration(case_id, note=note, if_match=version)
    if step == "reconsider_decide":
        return service.decide_reconsideration(
            case_id,
            outcome=_text(post, "outcome", 20),
            note=note,
            measure=_text(post, "measure", 40) or None,
            amount=_text(post, "amount", 40) or None,
            legal_basis=_text(post, "legal_basis"),
            decision_no=_text(post, "decision_no", 64) or None,
            if_match=version,
        )
    if step == "coercive":
        raw_start = _text(post, "started_on", 12)
        try:
            started_on = dt.date.fromisoformat(raw_start) if raw_start else None
        except ValueError:
            raise CaseValidationError({"started_on": "must be a date (YYYY-MM-DD)"}) from None
        lines = [line.strip() for line in _text(post, "items", 20000).splitlines()]
        return service.start_coercive_measure(
            case_id,
            kind=_text(post, "kind", 20),
            items=[{"name": line} for line in lines if line],
            place=_text(post, "place", 300),
            started_on=started_on,
            note=note,
            if_match=version,
        )
    if step in ("coercive_extend", "coercive_lift"):
        raw_measure = _text(post, "measure", 12)
        if not raw_measure.isdigit():
            raise CaseValidationError({"measure": "choose a coercive measure"})
        act = (
            service.extend_coercive_measure
            if step == "coercive_extend"
            else service.lift_coercive_measure
        )
        return act(case_id, int(raw_measure), reason=_text(post, "reason"), if_match=version)
    if step == "members":
        try:
            members = [int(m) for m in post.getall("members")]
            raw_lead = _text(post, "lead_id", 12)
            lead_id = int(raw_lead) if raw_lead else None
        except ValueError:
            raise CaseValidationError({"members": _("choose officers from the list")}) from None
        return service.set_members(case_id, members, lead_id=lead_id, if_match=version)
    raise HTTPNotFound()


@view_config(
    route_name="console.case.step",
    request_method="POST",
    renderer="console/case.jinja2",
    permission=CONSOLE,
)
def case_step(request: Request) -> Any:
    step = request.matchdict["step"]
    if step not in CASE_STEPS:
        raise HTTPNotFound()
    if not _step_allowed(request, step):
        raise HTTPForbidden()
    case = _case_in_scope(request)
    raw_version = _text(request.POST, "version", 12)
    version = int(raw_version) if raw_version.isdigit() else None
    typed = {
        name: _text(request.POST, name)
        for name in (
            "note",
            "measure",
            "amount",
            "legal_basis",
            "opinion",
            "decision_no",
            "reason",
            "days",
            "outcome",
            "kind",
            "items",
            "place",
            "started_on",
            "lead_id",
        )
    }
    typed["members"] = ",".join(str(m)[:12] for m in request.POST.getall("members"))
    try:
        _run_step(_case_service(request), case.id, step, request.POST, version)
    except CasePermissionError as exc:
        raise HTTPForbidden() from exc
    except CaseNotFoundError as exc:
        raise HTTPNotFound() from exc
    except CaseError as exc:
        request.tm.doom()  # nothing of a refused step is written
        request.dbsession.expire_all()  # and the page shows the case as it is
        if isinstance(exc, CaseValidationError):
            request.response.status_int = 422
            return case_page(request, case, errors=exc.errors, failed_step=step, typed=typed)
        request.response.status_int = 412 if isinstance(exc, CaseStaleVersionError) else 409
        if isinstance(exc, CaseStaleVersionError):
            problem = _("Someone else changed this case meanwhile; check it and try again.")
        else:
            problem = reason_of(exc)
        return case_page(request, case, problem=problem, failed_step=step, typed=typed)
    request.session.flash(
        request.localizer.translate(
            _(
                "${step}: done. Case ${case_no} is now ${status}.",
                mapping={
                    "step": request.localizer.translate(CASE_STEPS[step][1]),
                    "case_no": case.case_no,
                    "status": request.localizer.translate(
                        CASE_STATUS_LABELS[CaseStatus(case.status)]
                    ),
                },
            )
        )
    )
    return HTTPSeeOther(request.route_path("console.case", case_id=case.id))


@view_config(route_name="console.alert.ack", request_method="POST", permission=CONSOLE)
def alert_acknowledge(request: Request) -> HTTPSeeOther:
    try:
        acknowledge_alert(request.dbsession, request.identity, int(request.matchdict["alert_id"]))
    except ClockNotFoundError as exc:
        raise HTTPNotFound() from exc
    request.session.flash(request.localizer.translate(_("Alert acknowledged.")))
    return HTTPSeeOther(request.route_path("console.cases"))


# ---------------------------------------------------------------------- the feed


def _record_state(record: FeedRecord) -> str:
    if record.delivered_at is not None:
        return "delivered"
    return "dead" if record.dead_at is not None else "pending"


@view_config(
    route_name="console.feed",
    request_method="GET",
    renderer="console/feed.jinja2",
    permission=CONSOLE,
)
def feed_page(request: Request) -> dict[str, Any]:
    errors: dict[str, Any] = {}
    raw_after = _text(request.GET, "after", 12) or "0"
    after = int(raw_after) if raw_after.isdigit() else 0
    if not raw_after.isdigit():
        errors["after"] = _("Must be a whole number from 0.")
    found = feed.dead_letters(request.dbsession, limit=FEED_PAGE, after_id=after)
    return {
        "status": feed.status(request.dbsession).as_dict(),
        "records": found,
        "next_after": found[-1].id if len(found) == FEED_PAGE else None,
        "errors": errors,
        "local": _local,
    }


@view_config(route_name="console.feed.requeue", request_method="POST", permission=CONSOLE)
def feed_requeue(request: Request) -> HTTPSeeOther:
    """Re-queue the chosen dead records (or all of them), each audit-logged as in the API."""
    session = request.dbsession
    if request.POST.get("all"):
        ids = [record.id for record in feed.dead_letters(session, limit=100_000)]
    else:
        ids = sorted(
            {int(v) for v in request.POST.getall("record") if str(v).isdigit() and len(v) < 19}
        )
    records = [session.get(FeedRecord, i) for i in ids]
    dead = [r for r in records if r is not None and _record_state(r) == "dead"]
    count = feed.requeue(session, [r.id for r in dead]) if dead else 0
    for record in dead:
        session.refresh(record)
        audit.record(
            session,
            request.identity,
            "feed.requeue",
            record,
            {"idempotency_key": record.idempotency_key},
        )
    request.session.flash(
        request.localizer.translate(_("${n} records put back on the feed.", mapping={"n": count}))
    )
    return HTTPSeeOther(request.route_path("console.feed"))
