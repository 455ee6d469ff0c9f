"""The enterprise portal: what an enterprise account sees of itself and what it may file.

Every read and write goes through the services the API uses (credit visibility, rectification,
credit repair, disclosure, commitments) with the signed-in account as the actor, so an
enterprise never sees another's private data: the services scope everything to
``user.enterprise_id`` and answer "not found" for the rest (shown as the 404 page).

Forms follow post/redirect/get: a success flashes a message and redirects; a refusal of the
input re-renders the page (422) with each field's reason and what was typed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pyramid.httpexceptions import HTTPForbidden, HTTPNotFound, HTTPSeeOther
from pyramid.request import Request
from pyramid.view import view_config
from sqlalchemy import select

from enforcement.models import (
    CreditList,
    Enterprise,
    InspectionItem,
    ListEntry,
    Penalty,
    PublicKind,
    RecordAppeal,
    RepairSubject,
)
from enforcement.reasons import reason_of
from enforcement.services import rectification
from enforcement.services.clocks import calendar_for
from enforcement.services.commitments import (
    CommitmentNotFoundError,
    CommitmentPermissionError,
    CommitmentService,
    CommitmentStateError,
    CommitmentValidationError,
    enterprise_inspections,
    list_commitments,
)
from enforcement.services.credit import CreditNotVisibleError, credit_profile
from enforcement.services.credit_repair import (
    RepairNotFoundError,
    RepairPermissionError,
    RepairService,
    RepairStateError,
    RepairValidationError,
    list_repairs,
)
from enforcement.services.disclosure import (
    DisclosureNotFoundError,
    DisclosurePermissionError,
    DisclosureService,
    DisclosureStateError,
    DisclosureValidationError,
    published_records,
)
from enforcement.services.rectification import (
    RectificationNotFoundError,
    RectificationPermissionError,
    RectificationStateError,
    RectificationValidationError,
)
from enforcement.settings import as_bool
from mobile_api.i18n import _
from mobile_api.security import Permission
from mobile_api.views.commitments import STATUS_LABELS as COMMITMENT_LABELS
from mobile_api.views.liaison import local

MAX_ROWS = 200
RESULT_LABELS = {
    "no_problem": _("No problem found"),
    "rectification_ordered": _("Problems found, rectification ordered"),
    "case_filed": _("A case was filed"),
    "suspected_crime": _("Suspected crime, transferred"),
}
ORDER_LABELS = {
    "open": _("Open"),
    "overdue": _("Overdue"),
    "rectified": _("Reported rectified, awaiting re-inspection"),
    "reinspected": _("Re-inspected, closed"),
}
REPAIR_LABELS = {
    "submitted": _("Submitted, awaiting decision"),
    "approved": _("Approved"),
    "rejected": _("Rejected"),
}
APPEAL_LABELS = {
    "submitted": _("Submitted, awaiting decision"),
    "upheld": _("Upheld"),
    "dismissed": _("Dismissed"),
}
TIER_LABELS = {
    "A": _("A: low risk"),
    "B": _("B: ordinary risk"),
    "C": _("C: higher risk"),
    "D": _("D: high risk"),
}
CAUSE_LABELS = {
    "batch": _("Scheduled rating"),
    "event": _("After a new record"),
    "manual": _("Rated by an officer"),
    "repair": _("After a credit repair"),
}


def _enterprise(request: Request) -> Enterprise:
    """The signed-in account's own enterprise (an enterprise account without one: 403)."""
    user = request.identity
    enterprise = (
        request.dbsession.get(Enterprise, user.enterprise_id) if user.enterprise_id else None
    )
    if enterprise is None:
        raise HTTPForbidden()
    return enterprise


def _lang(request: Request) -> str:
    return "en" if str(request.localizer.locale_name).startswith("en") else "zh"


def _redirect(request: Request, route: str, message: Any) -> HTTPSeeOther:
    request.session.flash(request.localizer.translate(message))
    return HTTPSeeOther(request.route_path(route))


def _int_or_none(raw: str, field: str, errors: dict[str, Any]) -> int | None:
    raw = raw.strip()
    if not raw:
        return None
    if raw.isdigit() and 1 <= int(raw) <= 2147483647:
        return int(raw)
    errors[field] = _("Must be a whole number from 1.")
    return None


def _base(request: Request, page: str) -> dict[str, Any]:
    return {
        "enterprise": _enterprise(request),
        "page": page,
        "messages": request.session.pop_flash(),
        "errors": {},
        "form": {},
    }


# ---------------------------------------------------------------------- overview: credit


@view_config(
    route_name="portal.home", renderer="portal/home.jinja2", permission=Permission.USE_PORTAL
)
def home(request: Request) -> dict[str, Any]:
    """Tier, score band, the reasons in plain language and the history (credit_profile)."""
    values = _base(request, "home")
    public = as_bool(request.registry.settings.get("suijian.publish_tiers", False))
    try:
        profile = credit_profile(
            request.dbsession, request.identity, values["enterprise"], public_tiers=public
        )
    except CreditNotVisibleError:
        raise HTTPNotFound() from None
    lang = _lang(request)
    reasons = [r.get(lang) or r.get("zh") or r.get("code", "") for r in profile.get("reasons", [])]
    open_orders = rectification.list_orders(request.dbsession, request.identity, limit=MAX_ROWS)
    values.update(
        profile=profile,
        reasons=reasons,
        tier_labels=TIER_LABELS,
        local=local,
        cause_labels=CAUSE_LABELS,
        open_orders=sum(1 for o in open_orders if o.status.value in ("open", "overdue")),
    )
    return values


# ---------------------------------------------------------------------- inspections


@view_config(
    route_name="portal.inspections",
    renderer="portal/inspections.jinja2",
    permission=Permission.USE_PORTAL,
)
def inspections(request: Request) -> dict[str, Any]:
    values = _base(request, "inspections")
    values.update(
        inspections=enterprise_inspections(request.dbsession, request.identity, MAX_ROWS),
        result_labels=RESULT_LABELS,
    )
    return values


# ---------------------------------------------------------------------- rectification orders


def _orders_page(request: Request, errors: Mapping[str, Any], form: Mapping[str, Any]) -> dict:
    values = _base(request, "rectifications")
    orders = rectification.list_orders(request.dbsession, request.identity, limit=MAX_ROWS)
    values.update(orders=orders, order_labels=ORDER_LABELS, errors=dict(errors), form=dict(form))
    return values


@view_config(
    route_name="portal.rectifications",
    renderer="portal/rectifications.jinja2",
    permission=Permission.USE_PORTAL,
)
def rectifications(request: Request) -> dict[str, Any]:
    return _orders_page(request, {}, {})


@view_config(
    route_name="portal.rectification.report",
    request_method="POST",
    renderer="portal/rectifications.jinja2",
    permission=Permission.USE_PORTAL,
)
def rectification_report(request: Request) -> Any:
    """Report an order rectified (the same service as POST /api/v1/rectifications/{id}/report)."""
    order_id = int(request.matchdict["order_id"])
    note = request.POST.get("note", "")
    try:
        rectification.report_rectified(
            request.dbsession,
            request.identity,
            order_id,
            note=note,
            calendar=calendar_for(request.registry.settings),
        )
    except RectificationNotFoundError:
        raise HTTPNotFound() from None
    except RectificationPermissionError:
        raise HTTPForbidden() from None
    except RectificationValidationError as exc:
        request.response.status_int = 422
        return _orders_page(
            request, {"note": exc.errors.get("note", "")}, {"id": order_id, "note": note}
        )
    except RectificationStateError as exc:
        request.response.status_int = 409
        return _orders_page(request, {"order": reason_of(exc)}, {"id": order_id, "note": note})
    return _redirect(
        request, "portal.rectifications", _("Rectification reported; a re-inspection follows.")
    )


# ---------------------------------------------------------------------- commitments


def _commitments_page(
    request: Request, errors: Mapping[str, Any], form: Mapping[str, Any]
) -> dict[str, Any]:
    values = _base(request, "commitments")
    items = list(
        request.dbsession.scalars(
            select(InspectionItem)
            .where(InspectionItem.active.is_(True))
            .order_by(InspectionItem.code)
        )
    )
    values.update(
        commitments=list_commitments(request.dbsession, request.identity, limit=MAX_ROWS),
        items=items,
        labels=COMMITMENT_LABELS,  # the desk's labels: the enterprise sees its review too
        errors=dict(errors),
        form=dict(form),
    )
    return values


@view_config(
    route_name="portal.commitments",
    request_method="GET",
    renderer="portal/commitments.jinja2",
    permission=Permission.USE_PORTAL,
)
def commitments(request: Request) -> dict[str, Any]:
    return _commitments_page(request, {}, {})


@view_config(
    route_name="portal.commitments",
    request_method="POST",
    renderer="portal/commitments.jinja2",
    permission=Permission.USE_PORTAL,
)
def commitment_file(request: Request) -> Any:
    form = {
        "text": request.POST.get("text", ""),
        "item_id": request.POST.get("item_id", ""),
        "licence": request.POST.get("licence", ""),
    }
    errors: dict[str, Any] = {}
    item_id = _int_or_none(form["item_id"], "item_id", errors)
    try:
        if errors:
            raise CommitmentValidationError(errors)
        CommitmentService(request.dbsession, request.identity).file(
            text=form["text"], item_id=item_id, licence=form["licence"]
        )
    except CommitmentPermissionError:
        raise HTTPForbidden() from None
    except CommitmentValidationError as exc:
        request.response.status_int = 422
        return _commitments_page(request, exc.errors, form)
    return _redirect(request, "portal.commitments", _("Commitment filed."))


@view_config(
    route_name="portal.commitment.withdraw",
    request_method="POST",
    renderer="portal/commitments.jinja2",
    permission=Permission.USE_PORTAL,
)
def commitment_withdraw(request: Request) -> Any:
    commitment_id = int(request.matchdict["commitment_id"])
    reason = request.POST.get("reason", "")
    try:
        CommitmentService(request.dbsession, request.identity).withdraw(
            commitment_id, reason=reason
        )
    except CommitmentNotFoundError:
        raise HTTPNotFound() from None
    except CommitmentPermissionError:
        raise HTTPForbidden() from None
    except CommitmentValidationError as exc:
        request.response.status_int = 422
        errors = {f"withdraw-{commitment_id}": exc.errors.get("reason", "")}
        return _commitments_page(request, errors, {"withdraw_reason": reason})
    except CommitmentStateError as exc:
        request.response.status_int = 409
        return _commitments_page(request, {f"withdraw-{commitment_id}": reason_of(exc)}, {})
    return _redirect(request, "portal.commitments", _("Commitment withdrawn."))


# ---------------------------------------------------------------------- credit repair


def _repair_candidates(request: Request, enterprise: Enterprise) -> list[tuple[str, str]]:
    """The enterprise's own records an application may name (the service decides the rest)."""
    session = request.dbsession
    choices: list[tuple[str, str]] = []
    entries = session.scalars(
        select(ListEntry)
        .where(
            ListEntry.enterprise_id == enterprise.id,
            ListEntry.list == CreditList.ABNORMAL_OPERATION,
            ListEntry.removed_on.is_(None),
        )
        .order_by(ListEntry.id)
    )
    translate = request.localizer.translate
    for entry in entries:
        label = translate(
            _(
                "Abnormal-operation list since ${on}: ${reason}",
                mapping={"on": entry.listed_on.isoformat(), "reason": entry.reason},
            )
        )
        choices.append((f"list_entry:{entry.id}", label))
    penalties = session.scalars(
        select(Penalty)
        .where(
            Penalty.enterprise_id == enterprise.id,
            Penalty.repaired_at.is_(None),
            Penalty.revoked_at.is_(None),
        )
        .order_by(Penalty.id)
    )
    for penalty in penalties:
        label = translate(
            _(
                "Penalty ${no} of ${on}",
                mapping={"no": penalty.decision_no, "on": penalty.decided_on.isoformat()},
            )
        )
        choices.append((f"penalty:{penalty.id}", label))
    return choices


def _repairs_page(
    request: Request, errors: Mapping[str, Any], form: Mapping[str, Any]
) -> dict[str, Any]:
    values = _base(request, "repairs")
    values.update(
        repairs=list_repairs(request.dbsession, request.identity),
        candidates=_repair_candidates(request, values["enterprise"]),
        labels=REPAIR_LABELS,
        errors=dict(errors),
        form=dict(form),
    )
    return values


@view_config(
    route_name="portal.repairs",
    request_method="GET",
    renderer="portal/repairs.jinja2",
    permission=Permission.USE_PORTAL,
)
def repairs(request: Request) -> dict[str, Any]:
    return _repairs_page(request, {}, {})


@view_config(
    route_name="portal.repairs",
    request_method="POST",
    renderer="portal/repairs.jinja2",
    permission=Permission.USE_PORTAL,
)
def repair_apply(request: Request) -> Any:
    """Apply for credit repair (the same service as POST /api/v1/credit-repairs)."""
    form = {
        "subject": request.POST.get("subject", ""),
        "statement": request.POST.get("statement", ""),
    }
    kind, _sep, raw_id = form["subject"].partition(":")
    errors: dict[str, Any] = {}
    if kind not in {s.value for s in RepairSubject} or not raw_id.isdigit():
        errors["subject"] = _("Choose the record to repair.")
    try:
        if errors:
            raise RepairValidationError(errors)
        RepairService(request.dbsession, request.identity).apply(
            subject=kind, subject_id=int(raw_id), statement=form["statement"], evidence=[]
        )
    except RepairPermissionError:
        raise HTTPForbidden() from None
    except RepairNotFoundError:
        # Another enterprise's record, or none: the same answer as a bad choice.
        request.response.status_int = 422
        return _repairs_page(request, {"subject": _("Choose the record to repair.")}, form)
    except RepairValidationError as exc:
        request.response.status_int = 422
        return _repairs_page(request, exc.errors, form)
    except RepairStateError as exc:
        request.response.status_int = 409
        return _repairs_page(request, {"subject": reason_of(exc)}, form)
    return _redirect(request, "portal.repairs", _("Application submitted."))


# ---------------------------------------------------------------------- published results


def _records_page(
    request: Request, errors: Mapping[str, Any], form: Mapping[str, Any]
) -> dict[str, Any]:
    values = _base(request, "records")
    enterprise = values["enterprise"]
    records, total = published_records(
        request.dbsession,
        kinds=[PublicKind.RESULT, PublicKind.PENALTY],
        enterprise_id=enterprise.id,
        limit=MAX_ROWS,
    )
    appeals: dict[int, list[RecordAppeal]] = {}
    for appeal in request.dbsession.scalars(
        select(RecordAppeal)
        .where(RecordAppeal.enterprise_id == enterprise.id)
        .order_by(RecordAppeal.id)
    ):
        appeals.setdefault(appeal.record_id, []).append(appeal)
    values.update(
        records=records,
        total=total,
        appeals=appeals,
        appeal_labels=APPEAL_LABELS,
        errors=dict(errors),
        form=dict(form),
    )
    return values


@view_config(
    route_name="portal.records",
    renderer="portal/records.jinja2",
    permission=Permission.USE_PORTAL,
)
def records(request: Request) -> dict[str, Any]:
    return _records_page(request, {}, {})


def _record_action(
    request: Request, field: str, act: Callable[[DisclosureService, int, str], Any], done: Any
) -> Any:
    record_id = int(request.matchdict["record_id"])
    text = request.POST.get(field, "")
    key = f"{field}-{record_id}"
    try:
        act(DisclosureService(request.dbsession, request.identity), record_id, text)
    except (DisclosureNotFoundError, DisclosurePermissionError):
        raise HTTPNotFound() from None  # another enterprise's record: nothing told apart
    except DisclosureValidationError as exc:
        request.response.status_int = 422
        return _records_page(request, {key: exc.errors.get(field, "")}, {key: text})
    except DisclosureStateError as exc:
        request.response.status_int = 409
        return _records_page(request, {key: reason_of(exc)}, {key: text})
    return _redirect(request, "portal.records", done)


@view_config(
    route_name="portal.record.reply",
    request_method="POST",
    renderer="portal/records.jinja2",
    permission=Permission.USE_PORTAL,
)
def record_reply(request: Request) -> Any:
    return _record_action(
        request, "body", lambda s, i, t: s.reply(i, t), _("Reply published beside the record.")
    )


@view_config(
    route_name="portal.record.appeal",
    request_method="POST",
    renderer="portal/records.jinja2",
    permission=Permission.USE_PORTAL,
)
def record_appeal(request: Request) -> Any:
    return _record_action(
        request, "grounds", lambda s, i, t: s.appeal(i, t), _("Appeal submitted.")
    )
