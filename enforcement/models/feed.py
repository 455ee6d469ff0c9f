"""The feed to the supervision data center: one row per version of a record to deliver."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Index,
    Integer,
    SmallInteger,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from enforcement.models.base import Base, UTCDateTime, utcnow

#: A record waiting for delivery: neither delivered nor dead-lettered.
PENDING_SQL = "delivered_at IS NULL AND dead_at IS NULL"

#: What is fed (the data center's record types).
FEED_KINDS = (
    "inspection",
    "inspection_result",
    "penalty",
    "coercive_measure",
    "case",
    "audit_anchor",
    "transfer",
    "commitment",
)


class FeedRecord(Base):
    """A version of a record for the data center, written in the transaction that makes it.

    ``enforcement.feed.publish`` adds a row when a record is created or changes (the same
    ``record_key`` with a new payload gets ``version + 1``); ``enforcement.feed.deliver``
    sends due rows in signed batches and marks what the receiver acknowledged. A row that
    fails ``max_attempts`` times is dead-lettered (``dead_at``) until someone re-queues it.
    """

    __tablename__ = "feed_records"
    __table_args__ = (
        UniqueConstraint("kind", "record_key", "version", name="uq_feed_records_version"),
        # The pending scan (undelivered, not dead, due; in order): a partial index, so it
        # holds only pending rows and hands them out in order without a sort (PostgreSQL does
        # not take ``IS NULL`` on leading columns as fixing the order of the rest).
        Index(
            "ix_feed_records_pending",
            "next_attempt_at",
            "id",
            postgresql_where=text(PENDING_SQL),
            sqlite_where=text(PENDING_SQL),
        ),
    )

    # BIGINT on PostgreSQL; SQLite autoincrements only an INTEGER PRIMARY KEY (64 bits anyway).
    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(32))  # one of FEED_KINDS
    record_key: Mapped[str] = mapped_column(String(64))  # a UUID, "penalty:123"
    version: Mapped[int] = mapped_column(Integer)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    payload_sha256: Mapped[str] = mapped_column(String(64))  # of the canonical JSON
    idempotency_key: Mapped[str] = mapped_column(String(128), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    attempts: Mapped[int] = mapped_column(SmallInteger, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    dead_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)  # the dead-letter list
    last_error: Mapped[str | None] = mapped_column(String(500))


__all__ = ["FEED_KINDS", "FeedRecord"]
