"""Statutory clocks (法定期限) and the alerts raised as they run out.

A ``Clock`` times one obligation of one record: a rectification deadline, the 90 days of a
penalty case, the three days of a transfer decision. It names its subject generically
(``subject_type`` = the subject's table, ``subject_id`` = its primary key as text, as the audit
log does), so every workflow can use the same clocks, the same scan and the same alerts.
At most one clock per (kind, subject) is open (``stopped_at`` NULL) at a time: a partial unique
index says so on both backends.

``enforcement.services.clocks.scan`` raises each ``Alert`` level once per deadline: the unique
constraint on (clock, level, extension) makes two scanners racing on the same clock harmless,
and an extension (a new deadline) starts a new series of alerts.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import (
    JSON,
    ForeignKey,
    Index,
    SmallInteger,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from enforcement.models.accounts import User
from enforcement.models.base import Base, UTCDateTime, str_enum, utcnow

OPEN_SQL = "stopped_at IS NULL"


class ClockOutcome(enum.StrEnum):
    MET = "met"  # stopped on or before the deadline
    LATE = "late"  # stopped after it
    CANCELLED = "cancelled"  # the obligation fell away (withdrawn case, …)


class AlertLevel(enum.StrEnum):
    WARNING = "warning"  # the deadline is near (at ``warn_at``)
    DUE = "due"  # the deadline is today (Asia/Shanghai)
    OVERDUE = "overdue"  # the deadline has passed and the clock still runs


class Clock(Base):
    """One statutory period of one record; ``due_at`` is an instant (a date deadline ends at
    24:00 Asia/Shanghai of that date). ``extensions`` keeps every change of the deadline:
    ``[{"from", "to", "reason", "by", "at"}]``."""

    __tablename__ = "clocks"
    __table_args__ = (
        # One running clock per kind and subject; stopped clocks stay as history.
        Index(
            "uq_clocks_open_subject",
            "kind",
            "subject_type",
            "subject_id",
            unique=True,
            postgresql_where=text(OPEN_SQL),
            sqlite_where=text(OPEN_SQL),
        ),
        # The scan reads running clocks by deadline.
        Index(
            "ix_clocks_running",
            "due_at",
            postgresql_where=text(OPEN_SQL),
            sqlite_where=text(OPEN_SQL),
        ),
        Index("ix_clocks_subject", "subject_type", "subject_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))  # "rectification", "case.deadline", …
    subject_type: Mapped[str] = mapped_column(String(64))  # the subject's table
    subject_id: Mapped[str] = mapped_column(String(64))  # its primary key as text
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), index=True)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    warn_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    stopped_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[ClockOutcome | None] = mapped_column(str_enum(ClockOutcome, "outcome"))
    extensions: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # The highest level alerted for the current deadline (None after an extension): the scan
    # passes over clocks already overdue-alerted, however many of them keep running.
    alerted: Mapped[AlertLevel | None] = mapped_column(str_enum(AlertLevel, "alerted"))

    alerts: Mapped[list[Alert]] = relationship(
        back_populates="clock", cascade="all, delete-orphan", order_by="Alert.id"
    )

    @property
    def running(self) -> bool:
        return self.stopped_at is None


class Alert(Base):
    """One alert raised by the scan, for the supervisors of ``department_id`` to acknowledge.
    ``message_key`` and ``params`` are rendered in the reader's language."""

    __tablename__ = "clock_alerts"
    __table_args__ = (
        UniqueConstraint("clock_id", "level", "extension", name="uq_clock_alerts_once"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    clock_id: Mapped[int] = mapped_column(ForeignKey("clocks.id", ondelete="CASCADE"))
    level: Mapped[AlertLevel] = mapped_column(str_enum(AlertLevel, "level"))
    # How many extensions the clock had when the alert was raised (a new deadline, new alerts).
    extension: Mapped[int] = mapped_column(SmallInteger, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), index=True)
    message_key: Mapped[str] = mapped_column(String(64))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    clock: Mapped[Clock] = relationship(back_populates="alerts")
    acknowledged_by: Mapped[User | None] = relationship()


__all__ = ["Alert", "AlertLevel", "Clock", "ClockOutcome"]
