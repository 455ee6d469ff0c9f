"""Writing the audit log: one row per governed action, in the caller's transaction."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from enforcement.models import AuditLog, Base, User, utcnow


def record(
    session: Session,
    actor: User | None,
    action: str,
    entity: Base,
    details: Mapping[str, Any] | None = None,
    *,
    at: dt.datetime | None = None,
) -> AuditLog:
    """Add an audit row for ``action`` (e.g. "plan.approve") by ``actor`` on ``entity``.

    ``actor`` None means the system itself. The entity is flushed first when it has no primary
    key yet, so the row can name it. ``details`` must be JSON-ready. Never commits: the row
    stands or falls with the action it records.
    """
    if not action:
        raise ValueError("action: must not be empty")
    if inspect(entity).identity is None:
        session.flush()
    key = entity_key(entity)
    if key is None:
        raise ValueError(f"entity: {type(entity).__name__} has no primary key after flush")
    row = AuditLog(
        at=at or utcnow(),
        actor=actor,
        action=action,
        entity_type=key[0],
        entity_id=key[1],
        details=dict(details or {}),
    )
    session.add(row)
    return row


def history(session: Session, entity: Base) -> list[AuditLog]:
    """The audit rows of ``entity``, oldest first."""
    key = entity_key(entity)
    if key is None:
        return []
    return list(
        session.scalars(
            select(AuditLog)
            .where(AuditLog.entity_type == key[0], AuditLog.entity_id == key[1])
            .order_by(AuditLog.at, AuditLog.id)
        )
    )


def entity_key(entity: Base) -> tuple[str, str] | None:
    """``(table name, primary key as text)`` of a persistent entity; None before its flush."""
    state = inspect(entity)
    if state.identity is None:
        return None
    return state.mapper.local_table.name, ":".join(str(part) for part in state.identity)
