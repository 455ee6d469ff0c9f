"""Credit-risk classification (信用风险分类): the records the indicators are computed from,
the ratings with their history, and credit repair (信用修复).

Source records (annual reports, list entries, penalties, complaints) are what the
supervision system knows about an enterprise; ratings are derived from them by
``enforcement.services.credit`` with the scorecards of ``credit_rating``. A rating row is
written whenever an enterprise's score, tier or scorecard version changes, so the rows of an
enterprise are its rating history.
"""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Numeric,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from enforcement.models.accounts import User
from enforcement.models.base import Base, TimestampMixin, UTCDateTime, str_enum, utcnow
from enforcement.models.registry import Enterprise


class CreditList(enum.StrEnum):
    ABNORMAL_OPERATION = "abnormal_operation"  # 经营异常名录
    SERIOUS_ILLEGAL = "serious_illegal"  # 严重违法失信名单


class PenaltyMeasure(enum.StrEnum):
    """The gravest measure of a penalty decision (行政处罚法 art. 9), which sets its severity
    in the credit score (1 = warning … 5 = revocation)."""

    WARNING = "warning"  # 警告、通报批评
    FINE = "fine"  # 罚款
    CONFISCATION = "confiscation"  # 没收违法所得、没收非法财物
    SUSPENSION = "suspension"  # 暂扣许可证件、降低资质等级、限制开展生产经营活动、责令停产停业
    REVOCATION = "revocation"  # 吊销许可证件、营业执照，责令关闭，限制从业

    @property
    def severity(self) -> int:
        return list(PenaltyMeasure).index(self) + 1


class RatingCause(enum.StrEnum):
    BATCH = "batch"  # the scheduled re-rating of everyone
    EVENT = "event"  # a new penalty, list entry, finding…
    REPAIR = "repair"  # an approved credit repair
    MANUAL = "manual"  # ``suijian credit rate`` by hand


class RepairStatus(enum.StrEnum):
    SUBMITTED = "submitted"
    APPROVED = "approved"
    REJECTED = "rejected"


class RepairSubject(enum.StrEnum):
    """What a repair application asks to repair."""

    LIST_ENTRY = "list_entry"  # removal from the abnormal-operation list
    PENALTY = "penalty"  # end of the publicity of an administrative penalty


class AnnualReport(Base):
    """An annual report (年度报告), due by 30 June of the next year."""

    __tablename__ = "annual_reports"
    __table_args__ = (UniqueConstraint("enterprise_id", "year", name="enterprise_year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id", ondelete="CASCADE"))
    year: Mapped[int] = mapped_column(SmallInteger)
    filed_on: Mapped[dt.date | None] = mapped_column(Date)  # None: not filed (yet)

    enterprise: Mapped[Enterprise] = relationship()

    @property
    def due_on(self) -> dt.date:
        return dt.date(self.year + 1, 6, 30)


class ListEntry(Base):
    """A stay on the abnormal-operation list or the serious-illegal list; ``removed_on`` ends it."""

    __tablename__ = "credit_list_entries"
    __table_args__ = (
        Index("ix_credit_list_entries_enterprise", "enterprise_id", "list"),
        CheckConstraint("removed_on IS NULL OR removed_on >= listed_on", name="dates"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id", ondelete="CASCADE"))
    list: Mapped[CreditList] = mapped_column(str_enum(CreditList, "credit_list"))
    reason: Mapped[str] = mapped_column(String(500))
    listed_on: Mapped[dt.date] = mapped_column(Date)
    removed_on: Mapped[dt.date | None] = mapped_column(Date)
    removal_reason: Mapped[str | None] = mapped_column(String(500))

    enterprise: Mapped[Enterprise] = relationship()


class Penalty(Base):
    """An administrative penalty decision (行政处罚决定). A repaired penalty (信用修复,
    ``repaired_at``) and one revoked or replaced on reconsideration (行政复议, ``revoked_at``)
    stay on record but no longer count against the enterprise's credit."""

    __tablename__ = "penalties"
    __table_args__ = (
        CheckConstraint("amount IS NULL OR amount >= 0", name="amount"),
        Index("ix_penalties_enterprise_decided", "enterprise_id", "decided_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id", ondelete="CASCADE"))
    decision_no: Mapped[str] = mapped_column(String(64), unique=True)  # 处罚决定书文号
    decided_on: Mapped[dt.date] = mapped_column(Date)
    measure: Mapped[PenaltyMeasure] = mapped_column(str_enum(PenaltyMeasure, "measure"))
    amount: Mapped[Decimal | None] = mapped_column(Numeric(18, 2))  # CNY
    legal_basis: Mapped[str] = mapped_column(Text, default="")
    repaired_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    enterprise: Mapped[Enterprise] = relationship()


class Complaint(Base):
    """A complaint or report (投诉举报) about an enterprise; ``substantiated`` once handled."""

    __tablename__ = "complaints"
    __table_args__ = (Index("ix_complaints_enterprise_received", "enterprise_id", "received_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id", ondelete="CASCADE"))
    received_on: Mapped[dt.date] = mapped_column(Date)
    channel: Mapped[str] = mapped_column(String(32), default="12315")
    substantiated: Mapped[bool | None] = mapped_column(Boolean)  # None: not handled yet

    enterprise: Mapped[Enterprise] = relationship()


class CreditRating(Base):
    """One rating of an enterprise: score, tier, the reasons and the scorecard that gave them."""

    __tablename__ = "credit_ratings"
    __table_args__ = (
        Index("ix_credit_ratings_enterprise_rated", "enterprise_id", "rated_at"),
        CheckConstraint("tier IN ('A', 'B', 'C', 'D')", name="tier"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id", ondelete="CASCADE"))
    scorecard: Mapped[str] = mapped_column(String(100))  # "general@2026.1+food@2026.1"
    score: Mapped[float] = mapped_column(Float)
    tier: Mapped[str] = mapped_column(String(1))
    previous_tier: Mapped[str | None] = mapped_column(String(1))
    # [{"indicator", "points_lost", "zh", "en"}, …], the costliest first.
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    indicators: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # the values used
    cause: Mapped[RatingCause] = mapped_column(str_enum(RatingCause, "cause"))
    cause_detail: Mapped[str] = mapped_column(String(200), default="")
    rated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    enterprise: Mapped[Enterprise] = relationship()


class CreditRepair(TimestampMixin, Base):
    """A credit-repair application (信用修复申请): the enterprise asks, a supervisor decides."""

    __tablename__ = "credit_repairs"
    __table_args__ = (Index("ix_credit_repairs_enterprise_status", "enterprise_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id", ondelete="CASCADE"))
    subject: Mapped[RepairSubject] = mapped_column(str_enum(RepairSubject, "subject"))
    list_entry_id: Mapped[int | None] = mapped_column(ForeignKey("credit_list_entries.id"))
    penalty_id: Mapped[int | None] = mapped_column(ForeignKey("penalties.id"))
    statement: Mapped[str] = mapped_column(Text)  # what was corrected, in the applicant's words
    evidence: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)  # [{name, sha256}]
    status: Mapped[RepairStatus] = mapped_column(
        str_enum(RepairStatus, "status"), default=RepairStatus.SUBMITTED
    )
    applicant_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    decision_reason: Mapped[str | None] = mapped_column(String(500))

    enterprise: Mapped[Enterprise] = relationship()
    list_entry: Mapped[ListEntry | None] = relationship()
    penalty: Mapped[Penalty | None] = relationship()
    applicant: Mapped[User] = relationship(foreign_keys=[applicant_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])


__all__ = [
    "AnnualReport",
    "Complaint",
    "CreditList",
    "CreditRating",
    "CreditRepair",
    "ListEntry",
    "Penalty",
    "PenaltyMeasure",
    "RatingCause",
    "RepairStatus",
    "RepairSubject",
]
