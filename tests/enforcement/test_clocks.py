"""Statutory clocks: deadlines as instants, start/stop/extend, the scan and its alerts."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from enforcement import migrate
from enforcement.cli import main
from enforcement.db import make_engine
from enforcement.models import (
    Alert,
    AlertLevel,
    AuditLog,
    Clock,
    ClockOutcome,
    Department,
    Role,
    User,
)
from enforcement.services import clocks
from enforcement.services.clocks import (
    ClockNotFoundError,
    ClockStateError,
    ClockValidationError,
    calendar_for,
    due_days_rolled,
    due_hours,
    due_working_days,
    end_of_date,
)
from enforcement.settings import ENV_OVERRIDES
from tests.factories import DepartmentFactory, EnterpriseFactory

SH = clocks.SHANGHAI
KIND = "test.deadline"


def at(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> dt.datetime:
    """A Shanghai wall-clock time as a UTC instant."""
    return dt.datetime(y, m, d, hh, mm, tzinfo=SH).astimezone(dt.UTC)


def _user(session: Session, name: str, role: Role, department_id: int | None) -> User:
    user = User(
        username=name,
        display_name=name,
        role=role,
        password_hash="-",
        department_id=department_id,
    )
    session.add(user)
    session.flush()
    return user


# --- deadlines -------------------------------------------------------------------------------


def test_a_date_deadline_ends_at_midnight_shanghai() -> None:
    assert end_of_date(dt.date(2026, 10, 10)) == dt.datetime(2026, 10, 10, 16, tzinfo=dt.UTC)
    assert clocks.due_date_of(end_of_date(dt.date(2026, 10, 10))) == dt.date(2026, 10, 10)


def test_due_helpers_across_national_day() -> None:
    cal = calendar_for(None)
    # Started on 2026-09-30 at 23:30 Shanghai (15:30 UTC): the local date counts.
    start = at(2026, 9, 30, 23, 30)
    assert start.date() == dt.date(2026, 9, 30)
    assert due_working_days(cal, start, 3) == end_of_date(dt.date(2026, 10, 10))
    # 00:30 on Oct 1 Shanghai is still Sep 30 in UTC, but the period starts from Oct 1.
    early = at(2026, 10, 1, 0, 30)
    assert early.date() == dt.date(2026, 9, 30)
    assert due_working_days(cal, early, 3) == end_of_date(dt.date(2026, 10, 10))
    assert due_days_rolled(cal, at(2026, 7, 3, 9), 90) == end_of_date(dt.date(2026, 10, 8))
    assert due_hours(at(2026, 10, 1, 9), 24) == at(2026, 10, 2, 9)
    with pytest.raises(ClockValidationError):
        due_hours(dt.datetime(2026, 1, 1), 24)


# --- the clock's life ------------------------------------------------------------------------


def test_start_is_idempotent_and_stop_records_the_outcome(db_session: Session) -> None:
    department = DepartmentFactory()
    subject = EnterpriseFactory()
    due = end_of_date(dt.date(2026, 10, 10))
    first = clocks.start_clock(
        db_session, kind=KIND, subject=subject, due_at=due, department_id=department.id
    )
    again = clocks.start_clock(
        db_session,
        kind=KIND,
        subject=subject,
        due_at=due + dt.timedelta(days=5),
        department_id=department.id,
    )
    assert again.id == first.id and again.due_at == due
    assert first.subject_type == "enterprises" and first.subject_id == str(subject.id)
    # Another kind on the same subject is another clock.
    other = clocks.start_clock(db_session, kind="other", subject=subject, due_at=due)
    assert other.id != first.id
    assert [c.id for c in clocks.clocks_for(db_session, subject)] == [first.id, other.id]

    stopped = clocks.stop_clock(db_session, kind=KIND, subject=subject, at=at(2026, 10, 10, 18))
    assert stopped is not None and stopped.outcome is ClockOutcome.MET
    assert clocks.stop_clock(db_session, kind=KIND, subject=subject) is None  # a retry

    late = clocks.stop_clock(db_session, kind="other", subject=subject, at=at(2026, 10, 11, 0, 1))
    assert late is not None and late.outcome is ClockOutcome.LATE

    # Once stopped, the same kind may run again (a new period), keeping the old as history.
    restarted = clocks.start_clock(db_session, kind=KIND, subject=subject, due_at=due)
    assert restarted.id not in {first.id, other.id}
    assert len(clocks.clocks_for(db_session, subject)) == 3


def test_start_refuses_bad_input(db_session: Session) -> None:
    subject = EnterpriseFactory()
    due = end_of_date(dt.date(2026, 10, 10))
    with pytest.raises(ClockValidationError) as caught:
        clocks.start_clock(db_session, kind="", subject=subject, due_at=due)
    assert caught.value.errors == {"kind": "required"}
    with pytest.raises(ClockValidationError) as caught:
        clocks.start_clock(db_session, kind=KIND, subject=subject, due_at=dt.datetime(2026, 1, 1))
    assert "due_at" in caught.value.errors
    with pytest.raises(ClockValidationError) as caught:
        clocks.start_clock(
            db_session,
            kind=KIND,
            subject=subject,
            due_at=due,
            warn_at=due + dt.timedelta(hours=1),
        )
    assert "warn_at" in caught.value.errors


def test_extension_keeps_history_moves_warning_and_is_audited(db_session: Session) -> None:
    department = DepartmentFactory()
    head = _user(db_session, "head1", Role.SUPERVISOR, department.id)
    subject = EnterpriseFactory()
    due = end_of_date(dt.date(2026, 10, 8))
    clock = clocks.start_clock(
        db_session,
        kind=KIND,
        subject=subject,
        due_at=due,
        warn_at=due - dt.timedelta(days=3),
        department_id=department.id,
    )
    with pytest.raises(ClockValidationError) as caught:
        clocks.extend_clock(
            db_session, kind=KIND, subject=subject, due_at=due, reason="x", actor=head
        )
    assert "due_at" in caught.value.errors
    with pytest.raises(ClockValidationError) as caught:
        clocks.extend_clock(
            db_session,
            kind=KIND,
            subject=subject,
            due_at=due + dt.timedelta(days=30),
            reason=" ",
            actor=head,
        )
    assert caught.value.errors == {"reason": "required"}

    new_due = end_of_date(dt.date(2026, 11, 9))
    clocks.extend_clock(
        db_session, kind=KIND, subject=subject, due_at=new_due, reason="案情复杂", actor=head
    )
    db_session.flush()
    db_session.refresh(clock)
    assert clock.due_at == new_due
    assert clock.warn_at == new_due - dt.timedelta(days=3)
    assert clock.extensions == [
        {
            "from": due.isoformat(),
            "to": new_due.isoformat(),
            "reason": "案情复杂",
            "by": head.id,
            "at": clock.extensions[0]["at"],
        }
    ]
    actions = db_session.scalars(
        select(AuditLog.action).where(
            AuditLog.entity_type == "clocks", AuditLog.entity_id == str(clock.id)
        )
    ).all()
    assert "clock.extend" in actions

    clocks.stop_clock(db_session, kind=KIND, subject=subject)
    with pytest.raises(ClockStateError):
        clocks.extend_clock(
            db_session,
            kind=KIND,
            subject=subject,
            due_at=new_due + dt.timedelta(days=1),
            reason="again",
            actor=head,
        )


def test_cancel_stops_without_alerts(db_session: Session) -> None:
    subject = EnterpriseFactory()
    due = end_of_date(dt.date(2026, 10, 8))
    clocks.start_clock(db_session, kind=KIND, subject=subject, due_at=due)
    with pytest.raises(ClockValidationError):
        clocks.cancel_clock(db_session, kind=KIND, subject=subject, reason="")
    clock = clocks.cancel_clock(db_session, kind=KIND, subject=subject, reason="撤案")
    assert clock is not None and clock.outcome is ClockOutcome.CANCELLED
    assert clocks.scan(db_session, due + dt.timedelta(days=3)) == []


# --- the scan --------------------------------------------------------------------------------


def _levels(session: Session, clock: Clock) -> list[str]:
    return [
        AlertLevel(level).value
        for level in session.scalars(
            select(Alert.level).where(Alert.clock_id == clock.id).order_by(Alert.id)
        )
    ]


def test_scan_raises_each_level_once(db_session: Session) -> None:
    department = DepartmentFactory()
    subject = EnterpriseFactory()
    due = end_of_date(dt.date(2026, 10, 10))  # 2026-10-10 24:00 Shanghai
    clock = clocks.start_clock(
        db_session,
        kind=KIND,
        subject=subject,
        due_at=due,
        warn_at=at(2026, 10, 8, 9),
        department_id=department.id,
        started_at=at(2026, 9, 30, 10),
    )
    assert clocks.scan(db_session, at(2026, 10, 8, 8)) == []
    warned = clocks.scan(db_session, at(2026, 10, 8, 9))
    assert [(a.clock_id, a.level) for a in warned] == [(clock.id, AlertLevel.WARNING)]
    assert warned[0].department_id == department.id
    assert warned[0].message_key == "clock.warning"
    assert warned[0].params["due_date"] == "2026-10-10"
    assert clocks.scan(db_session, at(2026, 10, 9, 12)) == []  # two scans, one alert
    due_alerts = clocks.scan(db_session, at(2026, 10, 10, 0, 5))
    assert [a.level for a in due_alerts] == [AlertLevel.DUE]
    assert clocks.scan(db_session, at(2026, 10, 10, 23, 59)) == []
    overdue = clocks.scan(db_session, at(2026, 10, 11, 0, 0))
    assert [a.level for a in overdue] == [AlertLevel.OVERDUE]
    assert clocks.scan(db_session, at(2026, 10, 12)) == []
    assert _levels(db_session, clock) == ["warning", "due", "overdue"]


def test_a_late_scan_raises_only_the_highest_level(db_session: Session) -> None:
    subject = EnterpriseFactory()
    due = end_of_date(dt.date(2026, 10, 10))
    clock = clocks.start_clock(
        db_session, kind=KIND, subject=subject, due_at=due, warn_at=at(2026, 10, 8)
    )
    raised = clocks.scan(db_session, at(2026, 10, 20))
    assert [a.level for a in raised] == [AlertLevel.OVERDUE]
    assert clocks.scan(db_session, at(2026, 10, 21)) == []
    assert _levels(db_session, clock) == ["overdue"]


def test_an_extension_starts_a_new_series_of_alerts(db_session: Session) -> None:
    department = DepartmentFactory()
    head = _user(db_session, "head2", Role.SUPERVISOR, department.id)
    subject = EnterpriseFactory()
    due = end_of_date(dt.date(2026, 10, 10))
    clock = clocks.start_clock(
        db_session, kind=KIND, subject=subject, due_at=due, department_id=department.id
    )
    assert [a.level for a in clocks.scan(db_session, at(2026, 10, 10, 9))] == [AlertLevel.DUE]
    clocks.extend_clock(
        db_session,
        kind=KIND,
        subject=subject,
        due_at=end_of_date(dt.date(2026, 10, 20)),
        reason="批准延期",
        actor=head,
    )
    assert clocks.scan(db_session, at(2026, 10, 11, 9)) == []  # not due any more
    again = clocks.scan(db_session, at(2026, 10, 20, 9))
    assert [(a.level, a.extension) for a in again] == [(AlertLevel.DUE, 1)]
    assert _levels(db_session, clock) == ["due", "due"]


def test_clocks_alerted_overdue_do_not_crowd_out_the_rest(db_session: Session) -> None:
    """Overdue clocks keep running until someone acts; a scan batch must not fill up with
    them (the oldest deadlines first) and starve the newer ones."""
    subjects = [EnterpriseFactory() for _ in range(3)]
    for n, subject in enumerate(subjects):
        clocks.start_clock(
            db_session,
            kind=KIND,
            subject=subject,
            due_at=end_of_date(dt.date(2026, 10, 10) + dt.timedelta(days=n)),
        )
    now = at(2026, 10, 20)
    assert len(clocks.scan(db_session, now, limit=2)) == 2
    assert len(clocks.scan(db_session, now, limit=2)) == 1
    assert clocks.scan(db_session, now, limit=2) == []


def test_stopped_clocks_raise_nothing(db_session: Session) -> None:
    subject = EnterpriseFactory()
    due = end_of_date(dt.date(2026, 10, 10))
    clocks.start_clock(db_session, kind=KIND, subject=subject, due_at=due)
    clocks.stop_clock(db_session, kind=KIND, subject=subject, at=at(2026, 10, 9))
    assert clocks.scan(db_session, at(2026, 10, 30)) == []


# --- alerts for people -----------------------------------------------------------------------


def test_alerts_are_listed_and_acknowledged_per_department(db_session: Session) -> None:
    mine, theirs = DepartmentFactory(), DepartmentFactory()
    supervisor = _user(db_session, "sup_a", Role.SUPERVISOR, mine.id)
    stranger = _user(db_session, "sup_b", Role.SUPERVISOR, theirs.id)
    admin = _user(db_session, "adm", Role.ADMIN, None)
    nobody = _user(db_session, "sup_c", Role.SUPERVISOR, None)
    due = end_of_date(dt.date(2026, 10, 10))
    for department in (mine, theirs):
        clocks.start_clock(
            db_session,
            kind=KIND,
            subject=EnterpriseFactory(),
            due_at=due,
            department_id=department.id,
        )
    raised = clocks.scan(db_session, at(2026, 10, 11))
    assert len(raised) == 2
    own = clocks.list_alerts(db_session, supervisor)
    assert [a.department_id for a in own] == [mine.id]
    assert len(clocks.list_alerts(db_session, admin)) == 2
    # A supervisor of no department works for the whole bureau (as for plans and cases).
    assert len(clocks.list_alerts(db_session, nobody)) == 2
    with pytest.raises(ClockValidationError):
        clocks.list_alerts(db_session, supervisor, state="closed")

    with pytest.raises(ClockNotFoundError):
        clocks.acknowledge_alert(db_session, stranger, own[0].id)
    acknowledged = clocks.acknowledge_alert(db_session, supervisor, own[0].id)
    assert acknowledged.acknowledged_by_id == supervisor.id
    first_time = acknowledged.acknowledged_at
    assert clocks.acknowledge_alert(db_session, supervisor, own[0].id).acknowledged_at == (
        first_time
    )
    assert clocks.list_alerts(db_session, supervisor) == []
    assert [a.id for a in clocks.list_alerts(db_session, supervisor, state="acknowledged")] == [
        own[0].id
    ]
    audited = db_session.scalar(
        select(func.count())
        .select_from(AuditLog)
        .where(AuditLog.action == "alert.acknowledge", AuditLog.entity_id == str(own[0].id))
    )
    assert audited == 1


# --- the command line ------------------------------------------------------------------------


def test_cli_calendar_scan_and_list(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in (*ENV_OVERRIDES, "SUIJIAN_INI"):
        monkeypatch.delenv(variable, raising=False)
    holidays = tmp_path / "holidays"
    holidays.mkdir()
    (holidays / "2027.toml").write_text(
        'year = 2027\nsource = "test arrangement"\n'
        '[[holiday]]\nname = "元旦"\nfirst = 2027-01-01\nlast = 2027-01-03\nworkdays = []\n',
        encoding="utf-8",
    )
    database = tmp_path / "cli.sqlite"
    ini = tmp_path / "test.ini"
    ini.write_text(
        f"[app:main]\nuse = egg:suijian\nsqlalchemy.url = sqlite:///{database}\n"
        f"suijian.holidays_dir = {holidays}\n",
        encoding="utf-8",
    )
    runner = CliRunner()

    def run(*args: str, code: int = 0) -> str:
        result = runner.invoke(main, ["-c", str(ini), *args])
        assert result.exit_code == code, result.output
        return result.output

    shown = json.loads(run("clocks", "calendar", "--year", "2026", "--year", "2027", "--json"))
    assert shown["configured_years"] == [2024, 2025, 2026, 2027]
    assert [row["configured"] for row in shown["years"]] == [True, True]
    checked = json.loads(
        run("clocks", "calendar", "--year", "2026", "--date", "2026-09-30", "--json")
    )
    assert checked["date"]["plus_3_working_days"] == "2026-10-10"
    missing = run("clocks", "calendar", "--year", "2031", code=1)
    assert "2031: NOT CONFIGURED" in missing

    run("db", "upgrade")
    engine = make_engine(f"sqlite:///{database}")
    try:
        with Session(engine) as session, session.begin():
            department = Department(code="CLI", name="测试局")
            session.add(department)
            session.flush()
            clocks.start_clock(
                session,
                kind=KIND,
                subject=department,
                due_at=end_of_date(dt.date(2026, 10, 10)),
            )
    finally:
        engine.dispose()
    first = json.loads(run("clocks", "scan", "--now", "2026-10-11T08:00:00", "--json"))
    assert [(a["level"], a["due_date"]) for a in first["alerts"]] == [("overdue", "2026-10-10")]
    assert json.loads(run("clocks", "scan", "--now", "2026-10-12T08:00:00", "--json")) == {
        "alerts": []
    }
    listed = json.loads(run("clocks", "list", "--json"))["clocks"]
    assert [(c["kind"], c["subject"], c["due_date"]) for c in listed] == [
        (KIND, "departments:1", "2026-10-10")
    ]
    assert "no clocks" in run("clocks", "list", "--state", "stopped")


# --- the scheduled task and concurrent scanners -------------------------------------------------


def _database_with_a_lapsed_clock(url: str) -> Engine:
    engine = make_engine(url)
    migrate.upgrade(engine)
    with Session(engine) as session, session.begin():
        department = Department(code="TASK", name="测试局")
        session.add(department)
        session.flush()
        clocks.start_clock(
            session,
            kind=KIND,
            subject=department,
            due_at=end_of_date(dt.date(2025, 10, 10)),
            department_id=department.id,
        )
    return engine


def test_the_scheduled_task_raises_each_alert_once(
    backend: str, new_database_url: Callable[[str], str], tmp_path: Path
) -> None:
    """The Celery task itself (in-process), committing to a database of its own."""
    from enforcement.tasks import scan_clocks
    from enforcement.worker import beat_schedule, celery_app, configure, dispose_engines

    url = new_database_url(backend)
    engine = _database_with_a_lapsed_clock(url)
    settings = {
        "sqlalchemy.url": url,
        "suijian.var_dir": str(tmp_path),
        "celery.broker_url": "filesystem://",
        "celery.broker_folder": str(tmp_path / "broker"),
        "suijian.clocks.scan_seconds": "60",
    }
    entry = beat_schedule(settings)["scan-clocks"]
    assert entry["task"] == scan_clocks.name and entry["schedule"] == 60.0
    configure(celery_app, settings)
    try:
        first = scan_clocks.apply().get()
        second = scan_clocks.apply().get()
    finally:
        dispose_engines()
        engine.dispose()
    assert [a["level"] for a in first["alerts"]] == ["overdue"]  # long past 2025-10-10
    assert second == {"alerts": []}


def test_two_scanners_at_once_raise_one_alert(
    backend: str, new_database_url: Callable[[str], str]
) -> None:
    """A scanner skips the clocks another one holds (FOR UPDATE SKIP LOCKED) and, once that
    one has committed, finds the alert already raised."""
    if backend != "postgis":
        pytest.skip("row locks are PostgreSQL's (SQLite has one writer at a time)")
    engine = _database_with_a_lapsed_clock(new_database_url(backend))
    now = at(2025, 10, 12)
    try:
        with Session(engine) as first, Session(engine) as second:
            assert [a.level for a in clocks.scan(first, now)] == [AlertLevel.OVERDUE]
            assert clocks.scan(second, now) == []  # the clock is first's until it commits
            second.rollback()
            first.commit()
            assert clocks.scan(second, now) == []  # raised already
            second.commit()
        with Session(engine) as check:
            assert check.scalar(select(func.count()).select_from(Alert)) == 1
    finally:
        engine.dispose()
