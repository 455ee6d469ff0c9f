"""Administrative penalty cases (行政处罚案件): the case itself, its case group, its history and
the coercive measures (行政强制措施) taken in it.

A case is filed (立案) from an inspection or by hand, investigated, a decision is proposed,
major decisions go through legal review (重大执法决定法制审核, one of the 三项制度), the
decision creates a ``Penalty`` (which feeds the data center and re-rates the enterprise), the
decision is executed and the case closed. A case can be withdrawn (撤销立案) before the decision;
a decided case can be taken to administrative reconsideration (行政复议), which upholds,
revokes or changes the decision. ``version`` is the ETag: it grows with every transition.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from enforcement.models.accounts import User
from enforcement.models.base import Base, TimestampMixin, UTCDateTime, str_enum, utcnow
from enforcement.models.credit import Penalty, PenaltyMeasure
from enforcement.models.inspections import FieldInspection
from enforcement.models.registry import Department, Enterprise


class CaseStatus(enum.StrEnum):
    FILED = "filed"  # 立案
    INVESTIGATING = "investigating"  # 调查取证
    DECISION_PROPOSED = "decision_proposed"  # 拟作出处罚决定
    LEGAL_REVIEW = "legal_review"  # 法制审核 (major decisions)
    DECIDED = "decided"  # 作出处罚决定
    EXECUTED = "executed"  # 执行完毕
    CLOSED = "closed"  # 结案
    WITHDRAWN = "withdrawn"  # 撤销立案


#: Statuses a case does not leave (except a closed case's reconsideration record).
FINAL_CASE_STATUSES = frozenset({CaseStatus.CLOSED, CaseStatus.WITHDRAWN})


class CaseMemberRole(enum.StrEnum):
    LEAD = "lead"  # 主办人
    MEMBER = "member"  # 协办人


class ReconsiderationStatus(enum.StrEnum):
    """Administrative reconsideration (行政复议) of a decision."""

    REQUESTED = "requested"
    UPHELD = "upheld"  # 维持
    REVOKED = "revoked"  # 撤销
    CHANGED = "changed"  # 变更


class CoerciveKind(enum.StrEnum):
    SEAL = "seal"  # 查封
    SEIZE = "seize"  # 扣押


class PenaltyCase(TimestampMixin, Base):
    """One penalty case of one department against one enterprise."""

    __tablename__ = "penalty_cases"
    __table_args__ = (
        CheckConstraint("proposed_amount IS NULL OR proposed_amount >= 0", name="proposed_amount"),
        Index("ix_penalty_cases_department_status", "department_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True, default=uuid.uuid4)
    case_no: Mapped[str] = mapped_column(String(64), unique=True)  # "CASE-2026-000012"
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    # One case per inspection at most (opening from an inspection is idempotent).
    origin_inspection_id: Mapped[int | None] = mapped_column(
        ForeignKey("field_inspections.id"), unique=True
    )
    status: Mapped[CaseStatus] = mapped_column(
        str_enum(CaseStatus, "status"), default=CaseStatus.FILED
    )
    version: Mapped[int] = mapped_column(Integer, default=1)
    is_major: Mapped[bool] = mapped_column(Boolean, default=False)  # needs legal review
    suspected_crime: Mapped[bool] = mapped_column(Boolean, default=False)
    filed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    filed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    summary: Mapped[str] = mapped_column(Text, default="")  # 案由
    # The 90-day decision deadline may be extended once by 30 days (with approval).
    deadline_extensions: Mapped[int] = mapped_column(SmallInteger, default=0)

    # The proposed decision (拟处罚).
    proposed_measure: Mapped[PenaltyMeasure | None] = mapped_column(
        str_enum(PenaltyMeasure, "proposed_measure")
    )
    proposed_amount: Mapped[Decimal | None] = mapped_column(Numeric(18, 2))  # CNY
    proposed_legal_basis: Mapped[str | None] = mapped_column(Text)
    proposed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    proposed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    # Legal review (法制审核) of a major decision.
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    review_opinion: Mapped[str | None] = mapped_column(Text)

    # The decision (处罚决定) and what follows it.
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    penalty_id: Mapped[int | None] = mapped_column(ForeignKey("penalties.id"))
    executed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    execution_note: Mapped[str | None] = mapped_column(Text)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    withdrawn_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    withdrawal_reason: Mapped[str | None] = mapped_column(Text)

    # Administrative reconsideration (行政复议) of the decision.
    reconsideration_status: Mapped[ReconsiderationStatus | None] = mapped_column(
        str_enum(ReconsiderationStatus, "reconsideration_status")
    )
    reconsideration_requested_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    reconsideration_decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    reconsideration_note: Mapped[str | None] = mapped_column(Text)

    enterprise: Mapped[Enterprise] = relationship()
    department: Mapped[Department] = relationship()
    origin_inspection: Mapped[FieldInspection | None] = relationship()
    filed_by: Mapped[User | None] = relationship(foreign_keys=[filed_by_id])
    proposed_by: Mapped[User | None] = relationship(foreign_keys=[proposed_by_id])
    reviewed_by: Mapped[User | None] = relationship(foreign_keys=[reviewed_by_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])
    penalty: Mapped[Penalty | None] = relationship()
    members: Mapped[list[CaseMember]] = relationship(
        back_populates="case", cascade="all, delete-orphan", order_by="CaseMember.id"
    )
    events: Mapped[list[CaseEvent]] = relationship(
        back_populates="case", cascade="all, delete-orphan", order_by="CaseEvent.id"
    )
    coercive_measures: Mapped[list[CoerciveMeasure]] = relationship(
        back_populates="case", cascade="all, delete-orphan", order_by="CoerciveMeasure.id"
    )

    @property
    def lead(self) -> CaseMember | None:
        return next((m for m in self.members if m.role == CaseMemberRole.LEAD), None)


class CaseMember(Base):
    """A member of the case group (办案小组); transfers need a group of at least two."""

    __tablename__ = "case_members"
    __table_args__ = (UniqueConstraint("case_id", "user_id", name="uq_case_members_case_user"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("penalty_cases.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    role: Mapped[CaseMemberRole] = mapped_column(
        str_enum(CaseMemberRole, "role"), default=CaseMemberRole.MEMBER
    )
    added_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    case: Mapped[PenaltyCase] = relationship(back_populates="members")
    user: Mapped[User] = relationship()


class CaseEvent(Base):
    """One entry of a case's history: who did what, when, from which status to which."""

    __tablename__ = "case_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(
        ForeignKey("penalty_cases.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # None: the system
    from_status: Mapped[CaseStatus | None] = mapped_column(str_enum(CaseStatus, "from_status"))
    to_status: Mapped[CaseStatus | None] = mapped_column(str_enum(CaseStatus, "to_status"))
    action: Mapped[str] = mapped_column(String(48))  # "file", "decide", "coercive.start", …
    note: Mapped[str] = mapped_column(Text, default="")
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    case: Mapped[PenaltyCase] = relationship(back_populates="events")
    actor: Mapped[User | None] = relationship()


class CoerciveMeasure(Base):
    """A seal or seizure (查封、扣押, 行政强制法 art. 25): at most 30 days, extendable once by
    30 days with approval; ``lifted_at`` ends it. Every measure is fed to the data center."""

    __tablename__ = "coercive_measures"
    __table_args__ = (CheckConstraint("ends_on >= started_on", name="dates"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True, default=uuid.uuid4)
    case_id: Mapped[int] = mapped_column(
        ForeignKey("penalty_cases.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[CoerciveKind] = mapped_column(str_enum(CoerciveKind, "kind"))
    # [{"name", "quantity", "unit", "note"}, …]: the list of items (查封扣押物品清单).
    items: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    place: Mapped[str] = mapped_column(String(300), default="")
    started_on: Mapped[dt.date] = mapped_column(Date)
    ends_on: Mapped[dt.date] = mapped_column(Date)
    extended: Mapped[bool] = mapped_column(Boolean, default=False)
    extension_reason: Mapped[str | None] = mapped_column(Text)
    lifted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    lift_reason: Mapped[str | None] = mapped_column(Text)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    case: Mapped[PenaltyCase] = relationship(back_populates="coercive_measures")
    decided_by: Mapped[User | None] = relationship()


__all__ = [
    "FINAL_CASE_STATUSES",
    "CaseEvent",
    "CaseMember",
    "CaseMemberRole",
    "CaseStatus",
    "CoerciveKind",
    "CoerciveMeasure",
    "PenaltyCase",
    "ReconsiderationStatus",
]
