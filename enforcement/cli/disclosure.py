"""``suijian publish``, ``suijian opendata`` and ``suijian joint``: publication (一公开), open
data and the joint rewards-and-punishments list (联合奖惩). See docs/open-data.md."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from sqlalchemy import select
from sqlalchemy.orm import Session

from enforcement.cli.context import AppContext, pass_app
from enforcement.db import session_scope
from enforcement.models import JointListConsumer, PublicKind, Role, User
from enforcement.services import disclosure, joint_list, open_data
from enforcement.services.disclosure import due_items


def _settings(app: AppContext) -> dict[str, object]:
    try:
        for kind in PublicKind:
            disclosure.hold_working_days(app.settings, kind)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    return app.settings


# --- publish ------------------------------------------------------------------------------------


@click.group("publish")
def publish_group() -> None:
    """Publication (一公开): what is due, and the publication run."""


@publish_group.command("due")
@click.option("--limit", type=click.IntRange(1, 100000), default=None, help="At most N per kind.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON array.")
@pass_app
def due(app: AppContext, limit: int | None, as_json: bool) -> None:
    """What awaits publication, soonest deadline first (new, held, ready or overdue)."""
    settings = _settings(app)
    with session_scope(app.sessions) as session:
        items = due_items(session, settings=settings, limit=limit)
    if as_json:
        rows = [
            {
                "kind": i.kind,
                "subject": i.subject,
                "event_at": i.event_at.isoformat(),
                "publish_on": i.publish_on.isoformat(),
                "due_on": i.due_on.isoformat(),
                "state": i.state,
                "record_id": i.record_id,
            }
            for i in items
        ]
        click.echo(json.dumps(rows, ensure_ascii=False, indent=1))
        return
    if not items:
        click.echo("nothing awaits publication")
        return
    click.echo(f"{'due on':<11} {'publish on':<11} {'state':<8} {'kind':<8} subject")
    for i in items:
        click.echo(
            f"{i.due_on.isoformat():<11} {i.publish_on.isoformat():<11} {i.state:<8} "
            f"{i.kind:<8} {i.subject}"
        )
    overdue = sum(1 for i in items if i.state == "overdue")
    click.echo(f"{len(items)} awaiting publication, {overdue} overdue")


@publish_group.command("run")
@click.option(
    "--batch",
    type=click.IntRange(1, 100000),
    default=disclosure.DEFAULT_BATCH,
    show_default=True,
    help="Subjects per kind and transaction.",
)
@pass_app
def run_(app: AppContext, batch: int) -> None:
    """Publish what is due now, refresh and withdraw (what the scheduled task does)."""
    settings = _settings(app)
    totals: dict[str, int] = {}
    while True:
        with session_scope(app.sessions) as session:
            summary = disclosure.run(session, settings=settings, batch=batch)
        for key in ("discovered", "published", "late", "updated", "withdrawn"):
            totals[key] = totals.get(key, 0) + getattr(summary, key)
        if not summary.more:
            break
    click.echo(
        "scheduled {discovered}, published {published} ({late} late), updated {updated}, "
        "withdrawn {withdrawn}".format(**totals)
    )


# --- opendata ------------------------------------------------------------------------------------


@click.group("opendata")
def opendata_group() -> None:
    """Open data: the published records as CSV and JSON, with the data dictionary."""


@opendata_group.command("export")
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory to write {dataset}.csv, {dataset}.json and dictionary.json into.",
)
@click.option(
    "--dataset",
    "datasets",
    multiple=True,
    type=click.Choice(sorted(open_data.DATASETS)),
    help="Only this dataset (repeatable; default: all).",
)
@pass_app
def export_open_data(app: AppContext, out: Path, datasets: tuple[str, ...]) -> None:
    """Write the open data files (the same bytes the public URLs serve, bar generated_at)."""
    with session_scope(app.sessions) as session:
        written = open_data.export(session, out, list(datasets) or None)
    for path in written:
        click.echo(str(path))


# --- joint ---------------------------------------------------------------------------------------


@click.group("joint")
def joint_group() -> None:
    """The joint rewards-and-punishments list (联合奖惩) for other departments."""


def _actor(session: Session, username: str | None) -> User | None:
    if username is None:
        return None
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise click.ClickException(f"--as: no user named {username!r}")
    if not user.active or Role(user.role) not in (Role.SUPERVISOR, Role.ADMIN):
        raise click.ClickException(f"--as: {username} is not an active supervisor or admin")
    return user


@joint_group.command("sync")
@pass_app
def sync(app: AppContext) -> None:
    """Append the additions and removals since the last sync."""
    with session_scope(app.sessions) as session:
        summary = joint_list.sync(session)
    click.echo(f"added {summary.added}, removed {summary.removed}")


@joint_group.command("export")
@click.option("--since", type=click.IntRange(0), default=0, show_default=True, help="Cursor.")
@click.option(
    "--limit",
    type=click.IntRange(1, joint_list.MAX_LIMIT),
    default=joint_list.DEFAULT_LIMIT,
    show_default=True,
)
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="json")
@click.option(
    "--out", "out", type=click.Path(dir_okay=False, path_type=Path), help="File (default: stdout)."
)
@click.option("--no-sync", is_flag=True, help="Export the journal as it is, without a sync.")
@click.option("--as", "username", default=None, help="Acting supervisor, for the audit log.")
@pass_app
def export_joint(
    app: AppContext,
    since: int,
    limit: int,
    fmt: str,
    out: Path | None,
    no_sync: bool,
    username: str | None,
) -> None:
    """The changes after --since (CSV or JSON); the cursor for next time goes to stderr."""
    with session_scope(app.sessions) as session:
        actor = _actor(session, username)
        if not no_sync:
            joint_list.sync(session)
        page = joint_list.changes(session, since=since, limit=limit)
        if fmt == "csv":
            body = joint_list.as_csv(page.entries)
        else:
            body = json.dumps(joint_list.as_json(page, since), ensure_ascii=False, indent=1) + "\n"
        joint_list.record_export(
            session, actor=actor, consumer=None, since=since, page=page, channel="cli"
        )
    if out is None:
        sys.stdout.write(body)
    else:
        out.write_text(body, encoding="utf-8", newline="")
    click.echo(f"cursor {page.cursor}{' (more)' if page.more else ''}", err=True)


@joint_group.group("consumer")
def consumer_group() -> None:
    """Other departments' read-only tokens for the joint list."""


@consumer_group.command("add")
@click.argument("name")
@pass_app
def consumer_add(app: AppContext, name: str) -> None:
    """A token for consumer NAME (printed once: hand it over securely)."""
    with session_scope(app.sessions) as session:
        try:
            _, secret = joint_list.add_consumer(session, name)
        except joint_list.ConsumerError as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo(secret)


@consumer_group.command("revoke")
@click.argument("name")
@pass_app
def consumer_revoke(app: AppContext, name: str) -> None:
    """End consumer NAME's token."""
    with session_scope(app.sessions) as session:
        try:
            joint_list.revoke_consumer(session, name)
        except joint_list.ConsumerError as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo(f"revoked {name}")


@consumer_group.command("list")
@pass_app
def consumer_list(app: AppContext) -> None:
    """The consumers, live and revoked."""
    with session_scope(app.sessions) as session:
        for consumer in session.scalars(select(JointListConsumer).order_by(JointListConsumer.id)):
            state = "revoked" if consumer.revoked_at else "live"
            used = consumer.last_used_at.isoformat() if consumer.last_used_at else "never"
            click.echo(f"{consumer.name}\t{state}\tlast used {used}")


COMMANDS = [publish_group, opendata_group, joint_group]
