"""``suijian bench province`` through click's runner, at a tiny size: every step runs on
PostGIS (generate, import, rate, draw, publish, verify) and the published bundle verifies."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from enforcement.bench_province import STEPS
from enforcement.cli import main
from enforcement.db import make_engine
from enforcement.models import (
    CreditRating,
    Enterprise,
    InspectionTask,
    Inspector,
    PlanStatus,
    SamplingPlan,
)


def test_bench_province_runs_every_step_and_verifies(postgres, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    url = postgres.create_database("suijian_bench_province_cli")
    out = tmp_path / "province.json"
    args = ["bench", "province", "--json", "--quiet", "--database-url", url]
    args += ["--enterprises", "1500", "--inspectors", "60", "--out", str(out)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output)

    assert list(figures["steps"]) == list(STEPS)
    assert figures["finished"] and figures["verified"]
    assert json.loads(out.read_text()) == figures  # the last save is the whole run
    for name, step in figures["steps"].items():
        assert step["seconds"] >= 0, name
        assert step["peak_rss_mb"] > 0, name
        assert step["database_mb"] > 0, name
    assert figures["counts"]["imported"] == {"enterprises": 1500, "inspectors": 60}
    assert figures["counts"]["rated"] == 1500
    draw = figures["steps"]["draw"]
    assert draw["drawn"] > 0 and draw["tasks"] == draw["drawn"] + draw["alternates"]
    assert figures["steps"]["publish"]["bundle_bytes"] > 0

    engine = make_engine(url)
    try:
        with Session(engine) as session:
            assert session.scalar(select(func.count()).select_from(Enterprise)) == 1500
            assert session.scalar(select(func.count()).select_from(Inspector)) == 60
            assert session.scalar(select(func.count()).select_from(CreditRating)) == 1500
            plan = session.scalars(select(SamplingPlan)).one()
            assert plan.status is PlanStatus.PUBLISHED
            tasks = session.scalar(select(func.count()).select_from(InspectionTask))
            assert tasks == draw["tasks"]
    finally:
        engine.dispose()


def test_bench_province_refuses_sqlite() -> None:
    result = CliRunner().invoke(
        main, ["bench", "province", "--json", "--database-url", "sqlite:///bench.sqlite"]
    )
    assert result.exit_code != 0
    assert "PostgreSQL" in result.output
