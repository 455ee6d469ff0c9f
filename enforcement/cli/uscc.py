"""``suijian uscc``: validate unified social credit codes (GB 32100-2015)."""

from __future__ import annotations

import sys

import click

from enforcement.uscc import validate_uscc


@click.command("uscc")
@click.argument("codes", nargs=-1, required=False)
@click.option("--zh", is_flag=True, help="Give the reasons in Chinese.")
def uscc(codes: tuple[str, ...], zh: bool) -> None:
    """Check each unified social credit code (统一社会信用代码).

    Prints one line per code, "CODE valid" or "CODE invalid: REASON" where the reason names
    the position, and exits 1 if any code is invalid. With no CODES, reads one per line from
    standard input.
    """
    if not codes:
        codes = tuple(line.strip() for line in sys.stdin if line.strip())
    any_invalid = False
    for code in codes:
        error = validate_uscc(code)
        if error is None:
            click.echo(f"{code} valid")
        else:
            any_invalid = True
            click.echo(f"{code} invalid: {error.reason_zh if zh else error.reason}")
    if any_invalid:
        sys.exit(1)


COMMANDS = [uscc]
