"""``suijian datacenter serve``: the reference receiver of the feed (development, tests)."""

from __future__ import annotations

import logging
from pathlib import Path

import click


@click.group("datacenter")
def datacenter_group() -> None:
    """The reference data-center receiver (a stand-in for the real one)."""


@datacenter_group.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(1, 65535), default=6580, show_default=True)
@click.option(
    "--db",
    "db_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("var/datacenter.sqlite"),
    show_default=True,
    help="SQLite file the received records are stored in.",
)
@click.option(
    "--secret",
    envvar="DATA_CENTER_SECRET",
    required=True,
    help="The shared HMAC secret (env DATA_CENTER_SECRET).",
)
@click.option("--threads", type=click.IntRange(min=1), default=4, show_default=True)
@click.option(
    "--delay",
    type=click.FloatRange(min=0),
    default=0.0,
    help="Fault: seconds before answering a batch.",
)
@click.option(
    "--fail-every",
    type=click.IntRange(min=0),
    default=0,
    help="Fault: every Nth batch answers 503, storing nothing.",
)
@click.option(
    "--lose-every",
    type=click.IntRange(min=0),
    default=0,
    help="Fault: every Nth batch is stored, then answers 503.",
)
@click.option(
    "--fail-status",
    type=click.Choice(["500", "502", "503", "504"]),
    default="503",
    show_default=True,
    help="Fault: the status of --fail-every and --lose-every answers.",
)
def serve(
    host: str,
    port: int,
    db_path: Path,
    secret: str,
    threads: int,
    delay: float,
    fail_every: int,
    lose_every: int,
    fail_status: str,
) -> None:
    """Receive signed batches at http://HOST:PORT/records and store them in --db.

    Point the application at it with DATA_CENTER_URL=http://HOST:PORT/records and the same
    secret in DATA_CENTER_SECRET.
    """
    from waitress.server import create_server

    from enforcement.datacenter import Receiver, Store

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    receiver = Receiver(
        Store(db_path),
        secret,
        delay=delay,
        fail_every=fail_every,
        lose_every=lose_every,
        fail_status=int(fail_status),
    )
    try:
        server = create_server(
            receiver, host=host, port=port, threads=threads, inbuf_overflow=16 * 1024 * 1024
        )
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc}") from exc
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else host
    click.echo(f"data center receiver on http://{shown}:{port}/records, storing in {db_path}")
    server.run()  # returns on Ctrl-C


COMMANDS = [datacenter_group]
