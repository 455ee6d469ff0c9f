"""``suijian bench api`` through click's runner: a tiny run through real waitress servers on
PostGIS, one JSON object, no errors, and every submitted inspection finished in the database."""

from __future__ import annotations

import json

from click.testing import CliRunner
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from enforcement.cli import main
from enforcement.db import make_engine
from enforcement.models import (
    FieldInspection,
    InspectionStatus,
    InspectionTask,
    TaskStatus,
    User,
)

KEYS = {
    "throughput_rps",
    "p50_ms",
    "p99_ms",
    "hello_world_rps",
    "requests",
    "errors",
    "clients",
}


def test_bench_api_submits_complete_inspections_through_waitress(postgres, redis_url) -> None:  # type: ignore[no-untyped-def]
    url = postgres.create_database("suijian_bench_api_cli")
    args = ["bench", "api", "--json", "--database-url", url, "--broker-url", redis_url]
    args += ["--requests", "200", "--enterprises", "600", "--threads", "8"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output)

    assert figures.keys() >= KEYS
    assert figures["clients"] == 32
    # 200 requests round up to 2 submissions of 4 requests for each of the 32 clients.
    assert figures["requests"] == 256 and figures["hello_world_requests"] == 256
    assert figures["errors"] == 0 and figures["hello_world_errors"] == 0, figures["failures"]
    assert figures["throughput_rps"] > 0 and figures["hello_world_rps"] > 0
    assert 0 < figures["p50_ms"] <= figures["p99_ms"]
    assert set(figures["steps"]) == {"checkin", "answers", "signature", "result"}
    # Plus one warm-up submission per client.
    assert figures["inspections_expected"] == 32 * 3
    assert figures["inspections_finished"] == figures["inspections_expected"]

    engine = make_engine(url)
    try:
        with Session(engine) as session:
            finished = session.scalar(
                select(func.count())
                .select_from(FieldInspection)
                .join(InspectionTask, InspectionTask.id == FieldInspection.task_id)
                .where(
                    FieldInspection.status == InspectionStatus.FINISHED,
                    FieldInspection.result.is_not(None),
                    FieldInspection.refused_to_sign.is_(True),
                    InspectionTask.status == TaskStatus.DONE,
                )
            )
            inspectors = session.scalar(
                select(func.count(func.distinct(FieldInspection.inspector_id)))
            )
            accounts = session.scalar(
                select(func.count()).select_from(User).where(User.username.like("bench-%"))
            )
    finally:
        engine.dispose()
    assert finished == 32 * 3
    assert inspectors == 32  # each client inspected with its own officer
    assert accounts == 64  # both officers of each team have an account


def test_bench_api_refuses_sqlite() -> None:
    result = CliRunner().invoke(
        main, ["bench", "api", "--json", "--database-url", "sqlite:///bench.sqlite"]
    )
    assert result.exit_code != 0
    assert "PostgreSQL" in result.output
