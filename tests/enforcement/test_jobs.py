"""Background jobs: starting (validation, permission, outbox), running each kind, and a real
worker picking a job up after commit and reporting progress per batch."""

from __future__ import annotations

import contextlib
import datetime as dt
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from enforcement import migrate
from enforcement.db import make_engine
from enforcement.models import (
    AuditLog,
    BackgroundJob,
    CreditRating,
    Enterprise,
    JobKind,
    JobStatus,
    OutboxMessage,
    PlanStatus,
    Role,
    User,
)
from enforcement.outbox import CELERY_APP_INFO
from enforcement.services import jobs
from enforcement.services.plans import PlanService
from random_sampler import seeds
from tests import factories
from tests.factories import EnterpriseFactory, load_small_demo, user_named
from tests.workers import running_worker

DATA = Path(__file__).with_name("data")
SEED = bytes.fromhex("5a" * 32)
NOW = dt.datetime(2025, 3, 4, 2, 0, tzinfo=dt.UTC)


def _clock() -> dt.datetime:
    return NOW


def _user(session: Session, role: Role, **fields: Any) -> User:
    user = User(
        username=f"{role.value}-{uuid.uuid4().hex[:6]}",
        display_name=role.value,
        role=role,
        password_hash="x",
        **fields,
    )
    session.add(user)
    session.flush()
    return user


def _in_session(session: Session) -> Callable[[], Any]:
    """``run``'s transaction factory over the test's own session (no commits: a savepoint)."""
    return lambda: contextlib.nullcontext(session)


def _upload(name: str) -> tuple[str, bytes]:
    return name, (DATA / name).read_bytes()


def test_start_validates_each_field_and_the_role(db_session: Session) -> None:
    supervisor = _user(db_session, Role.SUPERVISOR)
    with pytest.raises(jobs.JobValidationError) as caught:
        jobs.start(db_session, supervisor, "nonsense", {})
    assert set(caught.value.errors) == {"kind"}

    with pytest.raises(jobs.JobValidationError) as caught:
        jobs.start(
            db_session,
            supervisor,
            JobKind.IMPORT,
            {"kind": "planets", "mapping": "no-such", "crs": "mars"},
        )
    assert set(caught.value.errors) == {"kind", "mapping", "crs", "file"}

    with pytest.raises(jobs.JobValidationError) as caught:
        jobs.start(
            db_session, supervisor, "import", {"kind": "enterprises"}, upload=("x.exe", b"MZ")
        )
    assert "file" in caught.value.errors

    with pytest.raises(jobs.JobValidationError) as caught:
        jobs.start(db_session, supervisor, "draw", {"plan_id": 0, "seed": "zz"})
    assert set(caught.value.errors) == {"plan_id", "seed"}

    for role in (Role.INSPECTOR, Role.ENTERPRISE, Role.LIAISON):
        with pytest.raises(jobs.JobPermissionError):
            jobs.start(db_session, _user(db_session, role), "rerate", {})
    inactive = _user(db_session, Role.SUPERVISOR, active=False)
    with pytest.raises(jobs.JobPermissionError):
        jobs.start(db_session, inactive, "rerate", {})


def test_start_queues_the_job_with_an_outbox_message_and_audit(db_session: Session) -> None:
    supervisor = _user(db_session, Role.SUPERVISOR)
    job = jobs.start(
        db_session,
        supervisor,
        "import",
        {"kind": "enterprises", "skip_invalid": "on"},
        upload=_upload("enterprises.csv"),
        clock=_clock,
    )
    assert job.status is JobStatus.QUEUED and job.kind is JobKind.IMPORT
    assert job.params == {
        "kind": "enterprises",
        "mapping": None,
        "skip_invalid": True,
        "crs": "wgs84",
        "dry_run": False,
    }
    assert job.input_name == "enterprises.csv" and job.input_data
    message = db_session.scalars(
        select(OutboxMessage).where(OutboxMessage.topic == jobs.TOPIC)
    ).one()
    assert message.payload == {"job_uuid": str(job.uuid)}
    assert db_session.scalar(select(func.count()).where(AuditLog.action == "job.start.import")) == 1
    assert jobs.progress_document(job)["status"] == "queued"
    assert jobs.get(db_session, supervisor, str(job.uuid)) is job


def test_department_scope_of_reading(db_session: Session) -> None:
    first = factories.DepartmentFactory.create()
    second = factories.DepartmentFactory.create()
    owner = _user(db_session, Role.SUPERVISOR, department_id=first.id)
    colleague = _user(db_session, Role.SUPERVISOR, department_id=first.id)
    stranger = _user(db_session, Role.SUPERVISOR, department_id=second.id)
    admin = _user(db_session, Role.ADMIN)
    job = jobs.start(db_session, owner, "rerate", {})

    assert jobs.get(db_session, colleague, job.uuid) is job
    assert jobs.get(db_session, admin, job.uuid) is job
    with pytest.raises(jobs.JobNotFoundError):
        jobs.get(db_session, stranger, job.uuid)
    assert job not in jobs.recent(db_session, stranger)
    with pytest.raises(jobs.JobNotFoundError):
        jobs.get(db_session, admin, "not-a-uuid")
    with pytest.raises(jobs.JobPermissionError):
        jobs.get(db_session, _user(db_session, Role.INSPECTOR), job.uuid)


def test_import_job_reports_each_rejected_row_and_writes_nothing(db_session: Session) -> None:
    supervisor = _user(db_session, Role.SUPERVISOR)
    before = db_session.scalar(select(func.count()).select_from(Enterprise))
    job = jobs.start(
        db_session,
        supervisor,
        "import",
        {"kind": "enterprises"},
        upload=_upload("enterprises_bad.csv"),
    )
    jobs.run(_in_session(db_session), str(job.uuid))

    assert job.status is JobStatus.DONE
    assert (job.progress_done, job.progress_total) == (1, 1)
    assert job.input_data is None  # the upload is dropped once used
    result = job.result
    assert result is not None and result["applied"] is False and result["total"] == 7
    cells = {(r["row"], r["field"]) for r in result["rejects"]}
    assert cells == {
        (2, "uscc"),
        (3, "name"),
        (4, "registration_date"),
        (5, "longitude"),
        (7, "industry_code"),
        (7, "registered_capital"),
    }
    assert all(r["reason"] and r["reason_zh"] for r in result["rejects"])
    assert job.message == "5 of 7 rows rejected; nothing was imported"  # logs read English
    assert job.texts == {
        "message": {
            "msgid": "${rejected} of ${total} rows rejected; nothing was imported",
            "mapping": {"rejected": "5", "total": "7"},
        }
    }
    assert job.message_text.msgid == job.texts["message"]["msgid"]  # pages translate it
    assert db_session.scalar(select(func.count()).select_from(Enterprise)) == before

    again = jobs.run(_in_session(db_session), str(job.uuid))  # a finished job is not rerun
    assert again["status"] == "done"


def test_import_job_with_skip_invalid_writes_the_good_rows(db_session: Session) -> None:
    supervisor = _user(db_session, Role.SUPERVISOR)
    job = jobs.start(
        db_session,
        supervisor,
        "import",
        {"kind": "enterprises", "skip_invalid": True},
        upload=_upload("enterprises_bad.csv"),
    )
    jobs.run(_in_session(db_session), str(job.uuid))
    assert job.result["applied"] is True and job.result["inserted"] == 2
    assert (
        db_session.scalars(
            select(Enterprise.name).where(Enterprise.uscc == "913307020972223383")
        ).one()
        == "好公司甲"
    )


def test_an_unreadable_file_fails_the_job_with_the_reason(db_session: Session) -> None:
    supervisor = _user(db_session, Role.SUPERVISOR)
    job = jobs.start(
        db_session,
        supervisor,
        "import",
        {"kind": "enterprises"},
        upload=("broken.xlsx", b"this is not a workbook"),
    )
    document = jobs.run(_in_session(db_session), str(job.uuid))
    assert document["status"] == "failed" and document["final"]
    assert job.error


def test_rerate_job_rates_everyone_in_batches(
    db_session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(jobs, "RERATE_BATCH", 4)  # several batches from a few enterprises
    EnterpriseFactory.create_batch(10)
    total = db_session.scalar(select(func.count()).select_from(Enterprise))
    supervisor = _user(db_session, Role.SUPERVISOR)
    job = jobs.start(db_session, supervisor, "rerate", {})
    jobs.run(_in_session(db_session), str(job.uuid))

    assert job.status is JobStatus.DONE
    assert job.progress_done == job.progress_total == total
    assert job.result["enterprises"] == total and job.result["rated"] == total
    rated = db_session.scalar(select(func.count(func.distinct(CreditRating.enterprise_id))))
    assert rated == total


def _committed_plan(session: Session) -> Any:
    service = PlanService(session, user_named(session, "supervisor"), clock=_clock)
    plan = service.create(
        code="2025-JOB-01",
        title="2025年抽查",
        year=2025,
        items=["SCJG-GS-001", "SPAQ-JY-001", "TZSB-SY-001"],
        jurisdictions=["330783", "330702"],
        tier_ratios={"A": 0.03, "B": 0.5, "C": 0.3, "D": 0.8},
        due_date=dt.date(2025, 11, 30),
    )
    service.approve(plan)
    service.commit_seed(plan, seeds.commit(SEED))
    return plan


def test_draw_job_draws_the_plan_and_forgets_the_seed(db_session: Session) -> None:
    load_small_demo(db_session, 7)
    plan = _committed_plan(db_session)
    supervisor = user_named(db_session, "supervisor")
    wrong = jobs.start(
        db_session, supervisor, "draw", {"plan_id": plan.id, "seed": ("00" * 32)}, clock=_clock
    )
    jobs.run(_in_session(db_session), str(wrong.uuid), clock=_clock)
    assert wrong.status is JobStatus.FAILED
    assert "seed" in (wrong.error or "")
    assert "seed" not in wrong.params

    job = jobs.start(
        db_session, supervisor, "draw", {"plan_id": plan.id, "seed": SEED.hex()}, clock=_clock
    )
    jobs.run(_in_session(db_session), str(job.uuid), clock=_clock)
    assert job.status is JobStatus.DONE, job.error
    assert plan.status is PlanStatus.DRAWN
    assert job.result["plan_id"] == plan.id and job.result["draw_id"]
    assert "seed" not in job.params


# --- a real worker ----------------------------------------------------------------------------


@pytest.fixture
def worker_database(backend: str, new_database_url) -> Iterator[str]:  # type: ignore[no-untyped-def]
    url = new_database_url(backend)
    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    yield url


def _wait_until_final(
    url: str, job_uuid: uuid.UUID, seen: set[tuple[int, int | None]]
) -> BackgroundJob:
    engine = make_engine(url)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with Session(engine, expire_on_commit=False) as session:
                job = session.scalars(
                    select(BackgroundJob).where(BackgroundJob.uuid == job_uuid)
                ).one()
                seen.add((job.progress_done, job.progress_total))
                if job.status in (JobStatus.DONE, JobStatus.FAILED):
                    return job
            time.sleep(0.05)
        raise AssertionError(f"job {job_uuid} did not finish")
    finally:
        engine.dispose()


def test_a_real_worker_runs_a_rerate_job_sent_after_commit(
    worker_database: str, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(jobs, "RERATE_BATCH", 5)
    settings = {
        "sqlalchemy.url": worker_database,
        "celery.broker_url": redis_url,
        "celery.result_backend": redis_url,
    }
    engine = make_engine(worker_database)
    seen: set[tuple[int, int | None]] = set()
    try:
        with running_worker(settings) as app:
            with Session(engine, expire_on_commit=False) as session:
                factories.bind(session)
                EnterpriseFactory.create_batch(12)
                supervisor = _user(session, Role.SUPERVISOR)
                session.info[CELERY_APP_INFO] = app  # the commit kicks the outbox drain
                job = jobs.start(session, supervisor, "rerate", {})
                session.commit()
            finished = _wait_until_final(worker_database, job.uuid, seen)
        assert finished.status is JobStatus.DONE, finished.error
        assert finished.progress_done == finished.progress_total == 12
        assert finished.result["rated"] == 12
        with Session(engine) as session:
            rated = session.scalar(select(func.count(func.distinct(CreditRating.enterprise_id))))
        assert rated == 12
        # Every committed step was a batch boundary (or the start): never a torn count.
        assert {done for done, _ in seen} <= {0, 5, 10, 12}
    finally:
        engine.dispose()
