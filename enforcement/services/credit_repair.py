"""Credit repair (信用修复): an enterprise applies with evidence, a supervisor decides.

Rules (after 市场监督管理信用修复管理办法, 国市监信规〔2021〕3号):

* an abnormal-operation list entry (经营异常名录) can be repaired once the cause is corrected:
  approval removes the entry;
* an administrative penalty's publicity can be ended after a minimum period (three months
  for a warning or a fine, one year for graver measures): approval marks the penalty
  repaired, it stays on record but no longer counts in the credit score;
* serious-illegal list entries (严重违法失信名单) are not repaired through this procedure.

An approval re-rates the enterprise through the outbox (in the same transaction). Every
application and decision is audit-logged.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from enforcement import outbox, reasons
from enforcement.models import (
    CreditList,
    CreditRepair,
    ListEntry,
    Penalty,
    PenaltyMeasure,
    RatingCause,
    RepairStatus,
    RepairSubject,
    Role,
    User,
    utcnow,
)
from enforcement.reasons import reason
from enforcement.services import audit, wire

SHANGHAI = ZoneInfo("Asia/Shanghai")
MIN_STATEMENT = 10
MAX_STATEMENT = 2000
MAX_EVIDENCE = 20
#: Minimum time between a penalty decision and the repair of its publicity, by measure:
#: three months for a warning or a fine, one year for anything graver.
MIN_PUBLICITY = {
    PenaltyMeasure.WARNING: dt.timedelta(days=90),
    PenaltyMeasure.FINE: dt.timedelta(days=90),
    PenaltyMeasure.CONFISCATION: dt.timedelta(days=365),
    PenaltyMeasure.SUSPENSION: dt.timedelta(days=365),
    PenaltyMeasure.REVOCATION: dt.timedelta(days=365),
}
DECIDING_ROLES = frozenset({Role.SUPERVISOR, Role.ADMIN})


#: Status names as refusals show them (translated where they are shown).
REPAIR_STATUS_NAMES = {
    RepairStatus.SUBMITTED: reasons.reason("submitted for review"),
    RepairStatus.APPROVED: reasons.reason("approved"),
    RepairStatus.REJECTED: reasons.reason("rejected after review"),
}


class RepairError(Exception):
    """Base of credit-repair refusals."""


class RepairValidationError(RepairError, ValueError):
    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = errors
        super().__init__(wire.errors_reason(errors))


class RepairStateError(RepairError):
    """The application or its subject is not in a state that allows the action."""


class RepairNotFoundError(RepairError, LookupError):
    """No such application, or not one the user may see (the two are not told apart)."""


class RepairPermissionError(RepairError):
    """The user's role does not allow the action."""


class RepairService:
    def __init__(
        self, session: Session, actor: User, clock: Callable[[], dt.datetime] = utcnow
    ) -> None:
        self.session = session
        self.actor = actor
        self.clock = clock

    def apply(
        self,
        *,
        subject: RepairSubject | str,
        subject_id: int,
        statement: str,
        evidence: Sequence[dict[str, Any]] = (),
    ) -> CreditRepair:
        """An application by the signed-in enterprise for one of its own records."""
        if Role(self.actor.role) is not Role.ENTERPRISE or self.actor.enterprise_id is None:
            raise RepairPermissionError(
                reason("only an enterprise account applies for credit repair")
            )
        errors: dict[str, str] = {}
        try:
            kind = RepairSubject(subject)
        except ValueError:
            raise RepairValidationError(
                {
                    "subject": reason(
                        "must be one of ${choices}",
                        choices=", ".join(s.value for s in RepairSubject),
                    )
                }
            ) from None
        text = statement.strip() if isinstance(statement, str) else ""
        if not MIN_STATEMENT <= len(text) <= MAX_STATEMENT:
            errors["statement"] = reason(
                "must say what was corrected, in ${low} to ${high} characters",
                low=MIN_STATEMENT,
                high=MAX_STATEMENT,
            )
        files = _check_evidence(evidence, errors)
        record = self._subject(kind, subject_id)  # other enterprises' records: not found
        if errors:
            raise RepairValidationError(errors)
        self._require_repairable(kind, record)
        pending = self.session.scalar(
            select(CreditRepair.id).where(
                CreditRepair.status == RepairStatus.SUBMITTED,
                CreditRepair.list_entry_id == record.id
                if kind is RepairSubject.LIST_ENTRY
                else CreditRepair.penalty_id == record.id,
            )
        )
        if pending is not None:
            raise RepairStateError(
                reason("application ${number} for this record is still open", number=pending)
            )
        repair = CreditRepair(
            enterprise_id=self.actor.enterprise_id,
            subject=kind,
            list_entry_id=record.id if kind is RepairSubject.LIST_ENTRY else None,
            penalty_id=record.id if kind is RepairSubject.PENALTY else None,
            statement=text,
            evidence=files,
            applicant=self.actor,
        )
        self.session.add(repair)
        self.session.flush()
        audit.record(
            self.session,
            self.actor,
            "credit.repair.apply",
            repair,
            {"subject": kind.value, "subject_id": record.id},
            at=self.clock(),
        )
        return repair

    def decide(self, repair: CreditRepair, *, approve: bool, reason: str = "") -> CreditRepair:
        """A supervisor's decision; approval repairs the record and re-rates the enterprise."""
        if not self.actor.active or Role(self.actor.role) not in DECIDING_ROLES:
            raise RepairPermissionError(
                reasons.reason("only a supervisor or an administrator decides repairs")
            )
        self.session.flush()
        self.session.refresh(repair, with_for_update=True)
        if repair.status is not RepairStatus.SUBMITTED:
            raise RepairStateError(
                reasons.reason(
                    "application ${number} was already ${status}",
                    number=repair.id,
                    status=REPAIR_STATUS_NAMES[RepairStatus(repair.status)],
                )
            )
        reason = reason.strip() if isinstance(reason, str) else ""
        if not approve and not reason:
            raise RepairValidationError(
                {"reason": reasons.reason("a rejection must give its reason")}
            )
        now = self.clock()
        repair.status = RepairStatus.APPROVED if approve else RepairStatus.REJECTED
        repair.decided_by = self.actor
        repair.decided_at = now
        repair.decision_reason = reason[:500] or None
        if approve:
            if repair.list_entry is not None:
                self._require_repairable(RepairSubject.LIST_ENTRY, repair.list_entry)
                repair.list_entry.removed_on = now.astimezone(SHANGHAI).date()
                repair.list_entry.removal_reason = f"信用修复（申请 {repair.id}）"
            if repair.penalty is not None:
                repair.penalty.repaired_at = now
            outbox.publish(
                self.session,
                "credit.rerate",
                {
                    "enterprise_ids": [repair.enterprise_id],
                    "cause": RatingCause.REPAIR.value,
                    "detail": f"credit repair {repair.id}",
                },
            )  # a repair is its own cause, not credit_records.rerate_later's "event"
        self.session.flush()
        audit.record(
            self.session,
            self.actor,
            "credit.repair.approve" if approve else "credit.repair.reject",
            repair,
            {"reason": repair.decision_reason},
            at=now,
        )
        return repair

    # ------------------------------------------------------------------ helpers

    def _subject(self, kind: RepairSubject, subject_id: int) -> ListEntry | Penalty:
        model = ListEntry if kind is RepairSubject.LIST_ENTRY else Penalty
        record = self.session.get(model, subject_id)
        if record is None or record.enterprise_id != self.actor.enterprise_id:
            raise RepairNotFoundError(
                reason("no list entry ${number} of this enterprise", number=subject_id)
                if kind is RepairSubject.LIST_ENTRY
                else reason("no penalty ${number} of this enterprise", number=subject_id)
            )
        return record

    def _require_repairable(self, kind: RepairSubject, record: ListEntry | Penalty) -> None:
        today = self.clock().astimezone(SHANGHAI).date()
        if isinstance(record, ListEntry):
            if record.list is not CreditList.ABNORMAL_OPERATION:
                raise RepairStateError(
                    reason(
                        "a serious-illegal list entry is not repaired by application; it is "
                        "removed by the listing authority when its period ends"
                    )
                )
            if record.removed_on is not None:
                raise RepairStateError(
                    reason(
                        "the list entry was already removed on ${date}",
                        date=record.removed_on.isoformat(),
                    )
                )
            return
        if record.revoked_at is not None:
            raise RepairStateError(
                reason(
                    "the penalty was revoked on reconsideration: it no longer counts and "
                    "needs no repair"
                )
            )
        if record.repaired_at is not None:
            raise RepairStateError(reason("the penalty was already repaired"))
        measure = PenaltyMeasure(record.measure)
        earliest = record.decided_on + MIN_PUBLICITY[measure]
        if today < earliest:
            raise RepairStateError(
                reason(
                    "the penalty can be repaired from ${date} "
                    "(minimum publicity of a penalty by ${measure})",
                    date=earliest.isoformat(),
                    measure=measure.value,
                )
            )


def get_repair(session: Session, viewer: User, repair_id: int) -> CreditRepair:
    """An application the viewer may see: their own enterprise's, or any for deciders."""
    repair = session.get(CreditRepair, repair_id)
    allowed = repair is not None and (
        Role(viewer.role) in DECIDING_ROLES
        or (Role(viewer.role) is Role.ENTERPRISE and viewer.enterprise_id == repair.enterprise_id)
    )
    if not allowed:
        raise RepairNotFoundError(
            reason("no credit repair application ${number}", number=repair_id)
        )
    assert repair is not None
    return repair


def list_repairs(
    session: Session, viewer: User, status: RepairStatus | None = None
) -> list[CreditRepair]:
    """Applications visible to the viewer, newest first."""
    query = select(CreditRepair).order_by(CreditRepair.id.desc())
    if Role(viewer.role) is Role.ENTERPRISE:
        query = query.where(CreditRepair.enterprise_id == viewer.enterprise_id)
    elif Role(viewer.role) not in DECIDING_ROLES:
        return []
    if status is not None:
        query = query.where(CreditRepair.status == status)
    return list(session.scalars(query))


def _check_evidence(evidence: Sequence[dict[str, Any]], errors: dict[str, str]) -> list[dict]:
    files: list[dict[str, str]] = []
    if not isinstance(evidence, list | tuple) or len(evidence) > MAX_EVIDENCE:
        errors["evidence"] = reason("must be a list of at most ${limit} files", limit=MAX_EVIDENCE)
        return files
    for i, item in enumerate(evidence):
        sha = str(item.get("sha256", "")) if isinstance(item, dict) else ""
        name = str(item.get("name", "")).strip()[:200] if isinstance(item, dict) else ""
        if len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha):
            errors[f"evidence[{i}].sha256"] = reason(
                "must be the file's SHA-256 (64 lowercase hex digits)"
            )
            continue
        files.append({"sha256": sha, "name": name})
    return files


__all__ = [
    "RepairError",
    "RepairNotFoundError",
    "RepairPermissionError",
    "RepairService",
    "RepairStateError",
    "RepairValidationError",
    "get_repair",
    "list_repairs",
]
