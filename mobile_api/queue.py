"""``request.enqueue(task, *args, **kwargs)``: send a Celery task once the request commits.

A task sent before the commit could run before its data exists, or for data that is then
rolled back; so the message leaves only from the transaction's after-commit hook.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Celery, Task
from pyramid.config import Configurator
from pyramid.request import Request

from enforcement.worker import configure

log = logging.getLogger(__name__)

CELERY_KEY = "celery.app"


def enqueue(request: Request, task: Task | str, *args: Any, **kwargs: Any) -> None:
    name = task if isinstance(task, str) else task.name
    celery: Celery = request.registry[CELERY_KEY]

    def after_commit(committed: bool) -> None:
        if not committed:
            log.info("task %s not sent: the transaction did not commit", name)
            return
        try:
            celery.send_task(name, args=args, kwargs=kwargs)
        except Exception:  # the data is committed; say loudly that its follow-up is not
            log.exception("task %s could not be sent after commit", name)

    request.tm.get().addAfterCommitHook(after_commit)


def includeme(config: Configurator) -> None:
    # A client-only app: the web process sends by task name and never mutates the worker's
    # global app, so several configured web apps can live in one process (tests).
    client = configure(Celery("suijian", set_as_current=False), config.get_settings())
    # A request must fail fast when the broker or result store is down, not retry for 20 s.
    client.conf.update(
        broker_connection_timeout=2,
        redis_socket_connect_timeout=2,
        result_backend_transport_options={
            "retry_policy": {"max_retries": 1, "interval_start": 0, "interval_max": 1}
        },
    )
    config.registry[CELERY_KEY] = client
    config.add_request_method(enqueue, "enqueue")
