"""``suijian draw``: publish a drawn plan as a bundle, and verify a bundle without a database.

``draw publish`` is one transaction: the bundle is written to a temporary file next to
``--out`` and moved into place only once the plan is stored as published.
"""

from __future__ import annotations

from pathlib import Path

import click

from enforcement.cli.context import AppContext, pass_app
from enforcement.cli.plans import acting_user
from enforcement.services.plans import get_plan
from enforcement.services.publication import (
    BundleError,
    PublicationService,
    read_bundle,
    verify_bundle,
    write_bundle,
)


@click.group("draw")
def draw_group() -> None:
    """Published draws (一公开): publish a drawn plan, verify a published bundle."""


@draw_group.command("publish")
@click.argument("code")
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Bundle file to write (JSON; gzip when the name ends in .gz).",
)
@click.option(
    "--as",
    "username",
    required=True,
    metavar="USERNAME",
    help="The acting user (a supervisor or admin).",
)
@pass_app
def publish(app: AppContext, code: str, out: Path, username: str) -> None:
    """Publish drawn plan CODE and write its public bundle to --out."""
    temporary = out.with_name(out.name + ".tmp")
    try:
        with acting_user(app, username) as service:
            bundle = PublicationService(service.session, service.actor).publish(
                get_plan(service.session, code)
            )
            write_bundle(bundle, temporary)
        temporary.replace(out)
    finally:
        temporary.unlink(missing_ok=True)
    result = bundle["result"]
    click.echo(f"plan {code} published: {out}")
    click.echo(f"  targets drawn       {len(result['drawn'])}")
    click.echo(f"  alternates          {len(result['alternates'])}")
    click.echo(f"  snapshot hash       {bundle['snapshot_hash']}")


@draw_group.command("verify")
@click.argument("bundle", type=click.Path(dir_okay=False, exists=True, path_type=Path))
def verify(bundle: Path) -> None:
    """Re-run the draw from BUNDLE alone: print OK, or the first difference and exit 1."""
    try:
        difference = verify_bundle(read_bundle(bundle))
    except BundleError as exc:
        difference = str(exc)
    if difference is None:
        click.echo("OK")
        return
    click.echo(difference)
    raise SystemExit(1)


COMMANDS = [draw_group]
