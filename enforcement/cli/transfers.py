"""``suijian transfer``: export a case's transfer package, verify a package, list transfers.

``transfer export`` is one transaction: the package is written next to ``--out`` and moved
into place only once its manifest's SHA-256 is recorded (on the transfer and in the audit
log). ``transfer verify`` needs no database unless ``--recorded`` asks to compare the
manifest with the hash recorded at export.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from sqlalchemy import select
from sqlalchemy.orm import Session

from enforcement.cli.context import AppContext, pass_app
from enforcement.db import session_scope
from enforcement.models import PenaltyCase, Transfer, User
from enforcement.services.evidence import evidence_store
from enforcement.services.transfers import (
    TransferError,
    TransferService,
    TransferValidationError,
    desk_csv,
    desk_xlsx,
)
from enforcement.transfer_package import PackageError, verify_package


@click.group("transfer")
def transfer_group() -> None:
    """Transfers to public security (两法衔接): packages and the liaison's list."""


@contextmanager
def _errors() -> Iterator[None]:
    """Refusals of the workflow become a one-line message and exit status 1."""
    try:
        yield
    except TransferValidationError as exc:
        raise click.ClickException(
            "; ".join(f"{field}: {reason}" for field, reason in exc.errors.items())
        ) from exc
    except (TransferError, PackageError) as exc:
        raise click.ClickException(str(exc)) from exc


def _actor(session: Session, username: str | None) -> User | None:
    if username is None:
        return None  # the operator at the server acts as the system
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise click.ClickException(f"--as: no user named {username!r}")
    return user


def _case(session: Session, reference: str) -> PenaltyCase:
    """A case by its number (CASE-2025-000012) or its id."""
    case = session.scalar(select(PenaltyCase).where(PenaltyCase.case_no == reference))
    if case is None and reference.isdigit():
        case = session.get(PenaltyCase, int(reference))
    if case is None:
        raise click.ClickException(f"CASE: no case numbered {reference!r}")
    return case


_as_option = click.option(
    "--as",
    "username",
    default=None,
    metavar="USERNAME",
    help="The acting user (the liaison or an admin); default: the system.",
)


@transfer_group.command("export")
@click.argument("case")
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The package to write (ZIP).",
)
@_as_option
@pass_app
def export(app: AppContext, case: str, out: Path, username: str | None) -> None:
    """Build the transfer package of CASE (number or id) into --out."""
    temporary = out.with_name(f".{out.name}.tmp")
    try:
        with _errors(), session_scope(app.sessions) as session:
            service = TransferService(session, _actor(session, username), settings=app.settings)
            record = _case(session, case)
            result = service.export(record.id, temporary, evidence_store(app.settings))
            case_no = record.case_no
        temporary.replace(out)
    finally:
        temporary.unlink(missing_ok=True)
    click.echo(f"transfer package of {case_no} written: {out}")
    click.echo(f"  files               {len(result.files)} (+ manifest.json, manifest.sha256)")
    click.echo(f"  size                {result.size} bytes")
    click.echo(f"  manifest sha256     {result.manifest_sha256}")


@transfer_group.command("verify")
@click.argument("package", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option(
    "--expect",
    "expected",
    default=None,
    metavar="SHA256",
    help="The manifest's SHA-256 as recorded at export.",
)
@click.option(
    "--recorded",
    is_flag=True,
    help="Compare the manifest with the SHA-256 recorded in the database at export.",
)
@click.pass_context
def verify(ctx: click.Context, package: Path, expected: str | None, recorded: bool) -> None:
    """Check every file of PACKAGE against its manifest: print OK, or the first problem and
    exit 1."""
    report = verify_package(package, expected)
    if recorded and report.manifest is not None:
        app: AppContext = ctx.find_object(AppContext)
        key = str((report.manifest.get("transfer") or {}).get("uuid") or "")
        with session_scope(app.sessions) as session:
            stored = session.scalar(
                select(Transfer.package_sha256).where(Transfer.uuid == _uuid(key))
            )
        if stored is None:
            report.problems.append(f"transfer {key}: no export of this transfer is recorded")
        elif stored != report.manifest_sha256:
            report.problems.append(
                f"manifest.json: its SHA-256 is {report.manifest_sha256}, not {stored} as "
                "recorded at the last export"
            )
    if report.ok:
        click.echo(f"OK: {report.files_checked} files match manifest {report.manifest_sha256}")
        return
    click.echo(report.first_problem)
    for problem in report.problems[1:]:
        click.echo(f"  also: {problem}", err=True)
    raise SystemExit(1)


def _uuid(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        return uuid.UUID(int=0)


@transfer_group.command("list")
@click.option("--status", default=None, help="Only transfers in this status.")
@click.option("--overdue", is_flag=True, help="Only those with a running clock past its deadline.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "csv", "xlsx"]),
    default="table",
    show_default=True,
)
@click.option(
    "--out",
    "out",
    default=None,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to this file (required for xlsx; csv goes to stdout otherwise).",
)
@click.option("--locale", default="zh_CN", type=click.Choice(["zh_CN", "en"]), show_default=True)
@pass_app
def list_transfers(
    app: AppContext,
    status: str | None,
    overdue: bool,
    fmt: str,
    out: Path | None,
    locale: str,
) -> None:
    """The liaison desk: every transfer of the bureau with its current clock."""
    if fmt == "xlsx" and out is None:
        raise click.UsageError("--format xlsx needs --out FILE")
    with _errors(), session_scope(app.sessions) as session:
        rows = TransferService(session, None, settings=app.settings).desk(
            status=status, overdue=overdue, limit=100_000
        )
    if fmt == "table":
        for row in rows:
            current = row["clock"]
            clock = (
                f"{current['kind']} due {current['due_at']}"
                + (" OVERDUE" if current["overdue"] else "")
                if current
                else "-"
            )
            click.echo(
                f"{row['case_no']}  {row['status']:<16} {row['enterprise']['name']}  {clock}"
            )
        click.echo(f"{len(rows)} transfer(s)")
        return
    data = desk_csv(rows, locale) if fmt == "csv" else desk_xlsx(rows, locale)
    if out is None:
        click.echo(data, nl=False)  # bytes go to the binary stream as they are
        return
    out.write_bytes(data)
    click.echo(f"{len(rows)} transfer(s) written to {out}")


COMMANDS = [transfer_group]
