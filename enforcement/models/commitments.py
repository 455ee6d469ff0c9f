"""Commitments (告知承诺): an enterprise's written promise that it meets the conditions of an
item of the inspection list or of a licence, filed through the enterprise portal.

A commitment is kept as filed (its text is never edited). The department responsible (the
item's; none for a commitment about a licence only, which the whole bureau reviews) accepts
it (承诺受理) or rejects it with a reason; an accepted commitment is later verified and
found true (核查属实) or false (承诺不实). The enterprise may withdraw a commitment, with a
reason, until it is reviewed. ``version`` is the ETag: it grows with every change.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from enforcement.models.accounts import User
from enforcement.models.base import Base, TimestampMixin, UTCDateTime, str_enum
from enforcement.models.registry import Department, Enterprise, InspectionItem


class CommitmentStatus(enum.StrEnum):
    FILED = "filed"  # 已承诺，待受理
    ACCEPTED = "accepted"  # 已受理，待核查 (承诺受理)
    REJECTED = "rejected"  # 不予受理
    VERIFIED = "verified"  # 核查属实
    FOUND_FALSE = "found_false"  # 承诺不实
    WITHDRAWN = "withdrawn"  # 已撤回


#: Statuses nothing leads out of.
FINAL_COMMITMENT_STATUSES = frozenset(
    {
        CommitmentStatus.REJECTED,
        CommitmentStatus.VERIFIED,
        CommitmentStatus.FOUND_FALSE,
        CommitmentStatus.WITHDRAWN,
    }
)


class Commitment(TimestampMixin, Base):
    """One commitment: its text, what it concerns (an item of the list, a licence, or both)
    and its review."""

    __tablename__ = "commitments"
    __table_args__ = (
        Index("ix_commitments_enterprise_status", "enterprise_id", "status"),
        Index("ix_commitments_department_status", "department_id", "status"),
        CheckConstraint("item_id IS NOT NULL OR licence <> ''", name="concerns_something"),
        CheckConstraint("(status = 'withdrawn') = (withdrawn_at IS NOT NULL)", name="withdrawn"),
        # Accepted or rejected once, by someone (a withdrawal comes before any review).
        CheckConstraint(
            "(status IN ('filed', 'withdrawn')) = (reviewed_at IS NULL)", name="reviewed"
        ),
        CheckConstraint(
            "(status IN ('verified', 'found_false')) = (verified_at IS NOT NULL)",
            name="verified",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id", ondelete="CASCADE"))
    item_id: Mapped[int | None] = mapped_column(ForeignKey("inspection_items.id"))
    # Who reviews it: the item's department when filed; None (the whole bureau) without an item.
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    # The licence concerned (name and number, e.g. 食品经营许可证 JY13301060012345), or "".
    licence: Mapped[str] = mapped_column(String(200), default="")
    text: Mapped[str] = mapped_column(Text)  # the commitment in the enterprise's words
    status: Mapped[CommitmentStatus] = mapped_column(
        str_enum(CommitmentStatus, "status"), default=CommitmentStatus.FILED
    )
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    filed_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    withdrawn_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    withdrawal_reason: Mapped[str | None] = mapped_column(String(500))
    # The review (受理): acceptance, or rejection with its reason.
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    review_note: Mapped[str | None] = mapped_column(String(500))
    # The verification (核查): found true, or false (承诺不实) with the reason.
    verified_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    verified_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    verification_note: Mapped[str | None] = mapped_column(String(500))

    enterprise: Mapped[Enterprise] = relationship()
    item: Mapped[InspectionItem | None] = relationship()
    department: Mapped[Department | None] = relationship()
    filed_by: Mapped[User] = relationship(foreign_keys=[filed_by_id])
    reviewed_by: Mapped[User | None] = relationship(foreign_keys=[reviewed_by_id])
    verified_by: Mapped[User | None] = relationship(foreign_keys=[verified_by_id])


__all__ = ["FINAL_COMMITMENT_STATUSES", "Commitment", "CommitmentStatus"]
