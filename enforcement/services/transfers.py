"""Transfers of suspected crimes to public security (两法衔接, 国务院令第310号, revised 2020).

The status loop, who moves it, and the clock each step starts or stops::

    reported ──decide──► approved ──send──► sent ──receive──► received ──police──► filed
       │                  (24 h)                               (3 wd)      │
       └──► rejected                                                        ▼
                                                   closed ◄──close── not_filed (3 wd to ask)
                                                     ▲                 │         │
                                                     │   reconsideration (3 wd)  │
                                                     │        │ filed → filed    │
                                                     ├─close─ upheld (3 wd) ──┐  │
                                                     │                        ▼  ▼
                                                     └──── not filed ◄── supervision
                                                                         filed → filed

* **report** (supervisors of the case's department, admins): the case group's investigation
  report (facts, evidence summary, suspected offence, legal basis), the list of items
  involved and the attached files (inspection reports, appraisal opinions, other evidence:
  files of the evidence store by SHA-256). The case group (``case_members``) must have at
  least two officers; they are recorded as the report's authors. Starts
  ``transfer.head_decision``: 3 working days. Reporting again before the decision revises
  the report (same clock).
* **decide** (the same people): approve, or reject with the reasons (recorded, 不批准的理由
  记录在案). Approval starts ``transfer.send``: 24 hours.
* **send**, **receive**, **police decision**, **reconsideration**, **supervision**, **close**
  (the judicial liaison, admins): the office and the procuratorate copied; receipt starts
  ``transfer.police_decision`` (3 working days); a non-filing needs written reasons and starts
  ``transfer.reconsideration`` (3 working days for the agency to ask); a request starts
  ``transfer.reconsideration_decision`` (3 working days for public security to answer); a
  non-filing upheld on reconsideration starts ``transfer.supervision`` (3 working days to ask
  the procuratorate to supervise). Supervision may also be asked directly after a non-filing.
  Steps may be recorded after the fact with ``at`` (not in the future, not before the
  previous step): clocks stop at that instant.

**Pending** (:func:`pending_transfer`): a transfer is pending from the report until it is
finally resolved: the head rejected it (``rejected``), public security filed the case
(``filed``: the criminal process has the facts), or the agency closed it after a non-filing
that stands (``closed``). Every other status (reported, approved, sent, received, not_filed,
reconsideration, upheld, supervision) is pending, and a pending transfer keeps its case from
being closed: a fine never replaces a transfer (不得以罚代刑). A non-filing is still pending:
the agency has 3 working days to ask for reconsideration and must close the transfer
explicitly to accept the decision.

Every step writes a ``TransferEvent``, an audit row ("transfer.<action>") and a new version
of the transfer on the data-center feed ("transfer", no personal data), and bumps
``version``. A step repeated with the same values (a retried request) changes nothing.
Exporting the package (``export``) records the manifest's SHA-256 on the transfer and in the
audit log.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from enforcement import feed
from enforcement.evidence import EvidenceStore
from enforcement.models import (
    FINAL_CASE_STATUSES,
    PENDING_TRANSFER_STATUSES,
    AttachmentKind,
    CaseMember,
    Clock,
    EvidenceFile,
    PenaltyCase,
    PoliceDecision,
    Role,
    Transfer,
    TransferAttachment,
    TransferDecision,
    TransferEvent,
    TransferItem,
    TransferStatus,
    User,
    utcnow,
)
from enforcement.reasons import Reason, reason
from enforcement.services import audit, clocks
from enforcement.services.cases import CASE_STATUS_REASONS, listing
from enforcement.services.departments import officer_department_id
from enforcement.services.wire import iso_utc
from enforcement.transfer_package import PackageResult, build_package, format_quantity

SHANGHAI = ZoneInfo("Asia/Shanghai")

HEAD_DECISION_CLOCK = "transfer.head_decision"
SEND_CLOCK = "transfer.send"
POLICE_DECISION_CLOCK = "transfer.police_decision"
RECONSIDERATION_CLOCK = "transfer.reconsideration"
RECONSIDERATION_DECISION_CLOCK = "transfer.reconsideration_decision"
SUPERVISION_CLOCK = "transfer.supervision"
CLOCK_KINDS = (
    HEAD_DECISION_CLOCK,
    SEND_CLOCK,
    POLICE_DECISION_CLOCK,
    RECONSIDERATION_CLOCK,
    RECONSIDERATION_DECISION_CLOCK,
    SUPERVISION_CLOCK,
)
HEAD_DECISION_DAYS = 3  # working days (行政处罚法 art. 85: short periods are working days)
SEND_HOURS = 24
POLICE_DECISION_DAYS = 3
RECONSIDERATION_DAYS = 3
SUPERVISION_DAYS = 3
MIN_GROUP = 2  # 国务院令第310号 art. 5
SUBJECT_TYPE = Transfer.__tablename__
FEED_KIND = "transfer"

MAX_TEXT = 20000
MAX_SHORT = 200
MAX_NOTE = 2000
MAX_ITEMS = 200
MAX_ATTACHMENTS = 200
MAX_QUANTITY = Decimal("1e11")

DECIDING_ROLES = frozenset({Role.SUPERVISOR, Role.ADMIN})
TRACKING_ROLES = frozenset({Role.LIAISON, Role.ADMIN})

#: How the refusals name a transfer's status (one meaning each across the catalogue).
_STATUS_REASONS: dict[TransferStatus, Reason] = {
    TransferStatus.REPORTED: reason("reported to the head for approval"),
    TransferStatus.REJECTED: reason("transfer rejected by the head"),
    TransferStatus.APPROVED: reason("transfer approved"),
    TransferStatus.SENT: reason("sent to public security"),
    TransferStatus.RECEIVED: reason("received by public security"),
    TransferStatus.FILED: reason("filed by public security"),
    TransferStatus.NOT_FILED: reason("not filed by public security"),
    TransferStatus.RECONSIDERATION: reason("reconsideration of the non-filing requested"),
    TransferStatus.UPHELD: reason("non-filing upheld on reconsideration"),
    TransferStatus.SUPERVISION: reason("filing supervision requested"),
    TransferStatus.CLOSED: reason("transfer closed"),
}
# The steps, as the refusals name them (also where a ``reason`` argument hides the function).
_REPORT = reason("report a transfer")
_DECIDE = reason("decide on a transfer")
_SEND = reason("record the sending of a transfer")
_RECEIVE = reason("record the receipt of a transfer")
_POLICE = reason("record public security's decision")
_RECONSIDER = reason("request the reconsideration of a non-filing")
_RECONSIDERED = reason("record the reconsideration's outcome")
_SUPERVISE = reason("request the procuratorate's supervision")
_SUPERVISED = reason("record the supervision's outcome")
_CLOSE = reason("close a transfer")
_EXPORT = reason("export a transfer package")
_DESK = reason("list the bureau's transfers")
_APPROVE_OR_REJECT = reason("must be approve or reject")
_REJECTION_REASON = reason("is required when the transfer is rejected (不批准的理由记录在案)")


# ---------------------------------------------------------------------- errors


class TransferError(Exception):
    """Base of the transfer workflow's refusals."""


class TransferNotFoundError(TransferError, LookupError):
    """No such case, or the case has no transfer."""


class TransferPermissionError(TransferError):
    """The user's role or department does not allow this."""


class TransferHiddenError(TransferNotFoundError, TransferPermissionError):
    """A case of another department: answered exactly like a case that does not exist."""


class TransferValidationError(TransferError, ValueError):
    """Bad input; ``errors`` maps each field to what is wrong with it."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = dict(errors)


class TransferStateError(TransferError):
    """The transfer (or its case) is not in a state that allows the step."""


# ---------------------------------------------------------------------- module functions


def pending_transfer(session: Session, case: PenaltyCase) -> Transfer | None:
    """The case's transfer while it is pending (see the module docstring), else None.

    The cases workflow refuses to close a case while this returns a transfer
    (不得以罚代刑)."""
    transfer = session.scalar(select(Transfer).where(Transfer.case_id == case.id))
    if transfer is None or transfer.status not in PENDING_TRANSFER_STATUSES:
        return None
    return transfer


def transfer_clocks(session: Session, transfers: Iterable[Transfer]) -> dict[int, list[Clock]]:
    """The clocks of each transfer, oldest first, by transfer id (one query)."""
    ids = [t.id for t in transfers]
    found: dict[int, list[Clock]] = {i: [] for i in ids}
    if not ids:
        return found
    rows = session.scalars(
        select(Clock)
        .where(Clock.subject_type == SUBJECT_TYPE, Clock.subject_id.in_([str(i) for i in ids]))
        .order_by(Clock.id)
    ).all()
    for row in rows:
        found[int(row.subject_id)].append(row)
    return found


def clock_document(clock: Clock, now: dt.datetime) -> dict[str, Any]:
    """A clock as the liaison desk shows it: remaining seconds while it runs (negative once
    overdue); overdue when running past its deadline or stopped late."""
    running = clock.stopped_at is None
    remaining = int((clock.due_at - now).total_seconds()) if running else None
    overdue = (now > clock.due_at) if running else (clock.stopped_at > clock.due_at)
    return {
        "kind": clock.kind,
        "started_at": iso_utc(clock.started_at),
        "due_at": iso_utc(clock.due_at),
        "due_date": clocks.due_date_of(clock.due_at).isoformat(),
        "stopped_at": iso_utc(clock.stopped_at),
        "outcome": clock.outcome.value if clock.outcome is not None else None,
        "running": running,
        "remaining_seconds": remaining,
        "overdue": bool(overdue),
    }


def transfer_feed_document(transfer: Transfer) -> dict[str, Any]:
    """What the data center receives (no personal data of officers)."""
    case = transfer.case
    return {
        "uuid": str(transfer.uuid),
        "case_no": case.case_no,
        "case_uuid": str(case.uuid),
        "enterprise_uscc": case.enterprise.uscc,
        "department": case.department.code,
        "status": transfer.status.value,
        "suspected_offence": transfer.suspected_offence,
        "reported_at": iso_utc(transfer.reported_at),
        "decision": _value(transfer.decision),
        "decided_at": iso_utc(transfer.decided_at),
        "sent_at": iso_utc(transfer.sent_at),
        "police_office": transfer.police_office,
        "procuratorate": transfer.procuratorate,
        "procuratorate_copy_at": iso_utc(transfer.procuratorate_copy_at),
        "received_at": iso_utc(transfer.received_at),
        "police_decision": _value(transfer.police_decision),
        "police_decided_at": iso_utc(transfer.police_decided_at),
        "reconsideration_requested_at": iso_utc(transfer.reconsideration_requested_at),
        "reconsideration_outcome": _value(transfer.reconsideration_outcome),
        "supervision_requested_at": iso_utc(transfer.supervision_requested_at),
        "supervision_outcome": _value(transfer.supervision_outcome),
        "closed_at": iso_utc(transfer.closed_at),
        "package_sha256": transfer.package_sha256,
    }


def _value(member: Any) -> str | None:
    return None if member is None else member.value


def transfer_document(
    transfer: Transfer, clock_rows: Sequence[Clock], now: dt.datetime
) -> dict[str, Any]:
    """A transfer as the API shows it: the report, items, attachments, each step, its clocks
    and its history."""
    case = transfer.case
    return {
        "uuid": str(transfer.uuid),
        "case": {
            "id": case.id,
            "case_no": case.case_no,
            "status": case.status.value,
            "summary": case.summary,
            "department": case.department.code,
            "enterprise": {
                "id": case.enterprise.id,
                "name": case.enterprise.name,
                "uscc": case.enterprise.uscc,
            },
        },
        "status": transfer.status.value,
        "pending": transfer.status in PENDING_TRANSFER_STATUSES,
        "version": transfer.version,
        "report": {
            "facts": transfer.facts,
            "evidence_summary": transfer.evidence_summary,
            "suspected_offence": transfer.suspected_offence,
            "legal_basis": transfer.legal_basis,
            "authors": [
                {"user_id": a.get("user_id"), "name": a.get("name"), "role": a.get("role")}
                for a in transfer.authors
            ],
            "reported_at": iso_utc(transfer.reported_at),
            "reported_by": _username(transfer.reported_by),
        },
        "items": [
            {
                "name": i.name,
                "spec": i.spec,
                "quantity": format_quantity(i.quantity),
                "unit": i.unit,
                "location": i.location,
                "custody": i.custody,
                "note": i.note,
            }
            for i in transfer.items
        ],
        "attachments": [
            {
                "sha256": a.sha256,
                "kind": a.kind.value,
                "title": a.title,
                "media_type": a.file.media_type,
                "size": a.file.size,
            }
            for a in transfer.attachments
        ],
        "decision": {
            "decision": _value(transfer.decision),
            "at": iso_utc(transfer.decided_at),
            "by": _username(transfer.decided_by),
            "reason": transfer.decision_reason,
        },
        "sent": {
            "at": iso_utc(transfer.sent_at),
            "police_office": transfer.police_office,
            "procuratorate": transfer.procuratorate,
            "procuratorate_copy_at": iso_utc(transfer.procuratorate_copy_at),
        },
        "received": {"at": iso_utc(transfer.received_at), "note": transfer.receipt_note},
        "police_decision": {
            "decision": _value(transfer.police_decision),
            "at": iso_utc(transfer.police_decided_at),
            "reasons": transfer.police_reasons,
            "police_case_no": transfer.police_case_no,
        },
        "reconsideration": {
            "requested_at": iso_utc(transfer.reconsideration_requested_at),
            "reason": transfer.reconsideration_reason,
            "outcome": _value(transfer.reconsideration_outcome),
            "decided_at": iso_utc(transfer.reconsideration_decided_at),
            "note": transfer.reconsideration_note,
        },
        "supervision": {
            "requested_at": iso_utc(transfer.supervision_requested_at),
            "reason": transfer.supervision_reason,
            "outcome": _value(transfer.supervision_outcome),
            "decided_at": iso_utc(transfer.supervision_decided_at),
            "note": transfer.supervision_note,
        },
        "closed": {"at": iso_utc(transfer.closed_at), "reason": transfer.close_reason},
        "package": {
            "manifest_sha256": transfer.package_sha256,
            "size": transfer.package_size,
            "exported_at": iso_utc(transfer.package_exported_at),
        },
        "clocks": [clock_document(c, now) for c in clock_rows],
        "events": [
            {
                "at": iso_utc(e.at),
                "action": e.action,
                "from_status": _value(e.from_status),
                "to_status": _value(e.to_status),
                "by": _username(e.actor),
                "note": e.note,
            }
            for e in transfer.events
        ],
    }


def _username(user: User | None) -> str | None:
    return None if user is None else user.username


# ---------------------------------------------------------------------- input checks


def _text(
    body: Mapping[str, Any], field: str, errors: dict[str, str], *, limit: int, required: bool
) -> str:
    value = body.get(field)
    if value is not None and not isinstance(value, str):
        errors[field] = reason("must be text")
        return ""
    text = (value or "").strip()
    if required and not text:
        errors[field] = reason("is required and must not be blank")
    elif len(text) > limit:
        errors[field] = reason("must be at most ${limit} characters", limit=limit)
    return text


def _quantity(value: Any, field: str, errors: dict[str, str]) -> Decimal:
    if isinstance(value, bool) or value is None:
        errors[field] = reason("is required: a number of units")
        return Decimal(0)
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        errors[field] = reason("must be a number")
        return Decimal(0)
    if not number.is_finite() or number < 0:
        errors[field] = reason("must be zero or more")
    elif number >= MAX_QUANTITY:
        errors[field] = reason("is too large")
    elif number != number.quantize(Decimal("0.001")):
        errors[field] = reason("has more than three decimals")
    return number if number.is_finite() else Decimal(0)


@dataclass
class _Report:
    facts: str
    evidence_summary: str
    suspected_offence: str
    legal_basis: str
    items: list[dict[str, Any]]
    attachments: list[tuple[EvidenceFile, AttachmentKind, str]]
    police_office: str  # the addressee of the letter; may be completed when sending
    procuratorate: str


# ---------------------------------------------------------------------- the service


class TransferService:
    """The transfer workflow acted by ``actor`` (None: the system, e.g. the command line run
    by an operator). Never commits."""

    def __init__(
        self,
        session: Session,
        actor: User | None,
        *,
        clock: Callable[[], dt.datetime] = utcnow,
        settings: Mapping[str, Any] | None = None,
    ) -> None:
        self.session = session
        self.actor = actor
        self.clock = clock
        self.settings = settings

    # ------------------------------------------------------------------ access

    def _role(self) -> Role | None:
        return None if self.actor is None else Role(self.actor.role)

    def _active(self) -> None:
        if self.actor is not None and not self.actor.active:
            raise TransferPermissionError(reason("the account is not active"))

    def may_decide(self, case: PenaltyCase) -> bool:
        """Supervisors of the case's department (a supervisor without a department works
        for the whole bureau) and admins report and decide."""
        role = self._role()
        if role is None or role is Role.ADMIN:
            return True
        if role is not Role.SUPERVISOR:
            return False
        department = officer_department_id(self.actor)
        return department is None or department == case.department_id

    def may_track(self) -> bool:
        """The judicial liaison and admins track every transfer of the bureau."""
        role = self._role()
        return role is None or role in TRACKING_ROLES

    def may_read(self, case: PenaltyCase) -> bool:
        return self.may_track() or self.may_decide(case)

    def _require_decider(self, case: PenaltyCase | None, action: Reason) -> None:
        self._active()
        if case is None or not self.may_decide(case):
            raise TransferPermissionError(
                reason(
                    "only supervisors of the case's department (or an admin) may ${action}",
                    action=action,
                )
            )

    def _deciding_case(self, case_id: int, action: Reason) -> PenaltyCase:
        """The case, for a decider; the role is judged before loading and another
        department's case is answered like a missing one (nothing tells it exists)."""
        self._active()
        if self._role() not in (None, Role.ADMIN, Role.SUPERVISOR):
            self._require_decider(None, action)
        case = self.case(case_id)
        if not self.may_decide(case):
            raise TransferHiddenError(reason("no case ${id}", id=case_id))
        return case

    def _require_tracker(self, action: Reason) -> None:
        self._active()
        if not self.may_track():
            raise TransferPermissionError(
                reason("only the judicial liaison (or an admin) may ${action}", action=action)
            )

    # ------------------------------------------------------------------ loading

    def case(self, case_id: int) -> PenaltyCase:
        case = self.session.get(PenaltyCase, case_id)
        if case is None:
            raise TransferNotFoundError(reason("no case ${id}", id=case_id))
        return case

    def case_by_number(self, case_no: str) -> PenaltyCase:
        case = self.session.scalar(select(PenaltyCase).where(PenaltyCase.case_no == case_no))
        if case is None:
            raise TransferNotFoundError(reason("no case numbered ${case_no}", case_no=case_no))
        return case

    def _transfer(self, case: PenaltyCase, *, lock: bool = False) -> Transfer:
        query = select(Transfer).where(Transfer.case_id == case.id)
        if lock:  # the steps of one transfer serialise on its row
            query = query.with_for_update(of=Transfer).execution_options(populate_existing=True)
        transfer = self.session.scalar(query)
        if transfer is None:
            raise TransferNotFoundError(
                reason("case ${case_no} has no transfer", case_no=case.case_no)
            )
        return transfer

    def get(self, case_id: int) -> Transfer:
        """The transfer of a case, for those who may read it."""
        self._active()
        # The role is judged before the case is loaded and another department's case is
        # answered like a missing one: a refusal never tells whether the case exists.
        if self._role() not in (None, Role.SUPERVISOR, *TRACKING_ROLES):
            raise TransferPermissionError(
                reason("transfers are read by the liaison and the case department's supervisors")
            )
        case = self.case(case_id)
        if not self.may_read(case):
            raise TransferHiddenError(reason("no case ${id}", id=case_id))
        return self._transfer(case)

    def document(self, transfer: Transfer) -> dict[str, Any]:
        rows = transfer_clocks(self.session, [transfer])[transfer.id]
        return transfer_document(transfer, rows, self.clock())

    # ------------------------------------------------------------------ report and decision

    def report(self, case_id: int, body: Mapping[str, Any]) -> tuple[Transfer, bool]:
        """The case group's report (see the module docstring); returns (transfer, created).
        Before the head's decision a new report revises the old one."""
        case = self._deciding_case(case_id, _REPORT)
        if case.status in FINAL_CASE_STATUSES:
            raise TransferStateError(
                reason(
                    "the case is at the stage '${status}': nothing to transfer",
                    status=CASE_STATUS_REASONS[case.status],
                )
            )
        members = list(
            self.session.scalars(
                select(CaseMember)
                .where(CaseMember.case_id == case.id)
                .options(selectinload(CaseMember.user).selectinload(User.inspector))
                .order_by(CaseMember.id)
            )
        )
        if len(members) < MIN_GROUP:
            raise TransferStateError(
                reason(
                    "the case group has ${count} officer(s): a transfer report is written by a "
                    "group of at least ${minimum} (国务院令第310号 art. 5)",
                    count=len(members),
                    minimum=MIN_GROUP,
                )
            )
        if not case.summary.strip():
            raise TransferStateError(reason("the case has no summary (案由): the letter needs one"))
        report = self._parse_report(body)
        now = self.clock()
        authors = [
            {
                "user_id": m.user_id,
                "name": m.user.display_name or m.user.username,
                "role": m.role.value,
                "credential_no": m.user.inspector.credential_no if m.user.inspector else None,
            }
            for m in sorted(members, key=lambda m: (m.role.value != "lead", m.id))
        ]
        existing = self.session.scalar(
            select(Transfer)
            .where(Transfer.case_id == case.id)
            .with_for_update(of=Transfer)
            .execution_options(populate_existing=True)
        )
        if existing is not None:
            if existing.status is not TransferStatus.REPORTED:
                raise TransferStateError(
                    reason(
                        "the transfer is at the stage '${status}': its report can no longer change",
                        status=_STATUS_REASONS[existing.status],
                    )
                )
            if self._same_report(existing, report, authors):
                return existing, False  # a retried request
            self._fill(existing, report, authors)
            self._step(existing, None, "revise", "", {"authors": [a["user_id"] for a in authors]})
            return existing, False
        transfer = Transfer(
            case=case,
            status=TransferStatus.REPORTED,
            version=1,
            reported_at=now,
            reported_by=self.actor,
            authors=[],
        )
        self._fill(transfer, report, authors)
        self.session.add(transfer)
        self.session.flush()
        transfer.events.append(
            TransferEvent(
                at=now,
                actor=self.actor,
                action="report",
                from_status=None,
                to_status=TransferStatus.REPORTED,
                note="",
                details={"authors": [a["user_id"] for a in authors]},
            )
        )
        clocks.start_clock(
            self.session,
            kind=HEAD_DECISION_CLOCK,
            subject=transfer,
            due_at=clocks.due_working_days(self._calendar(), now, HEAD_DECISION_DAYS),
            department_id=case.department_id,
            started_at=now,
        )
        audit.record(
            self.session,
            self.actor,
            "transfer.report",
            transfer,
            {
                "case_no": case.case_no,
                "suspected_offence": transfer.suspected_offence,
                "authors": [a["user_id"] for a in authors],
                "items": len(report.items),
                "attachments": [f.sha256 for f, _k, _t in report.attachments],
            },
            at=now,
        )
        self._feed(transfer)
        return transfer, True

    def _parse_report(self, body: Mapping[str, Any]) -> _Report:
        errors: dict[str, str] = {}
        facts = _text(body, "facts", errors, limit=MAX_TEXT, required=True)
        summary = _text(body, "evidence_summary", errors, limit=MAX_TEXT, required=True)
        offence = _text(body, "suspected_offence", errors, limit=MAX_SHORT, required=True)
        basis = _text(body, "legal_basis", errors, limit=MAX_TEXT, required=True)
        office = _text(body, "police_office", errors, limit=MAX_SHORT, required=False)
        copy_to = _text(body, "procuratorate", errors, limit=MAX_SHORT, required=False)
        items = self._parse_items(body.get("items") or [], errors)
        attachments = self._parse_attachments(body.get("attachments") or [], errors)
        if errors:
            raise TransferValidationError(errors)
        return _Report(facts, summary, offence, basis, items, attachments, office, copy_to)

    @staticmethod
    def _parse_items(raw: Any, errors: dict[str, str]) -> list[dict[str, Any]]:
        if not isinstance(raw, list):
            errors["items"] = reason("must be a list")
            return []
        if len(raw) > MAX_ITEMS:
            errors["items"] = reason("at most ${limit} items", limit=MAX_ITEMS)
            return []
        items = []
        for index, entry in enumerate(raw):
            where = f"items[{index}]"
            if not isinstance(entry, Mapping):
                errors[where] = reason("must be an object")
                continue
            local: dict[str, str] = {}
            item = {
                "name": _text(entry, "name", local, limit=MAX_SHORT, required=True),
                "spec": _text(entry, "spec", local, limit=MAX_SHORT, required=False),
                "quantity": _quantity(entry.get("quantity"), "quantity", local),
                "unit": _text(entry, "unit", local, limit=20, required=True),
                "location": _text(entry, "location", local, limit=300, required=False),
                "custody": _text(entry, "custody", local, limit=MAX_SHORT, required=False),
                "note": _text(entry, "note", local, limit=MAX_NOTE, required=False),
            }
            errors.update({f"{where}.{k}": v for k, v in local.items()})
            items.append(item)
        return items

    def _parse_attachments(
        self, raw: Any, errors: dict[str, str]
    ) -> list[tuple[EvidenceFile, AttachmentKind, str]]:
        if not isinstance(raw, list):
            errors["attachments"] = reason("must be a list")
            return []
        if len(raw) > MAX_ATTACHMENTS:
            errors["attachments"] = reason("at most ${limit} files", limit=MAX_ATTACHMENTS)
            return []
        found: list[tuple[EvidenceFile, AttachmentKind, str]] = []
        seen: set[str] = set()
        for index, entry in enumerate(raw):
            where = f"attachments[{index}]"
            if not isinstance(entry, Mapping):
                errors[where] = reason("must be an object")
                continue
            local: dict[str, str] = {}
            title = _text(entry, "title", local, limit=MAX_SHORT, required=True)
            try:
                kind = AttachmentKind(entry.get("kind"))
            except ValueError:
                names = ", ".join(k.value for k in AttachmentKind)
                local["kind"] = reason("must be one of ${choices}", choices=names)
                kind = AttachmentKind.OTHER_EVIDENCE
            sha256 = str(entry.get("sha256") or "").lower()
            file = self.session.get(EvidenceFile, sha256) if len(sha256) == 64 else None
            if file is None:
                local["sha256"] = reason(
                    "no file of the evidence store has this SHA-256: upload it first"
                )
            elif sha256 in seen:
                local["sha256"] = reason("the same file is attached twice")
            seen.add(sha256)
            errors.update({f"{where}.{k}": v for k, v in local.items()})
            if file is not None and not local:
                found.append((file, kind, title))
        return found

    @staticmethod
    def _same_report(transfer: Transfer, report: _Report, authors: list[dict[str, Any]]) -> bool:
        items = [
            {k: getattr(i, k) for k in ("name", "spec", "unit", "location", "custody", "note")}
            | {"quantity": Decimal(i.quantity)}
            for i in transfer.items
        ]
        attachments = [(a.sha256, a.kind, a.title) for a in transfer.attachments]
        return (
            transfer.facts == report.facts
            and transfer.evidence_summary == report.evidence_summary
            and transfer.suspected_offence == report.suspected_offence
            and transfer.legal_basis == report.legal_basis
            and (transfer.police_office or "") == report.police_office
            and (transfer.procuratorate or "") == report.procuratorate
            and transfer.authors == authors
            and items == report.items
            and attachments == [(f.sha256, k, t) for f, k, t in report.attachments]
        )

    def _fill(self, transfer: Transfer, report: _Report, authors: list[dict[str, Any]]) -> None:
        transfer.facts = report.facts
        transfer.evidence_summary = report.evidence_summary
        transfer.suspected_offence = report.suspected_offence
        transfer.legal_basis = report.legal_basis
        transfer.police_office = report.police_office or None
        transfer.procuratorate = report.procuratorate or None
        transfer.authors = authors
        transfer.items.clear()
        transfer.attachments.clear()
        self.session.flush()  # the old lines go before new ones take their positions
        for position, item in enumerate(report.items, start=1):
            transfer.items.append(TransferItem(position=position, **item))
        for position, (file, kind, title) in enumerate(report.attachments, start=1):
            transfer.attachments.append(
                TransferAttachment(
                    position=position, sha256=file.sha256, file=file, kind=kind, title=title
                )
            )

    def decide(self, case_id: int, decision: str, reason: str | None = None) -> Transfer:
        """The head's decision: approve (the send clock starts: 24 hours) or reject (the
        reasons are required and recorded)."""
        case = self._deciding_case(case_id, _DECIDE)
        errors: dict[str, str] = {}
        try:
            choice = TransferDecision(decision)
        except ValueError:
            errors["decision"] = _APPROVE_OR_REJECT
            choice = TransferDecision.APPROVE
        reason = _text({"reason": reason}, "reason", errors, limit=MAX_NOTE, required=False)
        if choice is TransferDecision.REJECT and not reason and "decision" not in errors:
            errors["reason"] = _REJECTION_REASON
        if errors:
            raise TransferValidationError(errors)
        transfer = self._transfer(case, lock=True)
        if transfer.decision is choice and (transfer.decision_reason or "") == reason:
            return transfer  # a retried request
        self._require_status(transfer, [TransferStatus.REPORTED], _DECIDE)
        now = self.clock()
        transfer.decision = choice
        transfer.decided_at = now
        transfer.decided_by = self.actor
        transfer.decision_reason = reason or None
        clocks.stop_clock(self.session, kind=HEAD_DECISION_CLOCK, subject=transfer, at=now)
        if choice is TransferDecision.APPROVE:
            self._start(transfer, SEND_CLOCK, clocks.due_hours(now, SEND_HOURS), now)
            target = TransferStatus.APPROVED
        else:
            target = TransferStatus.REJECTED
        self._step(transfer, target, "decide", reason, {"decision": choice.value})
        return transfer

    # ------------------------------------------------------------------ the liaison's steps

    def send(
        self,
        case_id: int,
        *,
        police_office: str | None = None,
        procuratorate: str | None = None,
        at: dt.datetime | None = None,
        procuratorate_copy_at: dt.datetime | None = None,
    ) -> Transfer:
        """Sent to the public security office with a copy to the procuratorate (24 hours
        from the approval); both default to those named in the report. Changing them here
        changes the letter: export the package again."""
        self._require_tracker(_SEND)
        transfer = self._transfer(self.case(case_id), lock=True)
        errors: dict[str, str] = {}
        body = {
            "police_office": police_office or transfer.police_office,
            "procuratorate": procuratorate or transfer.procuratorate,
        }
        office = _text(body, "police_office", errors, limit=MAX_SHORT, required=True)
        copy_to = _text(body, "procuratorate", errors, limit=MAX_SHORT, required=True)
        if errors:
            raise TransferValidationError(errors)
        if (
            transfer.sent_at is not None
            and (transfer.police_office, transfer.procuratorate) == (office, copy_to)
            and (at is None or at == transfer.sent_at)
        ):
            return transfer
        self._require_status(transfer, [TransferStatus.APPROVED], _SEND)
        when = self._when(at, transfer.decided_at, "at")
        copied = self._when(
            procuratorate_copy_at or when, transfer.decided_at, "procuratorate_copy_at"
        )
        transfer.sent_at = when
        transfer.sent_by = self.actor
        transfer.police_office = office
        transfer.procuratorate = copy_to
        transfer.procuratorate_copy_at = copied
        clocks.stop_clock(self.session, kind=SEND_CLOCK, subject=transfer, at=when)
        details = {"police_office": office, "procuratorate": copy_to, "at": iso_utc(when)}
        self._step(transfer, TransferStatus.SENT, "send", "", details)
        return transfer

    def receive(
        self, case_id: int, *, at: dt.datetime | None = None, note: str | None = None
    ) -> Transfer:
        """Public security received the case (signed the receipt); its 3 working days to
        decide whether to file start then."""
        self._require_tracker(_RECEIVE)
        errors: dict[str, str] = {}
        note = _text({"note": note}, "note", errors, limit=MAX_NOTE, required=False)
        if errors:
            raise TransferValidationError(errors)
        transfer = self._transfer(self.case(case_id), lock=True)
        if transfer.received_at is not None and (at is None or at == transfer.received_at):
            return transfer
        self._require_status(transfer, [TransferStatus.SENT], _RECEIVE)
        when = self._when(at, transfer.sent_at, "at")
        transfer.received_at = when
        transfer.receipt_note = note or None
        due = clocks.due_working_days(self._calendar(), when, POLICE_DECISION_DAYS)
        self._start(transfer, POLICE_DECISION_CLOCK, due, when)
        self._step(transfer, TransferStatus.RECEIVED, "receive", note, {"at": iso_utc(when)})
        return transfer

    def police_decision(
        self,
        case_id: int,
        decision: str,
        *,
        reasons: str | None = None,
        police_case_no: str | None = None,
        at: dt.datetime | None = None,
    ) -> Transfer:
        """Public security filed the case, or did not (with its written reasons; the agency's
        3 working days to ask for reconsideration start)."""
        self._require_tracker(_POLICE)
        errors: dict[str, str] = {}
        choice = self._police(decision, "decision", errors)
        body = {"reasons": reasons, "police_case_no": police_case_no}
        reasons = _text(body, "reasons", errors, limit=MAX_TEXT, required=False)
        number = _text(body, "police_case_no", errors, limit=100, required=False)
        if choice is PoliceDecision.NOT_FILED and not reasons and "reasons" not in errors:
            errors["reasons"] = reason(
                "public security's written reasons are required when not filed"
            )
        if errors:
            raise TransferValidationError(errors)
        transfer = self._transfer(self.case(case_id), lock=True)
        if transfer.police_decision is choice and (transfer.police_reasons or "") == reasons:
            return transfer
        self._require_status(transfer, [TransferStatus.RECEIVED], _POLICE)
        when = self._when(at, transfer.received_at, "at")
        transfer.police_decision = choice
        transfer.police_decided_at = when
        transfer.police_reasons = reasons or None
        transfer.police_case_no = number or None
        clocks.stop_clock(self.session, kind=POLICE_DECISION_CLOCK, subject=transfer, at=when)
        if choice is PoliceDecision.FILED:
            target = TransferStatus.FILED
        else:
            target = TransferStatus.NOT_FILED
            due = clocks.due_working_days(self._calendar(), when, RECONSIDERATION_DAYS)
            self._start(transfer, RECONSIDERATION_CLOCK, due, when)
        details = {"decision": choice.value, "at": iso_utc(when), "police_case_no": number}
        self._step(transfer, target, "police_decision", reasons, details)
        return transfer

    def request_reconsideration(
        self, case_id: int, *, reason: str, at: dt.datetime | None = None
    ) -> Transfer:
        """The agency asks public security to reconsider its non-filing (提请复议)."""
        self._require_tracker(_RECONSIDER)
        errors: dict[str, str] = {}
        reason = _text({"reason": reason}, "reason", errors, limit=MAX_TEXT, required=True)
        if errors:
            raise TransferValidationError(errors)
        transfer = self._transfer(self.case(case_id), lock=True)
        if transfer.reconsideration_requested_at is not None and (
            transfer.reconsideration_reason == reason
        ):
            return transfer
        self._require_status(transfer, [TransferStatus.NOT_FILED], _RECONSIDER)
        when = self._when(at, transfer.police_decided_at, "at")
        transfer.reconsideration_requested_at = when
        transfer.reconsideration_reason = reason
        clocks.stop_clock(self.session, kind=RECONSIDERATION_CLOCK, subject=transfer, at=when)
        due = clocks.due_working_days(self._calendar(), when, RECONSIDERATION_DAYS)
        self._start(transfer, RECONSIDERATION_DECISION_CLOCK, due, when)
        details = {"at": iso_utc(when)}
        self._step(transfer, TransferStatus.RECONSIDERATION, "reconsideration", reason, details)
        return transfer

    def reconsideration_outcome(
        self, case_id: int, outcome: str, *, note: str | None = None, at: dt.datetime | None = None
    ) -> Transfer:
        """Public security's answer to the reconsideration: filed, or the non-filing upheld
        (the agency's 3 working days to ask for supervision start)."""
        self._require_tracker(_RECONSIDERED)
        errors: dict[str, str] = {}
        choice = self._police(outcome, "outcome", errors)
        note = _text({"note": note}, "note", errors, limit=MAX_TEXT, required=False)
        if errors:
            raise TransferValidationError(errors)
        transfer = self._transfer(self.case(case_id), lock=True)
        if transfer.reconsideration_outcome is choice and (
            (transfer.reconsideration_note or "") == note
        ):
            return transfer
        self._require_status(transfer, [TransferStatus.RECONSIDERATION], _RECONSIDERED)
        when = self._when(at, transfer.reconsideration_requested_at, "at")
        transfer.reconsideration_outcome = choice
        transfer.reconsideration_decided_at = when
        transfer.reconsideration_note = note or None
        clocks.stop_clock(
            self.session, kind=RECONSIDERATION_DECISION_CLOCK, subject=transfer, at=when
        )
        if choice is PoliceDecision.FILED:
            target = TransferStatus.FILED
        else:
            target = TransferStatus.UPHELD
            due = clocks.due_working_days(self._calendar(), when, SUPERVISION_DAYS)
            self._start(transfer, SUPERVISION_CLOCK, due, when)
        details = {"outcome": choice.value, "at": iso_utc(when)}
        self._step(transfer, target, "reconsideration_outcome", note, details)
        return transfer

    def request_supervision(
        self, case_id: int, *, reason: str, at: dt.datetime | None = None
    ) -> Transfer:
        """The agency asks the procuratorate to supervise the filing (立案监督): after a
        non-filing, directly, or after a reconsideration that upheld it."""
        self._require_tracker(_SUPERVISE)
        errors: dict[str, str] = {}
        reason = _text({"reason": reason}, "reason", errors, limit=MAX_TEXT, required=True)
        if errors:
            raise TransferValidationError(errors)
        transfer = self._transfer(self.case(case_id), lock=True)
        if transfer.supervision_requested_at is not None and (
            transfer.supervision_reason == reason
        ):
            return transfer
        self._require_status(
            transfer, [TransferStatus.NOT_FILED, TransferStatus.UPHELD], _SUPERVISE
        )
        previous = transfer.reconsideration_decided_at or transfer.police_decided_at
        when = self._when(at, previous, "at")
        transfer.supervision_requested_at = when
        transfer.supervision_reason = reason
        for kind in (RECONSIDERATION_CLOCK, SUPERVISION_CLOCK):
            clocks.stop_clock(self.session, kind=kind, subject=transfer, at=when)
        details = {"at": iso_utc(when)}
        self._step(transfer, TransferStatus.SUPERVISION, "supervision", reason, details)
        return transfer

    def supervision_outcome(
        self, case_id: int, outcome: str, *, note: str | None = None, at: dt.datetime | None = None
    ) -> Transfer:
        """The outcome of the supervision: public security filed the case, or the non-filing
        stands and the transfer is closed."""
        self._require_tracker(_SUPERVISED)
        errors: dict[str, str] = {}
        choice = self._police(outcome, "outcome", errors)
        note = _text({"note": note}, "note", errors, limit=MAX_TEXT, required=False)
        if choice is PoliceDecision.NOT_FILED and not note and "note" not in errors:
            errors["note"] = reason("say why the non-filing stands (it closes the transfer)")
        if errors:
            raise TransferValidationError(errors)
        transfer = self._transfer(self.case(case_id), lock=True)
        if transfer.supervision_outcome is choice and (transfer.supervision_note or "") == note:
            return transfer
        self._require_status(transfer, [TransferStatus.SUPERVISION], _SUPERVISED)
        when = self._when(at, transfer.supervision_requested_at, "at")
        transfer.supervision_outcome = choice
        transfer.supervision_decided_at = when
        transfer.supervision_note = note or None
        if choice is PoliceDecision.FILED:
            target = TransferStatus.FILED
        else:
            target = TransferStatus.CLOSED
            transfer.closed_at = when
            transfer.closed_by = self.actor
            transfer.close_reason = note
        details = {"outcome": choice.value, "at": iso_utc(when)}
        self._step(transfer, target, "supervision_outcome", note, details)
        return transfer

    def close(self, case_id: int, *, reason: str) -> Transfer:
        """Accept a non-filing (directly or after reconsideration): the transfer is closed and
        no longer holds the case; the clocks still running are cancelled."""
        self._require_tracker(_CLOSE)
        errors: dict[str, str] = {}
        reason = _text({"reason": reason}, "reason", errors, limit=MAX_TEXT, required=True)
        if errors:
            raise TransferValidationError(errors)
        transfer = self._transfer(self.case(case_id), lock=True)
        if transfer.status is TransferStatus.CLOSED and transfer.close_reason == reason:
            return transfer
        self._require_status(transfer, [TransferStatus.NOT_FILED, TransferStatus.UPHELD], _CLOSE)
        now = self.clock()
        transfer.closed_at = now
        transfer.closed_by = self.actor
        transfer.close_reason = reason
        for kind in (RECONSIDERATION_CLOCK, SUPERVISION_CLOCK):
            clocks.cancel_clock(
                self.session, kind=kind, subject=transfer, reason=reason, actor=self.actor, at=now
            )
        self._step(transfer, TransferStatus.CLOSED, "close", reason, {})
        return transfer

    # ------------------------------------------------------------------ the package

    def export(self, case_id: int, out_path: Path | str, store: EvidenceStore) -> PackageResult:
        """Build the package into ``out_path`` and record its manifest's SHA-256 (on the
        transfer and in the audit log). Only an approved transfer has a package."""
        self._require_tracker(_EXPORT)
        case = self.case(case_id)
        transfer = self._transfer(case, lock=True)
        result = build_package(self.session, case, out_path, store=store)
        now = self.clock()
        transfer.package_sha256 = result.manifest_sha256
        transfer.package_size = result.size
        transfer.package_exported_at = now
        transfer.package_exported_by_id = self.actor.id if self.actor is not None else None
        details = {
            "manifest_sha256": result.manifest_sha256,
            "size": result.size,
            "files": len(result.files),
        }
        transfer.events.append(
            TransferEvent(
                at=now,
                actor=self.actor,
                action="export",
                from_status=transfer.status,
                to_status=transfer.status,
                note="",
                details=details,
            )
        )
        audit.record(
            self.session,
            self.actor,
            "transfer.export",
            transfer,
            {"case_no": case.case_no, **details},
            at=now,
        )
        self._feed(transfer)
        self.session.flush()
        return result

    # ------------------------------------------------------------------ the liaison desk

    def desk(
        self,
        *,
        status: str | None = None,
        overdue: bool = False,
        after: int = 0,
        limit: int = 200,
    ) -> list[dict[str, Any]]:
        """Transfers of the whole bureau with their clocks, oldest report first (``after``:
        the last transfer id seen). ``overdue``: only those with a running clock past its
        deadline."""
        self._require_tracker(_DESK)
        query = (
            select(Transfer)
            .where(Transfer.id > after)
            .options(
                selectinload(Transfer.case).selectinload(PenaltyCase.enterprise),
                selectinload(Transfer.case).selectinload(PenaltyCase.department),
            )
            .order_by(Transfer.id)
        )
        if status is not None:
            try:
                query = query.where(Transfer.status == TransferStatus(status))
            except ValueError:
                names = ", ".join(s.value for s in TransferStatus)
                raise TransferValidationError(
                    {"status": reason("must be one of ${choices}", choices=names)}
                ) from None
        now = self.clock()
        rows: list[dict[str, Any]] = []
        batch = 500
        cursor = after
        while len(rows) < limit:
            page = list(self.session.scalars(query.where(Transfer.id > cursor).limit(batch)))
            if not page:
                break
            cursor = page[-1].id
            found = transfer_clocks(self.session, page)
            for transfer in page:
                row = desk_row(transfer, found[transfer.id], now)
                if overdue and not (row["clock"] and row["clock"]["overdue"]):
                    continue
                rows.append(row)
                if len(rows) >= limit:
                    break
            if len(page) < batch:
                break
        return rows

    # ------------------------------------------------------------------ helpers

    def _calendar(self) -> Any:
        return clocks.calendar_for(self.settings)

    @staticmethod
    def _police(value: Any, field: str, errors: dict[str, str]) -> PoliceDecision:
        try:
            return PoliceDecision(value)
        except ValueError:
            errors[field] = reason("must be filed or not_filed")
            return PoliceDecision.FILED

    @staticmethod
    def _require_status(
        transfer: Transfer, allowed: Iterable[TransferStatus], action: Reason
    ) -> None:
        allowed = tuple(allowed)
        if transfer.status not in allowed:
            raise TransferStateError(
                reason(
                    "cannot ${action}: the transfer is at the stage '${status}' "
                    "(needs: ${allowed})",
                    action=action,
                    status=_STATUS_REASONS[transfer.status],
                    allowed=listing([_STATUS_REASONS[s] for s in allowed]),
                )
            )

    def _when(
        self, at: dt.datetime | None, previous: dt.datetime | None, field: str
    ) -> dt.datetime:
        """When a step happened: now, or ``at`` (aware, not in the future, not before the
        previous step)."""
        now = self.clock()
        if at is None:
            return now
        if at.tzinfo is None or at.utcoffset() is None:
            raise TransferValidationError({field: reason("must include a time zone")})
        at = at.astimezone(dt.UTC)
        if at > now:
            raise TransferValidationError({field: reason("must not be in the future")})
        if previous is not None and at < previous:
            raise TransferValidationError(
                {
                    field: reason(
                        "must not be before the previous step (${at})", at=iso_utc(previous)
                    )
                }
            )
        return at

    def _start(self, transfer: Transfer, kind: str, due: dt.datetime, at: dt.datetime) -> None:
        clocks.start_clock(
            self.session,
            kind=kind,
            subject=transfer,
            due_at=due,
            department_id=transfer.case.department_id,
            started_at=at,
        )

    def _step(
        self,
        transfer: Transfer,
        target: TransferStatus | None,
        action: str,
        note: str | None,
        details: dict[str, Any],
    ) -> None:
        now = self.clock()
        before = transfer.status
        if target is not None:
            transfer.status = target
        transfer.version += 1
        transfer.events.append(
            TransferEvent(
                at=now,
                actor=self.actor,
                action=action,
                from_status=before,
                to_status=transfer.status,
                note=note or "",
                details=details,
            )
        )
        audit.record(
            self.session,
            self.actor,
            f"transfer.{action}",
            transfer,
            {
                "case_no": transfer.case.case_no,
                "from": before.value,
                "to": transfer.status.value,
                **details,
            },
            at=now,
        )
        self._feed(transfer)
        self.session.flush()

    def _feed(self, transfer: Transfer) -> None:
        feed.publish(self.session, FEED_KIND, str(transfer.uuid), transfer_feed_document(transfer))


# ---------------------------------------------------------------------- the desk's rows


STATUS_LABELS = {
    TransferStatus.REPORTED: ("已报请审批", "reported"),
    TransferStatus.REJECTED: ("不予移送", "rejected"),
    TransferStatus.APPROVED: ("已批准移送", "approved"),
    TransferStatus.SENT: ("已移送", "sent"),
    TransferStatus.RECEIVED: ("公安机关已接收", "received"),
    TransferStatus.FILED: ("已立案", "filed"),
    TransferStatus.NOT_FILED: ("不予立案", "not filed"),
    TransferStatus.RECONSIDERATION: ("提请复议中", "reconsideration"),
    TransferStatus.UPHELD: ("复议维持不予立案", "non-filing upheld"),
    TransferStatus.SUPERVISION: ("立案监督中", "supervision"),
    TransferStatus.CLOSED: ("已结束", "closed"),
}
CLOCK_LABELS = {
    HEAD_DECISION_CLOCK: ("负责人审批（3个工作日）", "head's decision (3 working days)"),
    SEND_CLOCK: ("移送公安机关（24小时）", "send to public security (24 hours)"),
    POLICE_DECISION_CLOCK: ("公安机关立案审查（3个工作日）", "police filing decision (3 wd)"),
    RECONSIDERATION_CLOCK: ("提请复议（3个工作日）", "request reconsideration (3 wd)"),
    RECONSIDERATION_DECISION_CLOCK: ("复议决定（3个工作日）", "reconsideration decision (3 wd)"),
    SUPERVISION_CLOCK: ("建议立案监督（3个工作日）", "request supervision (3 wd)"),
}
#: (key, zh_CN label, en label) of the desk's CSV and XLSX columns.
EXPORT_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("case_no", "案件编号", "Case number"),
    ("enterprise", "当事人", "Enterprise"),
    ("uscc", "统一社会信用代码", "USCC"),
    ("department", "承办部门", "Department"),
    ("status", "移送状态", "Status"),
    ("suspected_offence", "涉嫌罪名", "Suspected offence"),
    ("reported_at", "报告时间", "Reported"),
    ("decided_at", "审批时间", "Decided"),
    ("sent_at", "移送时间", "Sent"),
    ("police_office", "接收公安机关", "Public security office"),
    ("received_at", "接收时间", "Received"),
    ("police_decision", "立案决定", "Filing decision"),
    ("clock", "当前时限", "Current clock"),
    ("due_at", "期限届满", "Due"),
    ("remaining_hours", "剩余小时", "Hours remaining"),
    ("overdue", "是否超期", "Overdue"),
)


def desk_row(transfer: Transfer, clock_rows: Sequence[Clock], now: dt.datetime) -> dict[str, Any]:
    """One transfer on the liaison desk: its steps, its running clock and all its clocks."""
    case = transfer.case
    documents = [clock_document(c, now) for c in clock_rows]
    running = [d for d in documents if d["running"]]
    current = min(running, key=lambda d: d["due_at"]) if running else None
    return {
        "transfer_id": transfer.id,
        "case_id": case.id,
        "case_no": case.case_no,
        "uuid": str(transfer.uuid),
        "enterprise": {
            "id": case.enterprise.id,
            "name": case.enterprise.name,
            "uscc": case.enterprise.uscc,
        },
        "department": case.department.code,
        "status": transfer.status.value,
        "pending": transfer.status in PENDING_TRANSFER_STATUSES,
        "suspected_offence": transfer.suspected_offence,
        "reported_at": iso_utc(transfer.reported_at),
        "decision": _value(transfer.decision),
        "decided_at": iso_utc(transfer.decided_at),
        "sent_at": iso_utc(transfer.sent_at),
        "police_office": transfer.police_office,
        "procuratorate": transfer.procuratorate,
        "received_at": iso_utc(transfer.received_at),
        "police_decision": _value(transfer.police_decision),
        "police_decided_at": iso_utc(transfer.police_decided_at),
        "closed_at": iso_utc(transfer.closed_at),
        "package_sha256": transfer.package_sha256,
        "clock": current,
        "clocks": documents,
    }


def _local(value: str | None) -> dt.datetime | None:
    if value is None:
        return None
    moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment.astimezone(SHANGHAI).replace(tzinfo=None)


def _clock_label(current: Mapping[str, Any] | None, english: bool) -> str:
    if current is None:
        return ""
    labels = CLOCK_LABELS.get(current["kind"], (current["kind"], current["kind"]))
    return labels[1 if english else 0]


def export_table(rows: Sequence[Mapping[str, Any]], locale: str = "zh_CN") -> list[list[Any]]:
    """The desk as a table (header first): times in Beijing time (naive), hours remaining
    to one decimal (negative once overdue), labels in ``locale`` (zh_CN or en)."""
    english = locale.startswith("en")
    index = 2 if english else 1
    yes, no = ("yes", "no") if english else ("是", "否")
    table: list[list[Any]] = [[column[index] for column in EXPORT_COLUMNS]]
    for row in rows:
        current = row["clock"]
        status = STATUS_LABELS[TransferStatus(row["status"])][1 if english else 0]
        decision = row["police_decision"]
        decision_label = {"filed": ("立案", "filed"), "not_filed": ("不予立案", "not filed")}
        remaining = None
        if current is not None and current["remaining_seconds"] is not None:
            remaining = round(current["remaining_seconds"] / 3600, 1)
        values = {
            "case_no": row["case_no"],
            "enterprise": row["enterprise"]["name"],
            "uscc": row["enterprise"]["uscc"] or "",
            "department": row["department"],
            "status": status,
            "suspected_offence": row["suspected_offence"],
            "reported_at": _local(row["reported_at"]),
            "decided_at": _local(row["decided_at"]),
            "sent_at": _local(row["sent_at"]),
            "police_office": row["police_office"] or "",
            "received_at": _local(row["received_at"]),
            "police_decision": decision_label[decision][1 if english else 0] if decision else "",
            "clock": _clock_label(current, english),
            "due_at": _local(current["due_at"]) if current else None,
            "remaining_hours": remaining,
            "overdue": (yes if current["overdue"] else no) if current else "",
        }
        table.append([values[key] for key, _zh, _en in EXPORT_COLUMNS])
    return table


def _cell_text(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return "" if value is None else value


def desk_csv(rows: Sequence[Mapping[str, Any]], locale: str = "zh_CN") -> bytes:
    """The desk as CSV: UTF-8 with a BOM (spreadsheets on Chinese desktops need it)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for line in export_table(rows, locale):
        writer.writerow([_cell_text(value) for value in line])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def desk_xlsx(rows: Sequence[Mapping[str, Any]], locale: str = "zh_CN") -> bytes:
    """The desk as an XLSX workbook: one sheet, real dates and numbers, the header frozen."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "Transfers" if locale.startswith("en") else "移送案件"
    table = export_table(rows, locale)
    for line in table:
        sheet.append(line)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"
    for column_cells in sheet.iter_cols(min_row=2):
        for cell in column_cells:
            if isinstance(cell.value, dt.datetime):
                cell.number_format = "yyyy-mm-dd hh:mm"
    for index, (key, _zh, _en) in enumerate(EXPORT_COLUMNS, start=1):
        letter = sheet.cell(row=1, column=index).column_letter
        wide = key in {"enterprise", "police_office", "suspected_offence", "clock"}
        sheet.column_dimensions[letter].width = 28 if wide else 18
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


__all__ = [
    "CLOCK_KINDS",
    "EXPORT_COLUMNS",
    "HEAD_DECISION_CLOCK",
    "POLICE_DECISION_CLOCK",
    "RECONSIDERATION_CLOCK",
    "RECONSIDERATION_DECISION_CLOCK",
    "SEND_CLOCK",
    "SUPERVISION_CLOCK",
    "TransferError",
    "TransferNotFoundError",
    "TransferPermissionError",
    "TransferService",
    "TransferStateError",
    "TransferValidationError",
    "clock_document",
    "desk_csv",
    "desk_row",
    "desk_xlsx",
    "export_table",
    "pending_transfer",
    "transfer_clocks",
    "transfer_document",
    "transfer_feed_document",
]
