"""The Celery application, configured from the same ini settings as the web app.

Brokers: kombu's filesystem transport (embedded, development), Redis or RabbitMQ (production).
Tasks reach the database through an engine built lazily in each worker process from the
settings stored on the app's configuration, so no connection crosses a fork.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from celery import Celery
from celery.schedules import crontab
from celery.signals import worker_process_init, worker_process_shutdown
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from enforcement.db import engine_from_settings, session_factory, session_scope
from enforcement.outbox import CELERY_APP_INFO

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Key under which :func:`configure` keeps the ini settings on ``app.conf``.
SETTINGS_KEY = "suijian_settings"

DEFAULT_BROKER_URL = "filesystem://"

celery_app = Celery("suijian", include=["enforcement.tasks"])


def _var_dir(settings: Mapping[str, Any]) -> Path:
    return Path(str(settings.get("suijian.var_dir") or "var")).resolve()


def _file_backend_path(url: str) -> Path | None:
    """The directory of a ``file://`` result backend URL (Celery's own parsing rules)."""
    for prefix in ("file://localhost/", "file://"):
        if url.startswith(prefix):
            path = url[len(prefix) :]
            return Path("/" + path if prefix.endswith("/") else path)
    return None


def filesystem_transport_options(folder: Path) -> dict[str, Any]:
    """Create the embedded broker's folders and return kombu's transport options for them."""
    queue, processed, control = folder / "queue", folder / "processed", folder / "control"
    for path in (queue, processed, control):
        path.mkdir(parents=True, exist_ok=True)
    return {
        "data_folder_in": str(queue),
        "data_folder_out": str(queue),
        "processed_folder": str(processed),
        "store_processed": False,
        # Remote control and broadcasts use fanout exchanges, stored here (default: ./control).
        "control_folder": str(control),
    }


def beat_schedule(settings: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """What the scheduler (``suijian worker --beat``) sends, and when (Asia/Shanghai)."""
    return {
        # The backstop of the outbox: commits kick a drain at once, this catches the rest.
        "drain-outbox": {
            "task": "enforcement.tasks.drain_outbox",
            "schedule": float(settings.get("suijian.outbox_drain_seconds") or 5),
        },
        # The backstop of the feed to the data center (commits kick a delivery at once).
        "deliver-feed": {
            "task": "enforcement.tasks.deliver_feed",
            "schedule": float(settings.get("suijian.feed.schedule_seconds") or 5),
        },
        # Statutory clocks: alerts before and at each deadline, re-inspections when overdue.
        "scan-clocks": {
            "task": "enforcement.tasks.scan_clocks",
            "schedule": float(settings.get("suijian.clocks.scan_seconds") or 300),
        },
        # Publication (一公开): what is due is published, well within its 20 working days.
        "publish-due": {
            "task": "enforcement.tasks.publish_due",
            "schedule": 60.0 * float(settings.get("suijian.publication.schedule_minutes") or 15),
        },
        # The joint rewards-and-punishments list: additions and removals for other departments.
        "sync-joint-list": {
            "task": "enforcement.tasks.sync_joint_list",
            "schedule": 60.0 * float(settings.get("suijian.joint_list.schedule_minutes") or 10),
        },
        # The full re-rating of every enterprise (SAMR classifies monthly; nightly is cheap).
        "rerate-all": {
            "task": "enforcement.tasks.rerate_all",
            "schedule": crontab(
                minute=int(settings.get("suijian.rerate_minute") or 30),
                hour=int(settings.get("suijian.rerate_hour") or 2),
            ),
        },
        # Anchors of the audit chain, published (API) and fed to the data center.
        "anchor-audit-log": {
            "task": "enforcement.tasks.anchor_audit_log",
            "schedule": float(settings.get("suijian.audit.anchor_seconds") or 3600),
        },
    }


def configure(app: Celery, settings: Mapping[str, Any]) -> Celery:
    """Configure ``app`` from ini settings; returns it. Safe to call again with new settings."""
    broker_url = str(settings.get("celery.broker_url") or DEFAULT_BROKER_URL).strip()
    result_backend = str(
        settings.get("celery.result_backend") or f"file://{_var_dir(settings)}/celery-results"
    ).strip()
    options: dict[str, Any] = {
        "broker_url": broker_url,
        "result_backend": result_backend,
        "task_serializer": "json",
        "result_serializer": "json",
        "accept_content": ["json"],
        "timezone": "Asia/Shanghai",
        "enable_utc": True,
        # A task is acknowledged once it has run, so a worker lost mid-task hands it back;
        # tasks are therefore written to be idempotent.
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "task_routes": None,
        "result_expires": 24 * 3600,
        "broker_connection_retry_on_startup": True,
        "broker_transport_options": {},
        "beat_schedule": beat_schedule(settings),
        "beat_schedule_filename": str(_var_dir(settings) / "celerybeat-schedule"),
        SETTINGS_KEY: dict(settings),
    }
    if broker_url.startswith("filesystem:"):
        # The transport ignores host and path; naming a host avoids kombu's warning about it.
        options["broker_url"] = "filesystem://localhost//"
        folder = Path(str(settings.get("celery.broker_folder") or _var_dir(settings) / "broker"))
        options["broker_transport_options"] = filesystem_transport_options(folder.resolve())
    results_dir = _file_backend_path(result_backend)
    if results_dir is not None:
        # Celery's file backend refuses to start when its directory is missing.
        results_dir.mkdir(parents=True, exist_ok=True)
    app.conf.update(options)
    _forget_connections(app)
    return app


def _forget_connections(app: Celery) -> None:
    # Celery caches the broker pool and result backend on first use; drop them so that a
    # re-configured app (tests, a reloaded ini) talks to the new broker and backend. The pools
    # themselves live on in kombu's registry (keyed by broker URL), so they are not closed.
    app._pool = None
    if "amqp" in app.__dict__:
        app.amqp._producer_pool = None
    app._backend_cache = None
    app._local = threading.local()


# --- the database, per worker process -------------------------------------------------------

_engines: dict[tuple[int, str], tuple[Engine, sessionmaker[Session]]] = {}
_engines_lock = threading.Lock()


def task_sessions(app: Celery | None = None) -> sessionmaker[Session]:
    """The session factory of this process for ``app``'s database, created on first use."""
    settings = (app or celery_app).conf.get(SETTINGS_KEY)
    if not settings:
        raise RuntimeError("the Celery app is not configured: call enforcement.worker.configure")
    key = (os.getpid(), str(settings.get("sqlalchemy.url")))
    with _engines_lock:
        if key not in _engines:
            engine = engine_from_settings(settings)
            _engines[key] = (engine, session_factory(engine))
        return _engines[key][1]


@contextmanager
def task_session(app: Celery | None = None) -> Iterator[Session]:
    """One transaction for a task: committed when the block succeeds, else rolled back."""
    with session_scope(task_sessions(app)) as session:
        session.info[CELERY_APP_INFO] = app or celery_app  # commits kick the outbox drain
        yield session


def run_in_session(fn: Callable[[Session], T], app: Celery | None = None) -> T:
    """Run ``fn(session)`` in its own transaction and return its result."""
    with task_session(app) as session:
        return fn(session)


def dispose_engines(close: bool = True) -> None:
    """Forget every engine; ``close=False`` after a fork (the parent owns those sockets)."""
    with _engines_lock:
        for engine, _ in _engines.values():
            engine.dispose(close=close)
        _engines.clear()


@worker_process_init.connect
def _after_fork(**_: Any) -> None:
    dispose_engines(close=False)


@worker_process_shutdown.connect
def _on_shutdown(**_: Any) -> None:
    dispose_engines()
