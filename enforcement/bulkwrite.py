"""Batch writes of many rows in the session's transaction: COPY on PostgreSQL, executemany
elsewhere.

For the batches that touch every enterprise (a province's re-rating writes millions of rating
and audit rows): psycopg's COPY moves rows about ten times faster than multi-row INSERT or
UPDATE statements, whose text the driver must build and parse. Values go through the columns'
own bind processors (type decorators, enums, JSON), so a row written here is the row the ORM
would have written. Rows are plain dicts keyed by column name; every dict of one call has the
same keys, and a column left out must have no Python-side default (its server default, if
any, applies), so that nothing silently differs from an ORM insert.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import orjson
from sqlalchemy import JSON, Table, bindparam, insert, text, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

#: Rows from which an update goes through a temporary table on PostgreSQL.
UPDATE_VIA_COPY = 200


def insert_rows(session: Session, table: Table, rows: Sequence[Mapping[str, Any]]) -> int:
    """Insert ``rows`` into ``table``; returns how many."""
    if not rows:
        return 0
    names = _columns_of(table, rows)
    conn = _connection(session)
    if conn.dialect.name != "postgresql":
        conn.execute(insert(table), list(rows))
        return len(rows)
    _copy(conn, table.name, names, _processed(conn, table, names, rows))
    return len(rows)


def update_rows(
    session: Session, table: Table, rows: Sequence[Mapping[str, Any]], *, key: str = "id"
) -> int:
    """Set the given columns of the rows whose ``key`` matches; returns how many were given.

    On PostgreSQL, from ``UPDATE_VIA_COPY`` rows on, the rows are COPYed into a temporary
    table and applied with one ``UPDATE … FROM``; fewer (an inspector's own change) are one
    executemany, which spares the system catalogue a temporary table per request."""
    if not rows:
        return 0
    names = _columns_of(table, rows, required=(key,))
    conn = _connection(session)
    if conn.dialect.name != "postgresql" or len(rows) < UPDATE_VIA_COPY:
        statement = (
            update(table)
            .where(table.c[key] == _bind(key))
            .values({name: _bind(name) for name in names if name != key})
        )
        conn.execute(statement, [{f"b_{k}": v for k, v in row.items()} for row in rows])
        return len(rows)
    staging = f"bulk_update_{secrets.token_hex(4)}"
    column_list = ", ".join(_quoted(conn, name) for name in names)
    conn.execute(
        text(
            f"CREATE TEMP TABLE {staging} ON COMMIT DROP AS "
            f"SELECT {column_list} FROM {_quoted(conn, table.name)} WITH NO DATA"
        )
    )
    _copy(conn, staging, names, _processed(conn, table, names, rows))
    assignments = ", ".join(
        f"{_quoted(conn, name)} = s.{_quoted(conn, name)}" for name in names if name != key
    )
    conn.execute(
        text(
            f"UPDATE {_quoted(conn, table.name)} AS t SET {assignments} FROM {staging} AS s "
            f"WHERE t.{_quoted(conn, key)} = s.{_quoted(conn, key)}"
        )
    )
    conn.execute(text(f"DROP TABLE {staging}"))
    return len(rows)


def expire_loaded(
    session: Session, entity: type[Any], rows: Sequence[Mapping[str, Any]], *, key: str = "id"
) -> None:
    """Expire the given columns of the ``entity`` objects already loaded in ``session`` whose
    rows ``update_rows`` just wrote past the ORM, so they read the new values."""
    if not rows:
        return
    columns = [name for name in rows[0] if name != key]
    identity_map = session.identity_map
    for values in rows:
        loaded = identity_map.get(Session.identity_key(entity, values[key]))
        if loaded is not None:
            session.expire(loaded, columns)


def _connection(session: Session) -> Connection:
    session.flush()  # pending ORM changes first: the rows may refer to them
    return session.connection()


def _columns_of(
    table: Table, rows: Sequence[Mapping[str, Any]], required: Sequence[str] = ()
) -> list[str]:
    names = list(rows[0])
    keys = rows[0].keys()
    if any(row.keys() != keys for row in rows):
        raise ValueError(f"{table.name}: every row must give the same columns")
    unknown = [name for name in names if name not in table.c]
    if unknown:
        raise ValueError(f"{table.name}: no column {unknown[0]!r}")
    for name in required:
        if name not in names:
            raise ValueError(f"{table.name}: the rows must give {name!r}")
    defaulted = [
        column.name
        for column in table.c
        if column.name not in names and column.default is not None and not column.primary_key
    ]
    if defaulted and not required:  # an update leaves the other columns as they are
        raise ValueError(f"{table.name}: give {defaulted[0]!r} (it has a Python-side default)")
    return names


def _processed(
    conn: Connection, table: Table, names: Sequence[str], rows: Sequence[Mapping[str, Any]]
) -> list[tuple[Any, ...]]:
    dialect = conn.dialect
    processors: list[Callable[[Any], Any] | None] = [
        _json_text(table.c[name].type)
        if isinstance(table.c[name].type, JSON)
        else table.c[name].type._cached_bind_processor(dialect)
        for name in names
    ]
    out = []
    for row in rows:
        out.append(
            tuple(
                value if process is None else process(value)
                for value, process in zip((row[name] for name in names), processors, strict=True)
            )
        )
    return out


# What the standard encoder also takes: non-string keys (as strings), NumPy scalars.
_JSON_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY


def _json_text(column_type: JSON) -> Callable[[Any], str | None]:
    """JSON as COPY text (orjson: the standard encoder was most of a rating batch's time).
    Like the column's own processor: None is JSON null unless the column says SQL NULL."""

    def text_of(value: Any) -> str | None:
        if value is None and column_type.none_as_null:
            return None
        return orjson.dumps(value, option=_JSON_OPTIONS).decode()

    return text_of


def _copy(conn: Connection, table: str, names: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
    driver = conn.connection.driver_connection
    column_list = ", ".join(_quoted(conn, name) for name in names)
    with (
        driver.cursor() as cursor,
        cursor.copy(  # type: ignore[union-attr]
            f"COPY {_quoted(conn, table)} ({column_list}) FROM STDIN"
        ) as copy,
    ):
        for row in rows:
            copy.write_row(row)


def _quoted(conn: Connection, name: str) -> str:
    return conn.dialect.identifier_preparer.quote(name)


def _bind(name: str) -> Any:
    return bindparam(f"b_{name}")


__all__ = ["expire_loaded", "insert_rows", "update_rows"]
