"""The audit log: who did what to which record, when. Rows are written once and never changed.

The rows form a hash chain (执法全过程记录, docs/audit.md): each sealed row has a gapless
``seq``, the ``prev_hash`` of the row before it and its own ``entry_hash``, the SHA-256 of
the canonical JSON of ``seq``, ``at``, ``actor_id``, ``action``, ``entity_type``,
``entity_id``, ``details`` and ``prev_hash``. Rows are inserted unsealed (``seq`` NULL) by
``enforcement.services.audit.record`` in the caller's transaction and sealed by ``seal`` when
the outermost transaction commits (the ``before_commit`` hook below): on PostgreSQL under a
transaction-level advisory lock taken just then, so the chain is extended by one committer
at a time without holding a global lock for the whole unit of work. ``AuditAnchor`` rows
record the head of the chain from time to time; they are published (feed, public API).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    String,
    bindparam,
    event,
    func,
    select,
    text,
    update,
)
from sqlalchemy.orm import Mapped, ORMExecuteState, Session, mapped_column, relationship
from sqlalchemy.orm.attributes import set_committed_value

from enforcement.models.accounts import User
from enforcement.models.base import Base, UTCDateTime, utcnow

#: The ``prev_hash`` of the first entry.
GENESIS_HASH = "0" * 64
#: The name of the hashing scheme, published with the anchors.
HASH_ALGORITHM = "sha256-canonical-json/1"
#: ``pg_advisory_xact_lock`` key of the chain head ("SUIJIAN1" as a signed 64-bit integer).
CHAIN_LOCK_KEY = int.from_bytes(b"SUIJIAN1", "big", signed=True)
#: Rows sealed per round trip.
SEAL_BATCH = 5_000
#: ``session.info`` key: this transaction wrote audit rows that are not sealed yet.
_UNSEALED = "suijian.audit.unsealed"

_SEQ_TYPE = BigInteger().with_variant(Integer(), "sqlite")
# One encoder for every entry (``json.dumps`` with options builds a new one per call).
_CANONICAL = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
)
# PostgreSQL: a chunk of the chain in one statement (an executemany is a round trip a row);
# the columns travel as comma-separated text (cheaper to send than arrays of Python values).
_PG_CHAIN_UPDATE = text(
    "UPDATE audit_log SET seq = v.seq, prev_hash = v.prev_hash, entry_hash = v.entry_hash "
    "FROM unnest(CAST(string_to_array(:ids, ',') AS BIGINT[]), "
    "CAST(string_to_array(:seqs, ',') AS BIGINT[]), string_to_array(:prevs, ','), "
    "string_to_array(:hashes, ',')) AS v(id, seq, prev_hash, entry_hash) "
    "WHERE audit_log.id = v.id"
)


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
    # The chain: NULL until the writing transaction commits (then set once, by ``seal``).
    seq: Mapped[int | None] = mapped_column(_SEQ_TYPE, unique=True)
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    entry_hash: Mapped[str | None] = mapped_column(String(64))

    actor: Mapped[User | None] = relationship()


class AuditAnchor(Base):
    """The head of the chain at a moment (``seq`` and its ``entry_hash``), published so that
    a rewrite of the chain up to it cannot go unnoticed."""

    __tablename__ = "audit_anchors"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(_SEQ_TYPE, unique=True)
    entry_hash: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class AuditLogImmutableError(Exception):
    """An audit row was changed or deleted through the ORM."""


# ---------------------------------------------------------------------- hashing


def canonical_entry(
    *,
    seq: int,
    at: dt.datetime,
    actor_id: int | None,
    action: str,
    entity_type: str,
    entity_id: str,
    details: Any,
    prev_hash: str,
) -> bytes:
    """The bytes hashed for an entry: sorted-key compact UTF-8 JSON; ``at`` as ISO 8601 UTC
    with microseconds. Give it the values as the database returns them."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=dt.UTC)
    document = {
        "seq": int(seq),
        "at": at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
        "actor_id": None if actor_id is None else int(actor_id),
        "action": action,
        "entity_type": entity_type,
        "entity_id": entity_id,
        "details": details,
        "prev_hash": prev_hash,
    }
    return _CANONICAL.encode(document).encode("utf-8")


def compute_entry_hash(**fields: Any) -> str:
    """SHA-256 (hex) of :func:`canonical_entry`."""
    return hashlib.sha256(canonical_entry(**fields)).hexdigest()


def row_hash(row: Any, seq: int, prev_hash: str) -> str:
    """The entry hash of a row (anything with the columns as attributes) at ``seq``."""
    return compute_entry_hash(
        seq=seq,
        at=row.at,
        actor_id=row.actor_id,
        action=row.action,
        entity_type=row.entity_type,
        entity_id=row.entity_id,
        details=row.details,
        prev_hash=prev_hash,
    )


# ---------------------------------------------------------------------- sealing


def chain_head(session: Session) -> tuple[int, str]:
    """``(seq, entry_hash)`` of the last sealed entry; ``(0, GENESIS_HASH)`` when none."""
    head = session.execute(
        select(AuditLog.seq, AuditLog.entry_hash)
        .where(AuditLog.seq.is_not(None))
        .order_by(AuditLog.seq.desc())
        .limit(1)
    ).first()
    if head is None:
        return 0, GENESIS_HASH
    return int(head.seq), str(head.entry_hash)


def mark_unsealed(session: Session) -> None:
    """Note that ``session``'s transaction wrote audit rows (its commit seals them)."""
    session.info[_UNSEALED] = True


def seal(session: Session) -> int:
    """Chain every unsealed audit row visible to ``session``, in id order; returns how many.

    Runs in the session's transaction: it flushes, takes the chain lock on PostgreSQL
    (``pg_advisory_xact_lock``, released by the commit or rollback that follows), reads the
    head and writes ``seq``, ``prev_hash`` and ``entry_hash`` of the new rows, hashing the
    values as read back from the database. Called by the commit hook of the outermost
    transaction; tests and tools holding a transaction open may call it themselves.
    """
    session.flush()
    table = AuditLog.__table__
    bind = session.connection(bind_arguments={"mapper": AuditLog.__mapper__})
    postgresql = bind.dialect.name == "postgresql"
    if postgresql:
        session.execute(select(func.pg_advisory_xact_lock(CHAIN_LOCK_KEY)))
    # SQLite: the transaction already holds the database's write lock (it inserted the rows).
    ids = session.scalars(
        select(table.c.id).where(table.c.seq.is_(None)).order_by(table.c.id)
    ).all()
    session.info.pop(_UNSEALED, None)
    if not ids:
        return 0
    seq, prev = chain_head(session)
    statement = (
        update(table)
        .where(table.c.id == bindparam("b_id"))
        .values(
            seq=bindparam("b_seq"),
            prev_hash=bindparam("b_prev"),
            entry_hash=bindparam("b_hash"),
        )
    )
    columns = (
        table.c.id,
        table.c.at,
        table.c.actor_id,
        table.c.action,
        table.c.entity_type,
        table.c.entity_id,
        table.c.details,
    )
    sealed = 0
    for start in range(0, len(ids), SEAL_BATCH):
        chunk = ids[start : start + SEAL_BATCH]
        rows = session.execute(
            select(*columns)
            .where(table.c.id >= chunk[0], table.c.id <= chunk[-1], table.c.seq.is_(None))
            .order_by(table.c.id)
        ).all()
        params: list[dict[str, Any]] = []
        for row in rows:
            seq += 1
            digest = row_hash(row, seq, prev)
            params.append({"b_id": row.id, "b_seq": seq, "b_prev": prev, "b_hash": digest})
            prev = digest
        if not params:
            continue
        if postgresql:
            session.execute(
                _PG_CHAIN_UPDATE,
                {
                    "ids": ",".join(str(p["b_id"]) for p in params),
                    "seqs": ",".join(str(p["b_seq"]) for p in params),
                    "prevs": ",".join(p["b_prev"] for p in params),
                    "hashes": ",".join(p["b_hash"] for p in params),
                },
            )
        else:
            session.execute(statement, params)
        _show_in_loaded_rows(session, params)
        sealed += len(params)
    return sealed


def _show_in_loaded_rows(session: Session, params: Sequence[Mapping[str, Any]]) -> None:
    # Loaded AuditLog objects get their chain values as committed state (not as changes,
    # which the append-only guard would refuse).
    identity_map = session.identity_map
    for values in params:
        obj = identity_map.get(Session.identity_key(AuditLog, values["b_id"]))
        if obj is not None:
            set_committed_value(obj, "seq", values["b_seq"])
            set_committed_value(obj, "prev_hash", values["b_prev"])
            set_committed_value(obj, "entry_hash", values["b_hash"])


# ---------------------------------------------------------------------- session hooks


@event.listens_for(Session, "before_flush")
def _audit_rows_are_append_only(session: Session, _context: Any, _instances: Any) -> None:
    for obj in (*session.dirty, *session.deleted):
        if isinstance(obj, AuditLog | AuditAnchor) and (
            obj in session.deleted or session.is_modified(obj)
        ):
            raise AuditLogImmutableError(f"{obj.__tablename__} row {obj.id} is append-only")


@event.listens_for(AuditLog, "after_insert")
def _note_inserted_row(_mapper: Any, _connection: Any, target: AuditLog) -> None:
    session = Session.object_session(target)
    if session is not None:
        mark_unsealed(session)


@event.listens_for(Session, "do_orm_execute")
def _note_bulk_insert(state: ORMExecuteState) -> None:
    # ``session.execute(insert(AuditLog), rows)``: bulk writes bypass the mapper events.
    if state.is_insert and getattr(state.statement.table, "name", None) == AuditLog.__tablename__:
        mark_unsealed(state.session)


@event.listens_for(Session, "before_commit")
def _seal_on_commit(session: Session) -> None:
    # A savepoint's release is not the end: the outermost commit seals (once, at the end,
    # so the chain lock is held only while committing).
    if session.in_nested_transaction():
        return
    session.flush()
    if session.info.get(_UNSEALED):
        seal(session)


__all__ = [
    "CHAIN_LOCK_KEY",
    "GENESIS_HASH",
    "HASH_ALGORITHM",
    "AuditAnchor",
    "AuditLog",
    "AuditLogImmutableError",
    "canonical_entry",
    "chain_head",
    "compute_entry_hash",
    "mark_unsealed",
    "row_hash",
    "seal",
]
