"""``suijian bench draw`` through click's runner: one JSON object, with and without baselines."""

from __future__ import annotations

import json

from click.testing import CliRunner
from sqlalchemy import create_engine, text

from enforcement.cli import main

REQUIRED = {
    "targets",
    "seconds",
    "pairing_seconds",
    "baseline_postgres_seconds",
    "baseline_python_seconds",
}
SMALL = ["--targets", "20000", "--inspectors", "400", "--strata", "40", "--repeat", "2"]


def _run(*extra: str) -> dict:
    result = CliRunner().invoke(main, ["bench", "draw", *SMALL, "--json", *extra])
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1, result.stdout  # one JSON object, nothing else
    figures = json.loads(lines[0])
    assert isinstance(figures, dict)
    return figures


def _consistent(figures: dict) -> None:
    assert figures.keys() >= REQUIRED
    assert figures["targets"] == 20_000
    assert figures["inspectors"] == 400
    assert figures["strata"] == 40
    assert len(figures["runs_seconds"]) == 2
    assert figures["seconds"] == min(figures["runs_seconds"])
    assert len(figures["runs_with_snapshot_hash_seconds"]) == 2
    assert figures["seconds_with_snapshot_hash"] == min(figures["runs_with_snapshot_hash_seconds"])
    assert figures["snapshot_hash_seconds"] > 0
    assert 0 < figures["pairing_seconds"] < figures["seconds"]
    assert 0 < figures["selection_seconds"] < figures["seconds"]
    assert figures["budget"] == 1_000  # the synthetic plan draws 5 %
    assert figures["drawn"] == figures["budget"] + figures["added_for_coverage"]
    assert figures["staffed"] + figures["blocked"] == figures["drawn"]
    assert 0 < figures["candidates"] < figures["targets"]
    assert 0 < figures["cross_department_share"] < 1


def test_bench_draw_with_the_postgres_baseline(postgres) -> None:  # type: ignore[no-untyped-def]
    url = postgres.create_database("suijian_bench_draw_cli")
    figures = _run("--database-url", url)
    _consistent(figures)
    assert figures["baseline_postgres_seconds"] > 0
    assert figures["baseline_python_seconds"] > 0
    assert figures["baseline_python_prepare_seconds"] > 0
    assert figures["baseline_postgres_load_seconds"] > 0
    assert figures["baseline_postgres_rows"] == figures["candidates"]
    assert figures["database"].startswith("PostgreSQL")
    engine = create_engine(url)
    with engine.connect() as conn:  # the baseline's tables are gone
        left = conn.execute(
            text("SELECT count(*) FROM pg_tables WHERE tablename LIKE 'bench_draw_%'")
        ).scalar()
    engine.dispose()
    assert left == 0


def test_bench_draw_without_baselines() -> None:
    figures = _run("--no-baseline")
    _consistent(figures)
    assert figures["baseline_postgres_seconds"] is None
    assert figures["baseline_python_seconds"] is None
    assert "baseline_postgres_rows" not in figures


def test_bench_draw_human_output() -> None:
    result = CliRunner().invoke(main, ["bench", "draw", *SMALL, "--no-baseline"])
    assert result.exit_code == 0, result.output
    assert "20,000 targets, 400 inspectors, 40 strata" in result.stdout
    assert "staffed" in result.stdout


def test_bench_draw_refuses_a_non_postgres_url() -> None:
    result = CliRunner().invoke(
        main, ["bench", "draw", *SMALL, "--json", "--database-url", "sqlite:///x.sqlite"]
    )
    assert result.exit_code != 0
    assert "PostgreSQL URL" in result.output
