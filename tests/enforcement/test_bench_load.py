"""``suijian bench load`` through click's runner, at a tiny size: tablets submit complete
inspections with evidence through waitress, a real Celery worker on Redis feeds the reference
data center (``suijian datacenter serve``), and afterwards the feed drains and reconciles."""

from __future__ import annotations

import json

from click.testing import CliRunner
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from enforcement import feed, migrate
from enforcement.bench_load import STEPS
from enforcement.cli import main
from enforcement.db import make_engine
from enforcement.models import (
    EvidenceFile,
    FeedRecord,
    FieldInspection,
    InspectionEvidence,
    InspectionFinding,
    InspectionResult,
    InspectionStatus,
    utcnow,
)


def test_bench_load_submits_with_evidence_and_the_feed_reconciles(postgres, redis_url) -> None:  # type: ignore[no-untyped-def]
    url = postgres.create_database("suijian_bench_load_cli")
    # A Redis database of its own: the drain waits for the broker's queues to be empty.
    broker = redis_url.rsplit("/", 1)[0] + "/11"
    args = ["bench", "load", "--json", "--database-url", url, "--broker-url", broker]
    args += ["--clients", "2", "--requests", "16", "--enterprises", "600", "--threads", "4"]
    args += ["--worker-concurrency", "1", "--drain-timeout", "300"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output)

    # 16 requests: one submission of len(STEPS) = 8 requests for each of the 2 clients.
    assert figures["requests"] == 2 * len(STEPS) == 16
    assert figures["errors"] == 0, figures["failures"]
    assert set(figures["steps"]) == set(STEPS)
    assert 0 < figures["p50_ms"] <= figures["p99_ms"]
    # Plus one warm-up submission per client.
    assert figures["inspections_expected"] == 2 * 2
    assert figures["inspections_finished"] == figures["inspections_expected"]

    fed = figures["feed"]
    assert fed["drained"] and fed["pending"] == 0 and fed["dead"] == 0
    assert fed["reconciled"], fed
    assert fed["server_records"] == fed["datacenter_records"] > 0
    assert fed["server_digest"] == fed["datacenter_digest"]
    assert fed["missing"] == fed["mismatched"] == fed["extra"] == []

    engine = make_engine(url)
    try:
        with Session(engine) as session:
            finished = session.scalars(
                select(FieldInspection).where(FieldInspection.status == InspectionStatus.FINISHED)
            ).all()
            delivered = session.scalars(
                select(FeedRecord.record_key).where(
                    FeedRecord.kind == "inspection_result", FeedRecord.delivered_at.is_not(None)
                )
            ).all()
            all_delivered = session.scalar(
                select(func.count()).where(FeedRecord.delivered_at.is_not(None))
            )
            files = dict(
                session.execute(
                    select(EvidenceFile.media_type, func.count()).group_by(EvidenceFile.media_type)
                ).all()
            )
            attached = session.scalar(select(func.count()).select_from(InspectionEvidence))
            findings = session.scalars(select(InspectionFinding)).all()
            assert len(finished) == 4
            assert all(i.result is InspectionResult.RECTIFICATION_ORDERED for i in finished)
            assert all(i.signature_sha256 and not i.refused_to_sign for i in finished)
            assert sorted(delivered) == sorted(str(i.uuid) for i in finished)
            assert all_delivered == fed["server_records"]
            # A photo and a signature per submission, each its own file (plus the on-site
            # record PDF the worker renders for each); the photo attached and cited by the
            # finding.
            assert files["image/jpeg"] == files["image/png"] == 4
            assert attached == 4
            assert len(findings) == 4 and all(len(f.evidence_sha256) == 1 for f in findings)
    finally:
        engine.dispose()


def test_bench_load_refuses_sqlite() -> None:
    result = CliRunner().invoke(
        main, ["bench", "load", "--json", "--database-url", "sqlite:///bench.sqlite"]
    )
    assert result.exit_code != 0
    assert "PostgreSQL" in result.output


def test_bench_load_refuses_a_feed_delivered_elsewhere(postgres) -> None:  # type: ignore[no-untyped-def]
    url = postgres.create_database("suijian_bench_load_delivered")
    engine = make_engine(url)
    try:
        migrate.upgrade(engine)
        with Session(engine) as session:
            record = feed.publish(session, "inspection", "elsewhere", {"n": 1})
            record.delivered_at = utcnow()
            session.commit()
    finally:
        engine.dispose()
    result = CliRunner().invoke(main, ["bench", "load", "--json", "--database-url", url])
    assert result.exit_code != 0
    assert "1 delivered records" in result.output
