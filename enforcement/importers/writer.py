"""Set-based writes: bulk-load a TEMP staging table, then upsert from it.

Per chunk of validated rows::

    SELECT s.key FROM staging s WHERE NOT EXISTS (... target t WHERE t.key = s.key)  -- new
    INSERT INTO target AS t (...) SELECT ... FROM staging s WHERE true
        ON CONFLICT (key) DO UPDATE SET a = excluded.a, ..., updated_at = CURRENT_TIMESTAMP
        WHERE t.a IS DISTINCT FROM excluded.a OR ...                               -- changed

Unchanged rows are not touched (their ``updated_at`` stays); the upsert's row count is
inserted + updated. Staging is loaded with ``COPY`` (psycopg 3, text format) on PostgreSQL
and ``executemany`` on SQLite; the same SQL runs on both, only the spatial constructors and
the JSON comparison differ (:class:`SqlDialect`).

Large loads on PostgreSQL: into an empty table, a plan's ``direct`` conversion COPYs the final
column values straight into the target (no staging pass, COPY's multi-row insert path); when
the file is large compared with the table, secondary indexes are dropped and rebuilt once at
the end (inside the transaction, so a rollback restores them). See docs/benchmarks.md.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, text

from enforcement.models import SRID

STAGE_TYPES = {
    # kind: (PostgreSQL, SQLite)
    "text": ("text", "TEXT"),
    "float": ("double precision", "REAL"),
    "int": ("bigint", "INTEGER"),
    "date": ("date", "TEXT"),
    "numeric": ("numeric(18,2)", "NUMERIC"),
    "bool": ("boolean", "INTEGER"),
    "bytes": ("bytea", "BLOB"),
    "json": ("text", "TEXT"),
}


@dataclass(frozen=True)
class StageColumn:
    name: str
    type: str  # a key of STAGE_TYPES


@dataclass(frozen=True)
class Assign:
    """One target column: its SQL over the staging alias ``s``; on conflict compared with
    and replaced by ``excluded.<column>``, unless ``update`` is False."""

    column: str
    expr: str
    compare: str = "plain"  # "plain" | "json"
    update: bool = True  # False: only written when the row is inserted (a default)


@dataclass
class Plan:
    table: str
    key: str
    stage: list[StageColumn]
    assigns: list[Assign]
    params: dict[str, Any] = field(default_factory=dict)
    returning_keys: bool = False
    touch: bool = True  # set updated_at on update
    #: Fresh loads on PostgreSQL: staged chunk -> final (column, stage type, values) to COPY
    #: straight into the empty target table, skipping staging. Must produce exactly what the
    #: assigns' SQL would (the next import compares against it).
    direct: Callable[[Staged], list[tuple[str, str, Values]]] | None = None


@dataclass(frozen=True)
class Constant:
    """A staged column with the same value in every row (written as a literal)."""

    value: Any


@dataclass(frozen=True)
class JsonObjects:
    """A column of JSON object texts kept as a %-template and its slots' texts until written,
    so that COPY lines are made with one format operation per row."""

    template: str  # JSON text with one %s per slot ('%' doubled)
    cells: list[Sequence[str]]  # per slot, the JSON text pasted into it, one per row

    def strings(self) -> list[str]:
        if not self.cells:
            return []
        return [self.template % row for row in zip(*self.cells, strict=True)]


Values = list[Any] | Constant | JsonObjects


@dataclass
class Staged:
    """Validated rows ready to load: staging column -> values (None for NULL)."""

    n: int
    columns: dict[str, Values]
    before: list[Callable[[Connection], None]] = field(default_factory=list)
    arrays: dict[str, Any] = field(default_factory=dict)  # importer's own (e.g. NumPy coords)

    def __len__(self) -> int:
        return self.n

    def materialised(self, name: str) -> list[Any]:
        values = self.columns[name]
        if isinstance(values, Constant):
            return [values.value] * self.n
        if isinstance(values, JsonObjects):
            return values.strings()
        return values


@dataclass
class Prepared:
    """A chunk ready for the database: COPY text (PostgreSQL) or row tuples (SQLite)."""

    n: int
    target: str
    names: list[str]
    data: Any
    before: list[Callable[[Connection], None]]
    seconds: float


@dataclass
class WriteResult:
    inserted: int = 0
    updated: int = 0
    inserted_keys: list[Any] = field(default_factory=list)
    updated_keys: list[Any] = field(default_factory=list)
    prepare_seconds: float = 0.0
    load_seconds: float = 0.0
    write_seconds: float = 0.0
    index_seconds: float = 0.0


def default_if_empty(column: str, default: str) -> Assign:
    """A NOT NULL column with a default: an empty cell means ``default`` (an SQL literal)."""
    return Assign(column, f"COALESCE(s.{column}, {default})")


class SqlDialect:
    def __init__(self, name: str) -> None:
        if name not in ("postgresql", "sqlite"):
            raise ValueError(f"importing needs PostgreSQL or SQLite, not {name}")
        self.name = name
        self.pg = name == "postgresql"

    def point(self, lon: str, lat: str) -> str:
        if self.pg:
            return f"ST_SetSRID(ST_MakePoint({lon}, {lat}), {SRID})"
        return f"MakePoint({lon}, {lat}, {SRID})"

    def geometry_from_wkb(self, wkb: str) -> str:
        return f"ST_GeomFromWKB({wkb}, {SRID})" if self.pg else f"GeomFromWKB({wkb}, {SRID})"

    def json_value(self, expr: str) -> str:
        return f"CAST({expr} AS json)" if self.pg else expr

    def distinct(self, current: str, new: str, compare: str) -> str:
        if compare == "json":
            if self.pg:
                # json has no equality operator; equal text is the common, cheap case.
                return (
                    f"(CASE WHEN CAST({current} AS text) = CAST({new} AS text) THEN false "
                    f"ELSE CAST({current} AS jsonb) IS DISTINCT FROM CAST({new} AS jsonb) END)"
                )
            return f"json({current}) IS NOT json({new})"
        return f"{current} IS DISTINCT FROM {new}" if self.pg else f"{current} IS NOT {new}"

    def stage_type(self, kind: str) -> str:
        return STAGE_TYPES[kind][0 if self.pg else 1]


# --------------------------------------------------------------------------- loading


_COPY_SPECIALS = ("\\", "\t", "\n", "\r")


def _copy_escape(text_value: str) -> str:
    return (
        text_value.replace("\\", "\\\\")
        .replace("\t", "\\t")
        .replace("\n", "\\n")
        .replace("\r", "\\r")
    )


def _copy_text(values: list[Any], kind: str) -> list[str]:
    """One staging column in COPY text format (\\N is NULL)."""
    if kind == "float" or kind == "int":
        return ["\\N" if v is None else repr(v) for v in values]
    if kind == "bool":
        return ["\\N" if v is None else ("t" if v else "f") for v in values]
    if kind == "bytes":
        return ["\\N" if v is None else "\\\\x" + v.hex() for v in values]
    has_null = None in values
    joined = "\x00".join([v for v in values if v is not None] if has_null else values)
    if any(special in joined for special in _COPY_SPECIALS):
        return [
            "\\N"
            if v is None
            else v.replace("\\", "\\\\")
            .replace("\t", "\\t")
            .replace("\n", "\\n")
            .replace("\r", "\\r")
            for v in values
        ]
    return ["\\N" if v is None else v for v in values] if has_null else values


class Writer:
    """Writes staged chunks of one import through the session's connection."""

    STAGING = "suijian_import_staging"

    def __init__(self, conn: Connection, plan: Plan, *, bulk_indexes: bool = False) -> None:
        self.conn = conn
        self.plan = plan
        self.dialect = SqlDialect(conn.dialect.name)
        self.result = WriteResult()
        self._dropped_indexes: list[str] = []
        self._bulk = bulk_indexes and self.dialect.pg
        self._created = False
        self._new_keys_sql, self._upsert_sql = self._statements()
        # A fresh load into an empty table (PostgreSQL) COPYs straight into it.
        self._direct = (
            self.dialect.pg
            and plan.direct is not None
            and not plan.returning_keys
            and conn.exec_driver_sql(f"SELECT 1 FROM {plan.table} LIMIT 1").first() is None
        )

    # -- SQL ----------------------------------------------------------------------------

    def _statements(self) -> tuple[str, str]:
        """The staged keys not in the target yet, and the upsert itself."""
        plan, d = self.plan, self.dialect
        key, table = plan.key, plan.table
        new_keys = (
            f"SELECT s.{key} FROM {self.STAGING} AS s "
            f"WHERE NOT EXISTS (SELECT 1 FROM {table} AS t WHERE t.{key} = s.{key})"
        )
        columns = [key, *(a.column for a in plan.assigns)]
        exprs = [f"s.{key}", *(a.expr for a in plan.assigns)]
        # "WHERE true" keeps SQLite from reading ON CONFLICT as a join constraint.
        upsert = (
            f"INSERT INTO {table} AS t ({', '.join(columns)}) "
            f"SELECT {', '.join(exprs)} FROM {self.STAGING} AS s WHERE true "
            f"ON CONFLICT ({key}) DO "
        )
        updated = [a for a in plan.assigns if a.update]
        if updated:
            sets = [f"{a.column} = excluded.{a.column}" for a in updated]
            if plan.touch:
                sets.append("updated_at = CURRENT_TIMESTAMP")
            differs = " OR ".join(
                d.distinct(f"t.{a.column}", f"excluded.{a.column}", a.compare) for a in updated
            )
            upsert += f"UPDATE SET {', '.join(sets)} WHERE {differs}"
        else:
            upsert += "NOTHING"
        if plan.returning_keys:
            upsert += f" RETURNING {key}"
        return new_keys, upsert

    def _create_staging(self) -> None:
        columns = ", ".join(f"{c.name} {self.dialect.stage_type(c.type)}" for c in self.plan.stage)
        self.conn.exec_driver_sql(f"DROP TABLE IF EXISTS {self.STAGING}")
        self.conn.exec_driver_sql(f"CREATE TEMPORARY TABLE {self.STAGING} ({columns})")
        self._created = True

    # -- bulk index handling (PostgreSQL) -----------------------------------------------

    def _drop_secondary_indexes(self) -> None:
        """Large loads into a small table: rebuilding an index once is cheaper than
        maintaining it row by row (GiST above all). Transactional: a rollback restores it."""
        rows = self.conn.execute(
            text(
                "SELECT CAST(i.indexrelid AS regclass)::text, pg_get_indexdef(i.indexrelid) "
                "FROM pg_index i WHERE i.indrelid = CAST(:t AS regclass) AND NOT EXISTS "
                "(SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)"
            ),
            {"t": self.plan.table},
        ).all()
        self.conn.exec_driver_sql("SET LOCAL maintenance_work_mem = '256MB'")
        for name, definition in rows:
            self.conn.exec_driver_sql(f"DROP INDEX {name}")
            self._dropped_indexes.append(definition)

    def _restore_indexes(self) -> None:
        started = time.perf_counter()
        for definition in self._dropped_indexes:
            self.conn.exec_driver_sql(definition)
        self._dropped_indexes.clear()
        self.result.index_seconds += time.perf_counter() - started

    # -- loading --------------------------------------------------------------------------

    @staticmethod
    def _copy_payload(columns: list[tuple[str, str, Values]], n: int) -> str:
        """Rows in COPY text format; one %-format per row builds each line."""
        parts: list[str] = []
        args: list[Sequence[str]] = []
        for _, kind, values in columns:
            if isinstance(values, Constant):
                parts.append(_copy_text([values.value], kind)[0].replace("%", "%%"))
            elif isinstance(values, JsonObjects):
                parts.append(_copy_escape(values.template))
                args.extend(_copy_text(cells, "text") for cells in values.cells)
            else:
                parts.append("%s")
                args.append(_copy_text(values, kind))
        line = "\t".join(parts)
        if not args:
            return ((line % ()) + "\n") * n
        return "\n".join([line % row for row in zip(*args, strict=True)]) + "\n"

    def prepare(self, staged: Staged) -> Prepared:
        """The pure-Python part of writing a chunk (no database access: any thread)."""
        started = time.perf_counter()
        n = len(staged)
        if self._direct:
            columns = self.plan.direct(staged)  # type: ignore[misc]
            target, names = self.plan.table, [name for name, _, _ in columns]
            data: Any = self._copy_payload(columns, n)
        else:
            target, names = self.STAGING, [c.name for c in self.plan.stage]
            if self.dialect.pg:
                data = self._copy_payload(
                    [(c.name, c.type, staged.columns[c.name]) for c in self.plan.stage], n
                )
            else:
                data = list(zip(*(staged.materialised(name) for name in names), strict=True))
        return Prepared(n, target, names, data, staged.before, time.perf_counter() - started)

    def _load(self, prepared: Prepared) -> None:
        names = ", ".join(prepared.names)
        if self.dialect.pg:
            if prepared.target == self.STAGING:
                self.conn.exec_driver_sql(f"TRUNCATE {self.STAGING}")
            raw = self.conn.connection.driver_connection
            with (
                raw.cursor() as cursor,
                cursor.copy(f"COPY {prepared.target} ({names}) FROM STDIN") as copy,
            ):
                copy.write(prepared.data)
            return
        self.conn.exec_driver_sql(f"DELETE FROM {self.STAGING}")
        placeholders = ", ".join("?" for _ in prepared.names)
        cursor = self.conn.connection.driver_connection.cursor()
        try:
            cursor.executemany(
                f"INSERT INTO {self.STAGING} ({names}) VALUES ({placeholders})", prepared.data
            )
        finally:
            cursor.close()

    def enable_bulk_indexes(self) -> None:
        """Drop secondary indexes before the first chunk and rebuild them at close (PG)."""
        self._bulk = self.dialect.pg and not self._created

    def write(self, staged: Staged | Prepared) -> None:
        prepared = staged if isinstance(staged, Prepared) else self.prepare(staged)
        if not prepared.n:
            return
        self.result.prepare_seconds += prepared.seconds
        if not self._created and not self._direct:
            self._create_staging()
        if self._bulk and not self._dropped_indexes:
            self._drop_secondary_indexes()
            self._bulk = False  # once
        for step in prepared.before:
            step(self.conn)
        started = time.perf_counter()
        self._load(prepared)
        loaded = time.perf_counter()
        self.result.load_seconds += loaded - started
        if self._direct:
            # Fresh load: COPY straight into the target (PostgreSQL's multi-row insert path).
            self.result.inserted += prepared.n
            return
        params = self.plan.params
        # Counted before the upsert, whose row count is inserted + updated.
        new_keys = self.conn.execute(text(self._new_keys_sql), params).scalars().all()
        written = self.conn.execute(text(self._upsert_sql), params)
        self.result.inserted += len(new_keys)
        if self.plan.returning_keys:
            fresh = set(new_keys)
            changed = [k for k in written.scalars() if k not in fresh]
            self.result.inserted_keys.extend(new_keys)
            self.result.updated_keys.extend(changed)
            self.result.updated += len(changed)
        else:
            self.result.updated += written.rowcount - len(new_keys)
        self.result.write_seconds += time.perf_counter() - loaded

    def close(self) -> WriteResult:
        if self._dropped_indexes:
            self._restore_indexes()
        if self._created:
            self.conn.exec_driver_sql(f"DROP TABLE IF EXISTS {self.STAGING}")
            self._created = False
        return self.result


class ThreadedWriter:
    """Runs a Writer in a second thread so that PostgreSQL works while Python validates.

    The database connection is used by the worker thread only, until :meth:`close` returns.
    psycopg releases the GIL while it waits for the server, so both cores are busy.
    """

    _DONE = object()

    def __init__(self, writer: Writer, depth: int = 2) -> None:
        self.writer = writer
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="suijian-import-writer")
        self._thread.start()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is self._DONE:
                return
            if self._error is None:
                try:
                    self.writer.write(item)
                except BaseException as exc:  # re-raised in the caller's thread
                    self._error = exc

    @property
    def result(self) -> WriteResult:
        return self.writer.result

    def write(self, staged: Staged) -> None:
        """Prepare the chunk here (Python work), write it in the worker (database work)."""
        if self._error is not None:
            self._finish()
        self._queue.put(self.writer.prepare(staged))

    def _finish(self) -> None:
        if self._thread.is_alive():
            self._queue.put(self._DONE)
            self._thread.join()
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def close(self) -> WriteResult:
        self._finish()
        return self.writer.close()

    def abandon(self) -> None:
        """Stop the worker (after an error in the producer); the caller rolls back."""
        if self._thread.is_alive():
            self._queue.put(self._DONE)
            self._thread.join()
