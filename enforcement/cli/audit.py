"""``suijian audit``: the full-process record (执法全过程记录) — verify the hash chain, anchor
its head, show entries. See docs/audit.md."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import click
from sqlalchemy import select

from enforcement.cli.context import AppContext, pass_app
from enforcement.db import session_scope
from enforcement.models import AuditLog
from enforcement.models.audit import HASH_ALGORITHM
from enforcement.services import audit


@click.group("audit")
def audit_group() -> None:
    """The audit log's hash chain: verify it, anchor its head, show entries."""


@audit_group.command("verify")
@click.option(
    "--anchors",
    "anchors_file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="Also check anchors kept elsewhere: the JSON of GET /api/v1/audit/anchors, or a list "
    "of {seq, entry_hash}.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@pass_app
def verify(app: AppContext, anchors_file: Path | None, as_json: bool) -> None:
    """Walk the whole chain: every hash, every link, every anchor. Exit 0 with a summary, or
    exit 1 naming the first broken entry (seq, id, what differs)."""
    published = _published(anchors_file) if anchors_file is not None else None
    started = time.perf_counter()
    with session_scope(app.sessions) as session:
        report = audit.verify_chain(session, published=published)
    seconds = time.perf_counter() - started
    if as_json:
        click.echo(json.dumps({**report.as_dict(), "seconds": round(seconds, 3)}))
    elif report.broken is not None:
        click.echo(f"audit chain BROKEN at {report.broken}")
        if report.entries:
            click.echo(
                f"  {report.entries} entries verified before it (up to seq {report.head_seq})"
            )
    elif report.entries == 0:
        click.echo("audit log empty: nothing to verify")
    else:
        click.echo(
            f"audit chain OK: {report.entries} entries (seq {report.first_seq}–{report.head_seq}), "
            f"{report.anchors} anchor(s) matched, in {seconds:.1f} s"
        )
        if published is not None:
            click.echo(f"  {report.published} of {len(published)} published anchor(s) matched")
        click.echo(f"  head {report.head_hash} ({HASH_ALGORITHM})")
    if report.broken is not None:
        raise SystemExit(1)


def _published(path: Path) -> dict[int, str]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise click.BadParameter(f"not readable JSON ({exc})", param_hint="--anchors") from exc
    items = document.get("anchors") if isinstance(document, dict) else document
    if not isinstance(items, list):
        raise click.BadParameter("expected a list of anchors", param_hint="--anchors")
    try:
        return audit.published_anchors(items)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--anchors") from exc


@audit_group.command("anchor")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@pass_app
def anchor(app: AppContext, as_json: bool) -> None:
    """Verify the entries since the last anchor and anchor the head now (also fed to the data
    center). Exit 1, anchoring nothing, when the chain is broken."""
    try:
        with session_scope(app.sessions) as session:
            last = audit.latest_anchor(session)
            made = audit.create_anchor(session)
            document = None if made is None else audit.anchor_document(made)
            new = made is not None and (last is None or made.seq != last.seq)
    except audit.AuditChainBrokenError as exc:
        click.echo(f"audit chain BROKEN at {exc.broken}; nothing anchored")
        raise SystemExit(1) from None
    if as_json:
        click.echo(json.dumps({"created": new, "anchor": document}))
    elif document is None:
        click.echo("audit log empty: nothing to anchor")
    elif new:
        click.echo(f"anchored seq {document['seq']}: {document['entry_hash']} at {document['at']}")
    else:
        click.echo(f"nothing new since the anchor of seq {document['seq']} ({document['at']})")


@audit_group.command("show")
@click.option("--entity", default=None, metavar="TYPE:ID", help="The trail of one entity, e.g. "
              "sampling_plans:12 (the table name and the primary key).")  # fmt: skip
@click.option("--seq", type=click.IntRange(min=1), default=None, help="The entry with this seq.")
@click.option(
    "--last",
    type=click.IntRange(min=1, max=10_000),
    default=20,
    show_default=True,
    help="Without --entity or --seq: the last N entries.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per line.")
@pass_app
def show(app: AppContext, entity: str | None, seq: int | None, last: int, as_json: bool) -> None:
    """Show audit entries with their place in the chain."""
    if entity is not None and seq is not None:
        raise click.UsageError("give --entity or --seq, not both")
    with session_scope(app.sessions) as session:
        if entity is not None:
            entity_type, sep, entity_id = entity.partition(":")
            if not sep or not entity_type or not entity_id:
                raise click.BadParameter("expected TYPE:ID", param_hint="--entity")
            rows = audit.entries_of(session, entity_type, entity_id)
        elif seq is not None:
            rows = list(session.scalars(select(AuditLog).where(AuditLog.seq == seq)))
        else:
            rows = list(
                reversed(
                    session.scalars(
                        select(AuditLog)
                        .order_by(AuditLog.seq.desc(), AuditLog.id.desc())
                        .limit(last)
                    ).all()
                )
            )
        documents = [entry_document(row) for row in rows]
    if not documents:
        click.echo("no audit entries found", err=not as_json)
        return
    for document in documents:
        if as_json:
            click.echo(json.dumps(document, ensure_ascii=False))
            continue
        click.echo(
            f"seq {document['seq'] or '-':>8}  {document['at']}  "
            f"{document['action']:<24} {document['entity_type']}:{document['entity_id']}  "
            f"actor {document['actor_id'] or 'system'}"
        )
        click.echo(f"    details {json.dumps(document['details'], ensure_ascii=False)}")
        click.echo(f"    hash {document['entry_hash'] or '(not chained)'}")


def entry_document(row: AuditLog) -> dict[str, Any]:
    return {
        "id": row.id,
        "seq": row.seq,
        "at": row.at.isoformat(),
        "actor_id": row.actor_id,
        "action": row.action,
        "entity_type": row.entity_type,
        "entity_id": row.entity_id,
        "details": row.details,
        "prev_hash": row.prev_hash,
        "entry_hash": row.entry_hash,
    }


COMMANDS = [audit_group]
