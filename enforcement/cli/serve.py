"""``suijian serve`` (the web app under waitress) and ``suijian worker`` (a Celery worker)."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import click
import plaster
from sqlalchemy.exc import SQLAlchemyError

from enforcement import migrate
from enforcement.cli.context import AppContext, pass_app

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

# Keys of [server:main] that ``serve`` sets itself or that are not waitress options.
_NOT_WAITRESS = {"use", "listen", "host", "port", "here", "__file__"}

# The child runs the same command line as a person would type, with the same ini file.
_RUN_CLI = "from enforcement.cli import main; main(prog_name='suijian')"


def _config_file(app: AppContext) -> str:
    return str(app.settings["suijian.config_file"])


def require_schema_at_head(app: AppContext) -> None:
    """Refuse to start against a database that is unreachable or not migrated to head."""
    try:
        current = migrate.current_revision(app.engine)
    except SQLAlchemyError as exc:
        raise click.ClickException(f"cannot reach the database: {exc}") from exc
    finally:
        app.engine.dispose()
    head = migrate.head_revision()
    if current != head:
        raise click.ClickException(
            f"the database is at revision {current or 'base (empty)'}, the code needs {head}: "
            "run 'suijian db upgrade' first"
        )


def _waitress_options(config_file: str) -> dict[str, Any]:
    """Waitress options from [server:main] (threads, trusted proxies...), if present."""
    try:
        options = dict(plaster.get_settings(config_file, "server:main"))
    except Exception:  # no such section: waitress defaults
        return {}
    return {key: value for key, value in options.items() if key not in _NOT_WAITRESS}


def _die_with_parent() -> None:
    # Linux: the kernel sends SIGTERM to the worker if ``serve`` dies, even by SIGKILL.
    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


@contextlib.contextmanager
def worker_child(
    config_file: str, concurrency: int, loglevel: str, stop_timeout: float = 30.0
) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``suijian worker`` as a child process for the duration of the block."""
    command = [sys.executable, "-c", _RUN_CLI, "-c", config_file, "worker", "--beat"]
    command += ["--concurrency", str(concurrency), "--loglevel", loglevel]
    # Its own session: Ctrl-C in the terminal reaches ``serve`` only, which then stops the
    # worker with SIGTERM (Celery's warm shutdown: running tasks finish).
    process = subprocess.Popen(command, start_new_session=True, preexec_fn=_die_with_parent)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=stop_timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def _exit_on_sigterm() -> None:
    # SIGTERM (systemd, docker stop) unwinds like Ctrl-C: waitress closes, the worker stops.
    def handler(signum: int, _frame: Any) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, handler)


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(1, 65535), default=6543, show_default=True)
@click.option(
    "--with-worker", is_flag=True, help="Also run a Celery worker (child process, same ini)."
)
@click.option(
    "--worker-concurrency",
    type=click.IntRange(min=1),
    default=2,
    show_default=True,
    help="Worker processes for --with-worker.",
)
@pass_app
def serve(
    app: AppContext, host: str, port: int, with_worker: bool, worker_concurrency: int
) -> None:
    """Serve the web application with waitress (after checking the schema is at head)."""
    from waitress.server import create_server

    config_file = _config_file(app)
    require_schema_at_head(app)
    # What pyramid.paster.get_app/setup_logging do, through plaster (enforcement must not
    # import the web framework): the ini's [app:main] via its paste.app_factory, mobile_api:main.
    loader = plaster.get_loader(config_file, protocols=["wsgi"])
    loader.setup_logging()
    wsgi_app = loader.get_wsgi_app("main")
    _exit_on_sigterm()
    with contextlib.ExitStack() as stack:
        if with_worker:
            stack.enter_context(worker_child(config_file, worker_concurrency, "INFO"))
        try:
            server = create_server(wsgi_app, host=host, port=port, **_waitress_options(config_file))
        except OSError as exc:
            raise click.ClickException(f"cannot listen on {host}:{port}: {exc}") from exc
        shown = "127.0.0.1" if host in ("0.0.0.0", "") else host
        click.echo(f"Suijian is serving on http://{shown}:{port}/  (Ctrl-C to stop)")
        if with_worker:
            click.echo("with a Celery worker (suijian worker) in a child process")
        # Returns on Ctrl-C or SIGTERM after closing its sockets; the ExitStack stops the worker.
        server.run()


@click.command("worker")
@click.option("--concurrency", type=click.IntRange(min=1), default=2, show_default=True)
@click.option(
    "--loglevel",
    type=click.Choice(LOG_LEVELS, case_sensitive=False),
    default="INFO",
    show_default=True,
)
@click.option("--hostname", default="suijian@%h", show_default=True, help="Worker node name.")
@click.option(
    "--beat",
    is_flag=True,
    help="Also run the scheduler (outbox drain, nightly re-rating): on exactly one node.",
)
@pass_app
def worker(app: AppContext, concurrency: int, loglevel: str, hostname: str, beat: bool) -> None:
    """Run a Celery worker (prefork pool) on the broker configured in the ini file."""
    import enforcement.tasks  # noqa: F401  (registers the tasks)
    from enforcement.worker import celery_app, configure

    configure(celery_app, app.settings)
    argv = [
        "worker",
        "--pool=prefork",
        f"--concurrency={concurrency}",
        f"--loglevel={loglevel.upper()}",
        f"--hostname={hostname}",
    ]
    if beat:
        argv.append("--beat")
    celery_app.worker_main(argv)


COMMANDS = [serve, worker]
