"""The outbox: messages for the workers, written in the transaction that causes them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Index, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from enforcement.models.base import Base, UTCDateTime, utcnow


class OutboxMessage(Base):
    """A message to hand to a Celery task once its transaction has committed.

    Written with the change that causes it (a penalty → re-rate the enterprise), so the
    message exists exactly when the change does; ``enforcement.outbox.drain`` sends pending
    messages and marks them dispatched.
    """

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_pending", "dispatched_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    topic: Mapped[str] = mapped_column(String(64))  # "credit.rerate"
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    dispatched_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(SmallInteger, default=0)
    last_error: Mapped[str | None] = mapped_column(String(500))


__all__ = ["OutboxMessage"]
