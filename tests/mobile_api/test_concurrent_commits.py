"""A request whose first write comes after another request committed, on both backends.

On SQLite (WAL) such a write is refused at once with ``SQLITE_BUSY_SNAPSHOT`` ("database is
locked"): the request began reading before the other commit, and ``busy_timeout`` does not wait
for that case. The request is then run again from the start (pyramid_retry), so the client gets
its real answer, not a 503. PostgreSQL (read committed) never refuses it; the same test holds.
Failed sign-ins are the example: they read (the address's count) and then write (the failure),
and an attacker's concurrent attempts collide in exactly this way.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import webtest
from pyramid.router import Router
from sqlalchemy import Engine, event, insert
from sqlalchemy.orm import Session

from enforcement.models import SigninFailure, utcnow
from tests.mobile_api.test_signin_limits import failures_of

ATTACKER = "203.0.113.99"
BYSTANDER = "198.51.100.99"
PRUNE = "DELETE FROM signin_failures"  # the first write of a refused sign-in


@contextlib.contextmanager
def commit_before_first_write(app: Router, commit: Callable[[], None]) -> Iterator[list[str]]:
    """Run ``commit`` (another connection's transaction) just before the application's first
    ``PRUNE``; yields the list of every ``PRUNE`` the application then ran."""
    engine = app.registry["sqlalchemy.engine"]
    prunes: list[str] = []

    def before(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().startswith(PRUNE):
            if not prunes:
                commit()
            prunes.append(statement)

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield prunes
    finally:
        event.remove(engine, "before_cursor_execute", before)


def bystander_fails(web_engine: Engine) -> Callable[[], None]:
    def commit() -> None:
        with web_engine.begin() as connection:
            connection.execute(insert(SigninFailure).values(address=BYSTANDER, at=utcnow()))

    return commit


def test_an_api_sign_in_is_answered_despite_a_commit_before_its_first_write(
    web_app: Router, web_engine: Engine, data: Session
) -> None:
    client = webtest.TestApp(web_app, extra_environ={"REMOTE_ADDR": ATTACKER})
    with commit_before_first_write(web_app, bystander_fails(web_engine)) as prunes:
        response = client.post_json(
            "/api/v1/tokens", {"username": "nobody-here", "password": "wrong"}, status="*"
        )
    assert response.status_int == 401, response.text
    assert failures_of(data, ATTACKER) == 1  # the retried request counted once
    assert failures_of(data, BYSTANDER) == 1  # the other request's commit is kept
    sqlite = web_engine.dialect.name == "sqlite"
    assert len(prunes) == (2 if sqlite else 1)  # SQLite refused the first attempt's write


def test_a_page_sign_in_is_answered_despite_a_commit_before_its_first_write(
    web_app: Router, web_engine: Engine, data: Session
) -> None:
    client = webtest.TestApp(web_app, extra_environ={"REMOTE_ADDR": ATTACKER})
    form = client.get("/login").forms["login-form"]
    form["username"], form["password"] = "nobody-here", "wrong"
    with commit_before_first_write(web_app, bystander_fails(web_engine)) as prunes:
        response = form.submit(status="*")
    assert response.status_int == 200, response.status  # the form again, with its error
    assert "login-form" in response.forms
    assert failures_of(data, ATTACKER) == 1
    assert failures_of(data, BYSTANDER) == 1
    assert len(prunes) == (2 if web_engine.dialect.name == "sqlite" else 1)
