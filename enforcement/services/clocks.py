"""Statutory clocks: start, stop, extend, and the scan that raises alerts.

Every workflow with a legal deadline (rectification, the 90 days of a penalty case, the
transfer clocks, publication) starts a clock on its record and stops it when the obligation is
met; ``scan`` (the Celery task ``enforcement.tasks.scan_clocks``, on the beat schedule) raises
each alert level once per deadline for the supervisors of the clock's department:

* ``warning`` at ``warn_at`` (when the caller gave one);
* ``due`` from 00:00 Asia/Shanghai of the deadline's day;
* ``overdue`` once ``due_at`` has passed while the clock still runs.

A scan that comes late raises only the highest level reached. Deadlines are instants: a
deadline given as a date ends at 24:00 Asia/Shanghai of that date (``end_of_date``). The
helpers ``due_working_days`` / ``due_days_rolled`` / ``due_hours`` turn a start instant and a
statutory period into that instant (see ``enforcement.workdays`` for how days count).

A workflow that must act when its clock runs out registers an overdue handler
(``register_overdue_handler``); it runs in the scan's transaction, once per deadline.
"""

from __future__ import annotations

import datetime as dt
import importlib
import logging
from collections.abc import Callable, Mapping
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from enforcement.models import Alert, AlertLevel, Base, Clock, ClockOutcome, Role, User, utcnow
from enforcement.reasons import reason
from enforcement.services import audit
from enforcement.workdays import WorkCalendar
from enforcement.workdays import calendar_for as _calendar_for

log = logging.getLogger(__name__)

SHANGHAI = ZoneInfo("Asia/Shanghai")
MAX_KIND_LENGTH = 40
MAX_REASON_LENGTH = 500

#: Modules that register overdue handlers; imported by the scan so a worker always has them.
HANDLER_MODULES: tuple[str, ...] = ("enforcement.services.rectification",)

OverdueHandler = Callable[[Session, Clock, dt.datetime, WorkCalendar], None]
_overdue_handlers: dict[str, OverdueHandler] = {}


# --- errors ------------------------------------------------------------------------------------


# Reasons of the functions whose ``reason`` argument hides the function of that name.
_REASON_REQUIRED = reason("required")
_REASON_TOO_LONG = reason("must be at most ${limit} characters", limit=MAX_REASON_LENGTH)


def _no_running(kind: str) -> str:
    return reason("no running ${kind} clock on this record", kind=kind)


def _not_later(due_at: dt.datetime) -> str:
    return reason("must be after the current deadline ${due}", due=due_date_of(due_at).isoformat())


class ClockError(Exception):
    """Base of the errors about clocks and alerts."""


class ClockNotFoundError(ClockError, LookupError):
    """No such clock or alert (or not visible to the user)."""


class ClockPermissionError(ClockError):
    """The user may not act on this clock or alert."""


class ClockStateError(ClockError):
    """The clock is not in a state that allows the action (e.g. already stopped)."""


class ClockValidationError(ClockError, ValueError):
    """Bad input; ``errors`` maps each field to what is wrong with it."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        super().__init__("; ".join(f"{field}: {reason}" for field, reason in errors.items()))
        self.errors = dict(errors)


# --- time helpers ------------------------------------------------------------------------------


def calendar_for(settings: Mapping[str, Any] | None = None) -> WorkCalendar:
    """The working-day calendar for these settings (``suijian.holidays_dir``), cached."""
    return _calendar_for(settings)


def local_date(instant: dt.datetime) -> dt.date:
    """The calendar date (Asia/Shanghai) of a tz-aware instant."""
    _require_aware(instant, "start")
    return instant.astimezone(SHANGHAI).date()


def end_of_date(day: dt.date) -> dt.datetime:
    """24:00 Asia/Shanghai of ``day`` as a UTC instant: when a date deadline runs out."""
    midnight = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=SHANGHAI)
    return midnight.astimezone(dt.UTC)


def start_of_date(day: dt.date) -> dt.datetime:
    """00:00 Asia/Shanghai of ``day`` as a UTC instant."""
    return dt.datetime.combine(day, dt.time(), tzinfo=SHANGHAI).astimezone(dt.UTC)


def due_date_of(due_at: dt.datetime) -> dt.date:
    """The last calendar day (Asia/Shanghai) of a period ending at ``due_at``."""
    return (due_at - dt.timedelta(microseconds=1)).astimezone(SHANGHAI).date()


def due_working_days(calendar: WorkCalendar, start: dt.datetime, n: int) -> dt.datetime:
    """The end of the n-th working day after ``start``'s date (行政处罚法 art. 85: periods of
    three, five or seven days are working days)."""
    return end_of_date(calendar.add_working_days(local_date(start), n))


def due_days_rolled(calendar: WorkCalendar, start: dt.datetime, n: int) -> dt.datetime:
    """The end of the n-th natural day after ``start``'s date, rolled to the next working day
    when that day is a holiday or a weekend (期间届满日为法定节假日的，以节假日后的第一日为
    期间届满日)."""
    return end_of_date(calendar.add_days_rolled(local_date(start), n))


def due_hours(start: dt.datetime, n: int) -> dt.datetime:
    """``n`` hours after ``start`` (e.g. "within 24 hours": hours are hours, holidays or not)."""
    _require_aware(start, "start")
    return (start + dt.timedelta(hours=n)).astimezone(dt.UTC)


def _require_aware(value: dt.datetime, field: str) -> None:
    if not isinstance(value, dt.datetime) or value.tzinfo is None:
        raise ClockValidationError({field: "must be a timezone-aware datetime"})


# --- subjects ----------------------------------------------------------------------------------


def subject_key(session: Session, subject: Base) -> tuple[str, str]:
    """``(table, primary key as text)`` of ``subject``, flushing it first when new."""
    key = audit.entity_key(subject)
    if key is None:
        session.flush()
        key = audit.entity_key(subject)
    if key is None:
        raise ClockValidationError({"subject": "has no primary key"})
    return key


def _open_clock(session: Session, kind: str, key: tuple[str, str]) -> Clock | None:
    return session.scalars(
        select(Clock).where(
            Clock.kind == kind,
            Clock.subject_type == key[0],
            Clock.subject_id == key[1],
            Clock.stopped_at.is_(None),
        )
    ).one_or_none()


def _check_kind(kind: str) -> None:
    if not isinstance(kind, str) or not kind.strip():
        raise ClockValidationError({"kind": "required"})
    if len(kind) > MAX_KIND_LENGTH:
        raise ClockValidationError({"kind": f"at most {MAX_KIND_LENGTH} characters"})


# --- the clock's life --------------------------------------------------------------------------


def start_clock(
    session: Session,
    *,
    kind: str,
    subject: Base,
    due_at: dt.datetime,
    warn_at: dt.datetime | None = None,
    department_id: int | None = None,
    started_at: dt.datetime | None = None,
) -> Clock:
    """Start the ``kind`` clock of ``subject``; idempotent: while one runs, it is returned as
    is (a retried task or request does not restart the period). ``department_id`` defaults to
    the subject's own ``department_id``."""
    _check_kind(kind)
    _require_aware(due_at, "due_at")
    if warn_at is not None:
        _require_aware(warn_at, "warn_at")
        if warn_at > due_at:
            raise ClockValidationError({"warn_at": "must not be after due_at"})
    if started_at is not None:
        _require_aware(started_at, "started_at")
    key = subject_key(session, subject)
    existing = _open_clock(session, kind, key)
    if existing is not None:
        return existing
    if department_id is None:
        department_id = getattr(subject, "department_id", None)
    clock = Clock(
        kind=kind,
        subject_type=key[0],
        subject_id=key[1],
        department_id=department_id,
        started_at=started_at or utcnow(),
        due_at=due_at,
        warn_at=warn_at,
        extensions=[],
    )
    # A concurrent start of the same clock loses on the partial unique index: use theirs.
    session.flush()
    try:
        with session.begin_nested():
            session.add(clock)
    except IntegrityError:
        existing = _open_clock(session, kind, key)
        if existing is None:
            raise
        return existing
    audit.record(
        session,
        None,
        "clock.start",
        clock,
        {"kind": kind, "subject": f"{key[0]}:{key[1]}", "due_at": due_at.isoformat()},
    )
    return clock


def stop_clock(
    session: Session, *, kind: str, subject: Base, at: dt.datetime | None = None
) -> Clock | None:
    """Stop the running ``kind`` clock of ``subject`` (met, or late after its deadline).
    None when none runs (already stopped: a retry is harmless)."""
    _check_kind(kind)
    clock = _open_clock(session, kind, subject_key(session, subject))
    if clock is None:
        return None
    at = at or utcnow()
    _require_aware(at, "at")
    clock.stopped_at = at
    clock.outcome = ClockOutcome.MET if at <= clock.due_at else ClockOutcome.LATE
    audit.record(session, None, "clock.stop", clock, {"kind": kind, "outcome": clock.outcome.value})
    return clock


def cancel_clock(
    session: Session,
    *,
    kind: str,
    subject: Base,
    reason: str,
    actor: User | None = None,
    at: dt.datetime | None = None,
) -> Clock | None:
    """Stop the running clock because the obligation fell away (a withdrawn case); no alert
    follows. None when none runs."""
    _check_kind(kind)
    reason = (reason or "").strip()
    if not reason:
        raise ClockValidationError({"reason": _REASON_REQUIRED})
    clock = _open_clock(session, kind, subject_key(session, subject))
    if clock is None:
        return None
    clock.stopped_at = at or utcnow()
    clock.outcome = ClockOutcome.CANCELLED
    audit.record(session, actor, "clock.cancel", clock, {"kind": kind, "reason": reason})
    return clock


def extend_clock(
    session: Session,
    *,
    kind: str,
    subject: Base,
    due_at: dt.datetime,
    reason: str,
    actor: User | None,
) -> Clock:
    """Move the running clock's deadline later (an approved extension, 延期), keeping the
    history; ``warn_at`` moves by the same amount, and the new deadline gets new alerts."""
    _check_kind(kind)
    _require_aware(due_at, "due_at")
    reason = (reason or "").strip()
    errors: dict[str, str] = {}
    if not reason:
        errors["reason"] = _REASON_REQUIRED
    elif len(reason) > MAX_REASON_LENGTH:
        errors["reason"] = _REASON_TOO_LONG
    if errors:
        raise ClockValidationError(errors)
    clock = _open_clock(session, kind, subject_key(session, subject))
    if clock is None:
        raise ClockStateError(_no_running(kind))
    if due_at <= clock.due_at:
        raise ClockValidationError({"due_at": _not_later(clock.due_at)})
    shift = due_at - clock.due_at
    entry = {
        "from": clock.due_at.isoformat(),
        "to": due_at.isoformat(),
        "reason": reason,
        "by": actor.id if actor is not None else None,
        "at": utcnow().isoformat(),
    }
    clock.extensions = [*clock.extensions, entry]  # a new list: JSON columns track assignment
    clock.due_at = due_at
    clock.alerted = None  # a new deadline, a new series of alerts
    if clock.warn_at is not None:
        clock.warn_at = clock.warn_at + shift
    audit.record(session, actor, "clock.extend", clock, {"kind": kind, **entry})
    return clock


def clocks_for(session: Session, subject: Base) -> list[Clock]:
    """Every clock of ``subject``, running or stopped, oldest first."""
    key = audit.entity_key(subject)
    if key is None:
        return []
    return list(
        session.scalars(
            select(Clock)
            .where(Clock.subject_type == key[0], Clock.subject_id == key[1])
            .order_by(Clock.id)
        )
    )


def running_clock(session: Session, *, kind: str, subject: Base) -> Clock | None:
    """The running ``kind`` clock of ``subject``, if any."""
    key = audit.entity_key(subject)
    return None if key is None else _open_clock(session, kind, key)


# --- the scan ----------------------------------------------------------------------------------


def register_overdue_handler(kind: str, handler: OverdueHandler) -> None:
    """Run ``handler(session, clock, now, calendar)`` when a ``kind`` clock becomes overdue
    (once per deadline, in the scan's transaction)."""
    _overdue_handlers[kind] = handler


def _load_handlers() -> None:
    for module in HANDLER_MODULES:
        importlib.import_module(module)


def level_reached(clock: Clock, now: dt.datetime) -> AlertLevel | None:
    """The highest alert level ``clock`` has reached at ``now`` (None: nothing yet)."""
    if now >= clock.due_at:
        return AlertLevel.OVERDUE
    if now >= start_of_date(due_date_of(clock.due_at)):
        return AlertLevel.DUE
    if clock.warn_at is not None and now >= clock.warn_at:
        return AlertLevel.WARNING
    return None


_RANK = {AlertLevel.WARNING: 1, AlertLevel.DUE: 2, AlertLevel.OVERDUE: 3}


def scan(
    session: Session,
    now: dt.datetime | None = None,
    *,
    calendar: WorkCalendar | None = None,
    limit: int = 1000,
) -> list[Alert]:
    """Raise the alerts due at ``now`` on running clocks; returns the new ones.

    Idempotent: a level is raised once per deadline (the unique constraint backs it up), so
    a second scan, or a second worker, adds nothing. PostgreSQL hands clocks out with
    ``FOR UPDATE SKIP LOCKED``: two scanners never work on the same clock at once.
    """
    now = now or utcnow()
    _require_aware(now, "now")
    calendar = calendar or calendar_for(None)
    _load_handlers()
    horizon = now + dt.timedelta(days=1)  # the "due" level starts at most a day early
    candidates = session.scalars(
        select(Clock)
        .where(
            Clock.stopped_at.is_(None),
            or_(Clock.alerted.is_(None), Clock.alerted != AlertLevel.OVERDUE),
            or_(Clock.due_at <= horizon, and_(Clock.warn_at.is_not(None), Clock.warn_at <= now)),
        )
        .order_by(Clock.due_at, Clock.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    raised: list[Alert] = []
    for clock in candidates:
        level = level_reached(clock, now)
        if level is None or (
            clock.alerted is not None and _RANK[AlertLevel(clock.alerted)] >= _RANK[level]
        ):
            continue
        extension = len(clock.extensions or [])
        done = set(
            session.scalars(
                select(Alert.level).where(Alert.clock_id == clock.id, Alert.extension == extension)
            )
        )
        if any(_RANK[AlertLevel(old)] >= _RANK[level] for old in done):
            continue
        alert = Alert(
            clock_id=clock.id,
            level=level,
            extension=extension,
            created_at=now,
            department_id=clock.department_id,
            message_key=f"clock.{level.value}",
            params={
                "kind": clock.kind,
                "subject_type": clock.subject_type,
                "subject_id": clock.subject_id,
                "due_at": clock.due_at.isoformat(),
                "due_date": due_date_of(clock.due_at).isoformat(),
            },
        )
        session.flush()
        try:
            with session.begin_nested():
                session.add(alert)
        except IntegrityError:
            # Another scanner raised it first (SQLite has no SKIP LOCKED).
            continue
        clock.alerted = level
        raised.append(alert)
        if level is AlertLevel.OVERDUE:
            handler = _overdue_handlers.get(clock.kind)
            if handler is not None:
                handler(session, clock, now, calendar)
    if raised:
        log.info("clock scan raised %d alert(s)", len(raised))
    return raised


# --- alerts for people -------------------------------------------------------------------------


def _scope(actor: User | None) -> int | None:
    """The department whose clocks and alerts ``actor`` sees; None for the whole bureau (an
    administrator, an officer of no department as for plans and cases, or the command line:
    ``actor`` None)."""
    if actor is None or actor.role == Role.ADMIN:
        return None
    if actor.department_id is not None:
        return actor.department_id
    if actor.inspector is not None:
        return actor.inspector.department_id
    return None


def list_alerts(
    session: Session,
    actor: User | None,
    *,
    state: str = "open",
    level: str | None = None,
    kind: str | None = None,
    after: int = 0,
    limit: int = 100,
) -> list[Alert]:
    """The alerts of the actor's department (all for an administrator), oldest first.
    ``state``: open (not acknowledged), acknowledged, or all."""
    if state not in {"open", "acknowledged", "all"}:
        raise ClockValidationError(
            {"state": reason("must be one of ${choices}", choices="open, acknowledged, all")}
        )
    query = select(Alert).join(Clock, Clock.id == Alert.clock_id).where(Alert.id > after)
    department = _scope(actor)
    if department is not None:
        query = query.where(Alert.department_id == department)
    if state == "open":
        query = query.where(Alert.acknowledged_at.is_(None))
    elif state == "acknowledged":
        query = query.where(Alert.acknowledged_at.is_not(None))
    if level is not None:
        try:
            query = query.where(Alert.level == AlertLevel(level))
        except ValueError:
            raise ClockValidationError(
                {"level": reason("must be one of ${choices}", choices="warning, due, overdue")}
            ) from None
    if kind is not None:
        query = query.where(Clock.kind == kind)
    return list(session.scalars(query.order_by(Alert.id).limit(limit)))


def acknowledge_alert(
    session: Session, actor: User, alert_id: int, *, at: dt.datetime | None = None
) -> Alert:
    """Mark an alert of the actor's department seen (once; a repeat returns it unchanged)."""
    alert = session.get(Alert, alert_id)
    department = _scope(actor)
    if alert is None or (department is not None and alert.department_id != department):
        raise ClockNotFoundError(reason("no alert ${id} in your department", id=alert_id))
    if alert.acknowledged_at is not None:
        return alert
    alert.acknowledged_at = at or utcnow()
    alert.acknowledged_by_id = actor.id
    audit.record(
        session,
        actor,
        "alert.acknowledge",
        alert,
        {"clock": alert.clock_id, "level": AlertLevel(alert.level).value},
    )
    return alert


def list_clocks(
    session: Session,
    actor: User | None,
    *,
    subject_type: str | None = None,
    kind: str | None = None,
    state: str = "running",
    after: int = 0,
    limit: int = 100,
) -> list[Clock]:
    """The clocks of the actor's department (all for an administrator), by deadline.
    ``state``: running, stopped, overdue (running past its deadline) or all."""
    if state not in {"running", "stopped", "overdue", "all"}:
        raise ClockValidationError(
            {"state": reason("must be one of ${choices}", choices="running, stopped, overdue, all")}
        )
    query = select(Clock).where(Clock.id > after)
    department = _scope(actor)
    if department is not None:
        query = query.where(Clock.department_id == department)
    if subject_type is not None:
        query = query.where(Clock.subject_type == subject_type)
    if kind is not None:
        query = query.where(Clock.kind == kind)
    if state in {"running", "overdue"}:
        query = query.where(Clock.stopped_at.is_(None))
    elif state == "stopped":
        query = query.where(Clock.stopped_at.is_not(None))
    if state == "overdue":
        query = query.where(Clock.due_at <= utcnow())
    return list(session.scalars(query.order_by(Clock.id).limit(limit)))


__all__ = [
    "SHANGHAI",
    "ClockError",
    "ClockNotFoundError",
    "ClockPermissionError",
    "ClockStateError",
    "ClockValidationError",
    "OverdueHandler",
    "acknowledge_alert",
    "calendar_for",
    "cancel_clock",
    "clocks_for",
    "due_date_of",
    "due_days_rolled",
    "due_hours",
    "due_working_days",
    "end_of_date",
    "extend_clock",
    "level_reached",
    "list_alerts",
    "list_clocks",
    "local_date",
    "register_overdue_handler",
    "running_clock",
    "scan",
    "start_clock",
    "start_of_date",
    "stop_clock",
]
