"""``suijian backup`` and ``suijian restore``: the database and the evidence store in one
archive, and back, verified. See docs/reliability.md ("Backups")."""

from __future__ import annotations

import json
from pathlib import Path

import click

from enforcement import backup as backups
from enforcement.cli.context import AppContext, pass_app
from enforcement.services.evidence import var_dir


def _mib(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MiB"


@click.command("backup")
@click.argument("output", required=False, type=click.Path())
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@pass_app
def backup_command(app: AppContext, output: str | None, as_json: bool) -> None:
    """Write the database and the evidence store to one archive at OUTPUT (a file, or a
    directory for a time-stamped name; default <var_dir>/backups/). Safe while the web app
    and the worker run. Exit 1 when the backup failed, or when it was written but the live
    evidence store is damaged (each problem is listed)."""
    target = Path(output) if output else var_dir(app.settings) / "backups"
    if not output or output.endswith(("/", "\\")):  # a directory, made if need be
        target.mkdir(parents=True, exist_ok=True)
    try:
        result = backups.create_backup(app.settings, app.engine, target)
    except (backups.BackupError, OSError) as exc:  # OSError: a full disk, no permission
        raise click.ClickException(f"backup failed: {exc}") from exc
    if as_json:
        click.echo(json.dumps(result.as_dict(), ensure_ascii=False))
    else:
        click.echo(
            f"backup written: {result.path} ({_mib(result.size)}, {result.seconds:.1f} s)\n"
            f"  database {result.backend} at revision {result.revision}, "
            f"{_mib(result.database_bytes)}; evidence {result.evidence_files} file(s), "
            f"{_mib(result.evidence_bytes)}\n"
            f"  archive sha256 {result.archive_sha256}"
        )
    if result.problems:
        for problem in result.problems:
            click.echo(f"  PROBLEM: {problem}", err=True)
        click.echo(
            f"backup written, but the live system has {len(result.problems)} evidence "
            "problem(s) (listed above)",
            err=True,
        )
        raise SystemExit(1)


@click.command("restore")
@click.argument("archive", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--force",
    is_flag=True,
    help="Restore even though the configured database holds data (all of it is replaced).",
)
@click.option(
    "--check",
    "check_only",
    is_flag=True,
    help="Only verify the archive against its manifest; change nothing. Exit 1 also when "
    "it holds evidence that was already damaged when it was archived.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@pass_app
def restore_command(
    app: AppContext, archive: Path, force: bool, check_only: bool, as_json: bool
) -> None:
    """Restore ARCHIVE (made by 'suijian backup') into the configured database and evidence
    directory, then verify the audit chain and every evidence file. Stop the web app and the
    worker first. Every member is checked before anything is changed; exit 1 naming what
    failed."""
    if check_only:
        try:
            manifest = backups.verify_archive(archive)
        except (backups.BackupError, OSError) as exc:  # OSError: a full disk, no permission
            raise click.ClickException(f"archive check failed: {exc}") from exc
        document = manifest.document
        if as_json:
            summary = {k: v for k, v in document.items() if k != "files"}
            click.echo(
                json.dumps(
                    {"ok": not manifest.damaged, "damaged": manifest.damaged, "manifest": summary},
                    ensure_ascii=False,
                )
            )
        else:
            click.echo(
                f"archive OK: {len(document['files'])} member(s) match the manifest; made "
                f"{document['created_at']} by Suijian {document['app_version']}, "
                f"{manifest.backend} at revision {manifest.revision}"
            )
        for name in manifest.damaged:
            click.echo(f"  PROBLEM: {name} was archived damaged: it does not hash to its name")
        if manifest.damaged:
            raise SystemExit(1)
        return
    try:
        result = backups.restore_backup(app.settings, app.engine, archive, force=force)
    except backups.RestoreRefusedError as exc:
        raise click.ClickException(f"restore refused: {exc}") from exc
    except (backups.BackupError, OSError) as exc:  # OSError: a full disk, no permission
        raise click.ClickException(f"restore failed: {exc}") from exc
    if as_json:
        click.echo(json.dumps(result.as_dict(), ensure_ascii=False))
    else:
        click.echo(
            f"restored {result.archive} (made {result.created_at}) in {result.seconds:.1f} s: "
            f"{result.backend} database at revision {result.revision}, "
            f"{result.evidence_files} evidence file(s) ({result.evidence_placed} written)"
        )
        chain = result.audit
        if chain.broken is not None:
            click.echo(f"  audit chain BROKEN at {chain.broken}")
        else:
            click.echo(
                f"  audit chain OK: {chain.entries} entries, head seq {chain.head_seq} "
                f"{chain.head_hash}, {chain.anchors} anchor(s) matched"
            )
        evidence = result.evidence
        if evidence.ok:
            click.echo(
                f"  evidence OK: {evidence.files} file(s) named by the database, "
                f"{_mib(evidence.bytes)}, all present and hashing to their names"
            )
        else:
            for problem in evidence.problems():
                click.echo(f"  evidence PROBLEM: {problem}")
        if result.revision != result.head:
            click.echo(
                f"  the database is at revision {result.revision}, the code's head is "
                f"{result.head}: run 'suijian db upgrade' before starting the app"
            )
    if not result.ok:
        failed = [
            what
            for what, ok in (("audit chain", result.audit.ok), ("evidence", result.evidence.ok))
            if not ok
        ]
        click.echo(f"restore done but verification FAILED: {', '.join(failed)}", err=True)
        raise SystemExit(1)


COMMANDS = [backup_command, restore_command]
