"""Commitments (告知承诺) and the enterprise portal's own reads.

An enterprise account files a commitment about an item of the inspection list or a licence
it holds (or both); it may withdraw one of its own with a reason. Supervisors and admins read
every commitment; an enterprise only its own (another enterprise's is "not found", never
"forbidden", so nothing is told apart). Every filing and withdrawal is audit-logged.

``enterprise_inspections`` is the portal's list of the enterprise's finished inspections and
their results: an enterprise account reads its own, nobody else's.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

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
from enforcement.services import audit

MIN_TEXT = 10
MAX_TEXT = 4000
MAX_LICENCE = 200
MAX_REASON = 500
READING_ROLES = frozenset({Role.SUPERVISOR, Role.ADMIN})


class CommitmentError(Exception):
    """Base of the commitments' refusals."""


class CommitmentNotFoundError(CommitmentError, LookupError):
    """No such commitment, or not one the user may see (the two are not told apart)."""


class CommitmentPermissionError(CommitmentError):
    """The user's role does not allow the action."""


class CommitmentStateError(CommitmentError):
    """The commitment is not in a state that allows the action."""


class CommitmentValidationError(CommitmentError, ValueError):
    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{field}: {reason}" for field, reason in errors.items()))


def _own_enterprise(actor: User, what: str) -> int:
    if not actor.active or Role(actor.role) is not Role.ENTERPRISE or actor.enterprise_id is None:
        raise CommitmentPermissionError(f"only an enterprise account can {what}")
    return actor.enterprise_id


class CommitmentService:
    """Filing and withdrawal by the enterprise itself; never commits."""

    def __init__(
        self, session: Session, actor: User, clock: Callable[[], dt.datetime] = utcnow
    ) -> None:
        self.session = session
        self.actor = actor
        self.clock = clock

    def file(self, *, text: str, item_id: int | None = None, licence: str = "") -> Commitment:
        """A new commitment of the actor's enterprise about an item, a licence, or both."""
        enterprise_id = _own_enterprise(self.actor, "file a commitment")
        errors: dict[str, str] = {}
        body = text.strip() if isinstance(text, str) else ""
        if not MIN_TEXT <= len(body) <= MAX_TEXT:
            errors["text"] = f"must state the commitment in {MIN_TEXT} to {MAX_TEXT} characters"
        licence = licence.strip() if isinstance(licence, str) else ""
        if len(licence) > MAX_LICENCE:
            errors["licence"] = f"at most {MAX_LICENCE} characters"
        item: InspectionItem | None = None
        if item_id is not None:
            item = self.session.get(InspectionItem, item_id)
            if item is None or not item.active:
                errors["item_id"] = "is not an active item of the inspection list"
        if item_id is None and not licence and "licence" not in errors:
            errors["item_id"] = "name the item or the licence the commitment concerns"
        if errors:
            raise CommitmentValidationError(errors)
        now = self.clock()
        commitment = Commitment(
            enterprise_id=enterprise_id,
            item=item,
            licence=licence,
            text=body,
            status=CommitmentStatus.FILED,
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
        return commitment

    def withdraw(self, commitment_id: int, *, reason: str) -> Commitment:
        """The enterprise takes back one of its filed commitments, saying why."""
        _own_enterprise(self.actor, "withdraw a commitment")
        commitment = get_commitment(self.session, self.actor, commitment_id)
        reason = reason.strip() if isinstance(reason, str) else ""
        if not 1 <= len(reason) <= MAX_REASON:
            raise CommitmentValidationError(
                {"reason": f"required: say why, in at most {MAX_REASON} characters"}
            )
        self.session.flush()  # a refresh must not drop changes made earlier
        self.session.refresh(commitment, with_for_update=True)  # two withdrawals: one wins
        if commitment.status is not CommitmentStatus.FILED:
            raise CommitmentStateError(f"commitment {commitment.id} is already withdrawn")
        now = self.clock()
        commitment.status = CommitmentStatus.WITHDRAWN
        commitment.withdrawn_at = now
        commitment.withdrawal_reason = reason
        audit.record(
            self.session,
            self.actor,
            "commitment.withdraw",
            commitment,
            {"enterprise_id": commitment.enterprise_id, "reason": reason},
            at=now,
        )
        self.session.flush()
        return commitment


def _may_see(viewer: User, commitment: Commitment) -> bool:
    role = Role(viewer.role)
    if role in READING_ROLES:
        return True
    return role is Role.ENTERPRISE and viewer.enterprise_id == commitment.enterprise_id


def get_commitment(session: Session, viewer: User, commitment_id: int) -> Commitment:
    commitment = session.get(Commitment, commitment_id)
    if commitment is None or not _may_see(viewer, commitment):
        raise CommitmentNotFoundError(f"no commitment {commitment_id}")
    return commitment


def list_commitments(
    session: Session,
    viewer: User,
    *,
    status: CommitmentStatus | None = None,
    limit: int = 200,
) -> list[Commitment]:
    """The commitments the viewer may see, newest first (supervisors: everybody's)."""
    query = (
        select(Commitment)
        .options(selectinload(Commitment.item), selectinload(Commitment.enterprise))
        .order_by(Commitment.id.desc())
        .limit(limit)
    )
    role = Role(viewer.role)
    if role is Role.ENTERPRISE:
        if viewer.enterprise_id is None:
            return []
        query = query.where(Commitment.enterprise_id == viewer.enterprise_id)
    elif role not in READING_ROLES:
        return []
    if status is not None:
        query = query.where(Commitment.status == status)
    return list(session.scalars(query))


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
