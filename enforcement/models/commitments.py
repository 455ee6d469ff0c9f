"""Commitments (告知承诺): an enterprise's written promise that it meets the conditions of an
item of the inspection list or of a licence, filed through the enterprise portal.

A commitment is kept as filed (its text is never edited); the enterprise may withdraw it
with a reason. Supervisors read them when they plan the checks of what was promised.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from enforcement.models.accounts import User
from enforcement.models.base import Base, TimestampMixin, UTCDateTime, str_enum
from enforcement.models.registry import Enterprise, InspectionItem


class CommitmentStatus(enum.StrEnum):
    FILED = "filed"  # 已承诺
    WITHDRAWN = "withdrawn"  # 已撤回


class Commitment(TimestampMixin, Base):
    """One commitment: its text and what it concerns (an item of the list, a licence, or both)."""

    __tablename__ = "commitments"
    __table_args__ = (
        Index("ix_commitments_enterprise_status", "enterprise_id", "status"),
        CheckConstraint("item_id IS NOT NULL OR licence <> ''", name="concerns_something"),
        CheckConstraint("(status = 'withdrawn') = (withdrawn_at IS NOT NULL)", name="withdrawn"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id", ondelete="CASCADE"))
    item_id: Mapped[int | None] = mapped_column(ForeignKey("inspection_items.id"))
    # The licence concerned (name and number, e.g. 食品经营许可证 JY13301060012345), or "".
    licence: Mapped[str] = mapped_column(String(200), default="")
    text: Mapped[str] = mapped_column(Text)  # the commitment in the enterprise's words
    status: Mapped[CommitmentStatus] = mapped_column(
        str_enum(CommitmentStatus, "status"), default=CommitmentStatus.FILED
    )
    filed_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    withdrawn_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    withdrawal_reason: Mapped[str | None] = mapped_column(String(500))

    enterprise: Mapped[Enterprise] = relationship()
    item: Mapped[InspectionItem | None] = relationship()
    filed_by: Mapped[User] = relationship()


__all__ = ["Commitment", "CommitmentStatus"]
