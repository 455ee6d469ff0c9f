"""/healthz and /api/v1/health: the database answers and is at the migrations head."""

from __future__ import annotations

import time

import webtest

from enforcement import devservices, migrate
from enforcement.db import make_engine


def test_healthz_ok(testapp) -> None:
    response = testapp.get("/healthz")
    assert response.json == {
        "status": "ok",
        "database": {
            "ok": True,
            "reachable": True,
            "revision": migrate.head_revision(),
            "head": migrate.head_revision(),
        },
    }
    assert response.headers["Cache-Control"] == "no-store"
    assert testapp.get("/api/v1/health").json == response.json


def test_healthz_reports_a_schema_behind_head(backend, new_database_url, build_app) -> None:
    engine = make_engine(new_database_url(backend))  # empty: never migrated
    try:
        app = webtest.TestApp(build_app(engine))
        response = app.get("/healthz", status=503)
        assert response.json["status"] == "error"
        database = response.json["database"]
        assert database["ok"] is False and database["revision"] is None
        assert "suijian db upgrade" in database["error"]
    finally:
        engine.dispose()


def test_healthz_worker_check_fails_cleanly_without_a_worker(web_engine, build_app) -> None:
    # The embedded broker accepts the ping, nobody answers: 503 within the timeout.
    app = webtest.TestApp(build_app(web_engine, **{"suijian.health_worker_timeout": "0.5"}))
    response = app.get("/healthz", params={"worker": "1"}, status=503)
    assert response.json["database"]["ok"] is True
    assert response.json["worker"] == {"ok": False, "error": "no worker answered within 0.5 s"}


def test_healthz_worker_check_fails_fast_when_the_broker_is_down(web_engine, build_app) -> None:
    closed = f"redis://127.0.0.1:{devservices.free_port()}/0"  # nothing listens there
    app = webtest.TestApp(
        build_app(web_engine, **{"celery.broker_url": closed, "celery.result_backend": closed})
    )
    started = time.monotonic()
    response = app.get("/healthz", params={"worker": "1"}, status=503)
    assert time.monotonic() - started < 5
    worker = response.json["worker"]
    assert worker["ok"] is False and worker["error"].startswith("broker unreachable")
