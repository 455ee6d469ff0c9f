"""``suijian feed``: the feed to the supervision data center (backlog, dead letters, re-queue,
reconcile, deliver now)."""

from __future__ import annotations

import json
from typing import Any

import click

from enforcement import feed
from enforcement.cli.context import AppContext, pass_app
from enforcement.db import session_scope
from enforcement.models import FeedRecord


@click.group("feed")
def feed_group() -> None:
    """The feed to the supervision data center (监管数据中心)."""


def _client(app: AppContext) -> feed.FeedClient:
    client = feed.FeedClient.from_settings(app.settings)
    if not client.configured:
        raise click.ClickException("no data center URL: set DATA_CENTER_URL (data_center.url)")
    if not client.secret:
        raise click.ClickException("no feed secret: set DATA_CENTER_SECRET (suijian.feed.secret)")
    return client


@feed_group.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@pass_app
def status(app: AppContext, as_json: bool) -> None:
    """The backlog: pending, due, delivered and dead records, and the oldest pending age."""
    with session_scope(app.sessions) as session:
        state = feed.status(session)
    if as_json:
        click.echo(json.dumps(state.as_dict(), ensure_ascii=False))
        return
    age = state.oldest_pending_age_seconds
    click.echo(
        f"pending {state.pending} (due {state.due}), delivered {state.delivered}, "
        f"dead {state.dead}; oldest pending: {'-' if age is None else f'{age:.0f} s'}"
    )
    for kind, counts in state.by_kind.items():
        click.echo(f"  {kind:<18} " + "  ".join(f"{k} {v}" for k, v in counts.items()))


def _dead_letter(record: FeedRecord, payload: bool) -> dict[str, Any]:
    document: dict[str, Any] = {
        "id": record.id,
        "idempotency_key": record.idempotency_key,
        "kind": record.kind,
        "record_key": record.record_key,
        "version": record.version,
        "attempts": record.attempts,
        "created_at": record.created_at.isoformat(),
        "dead_at": record.dead_at.isoformat() if record.dead_at else None,
        "last_error": record.last_error,
    }
    if payload:
        document["payload"] = record.payload
    return document


@feed_group.command("dead-letters")
@click.option("--limit", type=click.IntRange(min=1), default=100, show_default=True)
@click.option("--after", "after_id", type=click.IntRange(min=0), default=0, help="Page on.")
@click.option("--payload", is_flag=True, help="Include each record's payload.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@pass_app
def dead_letters(app: AppContext, limit: int, after_id: int, payload: bool, as_json: bool) -> None:
    """Records that failed too often and wait for someone to re-queue them."""
    with session_scope(app.sessions) as session:
        found = [
            _dead_letter(r, payload)
            for r in feed.dead_letters(session, limit=limit, after_id=after_id)
        ]
    if as_json:
        click.echo(json.dumps({"dead_letters": found}, ensure_ascii=False))
        return
    if not found:
        click.echo("no dead letters")
    for row in found:
        click.echo(
            f"{row['id']:>8}  {row['idempotency_key']}  attempts {row['attempts']}  "
            f"dead {row['dead_at']}  {row['last_error'] or ''}"
        )


@feed_group.command("requeue")
@click.argument("ids", nargs=-1, type=click.IntRange(min=1))
@click.option("--all", "everything", is_flag=True, help="Re-queue every dead record.")
@pass_app
def requeue(app: AppContext, ids: tuple[int, ...], everything: bool) -> None:
    """Put dead records IDS (or --all) back on the feed; the next delivery sends them."""
    if bool(ids) == everything:
        raise click.UsageError("give record ids or --all (not both)")
    with session_scope(app.sessions) as session:
        count = feed.requeue(session, "all" if everything else ids)
    click.echo(f"re-queued {count} record{'s' if count != 1 else ''}")
    if ids and count < len(set(ids)):
        click.echo("(ids that are not dead letters were left alone)")


@feed_group.command("deliver")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--max-seconds", type=click.FloatRange(min=1), default=60, show_default=True)
@pass_app
def deliver(app: AppContext, as_json: bool, max_seconds: float) -> None:
    """Deliver due records now, in this process (what the worker does every few seconds)."""
    with _client(app) as client:
        result = feed.deliver_until_idle(
            lambda: session_scope(app.sessions), client, max_seconds=max_seconds
        )
    if as_json:
        click.echo(json.dumps(result.as_dict(), ensure_ascii=False))
        return
    click.echo(
        f"sent {result.picked}: delivered {result.delivered}, retrying {result.failed}, "
        f"dead {result.dead}" + (f" ({result.error})" if result.error else "")
    )


@feed_group.command("reconcile")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--details", is_flag=True, help="List keys even when the digests agree.")
@click.option("--resend-missing", is_flag=True, help="Queue the records the receiver lacks again.")
@pass_app
def reconcile(app: AppContext, as_json: bool, details: bool, resend_missing: bool) -> None:
    """Compare delivered records (count and digest) with what the receiver holds.

    Exits with status 1 when they differ."""
    with _client(app) as client, session_scope(app.sessions) as session:
        try:
            found = feed.reconcile(session, client, details=details)
        except feed.FeedError as exc:
            raise click.ClickException(f"the data center did not answer: {exc}") from exc
        resent = feed.resend(session, found.missing + found.mismatched) if resend_missing else 0
    if as_json:
        click.echo(json.dumps({**found.as_dict(), "resent": resent}, ensure_ascii=False))
    else:
        verdict = "equal" if found.equal else "DIFFERENT"
        click.echo(
            f"{verdict}: delivered {found.local_count} (digest {found.local_digest[:16]}…), "
            f"receiver {found.remote_count} (digest {found.remote_digest[:16]}…)"
        )
        for label, keys in (
            ("missing at the receiver", found.missing),
            ("different payload at the receiver", found.mismatched),
            ("at the receiver, not delivered here", found.extra),
            ("  of which still pending or dead here (acknowledgement lost)", found.in_flight),
        ):
            if keys:
                click.echo(f"{label}: {len(keys)}")
                for key in keys[:20]:
                    click.echo(f"  {key}")
                if len(keys) > 20:
                    click.echo(f"  … and {len(keys) - 20} more")
        if resent:
            click.echo(f"queued {resent} record(s) again")
    if not found.equal:
        raise SystemExit(1)


COMMANDS = [feed_group]
