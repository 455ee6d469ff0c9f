"""The ``suijian`` command line. Each sub-command group lives in its own module."""

from __future__ import annotations

from typing import Any

import click

from enforcement.cli.context import AppContext, DatabaseUnavailableError, pass_app
from enforcement.db import database_unavailable


class _Commands(click.Group):
    """The command group; a database that cannot be reached or cannot serve now is reported
    in one line with its reason and exit code 75 (EX_TEMPFAIL), not as a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.ClickException:
            raise
        except Exception as exc:
            if not database_unavailable(exc):
                raise
            raise DatabaseUnavailableError.from_error(exc, ctx.obj) from exc


@click.group(
    cls=_Commands,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.option(
    "-c",
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    default=None,
    envvar="SUIJIAN_INI",
    help="Ini file to read (default: ./development.ini; env SUIJIAN_INI).",
)
@click.pass_context
def main(ctx: click.Context, config_path: str | None) -> None:
    """Suijian (随检): double-random inspection and credit-risk supervision.

    Settings come from the ini file; DATABASE_URL, BROKER_URL, DATA_CENTER_URL and
    SECRET_KEY in the environment override it.
    """
    ctx.obj = AppContext(config_path)


def _register() -> None:
    from enforcement.cli import (
        audit,
        backtest,
        backup,
        bench,
        cases,
        clocks,
        credit,
        datacenter,
        db,
        demo,
        disclosure,
        draws,
        feed,
        imports,
        plans,
        rfc3797,
        serve,
        transfers,
        uscc,
        users,
    )

    for module in (
        db, imports, demo, uscc, rfc3797, serve, bench, plans, draws, credit, backtest, feed,
        datacenter, transfers, disclosure, cases, clocks, audit, backup,
        users,
    ):  # fmt: skip
        for command in module.COMMANDS:
            main.add_command(command)


_register()

__all__ = ["AppContext", "DatabaseUnavailableError", "main", "pass_app"]
