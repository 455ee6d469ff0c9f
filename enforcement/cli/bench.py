"""``suijian bench import`` (the importer on the real FSA directory), ``suijian bench draw``
(the draw on synthetic arrays), ``suijian bench rate`` (credit scoring on synthetic arrays),
``suijian bench feed`` (delivery to the reference data-center receiver) and ``suijian bench api``
(inspection submissions through waitress), ``suijian bench load`` (complete inspections with
evidence from 64 tablets, a real Celery worker feeding the data center, reconciled) and
``suijian bench province`` (generate, import, rate, draw, publish and verify at province
scale)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from enforcement import (
    bench,
    bench_api,
    bench_draw,
    bench_feed,
    bench_load,
    bench_province,
    bench_rate,
)
from enforcement.cli.context import AppContext, pass_app
from enforcement.db import is_sqlite
from enforcement.devservices import ServiceUnavailableError
from enforcement.settings import SettingsError, load_settings

F = TypeVar("F", bound=Callable[..., Any])


@click.group("bench")
def bench_group() -> None:
    """Benchmarks (development)."""


def _configured_postgres(app: AppContext) -> str | None:
    """DATABASE_URL or the ini file's sqlalchemy.url, when it is PostgreSQL."""
    url = os.environ.get("DATABASE_URL")
    if not url:
        try:
            url = load_settings(app.config_path).get("sqlalchemy.url")
        except SettingsError:
            url = None
    return str(url) if url and not is_sqlite(str(url)) else None


def _served_bench_options(
    module: Any, per_submission: int, clients_help: str, threads_help: str
) -> Callable[[F], F]:
    """The options ``bench api`` and ``bench load`` share: tablets, requests, threads and the
    demo's size, with ``module``'s defaults."""

    def decorate(command: F) -> F:
        for option in reversed(
            (
                click.option(
                    "--clients",
                    type=click.IntRange(min=1, max=90),
                    default=module.DEFAULT_CLIENTS,
                    show_default=True,
                    help=clients_help,
                ),
                click.option(
                    "--requests",
                    "n_requests",
                    type=click.IntRange(min=1),
                    default=module.DEFAULT_REQUESTS,
                    show_default=True,
                    help=f"Measured requests (rounded up to whole submissions of "
                    f"{per_submission} per client).",
                ),
                click.option(
                    "--threads",
                    type=click.IntRange(min=1),
                    default=module.DEFAULT_THREADS,
                    show_default=True,
                    help=threads_help,
                ),
                click.option(
                    "--enterprises",
                    type=click.IntRange(min=100),
                    default=module.DEFAULT_ENTERPRISES,
                    show_default=True,
                    help="Size of the demo registry loaded (the default is suijian demo load's).",
                ),
            )
        ):
            command = option(command)
        return command

    return decorate


@bench_group.command("import")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object only.")
@click.option(
    "--database-url",
    help="PostgreSQL database to use (migrated; the import is rolled back). Default: "
    "DATABASE_URL / the ini file if PostgreSQL, else a throwaway server.",
)
@click.option(
    "--sample",
    type=click.IntRange(min=1),
    default=bench.DEFAULT_SAMPLE,
    show_default=True,
    help="Rows for the row-by-row ORM baseline.",
)
@click.option(
    "--file",
    "path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help=f"The FSA CSV (default: shared data {bench.FSA_FILE}).",
)
@pass_app
def bench_import(
    app: AppContext, as_json: bool, database_url: str | None, sample: int, path: Path | None
) -> None:
    """Import the UK FSA directory (503,964 rows) and compare with a row-by-row ORM insert."""
    url = database_url or _configured_postgres(app)
    try:
        result = bench.run(url, path or bench.default_fsa_path(), sample)
    except (FileNotFoundError, RuntimeError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(json.dumps(result) if as_json else bench.human(result))


@bench_group.command("draw")
@click.option(
    "--targets",
    "n_targets",
    type=click.IntRange(min=1),
    default=bench_draw.DEFAULT_TARGETS,
    show_default=True,
    help="Synthetic candidate targets.",
)
@click.option(
    "--inspectors",
    "n_inspectors",
    type=click.IntRange(min=10),
    default=bench_draw.DEFAULT_INSPECTORS,
    show_default=True,
    help="Synthetic inspectors (five departments).",
)
@click.option(
    "--strata",
    "n_strata",
    type=click.IntRange(min=1),
    default=bench_draw.DEFAULT_STRATA,
    show_default=True,
    help="Strata (jurisdiction x credit-risk tier).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object only.")
@click.option("--no-baseline", is_flag=True, help="Skip the PostgreSQL and Python baselines.")
@click.option(
    "--database-url",
    help="PostgreSQL database for the baseline (a table is created and dropped). "
    "Default: a throwaway server.",
)
@click.option(
    "--repeat",
    type=click.IntRange(min=1),
    default=bench_draw.DEFAULT_REPEAT,
    show_default=True,
    help="Timed draws; the best is reported.",
)
def bench_draw_command(
    n_targets: int,
    n_inspectors: int,
    n_strata: int,
    as_json: bool,
    no_baseline: bool,
    database_url: str | None,
    repeat: int,
) -> None:
    """Draw with team pairing on synthetic arrays, against PostgreSQL and Python baselines."""
    try:
        figures = bench_draw.run(
            n_targets,
            n_inspectors,
            n_strata,
            baseline=not no_baseline,
            database_url=database_url,
            repeat=repeat,
        )
    except (ValueError, RuntimeError, ServiceUnavailableError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(json.dumps(figures) if as_json else bench_draw.human(figures))


@bench_group.command("rate")
@click.option(
    "--enterprises",
    "n",
    type=click.IntRange(min=1),
    default=bench_rate.DEFAULT_ENTERPRISES,
    show_default=True,
    help="Synthetic enterprises to score.",
)
@click.option(
    "--indicators",
    type=click.IntRange(min=1, max=200),
    default=bench_rate.DEFAULT_INDICATORS,
    show_default=True,
    help="Indicators in the synthetic scorecard.",
)
@click.option(
    "--repeat",
    type=click.IntRange(min=1),
    default=bench_rate.DEFAULT_REPEAT,
    show_default=True,
    help="Timed scorings; the best is reported.",
)
@click.option("--no-baseline", is_flag=True, help="Skip the pandas baseline.")
@click.option(
    "--train-rows",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Also time training a scorecard on this many synthetic inspection rows.",
)
@click.option(
    "--threads",
    type=click.IntRange(min=1),
    default=None,
    help="Threads for scoring (default: the CPUs, at most 8).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object only.")
def bench_rate_command(
    n: int,
    indicators: int,
    repeat: int,
    no_baseline: bool,
    train_rows: int,
    threads: int | None,
    as_json: bool,
) -> None:
    """Score synthetic enterprises with a synthetic scorecard, against pandas on the same rows."""
    try:
        figures = bench_rate.run(
            n,
            indicators=indicators,
            repeat=repeat,
            baseline=not no_baseline,
            train_rows=train_rows,
            threads=threads,
        )
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(json.dumps(figures) if as_json else bench_rate.human(figures))


@bench_group.command("feed")
@click.option(
    "--records",
    "n",
    type=click.IntRange(min=1),
    default=bench_feed.DEFAULT_RECORDS,
    show_default=True,
    help="Records to publish and deliver.",
)
@click.option(
    "--batch",
    type=click.IntRange(min=1, max=5000),
    default=bench_feed.DEFAULT_BATCH,
    show_default=True,
    help="Records per batch (one transaction and one POST each).",
)
@click.option(
    "--postgis", is_flag=True, help="A throwaway PostgreSQL+PostGIS instead of a SQLite file."
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object only.")
def bench_feed_command(n: int, batch: int, postgis: bool, as_json: bool) -> None:
    """Deliver N records to the reference receiver (in-process, real HTTP) and count them."""
    try:
        figures = bench_feed.run(n, batch=batch, postgres=postgis)
    except (RuntimeError, ServiceUnavailableError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(json.dumps(figures) if as_json else bench_feed.human(figures))


@bench_group.command("api")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object only.")
@click.option(
    "--database-url",
    help="PostgreSQL+PostGIS database to use: empty, or holding the same demo (it is migrated, "
    "the demo loaded, and the benchmark's plan, accounts and inspections stay). "
    "Default: a throwaway server.",
)
@_served_bench_options(
    bench_api,
    per_submission=4,
    clients_help="Concurrent clients (tablets), one keep-alive connection each.",
    threads_help="Waitress threads (both applications).",
)
@click.option("--broker-url", help="Celery broker (Redis) the app uses. Default: a throwaway one.")
def bench_api_command(
    as_json: bool,
    database_url: str | None,
    clients: int,
    n_requests: int,
    threads: int,
    enterprises: int,
    broker_url: str | None,
) -> None:
    """Complete inspections submitted through waitress by concurrent clients, against a
    Pyramid hello-world on the same server."""
    try:
        figures = bench_api.run(
            database_url,
            clients=clients,
            requests=n_requests,
            threads=threads,
            enterprises=enterprises,
            broker_url=broker_url,
        )
    except (ValueError, RuntimeError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(json.dumps(figures, ensure_ascii=False) if as_json else bench_api.human(figures))


@bench_group.command("load")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object only.")
@click.option(
    "--database-url",
    help="PostgreSQL+PostGIS database to use: empty, or holding the same demo with a feed "
    "never delivered (it is migrated, the demo loaded, and what the benchmark writes stays). "
    "Default: a throwaway server.",
)
@_served_bench_options(
    bench_load,
    per_submission=len(bench_load.STEPS),
    clients_help="Concurrent tablets, one keep-alive connection each.",
    threads_help="Waitress threads.",
)
@click.option(
    "--worker-concurrency",
    type=click.IntRange(min=1),
    default=bench_load.DEFAULT_WORKER_CONCURRENCY,
    show_default=True,
    help="Celery worker processes.",
)
@click.option(
    "--drain-timeout",
    type=click.FloatRange(min=1),
    default=bench_load.DEFAULT_DRAIN_TIMEOUT,
    show_default=True,
    help="Seconds to wait for the outbox and the feed to drain after the last request.",
)
@click.option(
    "--broker-url",
    help="Celery broker (Redis) the app and its worker use; it must be otherwise idle. "
    "Default: a throwaway one.",
)
def bench_load_command(
    as_json: bool,
    database_url: str | None,
    clients: int,
    n_requests: int,
    threads: int,
    worker_concurrency: int,
    enterprises: int,
    drain_timeout: float,
    broker_url: str | None,
) -> None:
    """Complete inspections with evidence from concurrent tablets, a real Celery worker
    feeding the reference data center, and the feed reconciled afterwards."""
    try:
        figures = bench_load.run(
            database_url,
            clients=clients,
            requests=n_requests,
            threads=threads,
            enterprises=enterprises,
            broker_url=broker_url,
            worker_concurrency=worker_concurrency,
            drain_timeout=drain_timeout,
        )
    except (ValueError, RuntimeError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(json.dumps(figures, ensure_ascii=False) if as_json else bench_load.human(figures))


@bench_group.command("province")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object only.")
@click.option(
    "--database-url",
    help="PostgreSQL+PostGIS database to use (migrated here; it must hold no enterprises). "
    "Default: a throwaway server.",
)
@click.option(
    "--enterprises",
    type=click.IntRange(min=100),
    default=bench_province.DEFAULT_ENTERPRISES,
    show_default=True,
    help="Enterprises generated and imported.",
)
@click.option(
    "--inspectors",
    type=click.IntRange(min=10),
    default=bench_province.DEFAULT_INSPECTORS,
    show_default=True,
    help="Inspectors generated and imported.",
)
@click.option(
    "--work-dir",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    default=None,
    help="Where the generated import files and the bundle go (a temporary folder in it).",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write the JSON figures here after each step (finished: false until the end).",
)
@click.option("--quiet", is_flag=True, help="No progress lines on stderr.")
def bench_province_command(
    as_json: bool,
    database_url: str | None,
    enterprises: int,
    inspectors: int,
    work_dir: Path | None,
    out: Path | None,
    quiet: bool,
) -> None:
    """Generate, import, rate, draw with teams, publish and verify, end to end on PostGIS;
    wall time and peak memory per step."""
    try:
        figures = bench_province.run(
            database_url,
            enterprises=enterprises,
            inspectors=inspectors,
            work_dir=work_dir,
            progress=None if quiet else lambda line: click.echo(line, err=True),
            out=out,
        )
    except (ValueError, RuntimeError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(
        json.dumps(figures, ensure_ascii=False) if as_json else bench_province.human(figures)
    )


COMMANDS = [bench_group]
