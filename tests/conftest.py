"""Shared fixtures: the same tests run on SpatiaLite and on PostGIS, a savepoint per test.

PostgreSQL and Redis: $SUIJIAN_TEST_POSTGRES_URL / $SUIJIAN_TEST_REDIS_URL when set, else
throwaway servers started here. With CI=true a service that cannot start fails the run.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from enforcement import devservices, migrate
from enforcement.db import make_engine

BACKENDS = ("spatialite", "postgis")

# Under CI, property tests use a fixed derivation of examples, so a run is reproducible.
settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
if os.environ.get("CI", "").lower() == "true":
    settings.load_profile("ci")
# The real data sets beside the project (../shared/data), or where $SUIJIAN_SHARED_DATA says.
SHARED_DATA = Path(
    os.environ.get("SUIJIAN_SHARED_DATA")
    or Path(__file__).resolve().parents[1].parent / "shared" / "data"
)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--backend",
        choices=(*BACKENDS, "all"),
        default=os.environ.get("SUIJIAN_TEST_BACKEND", "all"),
        help="database backend(s) for database tests (default: all)",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames:
        chosen = metafunc.config.getoption("backend")
        backends = BACKENDS if chosen == "all" else (chosen,)
        metafunc.parametrize("backend", backends, scope="session")


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"required service unavailable under CI: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        _unavailable(f"shared data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def postgres() -> Iterator[devservices.Postgres]:
    configured = os.environ.get("SUIJIAN_TEST_POSTGRES_URL")
    if configured:
        yield devservices.Postgres(url=configured)
        return
    try:
        with devservices.throwaway_postgres() as server:
            yield server
    except devservices.ServiceUnavailableError as exc:
        _unavailable(str(exc))


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    configured = os.environ.get("SUIJIAN_TEST_REDIS_URL")
    if configured:
        yield configured
        return
    try:
        with devservices.throwaway_redis() as url:
            yield url
    except devservices.ServiceUnavailableError as exc:
        _unavailable(str(exc))


@pytest.fixture(scope="session")
def new_database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """Factory: ``new_database_url(backend)`` gives the URL of a fresh, empty database."""

    def create(backend: str) -> str:
        name = f"suijian_test_{uuid.uuid4().hex[:10]}"
        if backend == "spatialite":
            return f"sqlite:///{tmp_path_factory.mktemp('db') / name}.sqlite"
        return request.getfixturevalue("postgres").create_database(name)

    return create


@pytest.fixture(scope="session")
def engine(backend: str, new_database_url) -> Iterator[Engine]:  # type: ignore[no-untyped-def]
    """A migrated database of the backend under test, shared by the session."""
    engine = make_engine(new_database_url(backend))
    migrate.upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def db_session(engine: Engine) -> Iterator[Session]:
    """A session whose every commit is a savepoint inside a transaction rolled back after."""
    with engine.connect() as connection:
        outer = connection.begin()
        session = Session(bind=connection, join_transaction_mode="create_savepoint")
        from tests import factories

        factories.bind(session)
        try:
            yield session
        finally:
            session.close()
            with contextlib.suppress(Exception):
                outer.rollback()
