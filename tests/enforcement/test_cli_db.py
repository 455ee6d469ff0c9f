"""``suijian db upgrade|check|downgrade`` against real databases of both engines."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import text

from enforcement.cli import main
from enforcement.db import make_engine


def _ini(tmp_path: Path, url: str) -> str:
    path = tmp_path / "test.ini"
    path.write_text(f"[app:main]\nuse = egg:suijian\nsqlalchemy.url = {url}\n")
    return str(path)


def test_upgrade_then_check(backend: str, new_database_url, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("DATABASE_URL", raising=False)
    ini = _ini(tmp_path, new_database_url(backend))
    runner = CliRunner()

    before = runner.invoke(main, ["-c", ini, "db", "check"])
    assert before.exit_code == 1
    assert "run 'suijian db upgrade'" in before.output

    upgraded = runner.invoke(main, ["-c", ini, "db", "upgrade"])
    assert upgraded.exit_code == 0, upgraded.output
    checked = runner.invoke(main, ["-c", ini, "db", "check"])
    assert checked.exit_code == 0, checked.output
    assert "models and migrations agree" in checked.output


def test_check_fails_on_drift(backend: str, new_database_url, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("DATABASE_URL", raising=False)
    url = new_database_url(backend)
    ini = _ini(tmp_path, url)
    runner = CliRunner()
    assert runner.invoke(main, ["-c", ini, "db", "upgrade"]).exit_code == 0
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("CREATE INDEX ix_stray ON departments (name)"))
    engine.dispose()

    result = runner.invoke(main, ["-c", ini, "db", "check"])
    assert result.exit_code == 1
    assert "models and migrations disagree" in result.output
    assert "ix_stray" in result.output


def test_downgrade_to_base(backend: str, new_database_url, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("DATABASE_URL", raising=False)
    ini = _ini(tmp_path, new_database_url(backend))
    runner = CliRunner()
    assert runner.invoke(main, ["-c", ini, "db", "upgrade"]).exit_code == 0
    result = runner.invoke(main, ["-c", ini, "db", "downgrade", "base"])
    assert result.exit_code == 0, result.output
    assert "database at revision base" in result.output
