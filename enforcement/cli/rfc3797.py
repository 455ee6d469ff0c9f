"""``suijian rfc3797``: the publicly verifiable selection of RFC 3797, from the command line."""

from __future__ import annotations

import click

from random_sampler.rfc3797 import SourceError, key_string, select


@click.command("rfc3797")
@click.option(
    "--pool",
    "pool_file",
    type=click.File("r", encoding="utf-8"),
    required=True,
    help="The published ordered pool: one candidate per line (blank lines are ignored).",
)
@click.option(
    "--source",
    "sources",
    multiple=True,
    required=True,
    help='A random source, e.g. 9319 or "2 5 12 8 10"; repeat in the published order.',
)
@click.option("--count", type=click.IntRange(min=0), required=True, help="How many to select.")
@click.option("--verbose", is_flag=True, help="Also show the key, digests and divisors.")
def rfc3797(pool_file, sources: tuple[str, ...], count: int, verbose: bool) -> None:  # type: ignore[no-untyped-def]
    """Select COUNT candidates from the pool per RFC 3797; prints them in selection order.

    Example (the RFC's section 6): suijian rfc3797 --pool names.txt --source 9319
    --source "2 5 12 8 10" --source "9 18 26 34 41 45" --count 16
    """
    pool = [line.strip() for line in pool_file if line.strip()]
    try:
        key = key_string(sources)
        picks = select(len(pool), key, count)
    except (SourceError, ValueError) as exc:
        raise click.BadParameter(str(exc)) from exc
    if verbose:
        click.echo(f"key: {key}", err=True)
        for pick in picks:
            click.echo(
                f"{pick.step:>5}  {pick.digest_hex}  {pick.remaining:>4}  -> {pick.position:>4}",
                err=True,
            )
    for pick in picks:
        click.echo(pool[pick.position - 1])


COMMANDS = [rfc3797]
