"""Background jobs: long operations started from the desk pages and run on the worker.

Public API (other pages start jobs through it; it never commits, like every service):

    start(session, actor, kind, params, *, upload=None, clock=utcnow) -> BackgroundJob
        kind "draw":   params {"plan_id": int, "seed": "<hex of the committed seed>",
                               "public_value": str | None}
        kind "rerate": params {} (every enterprise, progress per batch)
        kind "import": params {"kind": "enterprises"|"inspectors"|"items"|"jurisdictions",
                               "mapping": bundled name | None, "skip_invalid": bool,
                               "crs": "wgs84"|..., "dry_run": bool}
                       and upload=(file name, bytes)
        Raises JobPermissionError (not an active supervisor/admin, or a plan outside the
        supervisor's department) and JobValidationError(errors: field -> reason).
        The job is queued; it leaves for the worker only when the caller's transaction
        commits (outbox topic "job.run"). Its page: route "console.job" with uuid=str(job.uuid).
    get(session, actor, uuid) -> BackgroundJob      (JobNotFoundError when not visible)
    recent(session, actor, limit=20) -> list[BackgroundJob]
    progress_document(job) -> dict                  (the JSON the job page polls)

The worker side (``run``) writes progress in short transactions of its own, so the page sees
it while the work goes on; the work of a step and its progress commit together.
"""

from __future__ import annotations

import datetime as dt
import logging
import tempfile
import uuid as uuid_module
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from enforcement.evidence.store import safe_display_name
from enforcement.models import (
    FINAL_JOB_STATUSES,
    BackgroundJob,
    Enterprise,
    JobKind,
    JobStatus,
    RatingCause,
    Role,
    SamplingPlan,
    User,
    utcnow,
)
from enforcement.reasons import Reason, reason, reason_document, reason_of
from enforcement.services import audit

log = logging.getLogger(__name__)

#: The outbox topic that hands a job to ``enforcement.tasks.run_job``.
TOPIC = "job.run"
JOB_ROLES = frozenset({Role.SUPERVISOR, Role.ADMIN})
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
UPLOAD_SUFFIXES = (".csv", ".tsv", ".txt", ".xlsx", ".xlsm", ".geojson", ".json", ".gz")
RERATE_BATCH = 2000
MAX_REJECTS_SHOWN = 1000
MAX_ERROR_LENGTH = 2000
#: A finished job's message when its runner gave none.
JOB_STATUS_NAMES = {
    JobStatus.QUEUED: reason("queued"),
    JobStatus.RUNNING: reason("running"),
    JobStatus.DONE: reason("done"),
    JobStatus.FAILED: reason("failed"),
}


class JobError(Exception):
    """Base of the job service's domain errors."""


class JobNotFoundError(JobError, LookupError):
    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or reason("job not found"))


class JobPermissionError(JobError):
    pass


class JobValidationError(JobError, ValueError):
    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = dict(errors)


def _require_role(actor: User | None, action: Reason) -> User:
    if actor is None or not actor.active or Role(actor.role) not in JOB_ROLES:
        raise JobPermissionError(
            reason("only a supervisor or an administrator may ${action}", action=action)
        )
    return actor


def _visible(actor: User) -> Any:
    """Admins and bureau-wide supervisors see every job; others their department's and own."""
    if Role(actor.role) is Role.ADMIN or actor.department_id is None:
        return True
    return or_(
        BackgroundJob.department_id == actor.department_id,
        BackgroundJob.created_by_id == actor.id,
    )


# --- starting and reading (web side) -----------------------------------------------------------


def _check_import(params: dict[str, Any], upload: tuple[str, bytes] | None) -> dict[str, Any]:
    from enforcement.importers import CRS_CHOICES, KINDS, bundled_mappings

    errors: dict[str, str] = {}
    kind = str(params.get("kind") or "")
    if kind not in KINDS:
        errors["kind"] = reason("must be one of ${choices}", choices=", ".join(KINDS))
    mapping = params.get("mapping") or None
    if mapping is not None and str(mapping) not in bundled_mappings():
        errors["mapping"] = reason(
            "unknown mapping; expected one of ${choices}", choices=", ".join(bundled_mappings())
        )
    crs = str(params.get("crs") or "wgs84").strip().lower()
    if crs not in CRS_CHOICES:
        errors["crs"] = reason("must be one of ${choices}", choices=", ".join(CRS_CHOICES))
    if upload is None or not upload[1]:
        errors["file"] = reason("choose a non-empty file")
    else:
        name, data = upload
        if len(data) > MAX_UPLOAD_BYTES:
            errors["file"] = reason("at most ${size} MB", size=MAX_UPLOAD_BYTES // (1024 * 1024))
        elif not name.lower().endswith(UPLOAD_SUFFIXES):
            errors["file"] = reason("must be one of ${choices}", choices=", ".join(UPLOAD_SUFFIXES))
    if errors:
        raise JobValidationError(errors)
    return {
        "kind": kind,
        "mapping": str(mapping) if mapping else None,
        "skip_invalid": bool(params.get("skip_invalid")),
        "crs": crs,
        "dry_run": bool(params.get("dry_run")),
    }


def _check_draw(session: Session, actor: User, params: dict[str, Any]) -> tuple[dict, Any]:
    from enforcement.services.plans import in_department_scope

    errors: dict[str, str] = {}
    plan_id = params.get("plan_id")
    plan = None
    if isinstance(plan_id, bool) or not isinstance(plan_id, int) or plan_id < 1:
        errors["plan_id"] = reason("must be a plan id (a whole number from 1)")
    else:
        plan = session.get(SamplingPlan, plan_id)
        if plan is None:
            errors["plan_id"] = reason("no such plan")
    seed = params.get("seed")
    try:
        if not isinstance(seed, str) or not seed:
            raise ValueError
        bytes.fromhex(seed)
    except ValueError:
        errors["seed"] = reason("must be the committed seed as hexadecimal")
    public_value = params.get("public_value")
    if public_value is not None and not isinstance(public_value, str):
        errors["public_value"] = reason("must be text or empty")
    if errors:
        raise JobValidationError(errors)
    if not in_department_scope(actor, plan.departments):  # type: ignore[union-attr]
        raise JobPermissionError(reason("the plan does not involve the user's department"))
    return {"plan_id": plan_id, "seed": seed, "public_value": public_value or None}, plan


def start(
    session: Session,
    actor: User,
    kind: JobKind | str,
    params: dict[str, Any] | None = None,
    *,
    upload: tuple[str, bytes] | None = None,
    clock: Callable[[], dt.datetime] = utcnow,
) -> BackgroundJob:
    """Queue a job of ``kind`` for ``actor``; it is sent to the worker after commit."""
    from enforcement import outbox

    _require_role(actor, reason("start a background job"))
    try:
        kind = JobKind(kind)
    except ValueError:
        raise JobValidationError(
            {
                "kind": reason(
                    "must be one of ${choices}", choices=", ".join(k.value for k in JobKind)
                )
            }
        ) from None
    params = dict(params or {})
    subject: Any = None
    if kind is JobKind.IMPORT:
        clean = _check_import(params, upload)
    elif kind is JobKind.DRAW:
        clean, subject = _check_draw(session, actor, params)
    else:
        clean = {}
    now = clock()
    job = BackgroundJob(
        uuid=uuid_module.uuid4(),
        kind=kind,
        params=clean,
        status=JobStatus.QUEUED,
        progress_done=0,
        message="",
        created_by_id=actor.id,
        department_id=actor.department_id,
        created_at=now,
        updated_at=now,
    )
    if upload is not None and kind is JobKind.IMPORT:
        # A client's name, made harmless: no path, no NUL or control characters.
        job.input_name = safe_display_name(upload[0], max_length=255)
        job.input_data = upload[1]
    session.add(job)
    session.flush()
    details = {k: v for k, v in clean.items() if k != "seed"}
    audit.record(session, actor, f"job.start.{kind.value}", subject or job, details, at=now)
    outbox.publish(session, TOPIC, {"job_uuid": str(job.uuid)})
    return job


def _parse_uuid(value: str | uuid_module.UUID) -> uuid_module.UUID:
    if isinstance(value, uuid_module.UUID):
        return value
    try:
        return uuid_module.UUID(str(value))
    except ValueError:
        raise JobNotFoundError() from None


def get(session: Session, actor: User, job_uuid: str | uuid_module.UUID) -> BackgroundJob:
    """The job ``job_uuid`` if ``actor`` may see it (else JobNotFoundError)."""
    _require_role(actor, reason("see background jobs"))
    job = session.scalars(
        select(BackgroundJob).where(BackgroundJob.uuid == _parse_uuid(job_uuid), _visible(actor))
    ).one_or_none()
    if job is None:
        raise JobNotFoundError()
    return job


def recent(session: Session, actor: User, limit: int = 20) -> list[BackgroundJob]:
    """The newest jobs ``actor`` may see."""
    _require_role(actor, reason("see background jobs"))
    return list(
        session.scalars(
            select(BackgroundJob)
            .where(_visible(actor))
            .order_by(BackgroundJob.id.desc())
            .limit(max(1, min(limit, 200)))
        )
    )


def percent(job: BackgroundJob) -> int | None:
    if job.status is JobStatus.DONE:
        return 100
    if not job.progress_total:
        return None
    return max(0, min(100, int(100 * job.progress_done / job.progress_total)))


def progress_document(job: BackgroundJob) -> dict[str, Any]:
    """What the job page polls: status, progress and (when final) the outcome."""
    return {
        "uuid": str(job.uuid),
        "kind": job.kind.value,
        "status": job.status.value,
        "final": job.status in FINAL_JOB_STATUSES,
        "done": job.progress_done,
        "total": job.progress_total,
        "percent": percent(job),
        "message": job.message,
        "error": job.error,
    }


# --- running (worker side) ----------------------------------------------------------------------


def _load(session: Session, job_uuid: str) -> BackgroundJob | None:
    return session.scalars(
        select(BackgroundJob).where(BackgroundJob.uuid == _parse_uuid(job_uuid))
    ).one_or_none()


def set_progress(
    job: BackgroundJob,
    done: int,
    total: int | None,
    message: str = "",
    clock: Callable[[], dt.datetime] = utcnow,
) -> None:
    """Record progress on ``job`` in the caller's (short) transaction."""
    job.progress_done = max(0, int(done))
    job.progress_total = None if total is None else max(0, int(total))
    _set_texts(job, message=message)
    job.updated_at = clock()


#: The longest text each column keeps.
_TEXT_LIMITS = {"message": 500, "error": None}


def _set_texts(job: BackgroundJob, **values: str | None) -> None:
    """Set ``message``/``error`` to the English text and keep, when it is a reason, its
    message id in ``texts`` so pages translate it (a text cut to fit is kept as English)."""
    texts = dict(job.texts or {})
    for name, value in values.items():
        limit = _TEXT_LIMITS[name]
        fits = value is None or limit is None or len(value) <= limit
        setattr(job, name, None if value is None else str(value)[:limit])
        document = reason_document(value) if value is not None and fits else None
        if document is None:
            texts.pop(name, None)
        else:
            texts[name] = document
    job.texts = texts or None


def run(
    sessions: sessionmaker[Session] | Callable[[], Any],
    job_uuid: str,
    *,
    clock: Callable[[], dt.datetime] = utcnow,
) -> dict[str, Any]:
    """Run the job ``job_uuid``; ``sessions()`` gives a context manager of one committed
    transaction (``task_session``-like). Idempotent: a finished job is not run again, and
    every step's work commits with its progress, so a retry redoes at most one step.
    Returns the job's progress document."""
    with sessions() as session:
        job = _load(session, job_uuid)
        if job is None:
            raise JobNotFoundError()
        if job.status in FINAL_JOB_STATUSES:
            return progress_document(job)
        job.status = JobStatus.RUNNING
        job.started_at = job.started_at or clock()
        set_progress(job, job.progress_done, job.progress_total, reason("started"), clock)
        kind = job.kind
    try:
        runner = {JobKind.IMPORT: _run_import, JobKind.RERATE: _run_rerate, JobKind.DRAW: _run_draw}
        runner[kind](sessions, job_uuid, clock)
    except Exception as exc:
        if isinstance(exc, OperationalError | InterfaceError):
            raise  # the task retries; the job stays running
        log.warning("job %s failed: %s", job_uuid, exc)
        with sessions() as session:
            job = _load(session, job_uuid)
            assert job is not None
            _finish(job, JobStatus.FAILED, clock, error=_describe(exc))
    with sessions() as session:
        job = _load(session, job_uuid)
        assert job is not None
        return progress_document(job)


def fail(
    sessions: Callable[[], Any],
    job_uuid: str,
    error: str,
    clock: Callable[[], dt.datetime] = utcnow,
) -> None:
    """Mark a job failed (the task gave up, e.g. after its last retry)."""
    with sessions() as session:
        job = _load(session, job_uuid)
        if job is not None and job.status not in FINAL_JOB_STATUSES:
            _finish(job, JobStatus.FAILED, clock, error=error[:MAX_ERROR_LENGTH])


def _describe(exc: Exception) -> str:
    """What went wrong, as the service said it (a reason, translated where it is shown)."""
    errors = getattr(exc, "errors", None)
    if isinstance(errors, dict) and errors:
        parts = [
            reason("${field}: ${problem}", field=field, problem=problem)
            for field, problem in errors.items()
        ]
        text = parts[0]
        for part in parts[1:]:
            text = reason("${earlier}; ${later}", earlier=text, later=part)
    else:
        text = reason_of(exc) or type(exc).__name__
    return text if len(text) <= MAX_ERROR_LENGTH else text[:MAX_ERROR_LENGTH]


def _finish(
    job: BackgroundJob,
    status: JobStatus,
    clock: Callable[[], dt.datetime],
    *,
    result: dict[str, Any] | None = None,
    error: str | None = None,
    message: str = "",
) -> None:
    now = clock()
    job.status = status
    job.result = result
    _set_texts(job, error=error, message=message or JOB_STATUS_NAMES[status])
    job.finished_at = now
    job.updated_at = now
    if job.progress_total is None:
        job.progress_total = 1
    if status is JobStatus.DONE:
        job.progress_done = job.progress_total
    job.input_data = None  # the upload has served its purpose
    if "seed" in (job.params or {}):  # the seed is revealed by a draw, not kept by its job
        job.params = {k: v for k, v in job.params.items() if k != "seed"}


def _run_import(
    sessions: Callable[[], Any], job_uuid: str, clock: Callable[[], dt.datetime]
) -> None:
    from enforcement.importers import import_file

    with sessions() as session:
        job = _load(session, job_uuid)
        assert job is not None
        set_progress(job, 0, 1, reason("reading the file"), clock)
    with sessions() as session:
        job = _load(session, job_uuid)
        assert job is not None
        params = dict(job.params)
        name = job.input_name or "upload.csv"
        data = job.input_data or b""
        suffix = "".join(Path(name).suffixes[-2:]) or ".csv"
        with tempfile.TemporaryDirectory(prefix="suijian-import-") as directory:
            path = Path(directory) / f"upload{suffix}"
            path.write_bytes(data)
            report = import_file(
                session,
                params["kind"],
                path,
                mapping=params.get("mapping"),
                skip_invalid=bool(params.get("skip_invalid")),
                crs=params.get("crs") or "wgs84",
                dry_run=bool(params.get("dry_run")),
            )
        summary = report.as_dict()
        summary["file"] = name
        summary.pop("rejects_path", None)
        rejects = sorted(report.rejects, key=lambda r: (r.row, r.field))
        summary["rejects"] = [asdict(r) for r in rejects[:MAX_REJECTS_SHOWN]]
        summary["rejects_truncated"] = len(rejects) > MAX_REJECTS_SHOWN
        if report.applied:
            message = reason(
                "${accepted} rows imported, ${rejected} rejected",
                accepted=report.accepted,
                rejected=report.rejected,
            )
        elif report.dry_run:
            message = reason("dry run: nothing was written")
        else:
            message = reason(
                "${rejected} of ${total} rows rejected; nothing was imported",
                rejected=report.rejected,
                total=report.total,
            )
        actor = session.get(User, job.created_by_id)
        audit.record(
            session,
            actor,
            "job.import",
            job,
            {
                k: summary[k]
                for k in ("kind", "total", "inserted", "updated", "rejected", "applied")
            },
            at=clock(),
        )
        _finish(job, JobStatus.DONE, clock, result=summary, message=message)


def _run_rerate(
    sessions: Callable[[], Any], job_uuid: str, clock: Callable[[], dt.datetime]
) -> None:
    from enforcement.services.credit import RatingService

    with sessions() as session:
        ids = list(session.scalars(select(Enterprise.id).order_by(Enterprise.id)))
        job = _load(session, job_uuid)
        assert job is not None
        totals = dict((job.result or {}).get("partial") or {})
        already = int(totals.get("enterprises_done", 0))
        set_progress(job, already, len(ids), _rated(already, len(ids)), clock)
    totals.setdefault("rated", 0)
    totals.setdefault("changed", 0)
    totals.setdefault("tier_changes", 0)
    # Each batch commits with its progress: a page sees it move, a retry resumes there.
    for start_at in range(already, len(ids), RERATE_BATCH):
        chunk = ids[start_at : start_at + RERATE_BATCH]
        with sessions() as session:
            summary = RatingService(session, clock=clock).rate(
                chunk, cause=RatingCause.BATCH, detail=f"job {job_uuid}"
            )
            for key in ("rated", "changed", "tier_changes"):
                totals[key] = int(totals[key]) + int(getattr(summary, key))
            done = start_at + len(chunk)
            totals["enterprises_done"] = done
            job = _load(session, job_uuid)
            assert job is not None
            job.result = {"partial": dict(totals)}
            set_progress(job, done, len(ids), _rated(done, len(ids)), clock)
    with sessions() as session:
        job = _load(session, job_uuid)
        assert job is not None
        totals.pop("enterprises_done", None)
        totals["enterprises"] = len(ids)
        audit.record(session, session.get(User, job.created_by_id), "job.rerate", job, totals)
        message = reason("${count} enterprises rated", count=len(ids))
        _finish(job, JobStatus.DONE, clock, result=totals, message=message)


def _rated(done: int, total: int) -> str:
    return reason("${done} of ${total} rated", done=done, total=total)


def _run_draw(sessions: Callable[[], Any], job_uuid: str, clock: Callable[[], dt.datetime]) -> None:
    from enforcement.services.draws import DrawService, draw_summary

    with sessions() as session:
        job = _load(session, job_uuid)
        assert job is not None
        set_progress(job, 0, 1, reason("drawing"), clock)
    with sessions() as session:
        job = _load(session, job_uuid)
        assert job is not None
        params = dict(job.params)
        actor = session.get(User, job.created_by_id)
        plan = session.get(SamplingPlan, int(params["plan_id"]))
        if plan is None or actor is None:
            raise JobValidationError({"plan_id": reason("no such plan")})
        draw = DrawService(session, actor, clock).draw(
            plan, bytes.fromhex(str(params["seed"])), params.get("public_value")
        )
        result = {"plan_id": plan.id, "plan_code": plan.code, "draw_id": draw.id}
        result.update(draw_summary(draw))
        _finish(job, JobStatus.DONE, clock, result=_jsonable(result), message=reason("drawn"))


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


__all__ = [
    "TOPIC",
    "JobError",
    "JobNotFoundError",
    "JobPermissionError",
    "JobValidationError",
    "fail",
    "get",
    "percent",
    "progress_document",
    "recent",
    "run",
    "set_progress",
    "start",
]
