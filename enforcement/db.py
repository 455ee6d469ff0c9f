"""Engines and sessions for the system of record, on SQLite+SpatiaLite or PostgreSQL+PostGIS."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from geoalchemy2.admin.dialects.sqlite import init_spatialite
from sqlalchemy import Engine, create_engine, event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

DEFAULT_SPATIALITE = "mod_spatialite"
#: What a client is told to wait before retrying when the database is unavailable (seconds).
RETRY_AFTER_SECONDS = 30
# SQLSTATE classes of a database that cannot serve now but may soon: connection exceptions
# (08), transaction rollbacks: serialisation failures and deadlocks (40), insufficient
# resources (53), operator intervention: shutdown, restart, recovery (57P).
_UNAVAILABLE_SQLSTATES = ("08", "40", "53", "57P")
# SQLite says the same in words (it has no SQLSTATE).
_SQLITE_UNAVAILABLE = (
    "database is locked",
    "database is busy",
    "disk i/o error",
    "database or disk is full",
    "unable to open database file",
)


def is_sqlite(url_or_engine: str | Engine) -> bool:
    url = url_or_engine.url if isinstance(url_or_engine, Engine) else make_url(url_or_engine)
    return url.get_backend_name() == "sqlite"


def make_engine(url: str, *, spatialite_path: str = DEFAULT_SPATIALITE, **kwargs: Any) -> Engine:
    """Create an engine; SQLite connections get SpatiaLite, WAL and enforced foreign keys."""
    if not is_sqlite(url):
        kwargs.setdefault("pool_pre_ping", True)
        return create_engine(url, **kwargs)

    database = make_url(url).database
    if database not in (None, "", ":memory:") and not database.startswith("file:"):
        Path(database).parent.mkdir(parents=True, exist_ok=True)  # var/ on a fresh clone
    kwargs.setdefault("connect_args", {}).setdefault("timeout", 30)
    engine = create_engine(url, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Take over transaction control from pysqlite so that BEGIN/SAVEPOINT behave as on
        # PostgreSQL (SQLAlchemy's documented recipe); needed for nested transactions.
        dbapi_conn.isolation_level = None
        dbapi_conn.enable_load_extension(True)
        try:
            dbapi_conn.load_extension(spatialite_path)
        except Exception as exc:  # sqlite3.OperationalError names only the library
            raise RuntimeError(
                f"cannot load SpatiaLite ({spatialite_path!r}): install the Debian package "
                "libsqlite3-mod-spatialite or set SPATIALITE_LIBRARY_PATH"
            ) from exc
        finally:
            dbapi_conn.enable_load_extension(False)
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA busy_timeout = 30000")
        if database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()
        init_spatialite(dbapi_conn, transaction=True, init_mode="WGS84")

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN")

    return engine


def database_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` (or an exception it was raised from) says the database cannot be
    reached or cannot serve right now, so the same request may succeed if sent again later:
    a lost or refused connection, a server shutting down or restarting, an exhausted pool, a
    locked SQLite file. Programming errors and refused data are not among them."""
    for current in _causes(exc):
        if isinstance(current, sa_exc.TimeoutError):  # no connection free in the pool
            return True
        if isinstance(current, sa_exc.PendingRollbackError) and "invalid transaction" in str(
            current
        ):
            return True  # the session's connection was lost earlier in this request
        if isinstance(current, sa_exc.DBAPIError):
            if current.connection_invalidated:
                return True
            if isinstance(current, (sa_exc.OperationalError, sa_exc.InterfaceError)):
                sqlstate = getattr(current.orig, "sqlstate", None)
                if sqlstate and sqlstate.startswith(_UNAVAILABLE_SQLSTATES):
                    return True
                message = str(current.orig).lower()
                if any(words in message for words in _SQLITE_UNAVAILABLE):
                    return True
                # psycopg: no SQLSTATE means the client failed to reach the server at all.
                if sqlstate is None and current.orig.__class__.__module__.startswith("psycopg"):
                    return True
    return False


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and the exceptions it was raised from or while handling, each once."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


#: SQLite's extended result code for a write refused because another connection committed
#: since this transaction's first read (WAL). ``busy_timeout`` does not wait for it: only a
#: transaction started afresh can write.
SQLITE_BUSY_SNAPSHOT = 517


def stale_snapshot(exc: BaseException) -> bool:
    """Whether ``exc`` (or an exception it was raised from) is SQLite refusing a transaction's
    first write because another one wrote since it began reading (``SQLITE_BUSY_SNAPSHOT``).
    Nothing of the transaction was written; running it again from the start succeeds."""
    return any(
        isinstance(error, sa_exc.DBAPIError)
        and getattr(error.orig, "sqlite_errorcode", None) == SQLITE_BUSY_SNAPSHOT
        for error in _causes(exc)
    )


def engine_from_settings(settings: Mapping[str, Any], **kwargs: Any) -> Engine:
    url = settings.get("sqlalchemy.url")
    if not url:
        raise RuntimeError("sqlalchemy.url is not configured (set DATABASE_URL)")
    return make_engine(
        str(url),
        spatialite_path=str(settings.get("spatialite.library_path") or DEFAULT_SPATIALITE),
        **kwargs,
    )


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work for the command line and tasks: commit on success, else roll back."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
