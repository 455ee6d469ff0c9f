"""The reference receiver's storage: one SQLite file (stdlib sqlite3; it is its own program)."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from enforcement.feed.signing import canonical_json, idempotency_key, summary_digest

SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    idempotency_key TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    record_key TEXT NOT NULL,
    version INTEGER NOT NULL,
    payload TEXT NOT NULL,
    payload_sha256 TEXT NOT NULL,
    created_at TEXT NOT NULL,
    received_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    receipts INTEGER NOT NULL DEFAULT 1
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS records_kind ON records (kind, record_key, version);
"""

_FIELDS = {
    "idempotency_key": str,
    "kind": str,
    "record_key": str,
    "version": int,
    "payload_sha256": str,
    "created_at": str,
}


class Store:
    """Received records keyed by idempotency key: a key is stored once; a repeat with the same
    payload hash is acknowledged again (and counted in ``receipts``), one with a different hash
    is refused."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        with self._connect() as conn:
            conn.executescript(SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            self._local.conn = conn
        return conn

    def store(self, records: Iterable[Any]) -> tuple[list[str], dict[str, str]]:
        """Keep the valid new records in one transaction; returns (accepted keys, rejected key
        -> reason). Accepted includes keys already held with the same payload hash."""
        valid: dict[str, tuple[Any, ...]] = {}
        rejected: dict[str, str] = {}
        for record in records:
            key, row, problem = _check(record)
            if problem is not None:
                rejected[key or "?"] = problem
            elif key in valid and valid[key][5] != row[5]:
                rejected[key] = "the same key twice with different payloads"
            else:
                valid[key] = row
        conn = self._connect()
        conn.execute("BEGIN IMMEDIATE")
        try:
            held: dict[str, str] = {}
            keys = list(valid)
            for start in range(0, len(keys), 500):
                chunk = keys[start : start + 500]
                marks = ",".join("?" * len(chunk))
                held.update(
                    conn.execute(
                        "SELECT idempotency_key, payload_sha256 FROM records "
                        f"WHERE idempotency_key IN ({marks})",
                        chunk,
                    ).fetchall()
                )
            for key, sha in held.items():
                if valid[key][5] != sha:
                    rejected[key] = "already received with a different payload"
                    del valid[key]
            conn.executemany(
                "INSERT OR IGNORE INTO records (idempotency_key, kind, record_key, version, "
                "payload, payload_sha256, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [row for key, row in valid.items() if key not in held],
            )
            conn.executemany(
                "UPDATE records SET receipts = receipts + 1 WHERE idempotency_key = ?",
                [(key,) for key in valid if key in held],
            )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return list(valid), rejected

    def summary(self, *, keys: bool = False) -> dict[str, Any]:
        """``count``, ``digest`` (see ``summary_digest``) and, with ``keys``, key -> hash."""
        rows = self._connect().execute("SELECT idempotency_key, payload_sha256 FROM records")
        held = dict(rows.fetchall())
        answer: dict[str, Any] = {"count": len(held), "digest": summary_digest(held.items())}
        if keys:
            answer["keys"] = held
        return answer

    def records(self, kind: str | None = None) -> list[dict[str, Any]]:
        query = (
            "SELECT idempotency_key, kind, record_key, version, payload, payload_sha256, "
            "created_at, received_at, receipts FROM records"
        )
        params: tuple[Any, ...] = ()
        if kind:
            query += " WHERE kind = ?"
            params = (kind,)
        query += " ORDER BY kind, record_key, version"
        names = (
            "idempotency_key",
            "kind",
            "record_key",
            "version",
            "payload",
            "payload_sha256",
            "created_at",
            "received_at",
            "receipts",
        )
        found = []
        for row in self._connect().execute(query, params):
            record = dict(zip(names, row, strict=True))
            record["payload"] = json.loads(record["payload"])
            found.append(record)
        return found

    def counts(self) -> dict[str, int]:
        """``records`` held and ``duplicates``: deliveries beyond the first of a key."""
        count, receipts = (
            self._connect()
            .execute("SELECT count(*), coalesce(sum(receipts), 0) FROM records")
            .fetchone()
        )
        return {"records": count, "duplicates": receipts - count}

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None


def _check(record: Any) -> tuple[str | None, tuple[Any, ...], str | None]:
    """(key, row, problem): a record must be complete, keyed as it says and hashed right."""
    if not isinstance(record, Mapping):
        return None, (), "not an object"
    key = record.get("idempotency_key")
    key = key if isinstance(key, str) else None
    for name, kind in _FIELDS.items():
        value = record.get(name)
        if not isinstance(value, kind) or isinstance(value, bool):
            return key, (), f"{name}: missing or not a {kind.__name__}"
    if "payload" not in record:
        return key, (), "payload: missing"
    expected = idempotency_key(record["kind"], record["record_key"], record["version"])
    if key != expected:
        return key, (), f"idempotency_key: expected {expected!r}"
    try:
        canonical = canonical_json(record["payload"])
    except (TypeError, ValueError):
        return key, (), "payload: not canonical JSON"
    if hashlib.sha256(canonical).hexdigest() != record["payload_sha256"]:
        return key, (), "payload_sha256: does not match the payload"
    row = (
        key,
        record["kind"],
        record["record_key"],
        record["version"],
        canonical.decode("utf-8"),
        record["payload_sha256"],
        record["created_at"],
    )
    return key, row, None


__all__ = ["Store"]
