"""The liaison desk (两法衔接): every transfer of the bureau with its clocks and state, one
transfer's record with the steps public security and the procuratorate report (as forms),
and links to the package and the CSV/XLSX exports (served by the API routes, which accept
the signed-in session for GET).

Everything goes through ``enforcement.services.transfers.TransferService`` with the signed-in
user as the actor, as the API does; the desk and the steps need ``Permission.TRACK_TRANSFERS``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo

from pyramid.httpexceptions import HTTPForbidden, HTTPNotFound, HTTPSeeOther
from pyramid.request import Request
from pyramid.view import view_config

from enforcement.models import TransferStatus
from enforcement.reasons import reason_of
from enforcement.services.transfers import (
    CLOCK_LABELS,
    STATUS_LABELS,
    TransferNotFoundError,
    TransferPermissionError,
    TransferService,
    TransferStateError,
    TransferValidationError,
)
from mobile_api.i18n import _
from mobile_api.security import Permission

SHANGHAI = ZoneInfo("Asia/Shanghai")
PAGE_SIZE = 100
MAX_AFTER = 2147483647

#: The steps the liaison records, with their form fields, by the state they start from.
STEP_FIELDS: dict[str, tuple[str, ...]] = {
    "sent": ("police_office", "procuratorate", "at"),
    "receipt": ("at", "note"),
    "police_decision": ("decision", "reasons", "police_case_no", "at"),
    "reconsideration": ("reason", "at"),
    "reconsideration_outcome": ("outcome", "note", "at"),
    "supervision": ("reason", "at"),
    "supervision_outcome": ("outcome", "note", "at"),
    "closure": ("reason",),
}
STEPS_BY_STATUS: dict[TransferStatus, tuple[str, ...]] = {
    TransferStatus.APPROVED: ("sent",),
    TransferStatus.SENT: ("receipt",),
    TransferStatus.RECEIVED: ("police_decision",),
    TransferStatus.NOT_FILED: ("reconsideration", "supervision", "closure"),
    TransferStatus.RECONSIDERATION: ("reconsideration_outcome",),
    TransferStatus.UPHELD: ("supervision", "closure"),
    TransferStatus.SUPERVISION: ("supervision_outcome",),
}
STEP_TITLES = {
    "sent": _("Sent to public security"),
    "receipt": _("Public security received the case"),
    "police_decision": _("Public security's filing decision"),
    "reconsideration": _("Request reconsideration of the non-filing"),
    "reconsideration_outcome": _("Outcome of the reconsideration"),
    "supervision": _("Ask the procuratorate to supervise the filing"),
    "supervision_outcome": _("Outcome of the supervision"),
    "closure": _("Accept the non-filing and close"),
}
FIELD_LABELS = {
    "police_office": _("Public security office"),
    "procuratorate": _("Procuratorate (copy)"),
    "at": _("When (Beijing time; empty: now)"),
    "note": _("Note"),
    "decision": _("Decision"),
    "outcome": _("Outcome"),
    "reasons": _("Written reasons (required when not filed)"),
    "police_case_no": _("Public security's case number"),
    "reason": _("Reason"),
}
CHOICES = {"filed": _("Filed (立案)"), "not_filed": _("Not filed (不予立案)")}


def _english(request: Request) -> bool:
    return str(request.localizer.locale_name).startswith("en")


def _service(request: Request) -> TransferService:
    return TransferService(request.dbsession, request.identity, settings=request.registry.settings)


def local(value: str | None) -> str:
    """An ISO time of the service's documents, in Beijing time for people."""
    if not value:
        return ""
    moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


def remaining(seconds: int | None) -> str:
    if seconds is None:
        return ""
    hours = seconds / 3600
    return f"{hours:+.1f} h"


def _labels(request: Request) -> dict[str, Any]:
    index = 1 if _english(request) else 0
    return {
        "status_labels": {s.value: labels[index] for s, labels in STATUS_LABELS.items()},
        "clock_labels": {k: labels[index] for k, labels in CLOCK_LABELS.items()},
        "local": local,
        "remaining": remaining,
    }


@view_config(
    route_name="liaison.desk", renderer="liaison/desk.jinja2", permission=Permission.TRACK_TRANSFERS
)
def desk(request: Request) -> dict[str, Any]:
    """The bureau's transfers (``TransferService.desk``, as GET /api/v1/transfers)."""
    errors: dict[str, Any] = {}
    status = request.GET.get("status", "").strip() or None
    if status is not None and status not in {s.value for s in TransferStatus}:
        errors["status"] = _("Not a status of a transfer.")
        status = None
    overdue = request.GET.get("overdue", "") in ("1", "true", "on")
    raw_after = request.GET.get("after", "0").strip() or "0"
    after = 0
    if raw_after.isdigit() and int(raw_after) <= MAX_AFTER:
        after = int(raw_after)
    else:
        errors["after"] = _("Must be a whole number from 0.")
    try:
        rows = _service(request).desk(status=status, overdue=overdue, after=after, limit=PAGE_SIZE)
    except TransferPermissionError:
        raise HTTPForbidden() from None
    query = {"status": status or "", "overdue": "true" if overdue else "false"}
    exports = {
        fmt: request.route_path(
            "api.transfers.export", _query={"format": fmt, **{k: v for k, v in query.items() if v}}
        )
        for fmt in ("csv", "xlsx")
    }
    next_url = None
    if len(rows) == PAGE_SIZE:
        next_query = {
            "status": status or "",
            "overdue": "1" if overdue else "",
            "after": rows[-1]["transfer_id"],
        }
        next_url = request.route_path(
            "liaison.desk", _query={k: v for k, v in next_query.items() if v}
        )
    request.response.cache_control = "no-store"
    return {
        "rows": rows,
        "status": status or "",
        "overdue": overdue,
        "errors": errors,
        "exports": exports,
        "next_url": next_url,
        "statuses": [s.value for s in TransferStatus],
        **_labels(request),
    }


def _detail(
    request: Request,
    case_id: int,
    errors: Mapping[str, Any] | None = None,
    form: Mapping[str, Any] | None = None,
    step: str | None = None,
) -> dict[str, Any]:
    service = _service(request)
    try:
        transfer = service.get(case_id)
    except TransferNotFoundError:
        raise HTTPNotFound() from None
    except TransferPermissionError:
        raise HTTPForbidden() from None
    document = service.document(transfer)
    has_package = document["decision"]["decision"] == "approve"
    request.response.cache_control = "no-store"
    return {
        "transfer": document,
        "case_id": case_id,
        "steps": [(name, STEP_FIELDS[name]) for name in STEPS_BY_STATUS.get(transfer.status, ())],
        "step_titles": STEP_TITLES,
        "field_labels": FIELD_LABELS,
        "choices": CHOICES,
        "package_url": request.route_path("api.case.transfer.package", case_id=case_id)
        if has_package
        else None,
        "errors": dict(errors or {}),
        "form": dict(form or {}),
        "active_step": step,
        "messages": request.session.pop_flash(),
        **_labels(request),
    }


@view_config(
    route_name="liaison.transfer",
    renderer="liaison/transfer.jinja2",
    permission=Permission.TRACK_TRANSFERS,
)
def transfer(request: Request) -> dict[str, Any]:
    return _detail(request, int(request.matchdict["case_id"]))


def _parse_at(raw: str, errors: dict[str, Any]) -> dt.datetime | None:
    """A ``datetime-local`` value read as Beijing time; empty is now."""
    raw = raw.strip()
    if not raw:
        return None
    try:
        value = dt.datetime.fromisoformat(raw)
    except ValueError:
        errors["at"] = _("Must be a date and time, e.g. 2025-03-10T10:00.")
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=SHANGHAI)
    return value


@view_config(
    route_name="liaison.transfer.step",
    request_method="POST",
    renderer="liaison/transfer.jinja2",
    permission=Permission.TRACK_TRANSFERS,
)
def transfer_step(request: Request) -> Any:
    """One step reported by public security or the procuratorate (the service checks the
    state and the fields; a refusal re-renders the form with the reasons)."""
    case_id = int(request.matchdict["case_id"])
    step = request.matchdict["step"]
    if step not in STEP_FIELDS:
        raise HTTPNotFound()
    form = {name: request.POST.get(name, "") for name in STEP_FIELDS[step]}
    errors: dict[str, Any] = {}
    at = _parse_at(form.get("at", ""), errors) if "at" in form else None
    text = {k: (v.strip() or None) for k, v in form.items() if k != "at"}
    service = _service(request)
    try:
        if errors:
            raise TransferValidationError(errors)
        if step == "sent":
            service.send(
                case_id,
                police_office=text["police_office"],
                procuratorate=text["procuratorate"],
                at=at,
            )
        elif step == "receipt":
            service.receive(case_id, at=at, note=text["note"])
        elif step == "police_decision":
            service.police_decision(
                case_id,
                text["decision"] or "",
                reasons=text["reasons"],
                police_case_no=text["police_case_no"],
                at=at,
            )
        elif step == "reconsideration":
            service.request_reconsideration(case_id, reason=text["reason"] or "", at=at)
        elif step == "reconsideration_outcome":
            service.reconsideration_outcome(
                case_id, text["outcome"] or "", note=text["note"], at=at
            )
        elif step == "supervision":
            service.request_supervision(case_id, reason=text["reason"] or "", at=at)
        elif step == "supervision_outcome":
            service.supervision_outcome(case_id, text["outcome"] or "", note=text["note"], at=at)
        else:
            service.close(case_id, reason=text["reason"] or "")
    except TransferNotFoundError:
        raise HTTPNotFound() from None
    except TransferPermissionError:
        raise HTTPForbidden() from None
    except TransferValidationError as exc:
        request.response.status_int = 422
        values = _detail(request, case_id, exc.errors, form, step)
        request.response.status_int = 422
        return values
    except TransferStateError as exc:
        values = _detail(request, case_id, {"step": reason_of(exc)}, form, step)
        request.response.status_int = 409
        return values
    request.session.flash(request.localizer.translate(_("Step recorded.")))
    return HTTPSeeOther(request.route_path("liaison.transfer", case_id=case_id))
