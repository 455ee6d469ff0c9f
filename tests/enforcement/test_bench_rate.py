"""``suijian bench rate`` through click's runner: one JSON object with the agreed keys."""

from __future__ import annotations

import json

from click.testing import CliRunner

from enforcement.cli import main


def _run(*extra: str) -> dict:
    result = CliRunner().invoke(main, ["bench", "rate", "--json", *extra])
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1  # one JSON object, nothing else
    return json.loads(lines[0])


def test_bench_rate_with_the_pandas_baseline_and_training() -> None:
    figures = _run("--enterprises", "50000", "--repeat", "2", "--train-rows", "5000")
    assert figures["enterprises"] == 50_000
    assert figures["indicators"] == 30
    assert figures["seconds"] == min(figures["runs_seconds"]) > 0
    assert figures["baseline_seconds"] > 0  # and the two agreed row by row, else exit 1
    assert len(figures["runs_seconds"]) == 2
    assert abs(sum(figures["tier_shares"].values()) - 1.0) < 1e-3
    assert figures["train_rows"] == 5000 and figures["train_seconds"] > 0


def test_bench_rate_without_baseline() -> None:
    figures = _run("--enterprises", "1000", "--no-baseline", "--indicators", "5", "--threads", "1")
    assert figures["baseline_seconds"] is None
    assert figures["indicators"] == 5 and figures["threads"] == 1
    assert "train_seconds" not in figures
