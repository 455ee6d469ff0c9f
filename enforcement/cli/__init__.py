"""The ``suijian`` command line. Each sub-command group lives in its own module."""

from __future__ import annotations

import click

from enforcement.cli.context import AppContext, pass_app


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
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

__all__ = ["AppContext", "main", "pass_app"]
