"""``suijian credit rate`` and ``suijian credit show`` on a SpatiaLite file with the demo."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from enforcement.cli import main


def test_rate_everybody_then_show_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    ini = tmp_path / "test.ini"
    ini.write_text(
        f"[app:main]\nuse = egg:suijian\nsqlalchemy.url = sqlite:///{tmp_path / 'c.sqlite'}\n"
    )
    runner = CliRunner()

    def run(*args: str) -> str:
        result = runner.invoke(main, ["-c", str(ini), *args])
        assert result.exit_code == 0, result.output
        return result.output

    run("db", "upgrade")
    loaded = run("demo", "load", "--enterprises", "120", "--inspectors", "12")
    assert "credit tiers: A" in loaded  # the demo load rates everybody once
    assert run("credit", "rate", "--all").startswith("rated 120: 0 changed")  # idempotent
    shown = json.loads(run("credit", "show", "1", "--json"))
    assert shown["tier"] in "ABCD" and len(shown["history"]) == 1
    assert shown["history"][0]["cause"] == "batch"

    refused = runner.invoke(main, ["-c", str(ini), "credit", "rate"])
    assert refused.exit_code == 2 and "--all" in refused.output
    unknown = runner.invoke(main, ["-c", str(ini), "credit", "show", "999999"])
    assert unknown.exit_code == 1 and "no enterprise" in unknown.output
