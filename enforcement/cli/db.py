"""``suijian db``: create, upgrade and check the schema."""

from __future__ import annotations

import click

from enforcement import migrate
from enforcement.cli.context import AppContext, pass_app


@click.group("db")
def db_group() -> None:
    """Manage the database schema (Alembic migrations)."""


@db_group.command("upgrade")
@click.argument("revision", default="head")
@pass_app
def upgrade(app: AppContext, revision: str) -> None:
    """Migrate the database up to REVISION (default: head). Creates it when empty."""
    migrate.upgrade(app.engine, revision)
    click.echo(f"database at revision {migrate.current_revision(app.engine)}")


@db_group.command("downgrade")
@click.argument("revision")
@pass_app
def downgrade(app: AppContext, revision: str) -> None:
    """Migrate the database down to REVISION ('base' removes every table)."""
    migrate.downgrade(app.engine, revision)
    click.echo(f"database at revision {migrate.current_revision(app.engine) or 'base'}")


@db_group.command("check")
@pass_app
def check(app: AppContext) -> None:
    """Fail unless the database is at the head revision and matches the models."""
    current, head = migrate.current_revision(app.engine), migrate.head_revision()
    if current != head:
        raise click.ClickException(
            f"database is at revision {current or 'base'}, migrations head is {head}: "
            "run 'suijian db upgrade'"
        )
    differences = migrate.schema_differences(app.engine)
    if differences:
        for diff in differences:
            click.echo(f"  {diff}", err=True)
        raise click.ClickException(
            f"models and migrations disagree ({len(differences)} differences): "
            "write a migration (see docs/data-model.md)"
        )
    click.echo(f"ok: database at {head}, models and migrations agree")


@db_group.command("revision")
@click.option("-m", "--message", required=True, help="What the migration does.")
@pass_app
def revision(app: AppContext, message: str) -> None:
    """Autogenerate a migration from the models (for developers; review it before commit)."""
    migrate.revision(app.engine, message)


COMMANDS = [db_group]
