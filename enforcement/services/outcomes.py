"""What follows from an inspection's result (issue 6 §1), called when an inspection finishes.

* ``no_problem``: nothing here (the result is fed and published by the inspection itself);
* ``rectification_ordered``: a rectification order with its clock
  (``enforcement.services.rectification``);
* ``case_filed`` / ``suspected_crime``: a penalty case filed from the inspection
  (``enforcement.services.cases.open_case_from_inspection``), marked suspected crime for the
  latter so the transfer workflow picks it up.

Whatever its result, a finished re-inspection first closes the order that scheduled it.
Re-rating on every result is published by the inspection service itself. Everything runs in
the caller's transaction and is idempotent (a retried finish creates nothing twice).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy.orm import Session

from enforcement.models import FieldInspection, InspectionResult, User, utcnow
from enforcement.services import rectification
from enforcement.services.clocks import calendar_for


def follow_up(
    session: Session,
    actor: User | None,
    inspection: FieldInspection,
    *,
    settings: Mapping[str, Any] | None = None,
    clock: Callable[[], dt.datetime] = utcnow,
) -> None:
    """Create what the finished ``inspection``'s result calls for."""
    now = clock()
    rectification.close_from_reinspection(session, actor, inspection, now=now)
    result = InspectionResult(inspection.result) if inspection.result else None
    if result is InspectionResult.RECTIFICATION_ORDERED:
        rectification.order_rectification(
            session, actor, inspection, calendar=calendar_for(settings), now=now
        )
    elif result in (InspectionResult.CASE_FILED, InspectionResult.SUSPECTED_CRIME):
        # Lazy: the cases workflow imports much of the system.
        from enforcement.services.cases import open_case_from_inspection

        open_case_from_inspection(
            session,
            actor,
            inspection,
            suspected_crime=result is InspectionResult.SUSPECTED_CRIME,
            clock=clock,
            settings=settings,
        )


__all__ = ["follow_up"]
