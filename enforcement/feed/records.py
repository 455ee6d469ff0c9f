"""Writing the feed and looking after it: publish, the dead-letter list, re-queue, status."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any, Literal

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from enforcement.feed.signing import canonical_json, idempotency_key
from enforcement.models import FEED_KINDS, FeedRecord, utcnow
from enforcement.outbox import kick_after_commit

log = logging.getLogger(__name__)

DELIVER_TASK = "enforcement.tasks.deliver_feed"
_PUBLISH_TRIES = 3

#: The pending rows: neither delivered nor dead (due or waiting for their next attempt).
PENDING = (FeedRecord.delivered_at.is_(None), FeedRecord.dead_at.is_(None))


def publish(session: Session, kind: str, record_key: str, payload: dict[str, Any]) -> FeedRecord:
    """Add a version of ``record_key`` to the feed, in the caller's transaction.

    The version is one more than the latest of ``(kind, record_key)``; if the latest already
    has this payload (same canonical hash) it is returned and nothing is added, so publishing
    the same state twice is harmless. After the caller commits, a worker is asked to deliver
    (when ``session.info`` names the Celery app, as web requests, tasks and the command line
    do); the scheduled delivery every few seconds is the backstop.
    """
    if kind not in FEED_KINDS:
        raise ValueError(f"kind: unknown feed kind {kind!r} (one of {', '.join(FEED_KINDS)})")
    if not record_key or len(record_key) > 64:
        raise ValueError("record_key: must be 1 to 64 characters")
    body = canonical_json(payload)  # raises for what JSON cannot hold (NaN, sets, dates...)
    sha = hashlib.sha256(body).hexdigest()
    stored = json.loads(body)  # what is stored is exactly what was hashed
    insert = _insert_ignoring_conflicts(session)
    for _ in range(_PUBLISH_TRIES):
        latest = session.scalars(
            select(FeedRecord)
            .where(FeedRecord.kind == kind, FeedRecord.record_key == record_key)
            .order_by(FeedRecord.version.desc())
            .limit(1)
        ).first()
        if latest is not None and latest.payload_sha256 == sha:
            return latest
        version = (latest.version if latest is not None else 0) + 1
        # ON CONFLICT DO NOTHING: a concurrent publish of the same record may take this
        # version first (the unique constraints say so); then look again, without a savepoint
        # and without failing the caller's transaction.
        record = session.scalars(
            insert(FeedRecord)
            .values(
                kind=kind,
                record_key=record_key,
                version=version,
                payload=stored,
                payload_sha256=sha,
                idempotency_key=idempotency_key(kind, record_key, version),
            )
            .on_conflict_do_nothing()
            .returning(FeedRecord)
        ).first()
        if record is not None:
            kick_after_commit(session, DELIVER_TASK)
            return record
        log.info("feed %s:%s version %d taken concurrently; retrying", kind, record_key, version)
    raise RuntimeError(f"feed: could not publish {kind}:{record_key} (concurrent versions)")


def _insert_ignoring_conflicts(session: Session) -> Any:
    """The dialect's ``insert`` construct that has ``on_conflict_do_nothing``."""
    dialect = session.get_bind(FeedRecord).dialect.name
    if dialect == "postgresql":
        return postgresql.insert
    if dialect == "sqlite":
        return sqlite.insert
    raise RuntimeError(f"feed: unsupported database {dialect!r}")


def dead_letters(session: Session, *, limit: int = 100, after_id: int = 0) -> list[FeedRecord]:
    """Dead-lettered records, oldest first (``after_id`` pages on)."""
    return list(
        session.scalars(
            select(FeedRecord)
            .where(FeedRecord.delivered_at.is_(None), FeedRecord.dead_at.is_not(None))
            .where(FeedRecord.id > after_id)
            .order_by(FeedRecord.id)
            .limit(limit)
        )
    )


def requeue(session: Session, ids: Iterable[int] | Literal["all"]) -> int:
    """Put dead-lettered records back on the feed (attempts 0, due now); returns how many.

    ``ids`` names records, or ``"all"`` every dead one. Ids that are not dead are ignored.
    """
    statement = (
        update(FeedRecord)
        .where(FeedRecord.delivered_at.is_(None), FeedRecord.dead_at.is_not(None))
        .values(attempts=0, dead_at=None, next_attempt_at=utcnow())
        .execution_options(synchronize_session="fetch")
    )
    if ids != "all":
        wanted = sorted({int(i) for i in ids})
        if not wanted:
            return 0
        statement = statement.where(FeedRecord.id.in_(wanted))
    count = session.execute(statement).rowcount or 0
    if count:
        kick_after_commit(session, DELIVER_TASK)
    return count


def resend(session: Session, keys: Iterable[str]) -> int:
    """Deliver these records again (the receiver lost them, says reconcile); returns how many.
    Harmless for records it has: the receiver acknowledges duplicates."""
    wanted = sorted(set(keys))
    count = 0
    for start in range(0, len(wanted), 500):
        count += (
            session.execute(
                update(FeedRecord)
                .where(FeedRecord.idempotency_key.in_(wanted[start : start + 500]))
                .values(delivered_at=None, dead_at=None, attempts=0, next_attempt_at=utcnow())
                .execution_options(synchronize_session="fetch")
            ).rowcount
            or 0
        )
    if count:
        kick_after_commit(session, DELIVER_TASK)
    return count


@dataclass(frozen=True)
class FeedStatus:
    pending: int  # neither delivered nor dead
    due: int  # pending and due now
    delivered: int
    dead: int
    oldest_pending_at: dt.datetime | None
    oldest_pending_age_seconds: float | None
    by_kind: dict[str, dict[str, int]]

    def as_dict(self) -> dict[str, Any]:
        document = asdict(self)
        if self.oldest_pending_at is not None:
            document["oldest_pending_at"] = self.oldest_pending_at.isoformat()
        return document


def status(session: Session, now: dt.datetime | None = None) -> FeedStatus:
    """The backlog: counts by state (and by kind), and the age of the oldest pending record."""
    now = now or utcnow()
    delivered = FeedRecord.delivered_at.is_not(None)
    dead = FeedRecord.delivered_at.is_(None) & FeedRecord.dead_at.is_not(None)
    pending = FeedRecord.delivered_at.is_(None) & FeedRecord.dead_at.is_(None)
    due = pending & (FeedRecord.next_attempt_at <= now)
    rows = session.execute(
        select(
            FeedRecord.kind,
            func.count().filter(pending),
            func.count().filter(due),
            func.count().filter(delivered),
            func.count().filter(dead),
        ).group_by(FeedRecord.kind)
    ).all()
    by_kind = {
        kind: {"pending": p, "due": d, "delivered": done, "dead": x}
        for kind, p, d, done, x in sorted(rows)
    }
    oldest = session.scalar(select(func.min(FeedRecord.created_at)).where(*PENDING))
    return FeedStatus(
        pending=sum(k["pending"] for k in by_kind.values()),
        due=sum(k["due"] for k in by_kind.values()),
        delivered=sum(k["delivered"] for k in by_kind.values()),
        dead=sum(k["dead"] for k in by_kind.values()),
        oldest_pending_at=oldest,
        oldest_pending_age_seconds=(now - oldest).total_seconds() if oldest else None,
        by_kind=by_kind,
    )


__all__ = [
    "DELIVER_TASK",
    "FeedStatus",
    "dead_letters",
    "publish",
    "requeue",
    "resend",
    "status",
]
