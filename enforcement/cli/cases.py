"""``suijian case``: list penalty cases and show one, with its clocks and history."""

from __future__ import annotations

import json
from typing import Any

import click
from sqlalchemy import select
from sqlalchemy.orm import Session

from enforcement.cli.context import AppContext, pass_app
from enforcement.db import session_scope
from enforcement.models import CaseStatus, Department, Enterprise, User
from enforcement.services.cases import (
    CaseError,
    CaseService,
    case_clocks,
    case_document,
)


@click.group("case")
def case_group() -> None:
    """Penalty cases (行政处罚案件): list them, show one."""


def _actor(session: Session, username: str | None) -> User | None:
    """The user whose department scope applies; None: the operator sees the whole bureau."""
    if username is None:
        return None
    actor = session.scalar(select(User).where(User.username == username))
    if actor is None:
        raise click.ClickException(f"--as: no user named {username!r}")
    return actor


@case_group.command("list")
@click.option(
    "--status", type=click.Choice([s.value for s in CaseStatus]), default=None, help="Only these."
)
@click.option("--enterprise", default=None, help="An enterprise id or USCC.")
@click.option("--department", default=None, help="A department code.")
@click.option("--mine", is_flag=True, help="Only the cases whose group --as USER is in.")
@click.option("--limit", type=click.IntRange(1, 10_000), default=100, show_default=True)
@click.option("--as", "username", default=None, help="List as this user (department scope).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@pass_app
def list_cases(
    app: AppContext,
    status: str | None,
    enterprise: str | None,
    department: str | None,
    mine: bool,
    limit: int,
    username: str | None,
    as_json: bool,
) -> None:
    """The cases, newest first, with the decision deadline of the open ones."""
    with session_scope(app.sessions) as session:
        actor = _actor(session, username)
        if mine and actor is None:
            raise click.UsageError("--mine needs --as USER")
        filters: dict[str, Any] = {"status": status, "mine": mine, "limit": limit}
        if enterprise is not None:
            filters["enterprise_id"] = _enterprise_id(session, enterprise)
        if department is not None:
            found = session.scalar(select(Department.id).where(Department.code == department))
            if found is None:
                raise click.ClickException(f"--department: no department {department!r}")
            filters["department_id"] = found
        try:
            page = CaseService(session, actor).list_cases(**filters)
        except CaseError as exc:
            raise click.ClickException(str(exc)) from exc
        found_clocks = case_clocks(session, page.cases)
        documents = [
            case_document(case, [c for c in found_clocks[case.id] if c.stopped_at is None])
            for case in page.cases
        ]
    if as_json:
        payload = {"cases": documents, "total": page.total}
        click.echo(json.dumps(payload, ensure_ascii=False, indent=2))
        return
    if not documents:
        click.echo("no cases")
        return
    for doc in documents:
        flags = "".join(
            [" major" if doc["is_major"] else "", " crime?" if doc["suspected_crime"] else ""]
        )
        due = f"due {doc['decision_due_on']}" if doc["decision_due_on"] else ""
        click.echo(
            f"{doc['case_no']}  {doc['status']:<17} {doc['enterprise']['name']}"
            f"  {due}{flags}".rstrip()
        )
    click.echo(f"{len(documents)} of {page.total}")


@case_group.command("show")
@click.argument("case")
@click.option("--as", "username", default=None, help="Show as this user (department scope).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@pass_app
def show_case(app: AppContext, case: str, username: str | None, as_json: bool) -> None:
    """Show CASE (its number such as CASE-2026-000012, or its id) with its history."""
    with session_scope(app.sessions) as session:
        service = CaseService(session, _actor(session, username))
        try:
            found = service.get(int(case)) if case.isdigit() else service.by_number(case)
        except CaseError as exc:
            raise click.ClickException(f"{case}: {exc}") from exc
        doc = case_document(found, case_clocks(session, [found])[found.id], detail=True)
    if as_json:
        click.echo(json.dumps(doc, ensure_ascii=False, indent=2))
        return
    click.echo(f"{doc['case_no']}  {doc['status']}  (version {doc['version']})")
    enterprise = doc["enterprise"]
    click.echo(f"enterprise: {enterprise['name']} ({enterprise['uscc'] or '-'})")
    click.echo(f"department: {doc['department']['code']}   filed: {doc['filed_at']}")
    click.echo(f"summary: {doc['summary']}")
    flags = [name for name in ("is_major", "suspected_crime") if doc[name]]
    if flags:
        click.echo(f"flags: {', '.join(flags)}")
    group = ", ".join(f"{m['name']} ({m['role']})" for m in doc["members"])
    click.echo(f"group: {group}")
    if doc["proposal"]:
        p = doc["proposal"]
        click.echo(f"proposal: {p['measure']} {p['amount'] or ''} — {p['legal_basis']}".rstrip())
    if doc["penalty"]:
        p = doc["penalty"]
        revoked = " (revoked)" if p["revoked"] else ""
        click.echo(f"penalty: {p['decision_no']} {p['measure']} {p['amount'] or ''}{revoked}")
    if doc["reconsideration"]:
        click.echo(f"reconsideration: {doc['reconsideration']['status']}")
    for clock in doc["clocks"]:
        state = clock["outcome"] or "running"
        click.echo(f"clock {clock['kind']}: due {clock['due_on']} ({state})")
    for measure in doc["coercive_measures"]:
        state = "lifted" if measure["lifted_at"] else "in force"
        click.echo(
            f"{measure['kind']}: {measure['started_on']} → {measure['ends_on']} ({state}), "
            f"{len(measure['items'])} item(s)"
        )
    click.echo("history:")
    for event in doc["events"]:
        who = event["actor"]["name"] if event["actor"] else "system"
        move = f" → {event['to_status']}" if event["to_status"] != event["from_status"] else ""
        note = f"  {event['note']}" if event["note"] else ""
        click.echo(f"  {event['at']}  {event['action']}{move}  by {who}{note}")


def _enterprise_id(session: Session, key: str) -> int:
    query = select(Enterprise.id).where(
        Enterprise.id == int(key) if key.isdigit() else Enterprise.uscc == key.upper()
    )
    found = session.scalar(query)
    if found is None:
        raise click.ClickException(f"--enterprise: no enterprise {key!r} (an id or a USCC)")
    return found


COMMANDS = [case_group]
