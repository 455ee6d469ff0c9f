"""``suijian clocks``: the working-day calendar, the clock scan, and the running clocks."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import click

from enforcement.cli.context import AppContext, pass_app
from enforcement.db import session_scope
from enforcement.models import Clock
from enforcement.services import clocks
from enforcement.workdays import SETTINGS_KEY, CalendarError, WorkCalendar


@click.group("clocks")
def clocks_group() -> None:
    """Statutory clocks (法定期限) on the working-day calendar, and their alerts."""


def _calendar(app: AppContext) -> WorkCalendar:
    try:
        return clocks.calendar_for(app.settings)
    except CalendarError as exc:
        raise click.ClickException(str(exc)) from exc


def _instant(value: str | None) -> dt.datetime | None:
    if value is None:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"not an ISO 8601 time: {value!r}", param_hint="--now") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=clocks.SHANGHAI)  # people mean Beijing time
    return parsed.astimezone(dt.UTC)


@clocks_group.command("calendar")
@click.option(
    "--year",
    "years",
    type=click.IntRange(1949, 2200),
    multiple=True,
    help="Year to show (repeatable; default: last, this and next year).",
)
@click.option("--date", "day", type=click.DateTime(["%Y-%m-%d"]), help="Also check one date.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@pass_app
def calendar(
    app: AppContext, years: tuple[int, ...], day: dt.datetime | None, as_json: bool
) -> None:
    """Which years have a holiday arrangement (and its source); years without one count
    Monday to Friday only, which is flagged here: add the year's file to the directory named
    by ``suijian.holidays_dir``. Exits 1 when a year shown has no arrangement."""
    cal = _calendar(app)
    today = dt.datetime.now(clocks.SHANGHAI).date()
    shown = sorted(set(years) or {today.year - 1, today.year, today.year + 1})
    rows = cal.describe(shown)
    document: dict[str, Any] = {
        "configured_years": list(cal.configured_years),
        "extra_dir": app.settings.get(SETTINGS_KEY) or None,
        "years": rows,
    }
    if day is not None:
        date = day.date()
        document["date"] = {
            "date": date.isoformat(),
            "working_day": cal.is_working_day(date),
            "configured": cal.is_configured(date.year),
            "next_working_day": cal.next_working_day(date).isoformat(),
            "plus_3_working_days": cal.add_working_days(date, 3).isoformat(),
            "plus_90_days_rolled": cal.add_days_rolled(date, 90).isoformat(),
        }
    missing = [row["year"] for row in rows if not row["configured"]]
    if as_json:
        click.echo(json.dumps(document, ensure_ascii=False))
    else:
        click.echo(f"configured years: {', '.join(map(str, cal.configured_years)) or 'none'}")
        for row in rows:
            if not row["configured"]:
                click.echo(f"{row['year']}: NOT CONFIGURED - weekends only (no holiday file)")
                continue
            click.echo(f"{row['year']}: {row['source']}")
            for holiday in row["holidays"]:
                worked = ", ".join(holiday["workdays"]) or "-"
                click.echo(
                    f"  {holiday['name']}: {holiday['first']} .. {holiday['last']}"
                    f"  (make-up working days: {worked})"
                )
        if day is not None:
            info = document["date"]
            kind = "a working day" if info["working_day"] else "not a working day"
            click.echo(
                f"{info['date']} is {kind}; +3 working days: {info['plus_3_working_days']}; "
                f"+90 days rolled: {info['plus_90_days_rolled']}"
            )
    if missing:
        click.echo(f"warning: no holiday arrangement for {', '.join(map(str, missing))}", err=True)
        raise SystemExit(1)


@clocks_group.command("scan")
@click.option("--now", "now_text", help="Scan as of this time (ISO 8601; default: now).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@pass_app
def scan(app: AppContext, now_text: str | None, as_json: bool) -> None:
    """Raise the alerts due on running clocks now (what the scheduler runs every few minutes);
    idempotent: a second scan raises nothing new."""
    cal = _calendar(app)
    now = _instant(now_text)
    with session_scope(app.sessions) as session:
        raised = [
            {
                "alert": alert.id,
                "clock": alert.clock_id,
                "level": alert.level.value,
                **{k: alert.params.get(k) for k in ("kind", "subject_type", "subject_id")},
                "due_date": alert.params.get("due_date"),
            }
            for alert in clocks.scan(session, now, calendar=cal)
        ]
    if as_json:
        click.echo(json.dumps({"alerts": raised}, ensure_ascii=False))
        return
    click.echo(f"{len(raised)} alert(s) raised")
    for row in raised:
        click.echo(
            f"  {row['level']:<8} {row['kind']} {row['subject_type']}:{row['subject_id']}"
            f" due {row['due_date']}"
        )


def _row(clock: Clock) -> dict[str, Any]:
    return {
        "id": clock.id,
        "kind": clock.kind,
        "subject": f"{clock.subject_type}:{clock.subject_id}",
        "department_id": clock.department_id,
        "due_date": clocks.due_date_of(clock.due_at).isoformat(),
        "due_at": clock.due_at.isoformat(),
        "stopped_at": clock.stopped_at.isoformat() if clock.stopped_at else None,
        "outcome": clock.outcome.value if clock.outcome else None,
        "extensions": len(clock.extensions or []),
    }


@clocks_group.command("list")
@click.option(
    "--state",
    type=click.Choice(["running", "overdue", "stopped", "all"]),
    default="running",
    show_default=True,
)
@click.option("--kind", help="Only clocks of this kind (rectification, case.deadline, ...).")
@click.option("--limit", type=click.IntRange(min=1), default=100, show_default=True)
@click.option("--after", "after_id", type=click.IntRange(min=0), default=0, help="Page on.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@pass_app
def list_(
    app: AppContext, state: str, kind: str | None, limit: int, after_id: int, as_json: bool
) -> None:
    """The clocks of every department, by id."""
    with session_scope(app.sessions) as session:
        rows = [
            _row(clock)
            for clock in clocks.list_clocks(
                session, None, kind=kind, state=state, after=after_id, limit=limit
            )
        ]
    if as_json:
        click.echo(json.dumps({"clocks": rows}, ensure_ascii=False))
        return
    for row in rows:
        end = f"stopped {row['outcome']}" if row["stopped_at"] else "running"
        click.echo(
            f"{row['id']:>6}  {row['kind']:<20} {row['subject']:<28} due {row['due_date']}  {end}"
        )
    if not rows:
        click.echo("no clocks")


COMMANDS = [clocks_group]
