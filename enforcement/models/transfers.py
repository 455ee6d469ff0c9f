"""Transfers of suspected crimes to public security (行政执法与刑事司法衔接, 两法衔接).

国务院令第310号 (行政执法机关移送涉嫌犯罪案件的规定, revised 2020): a case group of at least two
writes the investigation report; the head of the agency decides within 3 days; an approved
case goes to public security at the same level within 24 hours, copied to the procuratorate;
public security decides within 3 days of receipt whether to file (立案) and gives written
reasons when it does not; the agency may ask for reconsideration (复议) within 3 days, and
ask the procuratorate to supervise (立案监督). A fine never replaces a transfer (不得以罚代刑).

One ``Transfer`` per penalty case; its status loop and the meaning of "pending" are in
``enforcement.services.transfers`` (see :data:`PENDING_TRANSFER_STATUSES`).
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    ForeignKey,
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
from enforcement.models.cases import PenaltyCase
from enforcement.models.inspections import EvidenceFile


class TransferStatus(enum.StrEnum):
    REPORTED = "reported"  # 调查报告已报负责人审批
    REJECTED = "rejected"  # 负责人决定不予移送 (final; the reasons are recorded)
    APPROVED = "approved"  # 批准移送: to be sent within 24 hours
    SENT = "sent"  # 已移送公安机关，抄送检察院
    RECEIVED = "received"  # 公安机关已接收 (回执)
    FILED = "filed"  # 公安机关立案 (final: the criminal process has the facts)
    NOT_FILED = "not_filed"  # 不予立案, with written reasons
    RECONSIDERATION = "reconsideration"  # 提请复议
    UPHELD = "upheld"  # 复议维持不予立案
    SUPERVISION = "supervision"  # 建议检察院立案监督
    CLOSED = "closed"  # closed after a non-filing that stands (final)


#: Statuses a transfer does not leave.
FINAL_TRANSFER_STATUSES = frozenset(
    {TransferStatus.REJECTED, TransferStatus.FILED, TransferStatus.CLOSED}
)

#: A transfer in one of these holds its case: the case may not be closed (不得以罚代刑).
PENDING_TRANSFER_STATUSES = frozenset(set(TransferStatus) - FINAL_TRANSFER_STATUSES)


class TransferDecision(enum.StrEnum):
    APPROVE = "approve"
    REJECT = "reject"


class PoliceDecision(enum.StrEnum):
    FILED = "filed"  # 立案
    NOT_FILED = "not_filed"  # 不予立案


class AttachmentKind(enum.StrEnum):
    INSPECTION_REPORT = "inspection_report"  # 检验报告
    APPRAISAL_OPINION = "appraisal_opinion"  # 鉴定意见
    OTHER_EVIDENCE = "other_evidence"  # 其他证据材料


class Transfer(TimestampMixin, Base):
    """The transfer of one case; ``version`` grows with every change (the ETag)."""

    __tablename__ = "transfers"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True, default=uuid.uuid4)
    case_id: Mapped[int] = mapped_column(ForeignKey("penalty_cases.id"), unique=True)
    status: Mapped[TransferStatus] = mapped_column(
        str_enum(TransferStatus, "status"), default=TransferStatus.REPORTED, index=True
    )
    version: Mapped[int] = mapped_column(Integer, default=1)

    # The investigation report (调查报告) of the case group.
    facts: Mapped[str] = mapped_column(Text)
    evidence_summary: Mapped[str] = mapped_column(Text)
    suspected_offence: Mapped[str] = mapped_column(String(200))
    legal_basis: Mapped[str] = mapped_column(Text)
    # The case group when the report was made: [{"user_id", "name", "role"}] (at least two).
    authors: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    reported_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    reported_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    # The head's decision (3 days).
    decision: Mapped[TransferDecision | None] = mapped_column(
        str_enum(TransferDecision, "decision")
    )
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decision_reason: Mapped[str | None] = mapped_column(Text)

    # Sent to public security (24 hours), copied to the procuratorate.
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    sent_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    police_office: Mapped[str | None] = mapped_column(String(200))
    procuratorate: Mapped[str | None] = mapped_column(String(200))
    procuratorate_copy_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    # Received; public security's decision (3 days from receipt).
    received_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    receipt_note: Mapped[str | None] = mapped_column(Text)
    police_decision: Mapped[PoliceDecision | None] = mapped_column(
        str_enum(PoliceDecision, "police_decision")
    )
    police_decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    police_reasons: Mapped[str | None] = mapped_column(Text)  # required when not filed
    police_case_no: Mapped[str | None] = mapped_column(String(100))

    # Reconsideration (复议), asked within 3 days of the non-filing; answered within 3 days.
    reconsideration_requested_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    reconsideration_reason: Mapped[str | None] = mapped_column(Text)
    reconsideration_outcome: Mapped[PoliceDecision | None] = mapped_column(
        str_enum(PoliceDecision, "reconsideration_outcome")
    )
    reconsideration_decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    reconsideration_note: Mapped[str | None] = mapped_column(Text)

    # Supervision by the procuratorate (立案监督).
    supervision_requested_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    supervision_reason: Mapped[str | None] = mapped_column(Text)
    supervision_outcome: Mapped[PoliceDecision | None] = mapped_column(
        str_enum(PoliceDecision, "supervision_outcome")
    )
    supervision_decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    supervision_note: Mapped[str | None] = mapped_column(Text)

    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    close_reason: Mapped[str | None] = mapped_column(Text)

    # The last exported package: the SHA-256 of its manifest.json (also in the audit log).
    package_sha256: Mapped[str | None] = mapped_column(String(64))
    package_size: Mapped[int | None] = mapped_column(BigInteger)
    package_exported_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    package_exported_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    case: Mapped[PenaltyCase] = relationship()
    reported_by: Mapped[User | None] = relationship(foreign_keys=[reported_by_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])
    sent_by: Mapped[User | None] = relationship(foreign_keys=[sent_by_id])
    closed_by: Mapped[User | None] = relationship(foreign_keys=[closed_by_id])
    items: Mapped[list[TransferItem]] = relationship(
        back_populates="transfer", cascade="all, delete-orphan", order_by="TransferItem.position"
    )
    attachments: Mapped[list[TransferAttachment]] = relationship(
        back_populates="transfer",
        cascade="all, delete-orphan",
        order_by="TransferAttachment.position",
    )
    events: Mapped[list[TransferEvent]] = relationship(
        back_populates="transfer", cascade="all, delete-orphan", order_by="TransferEvent.id"
    )


class TransferItem(Base):
    """One line of the list of items involved (涉案物品清单)."""

    __tablename__ = "transfer_items"
    __table_args__ = (
        UniqueConstraint("transfer_id", "position", name="uq_transfer_items_position"),
        CheckConstraint("quantity >= 0", name="quantity"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    transfer_id: Mapped[int] = mapped_column(ForeignKey("transfers.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(SmallInteger)  # 1, 2, … as listed
    name: Mapped[str] = mapped_column(String(200))
    spec: Mapped[str] = mapped_column(String(200), default="")
    quantity: Mapped[Decimal] = mapped_column(Numeric(14, 3))
    unit: Mapped[str] = mapped_column(String(20))
    location: Mapped[str] = mapped_column(String(300), default="")  # 存放地点
    custody: Mapped[str] = mapped_column(String(200), default="")  # 保管情况
    note: Mapped[str] = mapped_column(Text, default="")

    transfer: Mapped[Transfer] = relationship(back_populates="items")


class TransferAttachment(Base):
    """A file of the evidence store sent with the transfer: an inspection report, an
    appraisal opinion or other evidence, by the SHA-256 of its bytes."""

    __tablename__ = "transfer_attachments"
    __table_args__ = (
        UniqueConstraint("transfer_id", "sha256", name="uq_transfer_attachments_file"),
        UniqueConstraint("transfer_id", "position", name="uq_transfer_attachments_position"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    transfer_id: Mapped[int] = mapped_column(ForeignKey("transfers.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(SmallInteger)
    sha256: Mapped[str] = mapped_column(ForeignKey("evidence_files.sha256"))
    kind: Mapped[AttachmentKind] = mapped_column(str_enum(AttachmentKind, "kind"))
    title: Mapped[str] = mapped_column(String(200))

    transfer: Mapped[Transfer] = relationship(back_populates="attachments")
    file: Mapped[EvidenceFile] = relationship()


class TransferEvent(Base):
    """One entry of a transfer's history: who did what, when, from which status to which."""

    __tablename__ = "transfer_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    transfer_id: Mapped[int] = mapped_column(
        ForeignKey("transfers.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(48))  # "report", "decide", "send", …
    from_status: Mapped[TransferStatus | None] = mapped_column(
        str_enum(TransferStatus, "from_status")
    )
    to_status: Mapped[TransferStatus | None] = mapped_column(str_enum(TransferStatus, "to_status"))
    note: Mapped[str] = mapped_column(Text, default="")
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    transfer: Mapped[Transfer] = relationship(back_populates="events")
    actor: Mapped[User | None] = relationship()


__all__ = [
    "FINAL_TRANSFER_STATUSES",
    "PENDING_TRANSFER_STATUSES",
    "AttachmentKind",
    "PoliceDecision",
    "Transfer",
    "TransferAttachment",
    "TransferDecision",
    "TransferEvent",
    "TransferItem",
    "TransferStatus",
]
