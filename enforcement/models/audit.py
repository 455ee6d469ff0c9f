"""The audit log: who did what to which record, when. Rows are written once and never changed."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, event
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from enforcement.models.accounts import User
from enforcement.models.base import Base, UTCDateTime, utcnow


class AuditLog(Base):
    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_entity", "entity_type", "entity_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    # None for actions of the system itself (scheduled jobs, migrations).
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    action: Mapped[str] = mapped_column(String(64))  # "plan.approve"
    entity_type: Mapped[str] = mapped_column(String(64))  # table name, "sampling_plans"
    entity_id: Mapped[str] = mapped_column(String(64))  # primary key as text (ids and uuids)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    actor: Mapped[User | None] = relationship()


class AuditLogImmutableError(Exception):
    """An audit row was changed or deleted through the ORM."""


@event.listens_for(Session, "before_flush")
def _audit_rows_are_append_only(session: Session, _context: Any, _instances: Any) -> None:
    for obj in (*session.dirty, *session.deleted):
        if isinstance(obj, AuditLog) and (obj in session.deleted or session.is_modified(obj)):
            raise AuditLogImmutableError(f"audit log row {obj.id} is append-only")


__all__ = ["AuditLog", "AuditLogImmutableError"]
