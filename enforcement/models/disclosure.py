"""Publication (一公开): public records, the enterprises' replies and appeals, and the joint
rewards-and-punishments list (联合奖惩) other departments consume.

A ``PublicRecord`` is what the public sees of one plan, draw, inspection result or penalty
decision: a masked JSON document, written by the scheduled publication run
(``enforcement.services.disclosure``). It exists from the moment the run notices its subject
(``published_at`` NULL: held, not yet public) and is published at the latest on ``due_on``,
20 working days after the event. Corrections after an upheld appeal are appended to
``corrections``; a withdrawal keeps the row (and its reason) but no longer shows the content.

``JointListChange`` is an append-only journal of additions to and removals from the joint
list (serious-illegal list entries, D-tier enterprises); its ``id`` is the consumers' cursor.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from enforcement.models.accounts import User
from enforcement.models.base import Base, TimestampMixin, UTCDateTime, str_enum, utcnow
from enforcement.models.registry import Department, Enterprise


class PublicKind(enum.StrEnum):
    PLAN = "plan"  # 抽查计划
    DRAW = "draw"  # 抽取结果 (with the verification bundle once published)
    RESULT = "result"  # 抽查检查结果
    PENALTY = "penalty"  # 行政处罚决定


class AppealStatus(enum.StrEnum):
    SUBMITTED = "submitted"
    UPHELD = "upheld"  # the record is corrected or withdrawn
    DISMISSED = "dismissed"


class AppealAction(enum.StrEnum):
    """What an upheld appeal does to the public record."""

    CORRECT = "correct"  # a correction notice is published beside the record
    WITHDRAW = "withdraw"  # the record is taken down (its reason stays public)


class JointBasis(enum.StrEnum):
    SERIOUS_ILLEGAL = "serious_illegal"  # 严重违法失信名单
    D_TIER = "d_tier"  # 信用风险等级 D (高风险)


class JointChange(enum.StrEnum):
    ADDED = "added"
    REMOVED = "removed"


class PublicRecord(TimestampMixin, Base):
    """The public version of one plan, draw, result or penalty decision."""

    __tablename__ = "public_records"
    __table_args__ = (
        UniqueConstraint("kind", "subject_key", name="uq_public_records_subject"),
        UniqueConstraint("kind", "source_id", name="uq_public_records_source"),
        CheckConstraint("publish_on <= due_on", name="hold_before_due"),
        CheckConstraint(
            "withdrawn_at IS NULL OR published_at IS NOT NULL", name="withdrawn_after_published"
        ),
        Index("ix_public_records_kind_published", "kind", "published_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[PublicKind] = mapped_column(str_enum(PublicKind, "kind"))
    # The subject's public key: the plan code (plan, draw), the inspection UUID (result),
    # the decision number (penalty).
    subject_key: Mapped[str] = mapped_column(String(64))
    # The primary key of the source row (sampling plan, field inspection, penalty case).
    source_id: Mapped[int] = mapped_column(Integer)
    # The market entity the record is about (results, penalties): who may reply and appeal.
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprises.id"), index=True)
    # The department responsible: its supervisors decide the appeals.
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), index=True)
    # Searchable public identification (already masked, as in the document).
    subject_name: Mapped[str] = mapped_column(String(300), default="")
    subject_uscc: Mapped[str | None] = mapped_column(String(18), index=True)
    event_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)  # drawn, finished, decided
    # Asia/Shanghai dates: the hold ends on publish_on, the statutory deadline is due_on.
    publish_on: Mapped[dt.date] = mapped_column(Date)
    due_on: Mapped[dt.date] = mapped_column(Date)
    published_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    withdrawn_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    withdrawal_reason: Mapped[str | None] = mapped_column(Text)
    # The state of the source the document was built from ("published|", "live|"...): a
    # change makes the publication run rebuild (or withdraw) the record.
    source_state: Mapped[str] = mapped_column(String(100), default="")
    document: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    schema_version: Mapped[str] = mapped_column(String(16))
    revision: Mapped[int] = mapped_column(Integer, default=1)  # +1 per change once public
    # [{"at", "reason", "appeal_id"}]: corrections published beside the record.
    corrections: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)

    enterprise: Mapped[Enterprise | None] = relationship()
    department: Mapped[Department | None] = relationship()
    replies: Mapped[list[RecordReply]] = relationship(
        back_populates="record", cascade="all, delete-orphan", order_by="RecordReply.id"
    )
    appeals: Mapped[list[RecordAppeal]] = relationship(
        back_populates="record", cascade="all, delete-orphan", order_by="RecordAppeal.id"
    )

    @property
    def is_public(self) -> bool:
        return self.published_at is not None

    @property
    def is_withdrawn(self) -> bool:
        return self.withdrawn_at is not None


class RecordReply(Base):
    """An enterprise's reply to a published record about itself, shown beside it."""

    __tablename__ = "public_record_replies"

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(
        ForeignKey("public_records.id", ondelete="CASCADE"), index=True
    )
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    record: Mapped[PublicRecord] = relationship(back_populates="replies")
    author: Mapped[User] = relationship()


class RecordAppeal(TimestampMixin, Base):
    """An enterprise's appeal against a published record; a supervisor of the department
    upholds (correct or withdraw the record) or dismisses it, with reasons."""

    __tablename__ = "public_record_appeals"
    __table_args__ = (
        Index("ix_public_record_appeals_status", "status", "id"),
        CheckConstraint("(status = 'submitted') = (decided_at IS NULL)", name="decided"),
        CheckConstraint("status <> 'upheld' OR action IS NOT NULL", name="upheld_action"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(
        ForeignKey("public_records.id", ondelete="CASCADE"), index=True
    )
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"))
    applicant_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    grounds: Mapped[str] = mapped_column(Text)
    status: Mapped[AppealStatus] = mapped_column(
        str_enum(AppealStatus, "status"), default=AppealStatus.SUBMITTED
    )
    action: Mapped[AppealAction | None] = mapped_column(str_enum(AppealAction, "action"))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    decision_reason: Mapped[str | None] = mapped_column(Text)

    record: Mapped[PublicRecord] = relationship(back_populates="appeals")
    applicant: Mapped[User] = relationship(foreign_keys=[applicant_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])


class JointListChange(Base):
    """One addition to or removal from the joint list; rows are appended, never changed.

    Written only by ``enforcement.services.joint_list.sync`` under a table lock, so ids are
    handed out in commit order and a consumer reading ``since=N`` never misses a change.
    """

    __tablename__ = "joint_list_changes"
    __table_args__ = (Index("ix_joint_list_changes_source", "basis", "source_key", "id"),)

    # BIGINT on PostgreSQL; SQLite autoincrements only an INTEGER PRIMARY KEY (64 bits anyway).
    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True
    )
    basis: Mapped[JointBasis] = mapped_column(str_enum(JointBasis, "basis"))
    change: Mapped[JointChange] = mapped_column(str_enum(JointChange, "change"))
    # What the entry stands on: "list_entry:<id>" or "enterprise:<id>" (the D tier).
    source_key: Mapped[str] = mapped_column(String(64))
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), index=True)
    enterprise_uscc: Mapped[str | None] = mapped_column(String(18))
    enterprise_name: Mapped[str] = mapped_column(String(300))
    reason: Mapped[str] = mapped_column(Text, default="")
    effective_on: Mapped[dt.date] = mapped_column(Date)  # listed, removed, rated (Shanghai)
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class JointListConsumer(Base):
    """Another department's system that reads the joint list with a bearer token of its own
    (read-only, nothing else); only the token's SHA-256 is stored."""

    __tablename__ = "joint_list_consumers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)  # "税务局", "人民银行"
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


__all__ = [
    "AppealAction",
    "AppealStatus",
    "JointBasis",
    "JointChange",
    "JointListChange",
    "JointListConsumer",
    "PublicKind",
    "PublicRecord",
    "RecordAppeal",
    "RecordReply",
]
