"""Delivering the feed in signed batches, and reconciling with the receiver.

One call of :func:`deliver` is one batch in one transaction: pick up to ``limit`` due records
(``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so concurrent deliverers never send the same row;
SQLite takes its single write lock first instead), POST them, then mark what the receiver
acknowledged as delivered and give the rest another attempt later (exponential back-off with
full jitter) or, after ``max_attempts``, the dead-letter list. A record is sent at least once;
the receiver keeps it once (the idempotency key), so it arrives exactly once.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import random
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import Text, bindparam, cast, select, text, update
from sqlalchemy.orm import Session

from enforcement.db import is_sqlite
from enforcement.feed.client import FeedClient, FeedError, FeedNotConfiguredError
from enforcement.feed.signing import summary_digest
from enforcement.models import FeedRecord, utcnow

log = logging.getLogger(__name__)

_TABLE = FeedRecord.__table__
# Core columns (no ORM entities: a batch is plain rows); the payload as the JSON text that is
# stored, spliced into the body unparsed.
_COLUMNS = (
    _TABLE.c.id,
    _TABLE.c.idempotency_key,
    _TABLE.c.kind,
    _TABLE.c.record_key,
    _TABLE.c.version,
    cast(_TABLE.c.payload, Text).label("payload_json"),
    _TABLE.c.payload_sha256,
    _TABLE.c.created_at,
    _TABLE.c.attempts,
)


@dataclass
class DeliveryResult:
    picked: int = 0  # records sent in the batch
    delivered: int = 0  # acknowledged by the receiver
    failed: int = 0  # to be tried again later
    dead: int = 0  # moved to the dead-letter list
    error: str | None = None  # why the batch (or some records) failed

    def add(self, other: DeliveryResult) -> None:
        self.picked += other.picked
        self.delivered += other.delivered
        self.failed += other.failed
        self.dead += other.dead
        self.error = other.error or self.error

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def due_records(session: Session, limit: int, now: dt.datetime) -> list[Any]:
    """Up to ``limit`` due records, locked for this transaction (others skip them)."""
    return list(
        session.connection().execute(
            select(*_COLUMNS)
            .where(
                _TABLE.c.delivered_at.is_(None),
                _TABLE.c.dead_at.is_(None),
                _TABLE.c.next_attempt_at <= now,
            )
            .order_by(_TABLE.c.next_attempt_at, _TABLE.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)  # SQLite's compiler leaves it out
        )
    )


def _text(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def batch_body(rows: list[Any]) -> bytes:
    """The JSON body of a batch (the exact bytes that are signed)::

        {"records": [{"idempotency_key", "kind", "record_key", "version", "payload",
                      "payload_sha256", "created_at"}, ...]}

    Built as text around each payload's stored JSON, which is not parsed and re-encoded (the
    receiver checks ``payload_sha256`` against the canonical form of what it parses).
    """
    parts = [
        f'{{"idempotency_key":{_text(row.idempotency_key)},"kind":{_text(row.kind)},'
        f'"record_key":{_text(row.record_key)},"version":{int(row.version)},'
        f'"payload":{row.payload_json},"payload_sha256":{_text(row.payload_sha256)},'
        f'"created_at":"{row.created_at.isoformat()}"}}'
        for row in rows
    ]
    return ('{"records":[' + ",".join(parts) + "]}").encode("utf-8")


def deliver(
    session: Session,
    client: FeedClient,
    limit: int | None = None,
    *,
    now: dt.datetime | None = None,
    rng: random.Random | None = None,
) -> DeliveryResult:
    """Send one batch of due records; the caller commits. Never raises for the receiver's
    failures (they are recorded on the rows); raises :class:`FeedNotConfiguredError` when
    there is no URL or secret, leaving every record pending."""
    if not client.configured:
        raise FeedNotConfiguredError("no data center URL (set DATA_CENTER_URL)")
    if not client.secret:
        raise FeedNotConfiguredError("no feed secret (set suijian.feed.secret)")
    limit = limit or client.batch_size
    now = now or utcnow()
    bind = session.get_bind()
    if is_sqlite(bind.engine):
        # SQLite has no row locks: take the database's write lock now (a write that changes
        # nothing), so deliverers take turns instead of sending the same batch twice or
        # failing to upgrade a stale read snapshot after the POST.
        session.execute(text("UPDATE feed_records SET attempts = attempts WHERE 0"))
    rows = due_records(session, limit, now)
    result = DeliveryResult(picked=len(rows))
    if not rows:
        return result

    by_key = {row.idempotency_key: row for row in rows}
    accepted: set[str] = set()
    reasons: dict[str, str] = {}
    try:
        answer = client.post_batch(batch_body(rows), list(by_key))
        acknowledged = answer.get("accepted")
        if not isinstance(acknowledged, list) or not all(
            isinstance(key, str) for key in acknowledged
        ):
            raise FeedError("the data center's answer has no list of accepted keys")
        accepted = set(acknowledged) & by_key.keys()
        rejected = answer.get("rejected")
        if isinstance(rejected, dict):
            reasons = {str(k): str(v) for k, v in rejected.items()}
        if len(accepted) < len(rows):
            result.error = "some records were not accepted by the data center"
    except FeedError as exc:
        result.error = str(exc)
        log.warning("feed batch of %d records failed: %s", len(rows), exc)

    if accepted:
        ids = [by_key[key].id for key in accepted]
        for start in range(0, len(ids), 500):
            session.connection().execute(
                update(_TABLE)
                .where(_TABLE.c.id.in_(ids[start : start + 500]))
                .values(delivered_at=now, last_error=None)
            )
        result.delivered = len(accepted)

    failures = []
    for key, row in by_key.items():
        if key in accepted:
            continue
        attempts = row.attempts + 1
        dead = attempts >= client.policy.max_attempts
        wait = dt.timedelta(seconds=0 if dead else client.policy.delay(attempts, rng))
        failures.append(
            {
                "b_id": row.id,
                "b_attempts": attempts,
                "b_next": now + wait,
                "b_dead": now if dead else None,
                "b_error": (reasons.get(key) or result.error or "not accepted")[:500],
            }
        )
        if dead:
            result.dead += 1
        else:
            result.failed += 1
    if failures:
        session.connection().execute(
            update(_TABLE)
            .where(_TABLE.c.id == bindparam("b_id"))
            .values(
                attempts=bindparam("b_attempts"),
                next_attempt_at=bindparam("b_next"),
                dead_at=bindparam("b_dead"),
                last_error=bindparam("b_error"),
            ),
            failures,
        )
    if result.dead:
        log.error(
            "feed: %d records dead-lettered after %d attempts",
            result.dead,
            client.policy.max_attempts,
        )
    _expire_loaded(session, {row.id for row in rows})
    return result


def _expire_loaded(session: Session, ids: set[int]) -> None:
    # The updates above bypass the identity map; objects of these rows loaded earlier in this
    # session (a test, a caller that published) would otherwise show the old state.
    for obj in list(session.identity_map.values()):
        if isinstance(obj, FeedRecord) and obj.id in ids:
            session.expire(obj)


def deliver_until_idle(
    transaction: Callable[[], AbstractContextManager[Session]],
    client: FeedClient,
    *,
    max_seconds: float = 60.0,
    limit: int | None = None,
) -> DeliveryResult:
    """Deliver batch after batch, each in its own ``transaction()``, until nothing is due, a
    batch fails (the rest waits for its back-off) or ``max_seconds`` have passed (the
    scheduled delivery carries on)."""
    total = DeliveryResult()
    limit = limit or client.batch_size
    deadline = time.monotonic() + max_seconds
    while True:
        with transaction() as session:
            batch = deliver(session, client, limit)
        total.add(batch)
        if batch.picked < limit or batch.delivered < batch.picked:
            return total
        if time.monotonic() >= deadline:
            return total


@dataclass
class Reconciliation:
    """The system of record's delivered records against what the receiver holds."""

    local_count: int
    local_digest: str
    remote_count: int
    remote_digest: str
    missing: list[str] = field(default_factory=list)  # delivered here, absent there
    mismatched: list[str] = field(default_factory=list)  # both, different payload hashes
    extra: list[str] = field(default_factory=list)  # there, not delivered here
    in_flight: list[str] = field(default_factory=list)  # extra, but pending/dead here

    @property
    def equal(self) -> bool:
        return self.local_count == self.remote_count and self.local_digest == self.remote_digest

    def as_dict(self) -> dict[str, Any]:
        return {"equal": self.equal, **asdict(self)}


def delivered_keys(session: Session) -> dict[str, str]:
    """idempotency_key -> payload_sha256 of every delivered record."""
    rows = session.execute(
        select(FeedRecord.idempotency_key, FeedRecord.payload_sha256)
        .where(FeedRecord.delivered_at.is_not(None))
        .execution_options(yield_per=10_000)
    )
    return {str(key): str(sha) for key, sha in rows}


def reconcile(session: Session, client: FeedClient, *, details: bool = False) -> Reconciliation:
    """Compare counts and digests with the receiver's summary; when they differ (or with
    ``details``) fetch its key list and name the missing, mismatched and extra keys."""
    local = delivered_keys(session)
    digest = summary_digest(local.items())
    remote = client.summary(keys=details)
    found = Reconciliation(len(local), digest, remote.count, remote.digest)
    if found.equal and not details:
        return found
    keys = remote.keys if remote.keys is not None else client.summary(keys=True).keys
    if keys is None:
        raise FeedError("the data center does not list its keys (GET …/summary?keys=1)")
    found.missing = sorted(k for k in local.keys() - keys.keys())
    found.mismatched = sorted(k for k in local.keys() & keys.keys() if local[k] != keys[k])
    found.extra = sorted(keys.keys() - local.keys())
    if found.extra:
        known = set()
        for start in range(0, len(found.extra), 500):
            known.update(
                session.scalars(
                    select(FeedRecord.idempotency_key).where(
                        FeedRecord.idempotency_key.in_(found.extra[start : start + 500])
                    )
                )
            )
        found.in_flight = sorted(known)
    return found


__all__ = [
    "DeliveryResult",
    "Reconciliation",
    "batch_body",
    "deliver",
    "deliver_until_idle",
    "delivered_keys",
    "due_records",
    "reconcile",
]
