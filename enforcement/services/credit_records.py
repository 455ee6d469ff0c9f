"""Recording the events that move a credit rating: penalties, list entries, complaints.

Each function writes the record and, in the same transaction, an outbox message that
re-rates the enterprise (``credit.rerate``), so the rating follows within seconds of the
commit and never for a change that was rolled back. The case workflow (penalty decisions)
and the field inspections (findings) call these as they land.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy.orm import Session

from enforcement import feed, outbox
from enforcement.models import (
    Complaint,
    CreditList,
    Enterprise,
    ListEntry,
    Penalty,
    PenaltyMeasure,
    RatingCause,
    User,
)
from enforcement.services import audit


def rerate_later(session: Session, enterprise: Enterprise, detail: str) -> None:
    """Queue a re-rating of ``enterprise`` for when this transaction commits."""
    outbox.publish(
        session,
        "credit.rerate",
        {"enterprise_ids": [enterprise.id], "cause": RatingCause.EVENT.value, "detail": detail},
    )


def add_penalty(
    session: Session,
    actor: User | None,
    enterprise: Enterprise,
    *,
    decision_no: str,
    decided_on: dt.date,
    measure: PenaltyMeasure | str,
    amount: Decimal | None = None,
    legal_basis: str = "",
) -> Penalty:
    penalty = Penalty(
        enterprise=enterprise,
        decision_no=decision_no,
        decided_on=decided_on,
        measure=PenaltyMeasure(measure),
        amount=amount,
        legal_basis=legal_basis,
    )
    session.add(penalty)
    session.flush()
    audit.record(session, actor, "credit.penalty", penalty, {"decision_no": decision_no})
    rerate_later(session, enterprise, f"penalty {decision_no}")
    feed.publish(session, "penalty", decision_no, penalty_document(penalty))
    return penalty


def penalty_document(penalty: Penalty) -> dict[str, object]:
    """What the data center receives for an administrative penalty."""
    return {
        "decision_no": penalty.decision_no,
        "enterprise_uscc": penalty.enterprise.uscc,
        "enterprise_name": penalty.enterprise.name,
        "decided_on": penalty.decided_on.isoformat(),
        "measure": penalty.measure.value,
        "amount": None if penalty.amount is None else str(penalty.amount),
        "legal_basis": penalty.legal_basis,
    }


def add_list_entry(
    session: Session,
    actor: User | None,
    enterprise: Enterprise,
    *,
    which: CreditList | str,
    reason: str,
    listed_on: dt.date,
) -> ListEntry:
    entry = ListEntry(
        enterprise=enterprise, list=CreditList(which), reason=reason, listed_on=listed_on
    )
    session.add(entry)
    session.flush()
    audit.record(session, actor, "credit.list", entry, {"list": entry.list.value})
    rerate_later(session, enterprise, f"listed: {entry.list.value}")
    return entry


def add_complaint(
    session: Session,
    enterprise: Enterprise,
    *,
    received_on: dt.date,
    substantiated: bool | None,
    channel: str = "12315",
) -> Complaint:
    complaint = Complaint(
        enterprise=enterprise,
        received_on=received_on,
        substantiated=substantiated,
        channel=channel,
    )
    session.add(complaint)
    session.flush()
    if substantiated:
        rerate_later(session, enterprise, "substantiated complaint")
    return complaint


__all__ = ["add_complaint", "add_list_entry", "add_penalty", "rerate_later"]
