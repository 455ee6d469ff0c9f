"""``suijian audit verify | anchor | show`` on a real database of each backend: a clean chain
verifies (exit 0, a summary), tampering through raw SQL makes ``verify`` exit 1 naming the
first broken entry, anchors kept outside catch a rewrite of the anchors table."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from enforcement import migrate
from enforcement.cli import main
from enforcement.db import make_engine
from enforcement.models import AuditLog, Department
from enforcement.models.audit import compute_entry_hash
from enforcement.services import audit
from enforcement.settings import ENV_OVERRIDES


@dataclass
class Cli:
    ini: Path
    engine: Engine
    runner: CliRunner

    def __call__(self, *args: str, code: int = 0) -> Result:
        result = self.runner.invoke(main, ["-c", str(self.ini), *args])
        assert result.exit_code == code, result.output
        return result

    def write(self, n: int) -> list[AuditLog]:
        with Session(self.engine, expire_on_commit=False) as session:
            department = Department(code=f"D{n}", name="东阳市市场监督管理局")
            session.add(department)
            rows = [
                audit.record(session, None, "test.cli", department, {"n": i, "名": "值"})
                for i in range(n)
            ]
            session.commit()
            return rows


@pytest.fixture
def cli(
    backend: str,
    new_database_url,  # type: ignore[no-untyped-def]
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Cli]:
    for variable in (*ENV_OVERRIDES, "SUIJIAN_INI"):
        monkeypatch.delenv(variable, raising=False)
    url = new_database_url(backend)
    engine = make_engine(url)
    migrate.upgrade(engine)
    ini = tmp_path / "test.ini"
    ini.write_text(
        f"[app:main]\nuse = egg:suijian\nsqlalchemy.url = {url.replace('%', '%%')}\n",
        encoding="utf-8",
    )
    yield Cli(ini, engine, CliRunner())
    engine.dispose()


def _json_sql(engine: Engine) -> str:
    return "CAST(:details AS JSON)" if engine.dialect.name == "postgresql" else ":details"


def _at(engine: Engine, value: dt.datetime) -> object:
    """A timestamp for raw SQL as each backend stores it (SQLite: UTC text)."""
    if engine.dialect.name == "postgresql":
        return value
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def test_verify_anchor_and_show_on_a_clean_chain(cli: Cli, tmp_path: Path) -> None:
    assert "audit log empty" in cli("audit", "verify").output
    assert "audit log empty" in cli("audit", "anchor").output
    rows = cli.write(6)

    output = cli("audit", "verify").output
    assert "audit chain OK: 6 entries (seq 1–6), 0 anchor(s) matched" in output
    assert rows[-1].entry_hash in output

    anchored = cli("audit", "anchor").output
    assert anchored.startswith(f"anchored seq 6: {rows[-1].entry_hash}")
    assert "nothing new since the anchor of seq 6" in cli("audit", "anchor").output
    report = json.loads(cli("audit", "verify", "--json").output)
    assert report["ok"] is True and report["entries"] == 6 and report["anchors"] == 1

    shown = [
        json.loads(line)
        for line in cli("audit", "show", "--last", "2", "--json").output.splitlines()
    ]
    assert [entry["seq"] for entry in shown] == [5, 6]
    assert shown[1]["prev_hash"] == shown[0]["entry_hash"]
    trail = cli("audit", "show", "--entity", f"departments:{rows[0].entity_id}").output
    assert trail.count("test.cli") == 6 and '"名": "值"' in trail
    assert "seq        3" in cli("audit", "show", "--seq", "3").output
    cli("audit", "show", "--entity", "departments", code=2)


def test_verify_exits_1_naming_the_first_broken_entry(cli: Cli) -> None:
    rows = cli.write(5)
    with cli.engine.begin() as connection:
        connection.execute(
            text(f"UPDATE audit_log SET details = {_json_sql(cli.engine)} WHERE id = :id"),
            {"details": json.dumps({"n": 99}), "id": rows[2].id},
        )
    result = cli("audit", "verify", code=1)
    assert f"audit chain BROKEN at seq 3 (id {rows[2].id}): content does not match" in (
        result.output
    )
    assert "2 entries verified before it" in result.output
    report = json.loads(cli("audit", "verify", "--json", code=1).output)
    assert report["broken"]["seq"] == 3 and report["broken"]["id"] == rows[2].id
    refused = cli("audit", "anchor", code=1).output
    assert "nothing anchored" in refused and f"(id {rows[2].id})" in refused


def test_deleted_and_inserted_rows_make_verify_fail(cli: Cli) -> None:
    rows = cli.write(4)
    with cli.engine.begin() as connection:
        connection.execute(text("DELETE FROM audit_log WHERE id = :id"), {"id": rows[1].id})
    assert "BROKEN at seq 2 (id -): missing" in cli("audit", "verify", code=1).output

    with cli.engine.begin() as connection:  # put it back exactly: the chain is whole again
        connection.execute(
            text(
                "INSERT INTO audit_log (id, at, actor_id, action, entity_type, entity_id, "
                f"details, seq, prev_hash, entry_hash) VALUES (:id, :at, NULL, :action, "
                f":entity_type, :entity_id, {_json_sql(cli.engine)}, :seq, :prev, :hash)"
            ),
            {
                "id": rows[1].id,
                "at": _at(cli.engine, rows[1].at),
                "action": rows[1].action,
                "entity_type": rows[1].entity_type,
                "entity_id": rows[1].entity_id,
                "details": json.dumps(rows[1].details),
                "seq": rows[1].seq,
                "prev": rows[1].prev_hash,
                "hash": rows[1].entry_hash,
            },
        )
    assert "audit chain OK: 4 entries" in cli("audit", "verify").output

    with cli.engine.begin() as connection:  # a row added behind the application's back
        connection.execute(
            text(
                "INSERT INTO audit_log (at, actor_id, action, entity_type, entity_id, details) "
                f"VALUES (:at, NULL, 'plan.approve', 'sampling_plans', '1', "
                f"{_json_sql(cli.engine)})"
            ),
            {"at": _at(cli.engine, rows[0].at), "details": "{}"},
        )
        inserted = connection.scalar(select(AuditLog.id).order_by(AuditLog.id.desc()).limit(1))
    output = cli("audit", "verify", code=1).output
    assert f"BROKEN at seq - (id {inserted}): not chained" in output


def test_anchors_kept_outside_catch_a_rewrite_of_the_whole_database(
    cli: Cli, tmp_path: Path
) -> None:
    rows = cli.write(3)
    cli("audit", "anchor")
    with Session(cli.engine) as session:
        published = {"anchors": [audit.anchor_document(a) for a in audit.list_anchors(session)]}
    copy = tmp_path / "anchors.json"
    copy.write_text(json.dumps(published), encoding="utf-8")
    output = cli("audit", "verify", "--anchors", str(copy)).output
    assert "1 anchor(s) matched" in output and "1 of 1 published anchor(s) matched" in output

    # A forger rewrites entry 3 with a valid hash and the anchor along with it.
    forged = compute_entry_hash(
        seq=3,
        at=rows[2].at,
        actor_id=None,
        action=rows[2].action,
        entity_type=rows[2].entity_type,
        entity_id=rows[2].entity_id,
        details={"n": 2, "名": "伪造"},
        prev_hash=rows[2].prev_hash,
    )
    with cli.engine.begin() as connection:
        connection.execute(
            text(
                f"UPDATE audit_log SET details = {_json_sql(cli.engine)}, entry_hash = :hash "
                "WHERE id = :id"
            ),
            {"details": json.dumps({"n": 2, "名": "伪造"}), "hash": forged, "id": rows[2].id},
        )
        connection.execute(text("UPDATE audit_anchors SET entry_hash = :hash"), {"hash": forged})
    assert "audit chain OK" in cli("audit", "verify").output  # the database agrees with itself
    output = cli("audit", "verify", "--anchors", str(copy), code=1).output
    assert f"BROKEN at seq 3 (id {rows[2].id})" in output and "the published anchor" in output

    copy.write_text('[{"seq": 1}]', encoding="utf-8")
    assert "entry_hash" in cli("audit", "verify", "--anchors", str(copy), code=2).output
