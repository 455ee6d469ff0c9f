"""request.enqueue: the task message leaves only after the request's transaction commits."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import webtest

from mobile_api.queue import CELERY_KEY


def _queue_folder(app) -> Path:  # type: ignore[no-untyped-def]
    options = app.registry[CELERY_KEY].conf.broker_transport_options
    return Path(options["data_folder_out"])


def _enqueue_views(config) -> None:  # type: ignore[no-untyped-def]
    def enqueue(request):  # type: ignore[no-untyped-def]
        request.enqueue("enforcement.tasks.ping")
        # Still inside the transaction: nothing may have been sent yet.
        queued_during_request = len(list(_queue_folder(request).iterdir()))
        if request.matchdict["outcome"] == "fail":
            raise RuntimeError("the request fails after enqueueing")
        return {"queued_during_request": queued_during_request}

    config.add_route("test.enqueue", "/api/v1/test-enqueue/{outcome}")
    config.add_view(enqueue, route_name="test.enqueue", renderer="json")


@pytest.fixture
def app(web_engine, build_app, data):  # type: ignore[no-untyped-def]
    return build_app(web_engine, extend=_enqueue_views)


def test_task_is_sent_after_commit(app) -> None:
    queue = _queue_folder(app)
    response = webtest.TestApp(app).get("/api/v1/test-enqueue/ok")
    assert response.json == {"queued_during_request": 0}
    messages = list(queue.iterdir())
    assert len(messages) == 1
    body = json.loads(messages[0].read_text())
    assert body["headers"]["task"] == "enforcement.tasks.ping"


def test_task_is_not_sent_when_the_request_fails(app) -> None:
    webtest.TestApp(app).get("/api/v1/test-enqueue/fail", status=500)
    assert list(_queue_folder(app).iterdir()) == []
