"""``suijian demo``: load the deterministic demo data set and list its logins."""

from __future__ import annotations

import time

import click

from enforcement import migrate
from enforcement.cli.context import AppContext, pass_app
from enforcement.db import session_scope
from enforcement.demo import (
    DEFAULT_ENTERPRISES,
    DEFAULT_INSPECTORS,
    DEFAULT_SEED,
    DEMO_LOGINS,
    generate,
)
from enforcement.demo.load import DemoError, LoadReport, load_demo, registry_is_empty
from enforcement.models import RatingCause
from enforcement.services.credit import RatingService


@click.group("demo")
def demo_group() -> None:
    """Demo data: five real cities, generated enterprises, inspectors and logins."""


@demo_group.command("load")
@click.option("--seed", type=int, default=DEFAULT_SEED, show_default=True, help="Random seed.")
@click.option(
    "--enterprises",
    type=click.IntRange(min=1),
    default=DEFAULT_ENTERPRISES,
    show_default=True,
    help="Number of enterprises.",
)
@click.option(
    "--inspectors",
    type=click.IntRange(min=2),
    default=DEFAULT_INSPECTORS,
    show_default=True,
    help="Number of inspectors.",
)
@click.option(
    "--reset",
    is_flag=True,
    help="Delete ALL rows of every Suijian table first (the schema stays).",
)
@click.option(
    "--if-empty",
    is_flag=True,
    help="Do nothing when the database already holds enterprises or inspectors.",
)
@pass_app
def load(
    app: AppContext, seed: int, enterprises: int, inspectors: int, reset: bool, if_empty: bool
) -> None:
    """Build the demo data set for SEED and write it (idempotent: same seed, same data).

    Refuses when the database holds enterprises or inspectors that are not part of this
    data set, unless --reset is given.
    """
    if reset and if_empty:
        raise click.UsageError("--reset and --if-empty contradict each other")
    current, head = migrate.current_revision(app.engine), migrate.head_revision()
    if current != head:
        raise click.ClickException(
            f"database is at revision {current or 'base'}, not {head}: run 'suijian db upgrade'"
        )
    if if_empty:
        with session_scope(app.sessions) as session:
            empty = registry_is_empty(session)
        if not empty:
            click.echo("demo: the database already holds data; nothing loaded (--if-empty)")
            _print_logins()
            return
    started = time.perf_counter()
    data = generate(seed, enterprises, inspectors)
    generated = time.perf_counter()
    try:
        with session_scope(app.sessions) as session:
            report = load_demo(session, data, reset=reset)
            # Every demo enterprise gets its first credit rating, so tiers drive the draw.
            rated = RatingService(session).rate(cause=RatingCause.BATCH, detail="demo load")
    except DemoError as exc:
        raise click.ClickException(str(exc)) from exc
    finished = time.perf_counter()
    _print_report(report, generated - started, finished - generated)
    click.echo(
        "credit tiers: " + ", ".join(f"{tier} {count}" for tier, count in rated.tiers.items())
    )


@demo_group.command("logins")
def logins() -> None:
    """List the demo accounts and their password."""
    _print_logins()


def _print_report(report: LoadReport, generate_s: float, write_s: float) -> None:
    click.echo(
        f"demo data set, seed {report.seed}: generated in {generate_s:.1f} s, "
        f"written in {write_s:.1f} s"
    )
    if report.reset_rows:
        click.echo(f"reset: deleted {report.reset_rows} rows first")
    click.echo(f"  {'kind':<20}{'total':>8}{'inserted':>10}{'updated':>9}{'unchanged':>11}")
    for kind, changes in report.changes.items():
        click.echo(
            f"  {kind:<20}{changes.total:>8}{changes.inserted:>10}{changes.updated:>9}"
            f"{changes.unchanged:>11}"
        )
    click.echo(f"  {'city':<10}{'enterprises':>12}{'inspectors':>12}")
    for city, counts in report.per_city.items():
        # Chinese characters are two columns wide in a terminal.
        padding = " " * max(0, 10 - 2 * len(city))
        click.echo(f"  {city}{padding}{counts['enterprises']:>12}{counts['inspectors']:>12}")
    _print_logins()


def _print_logins() -> None:
    click.echo("demo logins (username, password, role):")
    for login in DEMO_LOGINS:
        click.echo(
            f"  {login.username:<12}{login.password:<15}{login.role.value:<12}"
            f"{login.description_zh}"
        )


COMMANDS = [demo_group]
