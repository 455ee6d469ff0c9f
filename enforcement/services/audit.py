"""The full-process record (执法全过程记录): writing the audit log, verifying its hash chain,
anchoring its head, and reading an entity's trail.

``record`` adds one row per governed action in the caller's transaction; ``record_many``
adds many in one statement (bulk re-rating). The rows are chained when the transaction
commits (``enforcement.models.audit``: ``seal``). ``verify_chain`` walks the chain and names
the first broken entry; ``create_anchor`` verifies what was added since the last anchor and
records the head (``AuditAnchor``), fed to the data center as kind ``audit_anchor``.
See docs/audit.md.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import BigInteger, inspect, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapper, Session

from enforcement import bulkwrite, feed
from enforcement.models import AuditLog, Base, Department, Role, User, utcnow
from enforcement.models.audit import (
    GENESIS_HASH,
    HASH_ALGORITHM,
    AuditAnchor,
    chain_head,
    mark_unsealed,
    row_hash,
    seal,
)

#: Feed kind of the anchors (the data center is the external witness).
ANCHOR_FEED_KIND = "audit_anchor"
VERIFY_BATCH = 10_000
_PUBLISHED = "the published anchor"
#: Relationships followed to find the departments an entity belongs to.
_SCOPE_PATH = ("plan", "draw", "task", "inspection", "case", "penalty_case", "transfer")


class AuditChainBrokenError(RuntimeError):
    """The chain does not verify; ``broken`` names the first broken entry."""

    def __init__(self, broken: ChainBreak) -> None:
        super().__init__(str(broken))
        self.broken = broken


class AuditTrailNotFoundError(LookupError):
    """No trail of this entity for this viewer (also when it is outside their department)."""


# ---------------------------------------------------------------------- writing


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
    key yet, so the row can name it. ``details`` must be JSON-ready (``ValueError`` naming
    ``details`` if not). Never commits: the row stands or falls with the action it records,
    and is chained when the transaction commits.
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
        details=json_ready(details),
    )
    session.add(row)
    return row


def record_many(
    session: Session,
    actor: User | None,
    entries: Iterable[tuple[str, str, str, Mapping[str, Any] | None]],
    *,
    at: dt.datetime | None = None,
) -> int:
    """Add ``(action, entity_type, entity_id, details)`` rows in one bulk insert (no ORM
    objects: for batches such as a re-rating of every enterprise); returns how many."""
    when = at or utcnow()
    actor_id = actor.id if actor is not None else None
    rows = []
    for action, entity_type, entity_id, details in entries:
        if not action:
            raise ValueError("action: must not be empty")
        rows.append(
            {
                "at": when,
                "actor_id": actor_id,
                "action": action,
                "entity_type": entity_type,
                "entity_id": str(entity_id),
                "details": json_ready(details),
            }
        )
    if rows:
        bulkwrite.insert_rows(session, AuditLog.__table__, rows)
        mark_unsealed(session)
    return len(rows)


def json_ready(details: Mapping[str, Any] | None) -> dict[str, Any]:
    """``details`` as JSON gives it back (what the database returns and the chain hashes)."""
    try:
        body = json.dumps(dict(details or {}), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"details: not JSON-ready ({exc})") from exc
    return json.loads(body)


def history(session: Session, entity: Base) -> list[AuditLog]:
    """The audit rows of ``entity``, oldest first."""
    key = entity_key(entity)
    if key is None:
        return []
    return entries_of(session, *key)


def entries_of(session: Session, entity_type: str, entity_id: str) -> list[AuditLog]:
    """The audit rows naming ``(entity_type, entity_id)``, oldest first."""
    return list(
        session.scalars(
            select(AuditLog)
            .where(AuditLog.entity_type == entity_type, AuditLog.entity_id == entity_id)
            .order_by(AuditLog.at, AuditLog.id)
        )
    )


def entity_key(entity: Base) -> tuple[str, str] | None:
    """``(table name, primary key as text)`` of a persistent entity; None before its flush."""
    state = inspect(entity)
    if state.identity is None:
        return None
    return state.mapper.local_table.name, ":".join(str(part) for part in state.identity)


# ---------------------------------------------------------------------- verifying


@dataclass(frozen=True)
class ChainBreak:
    """The first entry that does not verify: its ``seq`` and row ``id`` (either may be None
    when the row is missing or unchained) and what is wrong."""

    seq: int | None
    id: int | None
    problem: str

    def __str__(self) -> str:
        seq = "-" if self.seq is None else self.seq
        row = "-" if self.id is None else self.id
        return f"seq {seq} (id {row}): {self.problem}"


@dataclass
class ChainReport:
    entries: int = 0  # entries checked
    first_seq: int | None = None
    head_seq: int = 0
    head_hash: str = GENESIS_HASH
    anchors: int = 0  # stored anchors matched
    published: int = 0  # anchors kept elsewhere (``published``) matched
    broken: ChainBreak | None = None

    @property
    def ok(self) -> bool:
        return self.broken is None

    def as_dict(self) -> dict[str, Any]:
        document = asdict(self)
        document["ok"] = self.ok
        document["broken"] = None if self.broken is None else asdict(self.broken)
        if self.broken is not None:
            document["broken"]["message"] = str(self.broken)
        return document


def verify_chain(
    session: Session,
    *,
    start_seq: int = 1,
    published: Mapping[int, str] | None = None,
    batch: int = VERIFY_BATCH,
) -> ChainReport:
    """Walk the chain from ``start_seq`` in seq order (streaming) and check every entry: no
    gap, ``prev_hash`` is the previous ``entry_hash``, ``entry_hash`` is the hash of the row,
    every stored anchor (and every ``published`` ``{seq: entry_hash}``, e.g. from the public
    list) matches, and no row is left unchained. Stops at the first broken entry."""
    report = ChainReport()
    anchors: dict[int, list[tuple[str, str]]] = {}
    for anchor in session.execute(select(AuditAnchor.seq, AuditAnchor.entry_hash, AuditAnchor.at)):
        anchors.setdefault(anchor.seq, []).append((anchor.entry_hash, f"the anchor of {anchor.at}"))
    for seq, digest in (published or {}).items():
        anchors.setdefault(int(seq), []).append((str(digest), _PUBLISHED))

    table = AuditLog.__table__
    rows = session.execute(
        select(
            table.c.id,
            table.c.seq,
            table.c.at,
            table.c.actor_id,
            table.c.action,
            table.c.entity_type,
            table.c.entity_id,
            table.c.details,
            table.c.prev_hash,
            table.c.entry_hash,
        )
        .where(table.c.seq >= start_seq)
        .order_by(table.c.seq)
        .execution_options(yield_per=batch)
    )
    expected = start_seq
    previous: tuple[int, str] | None = None  # (id, entry_hash) of the entry before
    prev_hash = GENESIS_HASH if start_seq == 1 else None
    try:
        for row in rows:
            broken = _check_row(row, expected, prev_hash, previous, anchors)
            if broken is not None:
                report.broken = broken
                return report
            for _, source in anchors.get(row.seq, ()):
                if source == _PUBLISHED:
                    report.published += 1
                else:
                    report.anchors += 1
            if report.first_seq is None:
                report.first_seq = row.seq
            report.entries += 1
            report.head_seq, report.head_hash = row.seq, row.entry_hash
            previous = (row.id, row.entry_hash)
            prev_hash = row.entry_hash
            expected += 1
    finally:
        rows.close()
    beyond = sorted(seq for seq in anchors if seq > report.head_seq and seq >= start_seq)
    if beyond:
        report.broken = ChainBreak(
            beyond[0],
            None,
            f"missing: anchored entry seq {beyond[0]} is gone, the chain ends at seq "
            f"{report.head_seq} (entries were removed from its end)",
        )
        return report
    stray = session.execute(
        select(table.c.id, table.c.seq)
        .where(or_(table.c.seq.is_(None), table.c.seq < 1))
        .order_by(table.c.id)
        .limit(1)
    ).first()
    if stray is not None and stray.seq is None:
        report.broken = ChainBreak(
            None,
            stray.id,
            "not chained (seq is NULL): the row was written after its transaction was "
            "sealed or outside the application",
        )
    elif stray is not None:
        report.broken = ChainBreak(
            stray.seq, stray.id, f"seq {stray.seq} is outside the chain (it starts at 1)"
        )
    return report


def _check_row(
    row: Any,
    expected: int,
    prev_hash: str | None,
    previous: tuple[int, str] | None,
    anchors: Mapping[int, list[tuple[str, str]]],
) -> ChainBreak | None:
    if row.seq != expected:
        return ChainBreak(
            expected,
            None,
            f"missing: the chain jumps from seq {expected - 1} to seq {row.seq} (id {row.id}); "
            f"entries were deleted",
        )
    if prev_hash is not None and row.prev_hash != prev_hash:
        before = f" (id {previous[0]})" if previous else ""
        return ChainBreak(
            row.seq,
            row.id,
            f"prev_hash {row.prev_hash} is not the entry_hash {prev_hash} of seq "
            f"{row.seq - 1}{before}: that entry was rewritten or this one re-linked",
        )
    try:
        computed = row_hash(row, row.seq, row.prev_hash or "")
    except (TypeError, ValueError, AttributeError) as exc:
        return ChainBreak(row.seq, row.id, f"cannot be hashed: {exc}")
    if computed != row.entry_hash:
        return ChainBreak(
            row.seq,
            row.id,
            f"content does not match entry_hash (stored {row.entry_hash}, computed "
            f"{computed}): at, actor_id, action, entity_type, entity_id or details changed",
        )
    for digest, source in anchors.get(row.seq, ()):
        if digest != row.entry_hash:
            return ChainBreak(
                row.seq,
                row.id,
                f"entry_hash {row.entry_hash} differs from {source} ({digest}): the chain up "
                f"to here was rewritten",
            )
    return None


# ---------------------------------------------------------------------- anchors


def create_anchor(
    session: Session, clock: Callable[[], dt.datetime] = utcnow
) -> AuditAnchor | None:
    """Anchor the head of the chain: verify the entries since the last anchor, store an
    ``AuditAnchor`` and feed it to the data center. Returns the new anchor, the last one when
    nothing was added since, or None for an empty log. Raises ``AuditChainBrokenError``
    (nothing is anchored) when the chain does not verify. Idempotent under concurrency."""
    last = latest_anchor(session)
    head_seq, _ = chain_head(session)
    if head_seq == 0 and last is None:
        return None
    report = verify_chain(session, start_seq=last.seq if last is not None else 1)
    if not report.ok:
        assert report.broken is not None
        raise AuditChainBrokenError(report.broken)
    if last is not None and report.head_seq == last.seq:
        return last
    anchor = AuditAnchor(seq=report.head_seq, entry_hash=report.head_hash, at=clock())
    try:
        with session.begin_nested():  # a concurrent anchor of the same head may win
            session.add(anchor)
    except IntegrityError:
        existing = session.scalar(select(AuditAnchor).where(AuditAnchor.seq == report.head_seq))
        if existing is None:
            raise
        return existing
    feed.publish(session, ANCHOR_FEED_KIND, f"audit-anchor:{anchor.seq}", anchor_document(anchor))
    return anchor


def latest_anchor(session: Session) -> AuditAnchor | None:
    return session.scalars(select(AuditAnchor).order_by(AuditAnchor.seq.desc()).limit(1)).first()


def list_anchors(session: Session, *, after_seq: int = 0, limit: int = 100) -> list[AuditAnchor]:
    """Anchors in seq order, after ``after_seq`` (paging)."""
    return list(
        session.scalars(
            select(AuditAnchor)
            .where(AuditAnchor.seq > after_seq)
            .order_by(AuditAnchor.seq)
            .limit(limit)
        )
    )


def anchor_document(anchor: AuditAnchor) -> dict[str, Any]:
    """What is published of an anchor (public API, data-center feed)."""
    return {
        "seq": anchor.seq,
        "entry_hash": anchor.entry_hash,
        "at": anchor.at.astimezone(dt.UTC).isoformat(),
        "algorithm": HASH_ALGORITHM,
    }


def published_anchors(documents: Iterable[Mapping[str, Any]]) -> dict[int, str]:
    """``{seq: entry_hash}`` from published anchor documents (the public list's JSON);
    ``ValueError`` naming what is wrong."""
    found: dict[int, str] = {}
    for position, document in enumerate(documents):
        try:
            seq, digest = int(document["seq"]), str(document["entry_hash"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"anchors[{position}]: needs an integer seq and entry_hash") from exc
        if len(digest) != 64:
            raise ValueError(f"anchors[{position}].entry_hash: not a SHA-256 in hex")
        found[seq] = digest
    return found


# ---------------------------------------------------------------------- trails


def entity_trail(
    session: Session, viewer: User, entity_type: str, entity_id: str
) -> list[AuditLog]:
    """The audit rows of an entity for a supervisor or an administrator, oldest first.

    Department scope: a supervisor attached to a department sees the trail of an entity that
    belongs to departments (a plan, a task, an inspection, a case...) only when one of them
    is theirs; entities of the whole bureau (enterprises, the feed) are seen by every
    supervisor. An entity that no longer exists is shown only to those without a department
    scope. Anything else is ``AuditTrailNotFoundError``.
    """
    role = Role(viewer.role)
    if not viewer.active or role not in (Role.SUPERVISOR, Role.ADMIN):
        raise AuditTrailNotFoundError(f"no audit trail of {entity_type} {entity_id}")
    if "\x00" in entity_type or "\x00" in entity_id:  # no text column can hold it
        raise AuditTrailNotFoundError("no audit trail of an id holding a NUL character")
    if role is Role.SUPERVISOR and viewer.department_id is not None:
        found, departments = entity_departments(session, entity_type, entity_id)
        if not found or (departments is not None and viewer.department_id not in departments):
            raise AuditTrailNotFoundError(f"no audit trail of {entity_type} {entity_id}")
    return entries_of(session, entity_type, entity_id)


def entity_departments(
    session: Session, entity_type: str, entity_id: str
) -> tuple[bool, set[int] | None]:
    """``(exists, departments)`` of the entity an audit row names; departments None when
    the entity is the whole bureau's (no department applies)."""
    mapper = _mapper_of(entity_type)
    if mapper is None:
        return False, None
    key = _primary_key(mapper, entity_id)
    entity = None if key is None else session.get(mapper.class_, key)
    if entity is None:
        return False, None
    return True, _departments_of(entity, depth=3)


def _mapper_of(table_name: str) -> Mapper[Any] | None:
    for mapper in Base.registry.mappers:
        if mapper.inherits is None and mapper.local_table.name == table_name:
            return mapper
    return None


def _primary_key(mapper: Mapper[Any], entity_id: str) -> tuple[Any, ...] | None:
    parts = entity_id.split(":")
    columns = mapper.primary_key
    if len(parts) != len(columns):
        return None
    key = []
    for column, part in zip(columns, parts, strict=True):
        try:
            python_type = column.type.python_type
        except NotImplementedError:
            python_type = str
        try:
            value = uuid.UUID(part) if python_type is uuid.UUID else python_type(part)
        except (TypeError, ValueError):
            return None
        if isinstance(value, int):
            bits = 63 if isinstance(column.type, BigInteger) else 31
            if not -(2**bits) <= value < 2**bits:
                return None  # no such row (and no overflow error from the database)
        elif isinstance(value, str) and "\x00" in value:
            return None
        key.append(value)
    return tuple(key)


def _departments_of(entity: Any, depth: int) -> set[int] | None:
    if isinstance(entity, Department):
        return {entity.id}
    department_id = getattr(entity, "department_id", None)
    if isinstance(department_id, int):
        return {department_id}
    departments = getattr(entity, "departments", None)
    if isinstance(departments, Sequence | set) and departments:
        return {d.id for d in departments if isinstance(d, Department)}
    if depth > 0:
        for name in _SCOPE_PATH:
            related = getattr(entity, name, None)
            if isinstance(related, Base):
                found = _departments_of(related, depth - 1)
                if found is not None:
                    return found
    return None


__all__ = [
    "ANCHOR_FEED_KIND",
    "AuditChainBrokenError",
    "AuditTrailNotFoundError",
    "ChainBreak",
    "ChainReport",
    "anchor_document",
    "create_anchor",
    "entity_departments",
    "entity_key",
    "entity_trail",
    "entries_of",
    "history",
    "json_ready",
    "latest_anchor",
    "list_anchors",
    "published_anchors",
    "record",
    "record_many",
    "seal",
    "verify_chain",
]
