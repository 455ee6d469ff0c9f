"""Fixtures for the web application, run on both backends.

Approach: pyramid_tm really commits, so the savepoint-based ``db_session`` cannot hold the
app's writes. Instead each backend gets a fresh migrated database of its own (the app is built
once per backend with ``sqlalchemy.url`` pointing at it, exactly as in production), tests
create data through the factories bound to a committing session on that database, and every
table is emptied after each test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import webtest
from pyramid.router import Router
from sqlalchemy import Engine, delete
from sqlalchemy.orm import Session

from enforcement import migrate
from enforcement.db import make_engine
from enforcement.models import Base, Role, User
from enforcement.security import hash_password
from enforcement.settings import ENV_OVERRIDES
from mobile_api import configure
from tests import factories

PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="session")
def web_engine(backend: str, new_database_url: Callable[[str], str]) -> Iterator[Engine]:
    """A migrated database that only the web tests use (one per backend)."""
    engine = make_engine(new_database_url(backend))
    migrate.upgrade(engine)
    yield engine
    engine.dispose()


def web_settings(engine: Engine, folder: Path, **extra: Any) -> dict[str, Any]:
    return {
        "sqlalchemy.url": engine.url.render_as_string(hide_password=False),
        "suijian.secret_key": "test-secret",
        "suijian.var_dir": str(folder),
        "celery.broker_url": "filesystem://",
        "celery.broker_folder": str(folder / "broker"),
        "celery.result_backend": f"file://{folder}/celery-results",
        "pyramid.includes": "pyramid_tm pyramid_retry",
        **extra,
    }


@pytest.fixture(scope="session")
def build_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., Router]]:
    """Factory: the real application for settings, optionally with extra test views.

    The environment overrides (DATABASE_URL...) are cleared while building, so a developer's
    shell cannot point the tests at another database.
    """
    built: list[Router] = []

    def build(engine: Engine, extend: Callable[[Any], None] | None = None, **extra: Any) -> Router:
        folder = tmp_path_factory.mktemp("web")
        with pytest.MonkeyPatch.context() as env:
            for variable in ENV_OVERRIDES:
                env.delenv(variable, raising=False)
            config = configure(web_settings(engine, folder, **extra))
        if extend is not None:
            extend(config)
        router = config.make_wsgi_app()
        built.append(router)
        return router

    yield build
    for router in built:
        router.registry["sqlalchemy.engine"].dispose()


@pytest.fixture(scope="session")
def web_app(web_engine: Engine, build_app: Callable[..., Router]) -> Router:
    return build_app(web_engine)


@pytest.fixture
def data(web_engine: Engine) -> Iterator[Session]:
    """A committing session for test data (factories are bound to it); emptied afterwards."""
    session = Session(bind=web_engine, expire_on_commit=False)
    factories.bind(session)
    try:
        yield session
    finally:
        session.rollback()
        session.close()
        with web_engine.begin() as connection:
            for table in reversed(Base.metadata.sorted_tables):
                connection.execute(delete(table))


@pytest.fixture
def testapp(web_app: Router, data: Session) -> webtest.TestApp:
    return webtest.TestApp(web_app)


@pytest.fixture
def make_user(data: Session) -> Callable[..., User]:
    def make(username: str, role: Role, password: str = PASSWORD, **fields: Any) -> User:
        user = User(
            username=username,
            display_name=fields.pop("display_name", username.title()),
            role=role,
            password_hash=hash_password(password),
            **fields,
        )
        data.add(user)
        data.commit()
        return user

    return make


def submit_login(
    app: webtest.TestApp, username: str, password: str = PASSWORD
) -> webtest.TestResponse:
    """Fill in and submit the real login form (with its CSRF token)."""
    form = app.get("/login").forms["login-form"]
    form["username"] = username
    form["password"] = password
    return form.submit()


@pytest.fixture
def sign_in() -> Callable[..., webtest.TestResponse]:
    return submit_login
