"""Rectification orders (责令整改): what follows an inspection that found problems.

An order is created when an inspection ends with ``rectification_ordered`` and runs a clock of
kind ``rectification`` until its due date (24:00 Asia/Shanghai). The enterprise or an inspector
reports the problems rectified (the clock stops), and a re-inspection (复查) task is created for
the same enterprise, checklist and team — at the report, or when the deadline passes without
one (the order is then ``overdue``). The re-inspection's result closes the order
(``reinspected``); if it orders rectification again, that is a new order.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Date, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from enforcement.models.accounts import User
from enforcement.models.base import Base, TimestampMixin, UTCDateTime, str_enum
from enforcement.models.inspections import FieldInspection, InspectionResult
from enforcement.models.plans import InspectionTask
from enforcement.models.registry import Enterprise

#: The clock kind of a rectification deadline.
RECTIFICATION_CLOCK = "rectification"


class RectificationStatus(enum.StrEnum):
    OPEN = "open"  # ordered, deadline running
    RECTIFIED = "rectified"  # reported done; awaiting the re-inspection
    OVERDUE = "overdue"  # the deadline passed without a report; re-inspection scheduled
    REINSPECTED = "reinspected"  # the re-inspection has its result: closed


class RectificationOrder(TimestampMixin, Base):
    __tablename__ = "rectification_orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    # One order per inspection: a retried follow-up finds the order it made.
    inspection_id: Mapped[int] = mapped_column(ForeignKey("field_inspections.id"), unique=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    due_date: Mapped[dt.date] = mapped_column(Date)  # Asia/Shanghai; ends at 24:00
    status: Mapped[RectificationStatus] = mapped_column(
        str_enum(RectificationStatus, "status"), default=RectificationStatus.OPEN
    )
    reported_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    reported_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    report_note: Mapped[str | None] = mapped_column(Text)
    reinspection_task_id: Mapped[int | None] = mapped_column(
        ForeignKey("inspection_tasks.id"), unique=True
    )
    reinspection_id: Mapped[int | None] = mapped_column(ForeignKey("field_inspections.id"))
    reinspection_result: Mapped[InspectionResult | None] = mapped_column(
        str_enum(InspectionResult, "reinspection_result")
    )
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    close_note: Mapped[str | None] = mapped_column(String(500))

    inspection: Mapped[FieldInspection] = relationship(foreign_keys=[inspection_id])
    enterprise: Mapped[Enterprise] = relationship()
    reported_by: Mapped[User | None] = relationship()
    reinspection_task: Mapped[InspectionTask | None] = relationship()
    reinspection: Mapped[FieldInspection | None] = relationship(foreign_keys=[reinspection_id])


__all__ = ["RECTIFICATION_CLOCK", "RectificationOrder", "RectificationStatus"]
