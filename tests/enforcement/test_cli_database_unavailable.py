"""The command line when the database cannot be reached: one line naming the database (no
password) and the reason, exit code 75 (EX_TEMPFAIL), no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from enforcement.cli import main
from enforcement.devservices import free_port
from enforcement.settings import ENV_OVERRIDES


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in (*ENV_OVERRIDES, "SUIJIAN_INI"):
        monkeypatch.delenv(variable, raising=False)


def run_with(tmp_path: Path, url: str, *args: str) -> tuple[int, str]:
    ini = tmp_path / "test.ini"
    ini.write_text(f"[app:main]\nuse = egg:suijian\nsqlalchemy.url = {url}\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["-c", str(ini), *args])
    assert not isinstance(result.exception, Exception) or isinstance(
        result.exception, SystemExit
    ), result.exception
    return result.exit_code, result.output


def test_a_refused_connection_is_one_clear_line(tmp_path: Path, clean_env: None) -> None:
    port = free_port()  # nothing listens there
    url = f"postgresql+psycopg://inspector:s3cret@127.0.0.1:{port}/suijian"
    code, output = run_with(tmp_path, url, "feed", "status")
    assert code == 75, output
    assert output.startswith(
        f"Error: the database at postgresql+psycopg://inspector:***@127.0.0.1:{port}/suijian "
        "cannot be reached or cannot serve now ("
    ), output
    assert "Connection refused" in output
    assert "s3cret" not in output and "Traceback" not in output
    assert output.rstrip().endswith("check sqlalchemy.url or DATABASE_URL and try again")


def test_a_sqlite_file_that_cannot_be_opened_is_one_clear_line(
    tmp_path: Path, clean_env: None
) -> None:
    folder = tmp_path / "a-folder"
    folder.mkdir()  # a directory where the database file should be
    code, output = run_with(tmp_path, f"sqlite:///{folder}", "feed", "status")
    assert code == 75, output
    assert "unable to open database file" in output
    assert output.count("\n") == 1 and "Traceback" not in output
