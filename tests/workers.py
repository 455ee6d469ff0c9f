"""A real Celery worker for tests: the project's app, configured from settings, in a thread."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from celery import Celery
from celery.contrib.testing.worker import start_worker

from enforcement.worker import celery_app, configure, dispose_engines


@contextlib.contextmanager
def running_worker(settings: dict[str, Any]) -> Iterator[Celery]:
    """The project's Celery app configured from ``settings``, with a worker in a thread."""
    configure(celery_app, settings)
    try:
        with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
            yield celery_app
    finally:
        dispose_engines()
