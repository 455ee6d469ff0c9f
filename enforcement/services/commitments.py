"""Commitments (告知承诺), their review, and the enterprise portal's own reads.

An enterprise account files a commitment about an item of the inspection list or a licence
it holds (or both); it may withdraw one of its own, with a reason, until it is reviewed. The
department responsible reviews it: the item's department, or for a commitment about a
licence only the whole bureau (an administrator, a supervisor without a department). A
supervisor in scope

* accepts it (承诺受理: ``filed`` → ``accepted``) or rejects it with a reason
  (不予受理: ``filed`` → ``rejected``);
* after checking what was promised, records it true (核查属实: ``accepted`` → ``verified``)
  or false with the reason (承诺不实: ``accepted`` → ``found_false``).

A false commitment is a credit-relevant breach: besides the audit row and the data-center
feed record every change gets, the enterprise is queued for re-rating (``credit.rerate``).

Every change is audit-logged, bumps ``version`` (the ETag; a stale ``if_match`` raises
``CommitmentStaleVersionError``) and publishes the commitment's new version on the feed
(kind "commitment"). Another enterprise's commitment is "not found", never "forbidden", so
nothing is told apart; a supervisor of another department is refused (403).

``enterprise_inspections`` is the portal's list of the enterprise's finished inspections and
their results: an enterprise account reads its own, nobody else's.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from enforcement import feed
from enforcement.models import (
    Commitment,
    CommitmentStatus,
    FieldInspection,
    InspectionItem,
    InspectionStatus,
    InspectionTask,
    Role,
    User,
    utcnow,
)
from enforcement.reasons import Reason, reason
from enforcement.services import audit
from enforcement.services.cases import listing
from enforcement.services.credit_records import rerate_later
from enforcement.services.departments import officer_department_id
from enforcement.services.wire import iso_utc

MIN_TEXT = 10
MAX_TEXT = 4000
MAX_LICENCE = 200
MAX_REASON = 500
READING_ROLES = frozenset({Role.SUPERVISOR, Role.ADMIN})
REVIEWING_ROLES = frozenset({Role.SUPERVISOR, Role.ADMIN})
FEED_KIND = "commitment"
#: What a refusal says the user tried: reasons of their own (a reason inside a reason is
#: translated too), written here so that the catalogue extraction finds them.
ACTIONS = {
    "file": reason("file a commitment"),
    "withdraw_any": reason("withdraw a commitment"),
    "review": reason("review commitments"),
    "withdraw": reason("withdraw it"),
    "accept": reason("accept it"),
    "reject": reason("reject it"),
    "verify": reason("record it verified"),
    "find_false": reason("record it false"),
}
#: How the state refusals name a commitment's status ("the commitment is ${status}").
COMMITMENT_STATUS_NAMES: dict[CommitmentStatus, Reason] = {
    CommitmentStatus.FILED: reason("awaiting acceptance"),
    CommitmentStatus.ACCEPTED: reason("awaiting verification"),
    CommitmentStatus.REJECTED: reason("rejected at acceptance"),
    CommitmentStatus.VERIFIED: reason("verified as true"),
    CommitmentStatus.FOUND_FALSE: reason("found false"),
    CommitmentStatus.WITHDRAWN: reason("withdrawn"),
}


class CommitmentError(Exception):
    """Base of the commitments' refusals."""


class CommitmentNotFoundError(CommitmentError, LookupError):
    """No such commitment, or not one the user may see (the two are not told apart)."""


class CommitmentPermissionError(CommitmentError):
    """The user's role or department does not allow the action."""


class CommitmentStateError(CommitmentError):
    """The commitment is not in a state that allows the action."""


class CommitmentStaleVersionError(CommitmentError):
    """``if_match`` names an older version than the stored one (412)."""

    def __init__(self, current: Commitment) -> None:
        super().__init__(reason("the commitment is at version ${version}", version=current.version))
        self.current = current


class CommitmentValidationError(CommitmentError, ValueError):
    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{field}: {why}" for field, why in errors.items()))


def _own_enterprise(actor: User, action: str) -> int:
    if not actor.active or Role(actor.role) is not Role.ENTERPRISE or actor.enterprise_id is None:
        raise CommitmentPermissionError(
            reason("only an enterprise account can ${action}", action=action)
        )
    return actor.enterprise_id


def _required(value: object, field: str, *, required: bool) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if required and not text:
        raise CommitmentValidationError(
            {field: reason("required: say why, in at most ${max} characters", max=MAX_REASON)}
        )
    if len(text) > MAX_REASON:
        raise CommitmentValidationError(
            {field: reason("at most ${max} characters", max=MAX_REASON)}
        )
    return text


class CommitmentService:
    """Filing and withdrawal by the enterprise itself, review by the department; never
    commits."""

    def __init__(
        self, session: Session, actor: User, clock: Callable[[], dt.datetime] = utcnow
    ) -> None:
        self.session = session
        self.actor = actor
        self.clock = clock

    # ------------------------------------------------------------------ the enterprise

    def file(self, *, text: str, item_id: int | None = None, licence: str = "") -> Commitment:
        """A new commitment of the actor's enterprise about an item, a licence, or both."""
        enterprise_id = _own_enterprise(self.actor, ACTIONS["file"])
        errors: dict[str, str] = {}
        body = text.strip() if isinstance(text, str) else ""
        if not MIN_TEXT <= len(body) <= MAX_TEXT:
            errors["text"] = reason(
                "must state the commitment in ${min} to ${max} characters",
                min=MIN_TEXT,
                max=MAX_TEXT,
            )
        licence = licence.strip() if isinstance(licence, str) else ""
        if len(licence) > MAX_LICENCE:
            errors["licence"] = reason("at most ${max} characters", max=MAX_LICENCE)
        item: InspectionItem | None = None
        if item_id is not None:
            item = self.session.get(InspectionItem, item_id)
            if item is None or not item.active:
                errors["item_id"] = reason("is not an active item of the inspection list")
        if item_id is None and not licence and "licence" not in errors:
            errors["item_id"] = reason("name the item or the licence the commitment concerns")
        if errors:
            raise CommitmentValidationError(errors)
        now = self.clock()
        commitment = Commitment(
            enterprise_id=enterprise_id,
            item=item,
            department_id=None if item is None else item.department_id,
            licence=licence,
            text=body,
            status=CommitmentStatus.FILED,
            version=1,
            filed_by_id=self.actor.id,
            created_at=now,
            updated_at=now,
        )
        self.session.add(commitment)
        self.session.flush()
        audit.record(
            self.session,
            self.actor,
            "commitment.file",
            commitment,
            {
                "enterprise_id": enterprise_id,
                "item": item.code if item is not None else None,
                "licence": licence,
            },
            at=now,
        )
        self._feed(commitment)
        return commitment

    def withdraw(
        self, commitment_id: int, *, reason: str, if_match: int | None = None
    ) -> Commitment:
        """The enterprise takes back one of its commitments not yet reviewed, saying why."""
        _own_enterprise(self.actor, ACTIONS["withdraw_any"])
        get_commitment(self.session, self.actor, commitment_id)  # its own, or not found
        why = _required(reason, "reason", required=True)
        commitment = self._locked(commitment_id, if_match)
        self._require(commitment, (CommitmentStatus.FILED,), ACTIONS["withdraw"])
        now = self.clock()
        commitment.withdrawn_at = now
        commitment.withdrawal_reason = why
        self._transition(commitment, CommitmentStatus.WITHDRAWN, "withdraw", now, reason=why)
        return commitment

    # ------------------------------------------------------------------ the department

    def accept(
        self, commitment_id: int, *, note: str = "", if_match: int | None = None
    ) -> Commitment:
        """承诺受理: the department accepts the commitment; its verification follows."""
        commitment = self._reviewable(commitment_id, if_match, ACTIONS["review"])
        note = _required(note, "note", required=False)
        self._require(commitment, (CommitmentStatus.FILED,), ACTIONS["accept"])
        now = self.clock()
        self._review(commitment, now, note)
        self._transition(commitment, CommitmentStatus.ACCEPTED, "accept", now, note=note)
        return commitment

    def reject(self, commitment_id: int, *, reason: str, if_match: int | None = None) -> Commitment:
        """不予受理: the department rejects the commitment, saying why."""
        commitment = self._reviewable(commitment_id, if_match, ACTIONS["review"])
        why = _required(reason, "reason", required=True)
        self._require(commitment, (CommitmentStatus.FILED,), ACTIONS["reject"])
        now = self.clock()
        self._review(commitment, now, why)
        self._transition(commitment, CommitmentStatus.REJECTED, "reject", now, reason=why)
        return commitment

    def verify(
        self, commitment_id: int, *, note: str = "", if_match: int | None = None
    ) -> Commitment:
        """核查属实: the check found the accepted commitment true."""
        commitment = self._reviewable(commitment_id, if_match, ACTIONS["review"])
        note = _required(note, "note", required=False)
        self._require(commitment, (CommitmentStatus.ACCEPTED,), ACTIONS["verify"])
        now = self.clock()
        self._verification(commitment, now, note)
        self._transition(commitment, CommitmentStatus.VERIFIED, "verify", now, note=note)
        return commitment

    def find_false(
        self, commitment_id: int, *, reason: str, if_match: int | None = None
    ) -> Commitment:
        """承诺不实: the check found the accepted commitment false. A credit-relevant breach:
        the enterprise is queued for re-rating, besides the audit row and the feed record."""
        commitment = self._reviewable(commitment_id, if_match, ACTIONS["review"])
        why = _required(reason, "reason", required=True)
        self._require(commitment, (CommitmentStatus.ACCEPTED,), ACTIONS["find_false"])
        now = self.clock()
        self._verification(commitment, now, why)
        self._transition(commitment, CommitmentStatus.FOUND_FALSE, "find_false", now, reason=why)
        rerate_later(self.session, commitment.enterprise, f"false commitment {commitment.id}")
        return commitment

    # ------------------------------------------------------------------ helpers

    def _locked(self, commitment_id: int, if_match: int | None) -> Commitment:
        """The commitment, its row locked: two reviews of one commitment serialise."""
        self.session.flush()  # a refresh must not drop changes made earlier
        commitment = self.session.scalar(
            select(Commitment)
            .where(Commitment.id == commitment_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        if commitment is None:
            raise CommitmentNotFoundError(reason("no commitment ${id}", id=commitment_id))
        if if_match is not None and if_match != commitment.version:
            raise CommitmentStaleVersionError(commitment)
        return commitment

    def _reviewable(self, commitment_id: int, if_match: int | None, action: str) -> Commitment:
        if not self.actor.active or Role(self.actor.role) not in REVIEWING_ROLES:
            raise CommitmentPermissionError(
                reason("only a supervisor can ${action}", action=action)
            )
        get_commitment(self.session, self.actor, commitment_id)  # scope: 404 or 403
        return self._locked(commitment_id, if_match)

    @staticmethod
    def _require(commitment: Commitment, allowed: Iterable[CommitmentStatus], action: str) -> None:
        allowed = tuple(allowed)
        if commitment.status not in allowed:
            raise CommitmentStateError(
                reason(
                    "the commitment is ${status}: cannot ${action} unless it is ${needed}",
                    status=COMMITMENT_STATUS_NAMES[CommitmentStatus(commitment.status)],
                    action=action,
                    needed=listing([COMMITMENT_STATUS_NAMES[s] for s in allowed]),
                )
            )

    def _review(self, commitment: Commitment, now: dt.datetime, note: str) -> None:
        commitment.reviewed_by_id = self.actor.id
        commitment.reviewed_at = now
        commitment.review_note = note

    def _verification(self, commitment: Commitment, now: dt.datetime, note: str) -> None:
        commitment.verified_by_id = self.actor.id
        commitment.verified_at = now
        commitment.verification_note = note

    def _transition(
        self,
        commitment: Commitment,
        to: CommitmentStatus,
        action: str,
        now: dt.datetime,
        **details: Any,
    ) -> None:
        before = commitment.status
        commitment.status = to
        commitment.version += 1
        commitment.updated_at = now
        self.session.flush()
        audit.record(
            self.session,
            self.actor,
            f"commitment.{action}",
            commitment,
            {
                "enterprise_id": commitment.enterprise_id,
                "from": before.value,
                "to": to.value,
                **details,
            },
            at=now,
        )
        self._feed(commitment)

    def _feed(self, commitment: Commitment) -> None:
        feed.publish(
            self.session, FEED_KIND, feed_key(commitment), commitment_feed_document(commitment)
        )


def feed_key(commitment: Commitment) -> str:
    """The commitment's ``record_key`` on the feed."""
    return f"commitment:{commitment.id}"


def commitment_feed_document(commitment: Commitment) -> dict[str, Any]:
    """What the data center receives for a commitment (no personal data of anyone)."""
    item = commitment.item
    department = commitment.department
    return {
        "id": commitment.id,
        "enterprise_uscc": commitment.enterprise.uscc,
        "enterprise_name": commitment.enterprise.name,
        "item_code": None if item is None else item.code,
        "licence": commitment.licence,
        "text": commitment.text,
        "department": None if department is None else department.code,
        "status": commitment.status.value,
        "found_false": commitment.status is CommitmentStatus.FOUND_FALSE,
        "filed_at": iso_utc(commitment.created_at),
        "withdrawn_at": iso_utc(commitment.withdrawn_at),
        "withdrawal_reason": commitment.withdrawal_reason,
        "reviewed_at": iso_utc(commitment.reviewed_at),
        "review_note": commitment.review_note,
        "verified_at": iso_utc(commitment.verified_at),
        "verification_note": commitment.verification_note,
        "version": commitment.version,
    }


def _in_department(viewer: User, commitment: Commitment) -> bool:
    """Whether an officer who may read commitments has this one in their scope."""
    if Role(viewer.role) is Role.ADMIN:
        return True
    department = officer_department_id(viewer)
    return department is None or department == commitment.department_id


def get_commitment(session: Session, viewer: User, commitment_id: int) -> Commitment:
    """A commitment the viewer may see: its enterprise's own; a supervisor's department's
    (another department's: ``CommitmentPermissionError``); anything else is not found."""
    commitment = session.get(Commitment, commitment_id)
    role = Role(viewer.role)
    if commitment is not None and viewer.active:
        if role is Role.ENTERPRISE and viewer.enterprise_id == commitment.enterprise_id:
            return commitment
        if role in READING_ROLES:
            if not _in_department(viewer, commitment):
                raise CommitmentPermissionError(
                    reason("the commitment belongs to another department")
                )
            return commitment
    raise CommitmentNotFoundError(reason("no commitment ${id}", id=commitment_id))


def list_commitments(
    session: Session,
    viewer: User,
    *,
    status: CommitmentStatus | None = None,
    after: int | None = None,
    limit: int = 200,
) -> list[Commitment]:
    """The commitments the viewer may see (an enterprise its own, a supervisor their
    department's, an administrator or a supervisor without a department everybody's):
    newest first, or with ``after`` (a cursor: the last id seen) oldest first from there."""
    query = select(Commitment).options(
        selectinload(Commitment.item),
        selectinload(Commitment.enterprise),
        selectinload(Commitment.department),
    )
    if after is None:
        query = query.order_by(Commitment.id.desc())
    else:
        query = query.where(Commitment.id > after).order_by(Commitment.id)
    role = Role(viewer.role)
    if not viewer.active:
        return []
    if role is Role.ENTERPRISE:
        if viewer.enterprise_id is None:
            return []
        query = query.where(Commitment.enterprise_id == viewer.enterprise_id)
    elif role in READING_ROLES:
        department = officer_department_id(viewer)
        if role is not Role.ADMIN and department is not None:
            query = query.where(Commitment.department_id == department)
    else:
        return []
    if status is not None:
        query = query.where(Commitment.status == status)
    return list(session.scalars(query.limit(limit)))


def enterprise_inspections(
    session: Session, viewer: User, limit: int = 100
) -> list[FieldInspection]:
    """The viewer's own enterprise's finished inspections, newest first (empty for others)."""
    if Role(viewer.role) is not Role.ENTERPRISE or viewer.enterprise_id is None:
        return []
    return list(
        session.scalars(
            select(FieldInspection)
            .join(InspectionTask, FieldInspection.task_id == InspectionTask.id)
            .where(
                InspectionTask.enterprise_id == viewer.enterprise_id,
                FieldInspection.status == InspectionStatus.FINISHED,
            )
            .options(selectinload(FieldInspection.task).selectinload(InspectionTask.items))
            .order_by(FieldInspection.finished_at.desc(), FieldInspection.id.desc())
            .limit(limit)
        )
    )


__all__ = [
    "COMMITMENT_STATUS_NAMES",
    "FEED_KIND",
    "CommitmentError",
    "CommitmentNotFoundError",
    "CommitmentPermissionError",
    "CommitmentService",
    "CommitmentStaleVersionError",
    "CommitmentStateError",
    "CommitmentValidationError",
    "commitment_feed_document",
    "enterprise_inspections",
    "feed_key",
    "get_commitment",
    "list_commitments",
]
