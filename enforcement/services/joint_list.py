"""Joint rewards and punishments (联合奖惩): the list other departments consume.

Who is on it: enterprises on the serious-illegal list (严重违法失信名单, an active
``ListEntry`` of ``CreditList.SERIOUS_ILLEGAL``) and enterprises whose current credit-risk tier
is D (``Enterprise.credit_tier``, the tier of their latest ``CreditRating``). Who leaves it: a
list entry removed (``removed_on``, e.g. after its period or a repair), a tier leaving D (a
re-rating, a credit repair).

``sync`` compares that state with the journal (``JointListChange``) and appends what changed:
an ``added`` entry with the reason and the date it took effect, a ``removed`` entry with the
reason and the date of the removal. The journal's ids are the consumers' cursor: ``changes``
returns the entries after ``since``, so a department that keeps the last ``cursor`` it was
given receives every change once, in order. ``sync`` runs under a table lock (PostgreSQL;
SQLite serialises writers itself), so ids are committed in increasing order and a reader never
skips an id that commits later.

Consumers: supervisors and administrators over the API and the command line, and other
departments' systems with a consumer token (``add_consumer``; read-only: the token opens this
list and nothing else). Every export is audit-logged.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from enforcement.models import (
    CreditList,
    CreditRating,
    Enterprise,
    JointBasis,
    JointChange,
    JointListChange,
    JointListConsumer,
    ListEntry,
    RatingCause,
    User,
    utcnow,
)
from enforcement.services import audit
from enforcement.services.masking import public_enterprise_name

SHANGHAI = ZoneInfo("Asia/Shanghai")
SCHEMA_VERSION = "1"
CONSUMER_PREFIX = "sjc_"  # never a user token (those start "sj_")
MAX_LIMIT = 5000
DEFAULT_LIMIT = 1000
LAST_USED_RESOLUTION = dt.timedelta(minutes=5)

#: The exported columns, in order (CSV header and JSON keys).
COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("seq", "integer", "Change number: the cursor (since=seq gives the changes after it)"),
    ("change", "string", "added or removed"),
    ("basis", "string", "serious_illegal (严重违法失信名单) or d_tier (信用风险等级 D)"),
    ("enterprise_uscc", "string", "Unified social credit code"),
    ("enterprise_name", "string", "Name (an individual business's operator masked)"),
    ("reason", "string", "Why the enterprise was added or removed"),
    ("effective_on", "date", "When it took effect (Asia/Shanghai date)"),
    ("recorded_at", "datetime", "When Suijian recorded the change (UTC)"),
    ("source", "string", "What the entry stands on: list_entry:<id> or enterprise:<id>"),
)


class JointListError(Exception):
    """Base of the joint list's refusals."""


class ConsumerError(JointListError, ValueError):
    """A consumer name that is empty, too long, taken or unknown."""


# --- the journal -------------------------------------------------------------------------------


@dataclass
class SyncSummary:
    added: int = 0
    removed: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"added": self.added, "removed": self.removed}


def _lock(session: Session) -> None:
    """One sync at a time, readers unhindered (PostgreSQL); SQLite serialises writers."""
    if session.get_bind(JointListChange).dialect.name == "postgresql":
        session.connection().exec_driver_sql(
            "LOCK TABLE joint_list_changes IN SHARE ROW EXCLUSIVE MODE"
        )


def _last_changes(session: Session, basis: JointBasis) -> dict[str, JointChange]:
    """The latest change per source of ``basis``."""
    latest = (
        select(func.max(JointListChange.id))
        .where(JointListChange.basis == basis)
        .group_by(JointListChange.source_key)
    )
    rows = session.execute(
        select(JointListChange.source_key, JointListChange.change).where(
            JointListChange.id.in_(latest)
        )
    ).all()
    return {key: JointChange(change) for key, change in rows}


def _local(value: dt.datetime) -> dt.date:
    return value.astimezone(SHANGHAI).date()


def sync(session: Session, clock: Callable[[], dt.datetime] = utcnow) -> SyncSummary:
    """Append the changes of the joint list since the last sync (idempotent)."""
    _lock(session)
    now = clock()
    summary = SyncSummary()

    def add(
        enterprise: Enterprise,
        basis: JointBasis,
        change: JointChange,
        source: str,
        reason: str,
        effective_on: dt.date,
    ) -> None:
        session.add(
            JointListChange(
                basis=basis,
                change=change,
                source_key=source,
                enterprise_id=enterprise.id,
                enterprise_uscc=enterprise.uscc,
                enterprise_name=public_enterprise_name(enterprise)[:300],
                reason=reason,
                effective_on=effective_on,
                recorded_at=now,
            )
        )
        if change is JointChange.ADDED:
            summary.added += 1
        else:
            summary.removed += 1

    # Serious-illegal list entries, one source per entry.
    known = _last_changes(session, JointBasis.SERIOUS_ILLEGAL)
    entries = session.scalars(
        select(ListEntry)
        .where(ListEntry.list == CreditList.SERIOUS_ILLEGAL)
        .order_by(ListEntry.listed_on, ListEntry.id)
    ).all()
    present = set()
    for entry in entries:
        source = f"list_entry:{entry.id}"
        present.add(source)
        last = known.get(source)
        on_list = entry.removed_on is None
        if last is not JointChange.ADDED and (on_list or last is None):
            add(
                entry.enterprise,
                JointBasis.SERIOUS_ILLEGAL,
                JointChange.ADDED,
                source,
                entry.reason,
                entry.listed_on,
            )
            last = JointChange.ADDED
        if last is JointChange.ADDED and not on_list:
            assert entry.removed_on is not None
            add(
                entry.enterprise,
                JointBasis.SERIOUS_ILLEGAL,
                JointChange.REMOVED,
                source,
                entry.removal_reason or "移出严重违法失信名单",
                entry.removed_on,
            )
    # An entry deleted from the register (listed in error): removed today.
    for source, last in known.items():
        if last is JointChange.ADDED and source not in present:
            previous = session.scalar(
                select(JointListChange)
                .where(JointListChange.source_key == source)
                .order_by(JointListChange.id.desc())
                .limit(1)
            )
            enterprise = session.get(Enterprise, previous.enterprise_id) if previous else None
            if enterprise is not None:
                add(
                    enterprise,
                    JointBasis.SERIOUS_ILLEGAL,
                    JointChange.REMOVED,
                    source,
                    "列入记录已撤销",
                    _local(now),
                )

    # The D tier, one source per enterprise.
    known = _last_changes(session, JointBasis.D_TIER)
    in_d = session.scalars(
        select(Enterprise).where(Enterprise.credit_tier == "D").order_by(Enterprise.id)
    ).all()
    d_sources = {f"enterprise:{e.id}": e for e in in_d}
    for source, enterprise in d_sources.items():
        if known.get(source) is not JointChange.ADDED:
            rating = _entry_into_d(session, enterprise.id)
            add(
                enterprise,
                JointBasis.D_TIER,
                JointChange.ADDED,
                source,
                _rating_reason(rating),
                _local(rating.rated_at) if rating is not None else _local(now),
            )
    for source, last in known.items():
        if last is JointChange.ADDED and source not in d_sources:
            enterprise = session.get(Enterprise, int(source.split(":", 1)[1]))
            if enterprise is None:
                continue
            rating = _exit_from_d(session, enterprise.id)
            tier = enterprise.credit_tier or "-"
            reason = f"信用风险等级调整为 {tier}"
            if rating is not None and RatingCause(rating.cause) is RatingCause.REPAIR:
                reason += "（信用修复）"
            add(
                enterprise,
                JointBasis.D_TIER,
                JointChange.REMOVED,
                source,
                reason,
                _local(rating.rated_at) if rating is not None else _local(now),
            )
    session.flush()
    return summary


def _ratings(session: Session, enterprise_id: int) -> list[CreditRating]:
    return list(
        session.scalars(
            select(CreditRating)
            .where(CreditRating.enterprise_id == enterprise_id)
            .order_by(CreditRating.rated_at.desc(), CreditRating.id.desc())
        )
    )


def _entry_into_d(session: Session, enterprise_id: int) -> CreditRating | None:
    """The rating that started the current run of D ratings."""
    entry = None
    for rating in _ratings(session, enterprise_id):
        if rating.tier != "D":
            break
        entry = rating
    return entry


def _exit_from_d(session: Session, enterprise_id: int) -> CreditRating | None:
    """The first rating after the last D rating."""
    after = None
    for rating in _ratings(session, enterprise_id):
        if rating.tier == "D":
            break
        after = rating
    return after


def _rating_reason(rating: CreditRating | None) -> str:
    if rating is None:
        return "信用风险等级 D（高风险）"
    reasons = [str(r.get("zh") or r.get("indicator") or "") for r in rating.reasons or []]
    reasons = [r for r in reasons if r]
    text = "信用风险等级 D（高风险）"
    return f"{text}：{'；'.join(reasons[:5])}" if reasons else text


# --- reading -------------------------------------------------------------------------------------


@dataclass
class Page:
    entries: list[JointListChange]
    cursor: int  # give it back as ``since`` next time
    more: bool


def changes(session: Session, since: int = 0, limit: int = DEFAULT_LIMIT) -> Page:
    """The changes after ``since``, oldest first."""
    if since < 0:
        raise ValueError("since: must not be negative")
    if not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"limit: must be 1 to {MAX_LIMIT}")
    rows = list(
        session.scalars(
            select(JointListChange)
            .where(JointListChange.id > since)
            .order_by(JointListChange.id)
            .limit(limit + 1)
        )
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows, rows[-1].id if rows else since, more)


def present(entry: JointListChange) -> dict[str, Any]:
    return {
        "seq": entry.id,
        "change": entry.change.value,
        "basis": entry.basis.value,
        "enterprise_uscc": entry.enterprise_uscc,
        "enterprise_name": entry.enterprise_name,
        "reason": entry.reason,
        "effective_on": entry.effective_on.isoformat(),
        "recorded_at": entry.recorded_at.astimezone(dt.UTC).isoformat(),
        "source": entry.source_key,
    }


def as_json(page: Page, since: int) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "since": since,
        "cursor": page.cursor,
        "more": page.more,
        "entries": [present(entry) for entry in page.entries],
    }


def as_csv(entries: Iterable[JointListChange]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    names = [name for name, _, _ in COLUMNS]
    writer.writerow(names)
    for entry in entries:
        row = present(entry)
        writer.writerow(["" if row[name] is None else str(row[name]) for name in names])
    return out.getvalue()


def on_list(session: Session) -> list[JointListChange]:
    """Who is on the list now: the latest change of each source, where it is an addition."""
    latest = select(func.max(JointListChange.id)).group_by(
        JointListChange.basis, JointListChange.source_key
    )
    return list(
        session.scalars(
            select(JointListChange)
            .where(JointListChange.id.in_(latest), JointListChange.change == JointChange.ADDED)
            .order_by(JointListChange.id)
        )
    )


def record_export(
    session: Session,
    *,
    actor: User | None,
    consumer: JointListConsumer | None,
    since: int,
    page: Page,
    channel: str,
) -> None:
    """Audit one export (who, from which cursor, how many entries, through what)."""
    entity: Any = consumer if consumer is not None else actor
    details = {
        "since": since,
        "cursor": page.cursor,
        "entries": len(page.entries),
        "channel": channel,
        "consumer": consumer.name if consumer is not None else None,
    }
    if entity is None:  # the command line without --as: the journal's latest row names it
        entity = page.entries[-1] if page.entries else None
    if entity is not None:
        audit.record(session, actor, "joint_list.export", entity, details)


# --- consumers -----------------------------------------------------------------------------------


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def add_consumer(session: Session, name: str, actor: User | None = None) -> tuple[Any, str]:
    """A new consumer and its token (shown once; only its SHA-256 is stored)."""
    name = (name or "").strip()
    if not 1 <= len(name) <= 100:
        raise ConsumerError("name: must be 1 to 100 characters")
    if session.scalar(select(JointListConsumer.id).where(JointListConsumer.name == name)):
        raise ConsumerError(f"name: a consumer named {name!r} exists")
    secret = CONSUMER_PREFIX + secrets.token_urlsafe(32)
    consumer = JointListConsumer(name=name, token_sha256=_digest(secret), created_at=utcnow())
    session.add(consumer)
    session.flush()
    audit.record(session, actor, "joint_list.consumer.add", consumer, {"name": name})
    return consumer, secret


def revoke_consumer(session: Session, name: str, actor: User | None = None) -> JointListConsumer:
    consumer = session.scalar(select(JointListConsumer).where(JointListConsumer.name == name))
    if consumer is None:
        raise ConsumerError(f"name: no consumer named {name!r}")
    if consumer.revoked_at is None:
        consumer.revoked_at = utcnow()
        session.flush()
        audit.record(session, actor, "joint_list.consumer.revoke", consumer, {"name": name})
    return consumer


def authenticate_consumer(
    session: Session, secret: str | None, clock: Callable[[], dt.datetime] = utcnow
) -> JointListConsumer | None:
    """The live consumer of ``secret``, or None."""
    if not secret or not secret.startswith(CONSUMER_PREFIX) or len(secret) > 200:
        return None
    consumer = session.scalar(
        select(JointListConsumer).where(JointListConsumer.token_sha256 == _digest(secret))
    )
    if consumer is None or consumer.revoked_at is not None:
        return None
    now = clock()
    if consumer.last_used_at is None or now - consumer.last_used_at >= LAST_USED_RESOLUTION:
        session.execute(
            update(JointListConsumer)
            .where(JointListConsumer.id == consumer.id)
            .values(last_used_at=now)
            .execution_options(synchronize_session=False)
        )
    return consumer


__all__ = [
    "COLUMNS",
    "CONSUMER_PREFIX",
    "SCHEMA_VERSION",
    "ConsumerError",
    "Page",
    "SyncSummary",
    "add_consumer",
    "as_csv",
    "as_json",
    "authenticate_consumer",
    "changes",
    "on_list",
    "present",
    "record_export",
    "revoke_consumer",
    "sync",
]
