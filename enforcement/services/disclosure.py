"""Publication (一公开): plans, draws, inspection results and penalty decisions are published
automatically, masked, within 20 working days; enterprises reply to and appeal what is
published about them.

The publication run (``run``; the Celery task ``enforcement.tasks.publish_due``, on the beat
schedule) is pull-based and idempotent:

1. it looks for subjects without a public record: drawn or published plans (a ``plan`` and a
   ``draw`` record each), finished field inspections (``result``), decided penalty cases
   (``penalty``), and writes a pending ``PublicRecord`` for each, with ``due_on`` = 20 working
   days after the event (Asia/Shanghai dates, the working-day calendar of
   ``enforcement.workdays``) and ``publish_on`` = the end of the configured hold
   (``suijian.publication.hold_working_days``, default 0; per kind with a suffix, e.g.
   ``….draw``), never later than ``due_on``; a ``publication.<kind>`` clock starts on it;
2. it publishes every pending record whose ``publish_on`` has come: the masked document is
   built from the source as it is now, ``published_at`` set, the clock stopped;
3. it rebuilds published records whose source changed (a plan published with its bundle, a
   plan redrawn, a penalty changed on reconsideration) and withdraws those whose publicity
   ended (a repaired penalty, a decision revoked on reconsideration), with the reason.

Two runs at once are harmless: the unique (kind, source) constraint and ``ON CONFLICT DO
NOTHING`` leave one record per subject. Nothing here commits; every step is audit-logged.

Events: a plan or draw is dated by ``drawn_at``; a result by ``finished_at`` (the tablet's
time of the result, never later than when the server learnt it); a penalty by the case's
``decided_at``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import exists, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, defer, selectinload

from enforcement.models import (
    AppealAction,
    AppealStatus,
    CaseStatus,
    Department,
    FieldInspection,
    InspectionResult,
    InspectionStatus,
    InspectionTask,
    Jurisdiction,
    PenaltyCase,
    PenaltyMeasure,
    PlanStatus,
    PublicKind,
    PublicRecord,
    ReconsiderationStatus,
    RecordAppeal,
    RecordReply,
    Role,
    SamplingMethod,
    SamplingPlan,
    User,
    utcnow,
)
from enforcement.reasons import Reason, reason
from enforcement.services import audit
from enforcement.services.clocks import (
    calendar_for,
    end_of_date,
    local_date,
    start_clock,
    start_of_date,
    stop_clock,
)
from enforcement.services.masking import (
    mask_text,
    public_enterprise_name,
    public_officer,
    public_representative,
)
from enforcement.workdays import WorkCalendar

SHANGHAI = ZoneInfo("Asia/Shanghai")

#: The version of the public documents (and of the open-data schema built from them).
SCHEMA_VERSION = "1"
#: 企业信息公示暂行条例 art. 6 / 市场监督管理行政处罚信息公示规定 art. 9: within 20 working days.
DUE_WORKING_DAYS = 20
#: The publication clock warns this many working days before the deadline.
WARN_WORKING_DAYS = 3
HOLD_SETTING = "suijian.publication.hold_working_days"
#: Subjects handled per kind and run (the task runs again until nothing is left).
DEFAULT_BATCH = 500

MIN_TEXT = 2
MAX_REPLY = 2000
MIN_GROUNDS = 10
MAX_GROUNDS = 2000
MAX_REASON = 1000
#: Penalty decisions stay in force; these case statuses mean a decision was made.
DECIDED_CASE_STATUSES = (CaseStatus.DECIDED, CaseStatus.EXECUTED, CaseStatus.CLOSED)
DECIDING_ROLES = frozenset({Role.SUPERVISOR, Role.ADMIN})

RESULT_LABELS: dict[InspectionResult, tuple[str, str]] = {
    InspectionResult.NO_PROBLEM: ("未发现问题", "No problem found"),
    InspectionResult.RECTIFICATION_ORDERED: (
        "发现问题，已责令整改",
        "Problems found; rectification ordered",
    ),
    InspectionResult.CASE_FILED: ("发现问题，已立案调查", "Problems found; a case was filed"),
    InspectionResult.SUSPECTED_CRIME: (
        "发现涉嫌犯罪线索，依法移送",
        "Suspected crime; referred to the judicial authorities",
    ),
}
MEASURE_LABELS: dict[PenaltyMeasure, tuple[str, str]] = {
    PenaltyMeasure.WARNING: ("警告、通报批评", "Warning"),
    PenaltyMeasure.FINE: ("罚款", "Fine"),
    PenaltyMeasure.CONFISCATION: ("没收违法所得、没收非法财物", "Confiscation"),
    PenaltyMeasure.SUSPENSION: ("暂扣许可证件、责令停产停业等", "Suspension"),
    PenaltyMeasure.REVOCATION: ("吊销许可证件、营业执照等", "Revocation"),
}
REASON_REPAIRED = "信用修复：该行政处罚信息已停止公示"
REASON_REVOKED = "行政复议决定撤销了该行政处罚决定"


# --- errors --------------------------------------------------------------------------------------


# Reasons of the functions whose ``reason`` argument hides the function of that name.
_NOT_PUBLISHED = reason("only a published record can be withdrawn")
_DECIDING_ROLE = reason(
    "only a supervisor of the record's department or an administrator decides appeals"
)
_ACTION_MISSING = reason("an upheld appeal must say: correct or withdraw")
_ACTION_UNWANTED = reason("only an upheld appeal takes an action")


def _already_withdrawn(record: PublicRecord) -> str:
    return reason("record ${id} was already withdrawn", id=record.id)


def _already_decided(appeal: RecordAppeal) -> str:
    if appeal.status is AppealStatus.UPHELD:
        return reason("appeal ${id} was already upheld", id=appeal.id)
    return reason("appeal ${id} was already dismissed", id=appeal.id)


class DisclosureError(Exception):
    """Base of the refusals of the publication workflow."""


class DisclosureNotFoundError(DisclosureError, LookupError):
    """No such public record or appeal (or not one the user may see)."""


class DisclosurePermissionError(DisclosureError):
    """The user's role or scope does not allow the action."""


class DisclosureStateError(DisclosureError):
    """The record or appeal is not in a state that allows the action."""


class DisclosureValidationError(DisclosureError, ValueError):
    """Bad input; ``errors`` maps each field to what is wrong with it."""

    def __init__(self, errors: Mapping[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = dict(errors)


# --- dates -------------------------------------------------------------------------------------


def hold_working_days(
    settings: Mapping[str, Any] | None, kind: PublicKind | str | None = None
) -> int:
    """The configured hold before publication, in working days (0: publish at once):
    ``suijian.publication.hold_working_days.<kind>`` if set, else the general setting."""
    settings = settings or {}
    key = HOLD_SETTING
    if kind is not None and settings.get(f"{HOLD_SETTING}.{PublicKind(kind).value}") is not None:
        key = f"{HOLD_SETTING}.{PublicKind(kind).value}"
    raw = str(settings.get(key) or "0").strip()
    if not raw.isdigit() or int(raw) > DUE_WORKING_DAYS:
        raise ValueError(
            f"{key}: must be a whole number of working days from 0 to {DUE_WORKING_DAYS}"
        )
    return int(raw)


def _holds(settings: Mapping[str, Any] | None) -> dict[PublicKind, int]:
    """The hold of every kind (checks every setting at once)."""
    return {kind: hold_working_days(settings, kind) for kind in PublicKind}


def due_on(calendar: WorkCalendar, event_at: dt.datetime) -> dt.date:
    """The last day to publish: the 20th working day after the event's date."""
    return calendar.add_working_days(local_date(event_at), DUE_WORKING_DAYS)


def publish_on(calendar: WorkCalendar, event_at: dt.datetime, hold: int) -> dt.date:
    """The day the hold ends, never after the deadline."""
    return min(calendar.add_working_days(local_date(event_at), hold), due_on(calendar, event_at))


def bundle_path(code: str) -> str:
    """The public verification bundle of a published plan (see ``api/plans.plan_bundle``)."""
    return f"/api/v1/plans/{code}/bundle"


# --- subjects ------------------------------------------------------------------------------------


@dataclass
class Subject:
    """Something to publish, before it has a record."""

    kind: PublicKind
    source_id: int
    key: str
    event_at: dt.datetime
    source: Any
    enterprise_id: int | None = None
    department_id: int | None = None
    name: str = ""
    uscc: str | None = None


def _plan_department(plan: SamplingPlan) -> int | None:
    departments = plan.departments
    return departments[0].id if len(departments) == 1 else None


def _plan_subjects(session: Session, kind: PublicKind, limit: int | None) -> list[Subject]:
    missing = ~exists().where(PublicRecord.kind == kind, PublicRecord.source_id == SamplingPlan.id)
    query = (
        select(SamplingPlan)
        .where(
            SamplingPlan.status.in_([PlanStatus.DRAWN, PlanStatus.PUBLISHED]),
            SamplingPlan.drawn_at.is_not(None),
            missing,
        )
        .order_by(SamplingPlan.drawn_at, SamplingPlan.id)
        .limit(limit)
    )
    return [
        Subject(
            kind=kind,
            source_id=plan.id,
            key=plan.code,
            event_at=plan.drawn_at,
            source=plan,
            department_id=_plan_department(plan),
            name=plan.title[:300],
        )
        for plan in session.scalars(query)
    ]


def _result_subject(inspection: FieldInspection, now: dt.datetime) -> Subject:
    enterprise = inspection.task.enterprise
    finished = inspection.finished_at or inspection.updated_at
    return Subject(
        kind=PublicKind.RESULT,
        source_id=inspection.id,
        key=str(inspection.uuid),
        event_at=min(finished, now),
        source=inspection,
        enterprise_id=enterprise.id,
        department_id=inspection.inspector.department_id,
        name=public_enterprise_name(enterprise)[:300],
        uscc=enterprise.uscc,
    )


def _result_subjects(session: Session, limit: int | None, now: dt.datetime) -> list[Subject]:
    missing = ~exists().where(
        PublicRecord.kind == PublicKind.RESULT, PublicRecord.source_id == FieldInspection.id
    )
    query = (
        select(FieldInspection)
        .where(
            FieldInspection.status == InspectionStatus.FINISHED,
            FieldInspection.result.is_not(None),
            missing,
        )
        .order_by(FieldInspection.id)
        .limit(limit)
        .options(
            selectinload(FieldInspection.task).selectinload(InspectionTask.enterprise),
            selectinload(FieldInspection.inspector),
        )
    )
    return [_result_subject(inspection, now) for inspection in session.scalars(query)]


def _penalty_subject(case: PenaltyCase) -> Subject:
    assert case.penalty is not None and case.decided_at is not None
    return Subject(
        kind=PublicKind.PENALTY,
        source_id=case.id,
        key=case.penalty.decision_no,
        event_at=case.decided_at,
        source=case,
        enterprise_id=case.enterprise_id,
        department_id=case.department_id,
        name=public_enterprise_name(case.enterprise)[:300],
        uscc=case.enterprise.uscc,
    )


def _penalty_subjects(session: Session, limit: int | None) -> list[Subject]:
    missing = ~exists().where(
        PublicRecord.kind == PublicKind.PENALTY, PublicRecord.source_id == PenaltyCase.id
    )
    query = (
        select(PenaltyCase)
        .where(
            PenaltyCase.status.in_(DECIDED_CASE_STATUSES),
            PenaltyCase.penalty_id.is_not(None),
            PenaltyCase.decided_at.is_not(None),
            missing,
        )
        .order_by(PenaltyCase.decided_at, PenaltyCase.id)
        .limit(limit)
    )
    return [_penalty_subject(case) for case in session.scalars(query)]


def undiscovered(
    session: Session, *, limit: int | None = None, now: dt.datetime | None = None
) -> list[Subject]:
    """Subjects that should be published and have no record yet (at most ``limit`` per kind)."""
    now = now or utcnow()
    return [
        *_plan_subjects(session, PublicKind.PLAN, limit),
        *_plan_subjects(session, PublicKind.DRAW, limit),
        *_result_subjects(session, limit, now),
        *_penalty_subjects(session, limit),
    ]


# --- documents -----------------------------------------------------------------------------------


def _iso(value: dt.datetime | dt.date | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat()
    return value.isoformat()


def _department(department: Department | None) -> dict[str, Any] | None:
    if department is None:
        return None
    return {"code": department.code, "name": department.name, "name_en": department.name_en}


def _plan_state(plan: SamplingPlan) -> str:
    successor = plan.superseded_by.code if plan.superseded_by is not None else ""
    return f"{PlanStatus(plan.status).value}|{successor}"


def plan_document(session: Session, plan: SamplingPlan) -> dict[str, Any]:
    """A sampling plan as published: scope, items, ratios and the seed commitment."""
    adcodes = session.execute(
        select(Jurisdiction.adcode, Jurisdiction.name)
        .where(Jurisdiction.id.in_(plan.jurisdiction_ids or []))
        .order_by(Jurisdiction.adcode)
    ).all()
    return {
        "schema_version": SCHEMA_VERSION,
        "kind": PublicKind.PLAN.value,
        "plan_code": plan.code,
        "title": plan.title,
        "year": plan.year,
        "status": PlanStatus(plan.status).value,
        "departments": [_department(d) for d in plan.departments],
        "items": [
            {"code": item.code, "name": item.name, "legal_basis": item.legal_basis}
            for item in plan.items
        ],
        "jurisdictions": [{"adcode": code, "name": name} for code, name in adcodes],
        "tier_ratios": {tier: float(plan.tier_ratios.get(tier, 0)) for tier in "ABCD"},
        "budget": plan.budget,
        "method": SamplingMethod(plan.method).value,
        "due_date": plan.effective_due_date.isoformat(),
        "seed_commitment": plan.seed_commitment,
        "public_value_source": plan.public_value_source,
        "drawn_at": _iso(plan.drawn_at),
        "supersedes": plan.supersedes.code if plan.supersedes is not None else None,
        "superseded_by": plan.superseded_by.code if plan.superseded_by is not None else None,
        "redraw_reason": mask_text(plan.redraw_reason),
    }


def draw_document(session: Session, plan: SamplingPlan) -> dict[str, Any]:
    """The draw as published: the drawn targets and alternates, the revealed seed and the
    public value, and the bundle anyone can re-run once the plan is published. Inspectors are
    not named here (the bundle pseudonymises them too)."""
    draw = plan.draw
    published = PlanStatus(plan.status) is PlanStatus.PUBLISHED
    targets = []
    if draw is not None:
        tasks = session.scalars(
            select(InspectionTask)
            .where(InspectionTask.draw_id == draw.id)
            .order_by(InspectionTask.is_alternate, InspectionTask.alternate_rank, InspectionTask.id)
            .options(selectinload(InspectionTask.enterprise))
        ).all()
        targets = [
            {
                "enterprise_name": public_enterprise_name(task.enterprise),
                "enterprise_uscc": task.enterprise.uscc,
                "alternate": bool(task.is_alternate),
                "alternate_rank": task.alternate_rank,
                "due_date": task.due_date.isoformat(),
            }
            for task in tasks
        ]
    return {
        "schema_version": SCHEMA_VERSION,
        "kind": PublicKind.DRAW.value,
        "plan_code": plan.code,
        "plan_title": plan.title,
        "status": PlanStatus(plan.status).value,
        "drawn_at": _iso(plan.drawn_at),
        "algorithm_version": draw.algorithm_version if draw is not None else None,
        "seed_commitment": plan.seed_commitment,
        "seed": plan.revealed_seed,
        "public_value_source": plan.public_value_source,
        "public_value": plan.public_value,
        "snapshot_hash": draw.snapshot_hash if draw is not None else None,
        "bundle_url": bundle_path(plan.code) if published else None,
        "superseded_by": plan.superseded_by.code if plan.superseded_by is not None else None,
        "targets": targets,
    }


def result_document(session: Session, inspection: FieldInspection) -> dict[str, Any]:
    """An inspection result as published. Free text written in the field (finding
    descriptions, notes) is left out: names in it cannot be masked reliably."""
    task = inspection.task
    enterprise = task.enterprise
    result = InspectionResult(inspection.result)
    team = sorted(task.members, key=lambda m: (m.role.value != "lead", m.id))
    items = {item.code: item.name for item in task.items}
    for entry in task.checklist:
        items.setdefault(entry["code"], entry.get("name", ""))
    jurisdiction = enterprise.jurisdiction
    return {
        "schema_version": SCHEMA_VERSION,
        "kind": PublicKind.RESULT.value,
        "inspection_uuid": str(inspection.uuid),
        "plan_code": task.draw.plan.code,
        "plan_title": task.draw.plan.title,
        "enterprise_name": public_enterprise_name(enterprise),
        "enterprise_uscc": enterprise.uscc,
        "entity_type": enterprise.entity_type.value,
        "legal_representative": public_representative(enterprise),
        "jurisdiction": (
            None
            if jurisdiction is None
            else {"adcode": jurisdiction.adcode, "name": jurisdiction.name}
        ),
        "department": _department(inspection.inspector.department),
        "items": [{"code": code, "name": name} for code, name in sorted(items.items())],
        "inspected_on": local_date(inspection.checked_in_at).isoformat(),
        "finished_on": local_date(inspection.finished_at or inspection.updated_at).isoformat(),
        "result": result.value,
        "result_label": {"zh": RESULT_LABELS[result][0], "en": RESULT_LABELS[result][1]},
        "rectification_due": _iso(inspection.rectification_due),
        "findings": [
            {"item_code": finding.item_code, "severity": finding.severity}
            for finding in inspection.findings
        ],
        "team": [public_officer(member.inspector.name) for member in team],
    }


def _penalty_state(case: PenaltyCase) -> str:
    penalty = case.penalty
    assert penalty is not None
    standing = (
        "revoked"
        if penalty.revoked_at is not None
        else "repaired"
        if penalty.repaired_at is not None
        else "live"
    )
    reconsideration = case.reconsideration_status.value if case.reconsideration_status else ""
    return f"{standing}|{reconsideration}|{penalty.measure.value}|{penalty.amount}"


def penalty_document(session: Session, case: PenaltyCase) -> dict[str, Any]:
    """A penalty decision as published (行政处罚信息公示): decision number, party, violation,
    legal basis, measure and amount."""
    penalty = case.penalty
    assert penalty is not None
    enterprise = case.enterprise
    measure = PenaltyMeasure(penalty.measure)
    amount: Decimal | None = penalty.amount
    return {
        "schema_version": SCHEMA_VERSION,
        "kind": PublicKind.PENALTY.value,
        "decision_no": penalty.decision_no,
        "enterprise_name": public_enterprise_name(enterprise),
        "enterprise_uscc": enterprise.uscc,
        "entity_type": enterprise.entity_type.value,
        "legal_representative": public_representative(enterprise),
        "department": _department(case.department),
        "decided_on": penalty.decided_on.isoformat(),
        "measure": measure.value,
        "measure_label": {"zh": MEASURE_LABELS[measure][0], "en": MEASURE_LABELS[measure][1]},
        "amount": None if amount is None else f"{amount:.2f}",
        "legal_basis": penalty.legal_basis,
        "violation": mask_text(case.summary) or "",
        "reconsideration": (
            case.reconsideration_status.value if case.reconsideration_status else None
        ),
    }


def build(session: Session, kind: PublicKind, source: Any) -> tuple[dict[str, Any], str]:
    """The public document of ``source`` and the state it was built from."""
    if kind is PublicKind.PLAN:
        return plan_document(session, source), _plan_state(source)
    if kind is PublicKind.DRAW:
        return draw_document(session, source), _plan_state(source)
    if kind is PublicKind.RESULT:
        return result_document(session, source), "finished"
    return penalty_document(session, source), _penalty_state(source)


def source_of(session: Session, record: PublicRecord) -> Any:
    model = {
        PublicKind.PLAN: SamplingPlan,
        PublicKind.DRAW: SamplingPlan,
        PublicKind.RESULT: FieldInspection,
        PublicKind.PENALTY: PenaltyCase,
    }[PublicKind(record.kind)]
    return session.get(model, record.source_id)


# --- the run -----------------------------------------------------------------------------------


@dataclass
class RunSummary:
    """What one publication run did."""

    discovered: int = 0
    published: int = 0
    late: int = 0  # published after due_on
    updated: int = 0
    withdrawn: int = 0
    more: bool = False  # a batch was full: run again
    by_kind: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "discovered": self.discovered,
            "published": self.published,
            "late": self.late,
            "updated": self.updated,
            "withdrawn": self.withdrawn,
            "more": self.more,
            "by_kind": dict(self.by_kind),
        }


def _insert_ignoring_conflicts(session: Session) -> Any:
    dialect = session.get_bind(PublicRecord).dialect.name
    if dialect == "postgresql":
        return postgresql.insert
    if dialect == "sqlite":
        return sqlite.insert
    raise RuntimeError(f"publication: unsupported database {dialect!r}")


def clock_kind(kind: PublicKind | str) -> str:
    return f"publication.{PublicKind(kind).value}"


class Publisher:
    """The publication run: discovery, publication when due, refresh and withdrawal."""

    def __init__(
        self,
        session: Session,
        *,
        settings: Mapping[str, Any] | None = None,
        clock: Callable[[], dt.datetime] = utcnow,
        batch: int = DEFAULT_BATCH,
    ) -> None:
        self.session = session
        self.settings = dict(settings or {})
        self.clock = clock
        self.batch = batch
        self.calendar = calendar_for(self.settings)
        self.holds = _holds(self.settings)

    def run(self) -> RunSummary:
        now = self.clock()
        summary = RunSummary()
        summary.discovered, summary.more = self.discover(now)
        self.refresh(now, summary)
        self.publish_ready(now, summary)
        return summary

    # ------------------------------------------------------------------ discovery

    def discover(self, now: dt.datetime) -> tuple[int, bool]:
        """Pending records for new subjects; returns (how many, whether a batch was full)."""
        subjects = [
            *_plan_subjects(self.session, PublicKind.PLAN, self.batch),
            *_plan_subjects(self.session, PublicKind.DRAW, self.batch),
        ]
        full = len(subjects) >= self.batch
        results = _result_subjects(self.session, self.batch, now)
        penalties = _penalty_subjects(self.session, self.batch)
        full = full or len(results) >= self.batch or len(penalties) >= self.batch
        created = 0
        for subject in [*subjects, *results, *penalties]:
            if self._create(subject, now) is not None:
                created += 1
        return created, full

    def _create(self, subject: Subject, now: dt.datetime) -> PublicRecord | None:
        document, state = build(self.session, subject.kind, subject.source)
        due = due_on(self.calendar, subject.event_at)
        insert = _insert_ignoring_conflicts(self.session)
        record_id = self.session.scalar(
            insert(PublicRecord)
            .values(
                kind=subject.kind,
                subject_key=subject.key,
                source_id=subject.source_id,
                enterprise_id=subject.enterprise_id,
                department_id=subject.department_id,
                subject_name=subject.name,
                subject_uscc=subject.uscc,
                event_at=subject.event_at,
                publish_on=publish_on(self.calendar, subject.event_at, self.holds[subject.kind]),
                due_on=due,
                source_state=state,
                document=document,
                schema_version=SCHEMA_VERSION,
                revision=1,
                corrections=[],
                created_at=now,
                updated_at=now,
            )
            .on_conflict_do_nothing()
            .returning(PublicRecord.id)
        )
        if record_id is None:  # another run created it first
            return None
        record = self.session.get(PublicRecord, record_id)
        assert record is not None
        audit.record(
            self.session,
            None,
            "publication.schedule",
            record,
            {
                "kind": subject.kind.value,
                "subject": subject.key,
                "publish_on": record.publish_on.isoformat(),
                "due_on": due.isoformat(),
            },
            at=now,
        )
        warn_day = self.calendar.add_working_days(due, -WARN_WORKING_DAYS)
        start_clock(
            self.session,
            kind=clock_kind(subject.kind),
            subject=record,
            due_at=end_of_date(due),
            warn_at=max(start_of_date(warn_day), subject.event_at),
            department_id=subject.department_id,
            started_at=subject.event_at,
        )
        return record

    # ------------------------------------------------------------------ publication

    def publish_ready(self, now: dt.datetime, summary: RunSummary) -> None:
        today = local_date(now)
        ready = self.session.scalars(
            select(PublicRecord)
            .where(PublicRecord.published_at.is_(None), PublicRecord.publish_on <= today)
            .order_by(PublicRecord.due_on, PublicRecord.id)
            .limit(self.batch * 4)
            .with_for_update(skip_locked=True)
        ).all()
        if len(ready) >= self.batch * 4:
            summary.more = True
        for record in ready:
            self.publish(record, now)
            summary.published += 1
            summary.by_kind[record.kind.value] = summary.by_kind.get(record.kind.value, 0) + 1
            if today > record.due_on:
                summary.late += 1

    def publish(self, record: PublicRecord, now: dt.datetime) -> None:
        """Make a pending record public, with its document rebuilt from the source now."""
        source = source_of(self.session, record)
        if source is not None:
            record.document, record.source_state = build(self.session, record.kind, source)
        record.published_at = now
        record.updated_at = now
        self.session.flush()
        audit.record(
            self.session,
            None,
            "publication.publish",
            record,
            {
                "kind": record.kind.value,
                "subject": record.subject_key,
                "due_on": record.due_on.isoformat(),
                "late": local_date(now) > record.due_on,
            },
            at=now,
        )
        stop_clock(self.session, kind=clock_kind(record.kind), subject=record, at=now)

    # ------------------------------------------------------------------ refresh

    def refresh(self, now: dt.datetime, summary: RunSummary) -> None:
        """Rebuild plan, draw and penalty records whose source changed; withdraw penalties
        whose publicity ended. Results are frozen at the finish and never change."""
        records = self.session.scalars(
            select(PublicRecord)
            .where(
                PublicRecord.kind.in_([PublicKind.PLAN, PublicKind.DRAW, PublicKind.PENALTY]),
                PublicRecord.withdrawn_at.is_(None),
            )
            .order_by(PublicRecord.id)
            .options(defer(PublicRecord.document))  # loaded only for records that change
        ).all()
        plan_ids = {r.source_id for r in records if r.kind is not PublicKind.PENALTY}
        case_ids = {r.source_id for r in records if r.kind is PublicKind.PENALTY}
        plans = {
            plan.id: plan
            for plan in self.session.scalars(
                select(SamplingPlan).where(SamplingPlan.id.in_(plan_ids))
            )
        }
        cases = {
            case.id: case
            for case in self.session.scalars(
                select(PenaltyCase).where(PenaltyCase.id.in_(case_ids))
            )
        }
        for record in records:
            if record.kind is PublicKind.PENALTY:
                case = cases.get(record.source_id)
                if case is None or case.penalty is None:
                    continue
                state = _penalty_state(case)
                reason = self._ended(case)
                if reason is not None and record.published_at is not None:
                    withdraw(self.session, record, reason, now=now, actor=None)
                    record.source_state = state
                    summary.withdrawn += 1
                    continue
            else:
                plan = plans.get(record.source_id)
                if plan is None:
                    continue
                state = _plan_state(plan)
            if state != record.source_state and self._rebuild(record, now):
                summary.updated += 1

    @staticmethod
    def _ended(case: PenaltyCase) -> str | None:
        if case.reconsideration_status is ReconsiderationStatus.REVOKED:
            return REASON_REVOKED
        if case.penalty is not None and case.penalty.repaired_at is not None:
            return REASON_REPAIRED
        return None

    def _rebuild(self, record: PublicRecord, now: dt.datetime) -> bool:
        source = source_of(self.session, record)
        if source is None:
            return False
        document, state = build(self.session, record.kind, source)
        changed = document != record.document
        record.source_state = state
        if not changed:
            return False
        record.document = document
        if record.published_at is not None:
            record.revision += 1
            record.updated_at = now
            self.session.flush()
            audit.record(
                self.session,
                None,
                "publication.update",
                record,
                {"kind": record.kind.value, "revision": record.revision, "state": state},
                at=now,
            )
        return record.published_at is not None


def withdraw(
    session: Session,
    record: PublicRecord,
    reason: str,
    *,
    now: dt.datetime,
    actor: User | None,
    appeal: RecordAppeal | None = None,
) -> None:
    """Take a published record down; its reason stays public."""
    if record.published_at is None:
        raise DisclosureStateError(_NOT_PUBLISHED)
    if record.withdrawn_at is not None:
        raise DisclosureStateError(_already_withdrawn(record))
    record.withdrawn_at = now
    record.withdrawal_reason = reason
    record.revision += 1
    record.updated_at = now
    session.flush()
    details: dict[str, Any] = {"kind": record.kind.value, "reason": reason}
    if appeal is not None:
        details["appeal_id"] = appeal.id
    audit.record(session, actor, "publication.withdraw", record, details, at=now)


def run(
    session: Session,
    *,
    settings: Mapping[str, Any] | None = None,
    clock: Callable[[], dt.datetime] = utcnow,
    batch: int = DEFAULT_BATCH,
) -> RunSummary:
    """One publication run in the caller's transaction (see the module docstring)."""
    return Publisher(session, settings=settings, clock=clock, batch=batch).run()


# --- what is due ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class DueItem:
    kind: str
    subject: str
    event_at: dt.datetime
    publish_on: dt.date
    due_on: dt.date
    state: str  # new (no record yet), held, ready, overdue
    record_id: int | None


def due_items(
    session: Session,
    *,
    settings: Mapping[str, Any] | None = None,
    now: dt.datetime | None = None,
    limit: int | None = None,
) -> list[DueItem]:
    """What awaits publication, soonest deadline first: subjects without a record and
    pending records. Reads only."""
    now = now or utcnow()
    calendar = calendar_for(settings)
    holds = _holds(settings)
    today = local_date(now)

    def state(publish: dt.date, due: dt.date) -> str:
        if today > due:
            return "overdue"
        return "ready" if today >= publish else "held"

    items = []
    for subject in undiscovered(session, limit=limit, now=now):
        due = due_on(calendar, subject.event_at)
        items.append(
            DueItem(
                kind=subject.kind.value,
                subject=subject.key,
                event_at=subject.event_at,
                publish_on=publish_on(calendar, subject.event_at, holds[subject.kind]),
                due_on=due,
                state="overdue" if today > due else "new",
                record_id=None,
            )
        )
    pending = session.scalars(
        select(PublicRecord)
        .where(PublicRecord.published_at.is_(None))
        .order_by(PublicRecord.due_on, PublicRecord.id)
        .limit(limit)
    )
    items += [
        DueItem(
            record.kind.value,
            record.subject_key,
            record.event_at,
            record.publish_on,
            record.due_on,
            state(record.publish_on, record.due_on),
            record.id,
        )
        for record in pending
    ]
    return sorted(items, key=lambda i: (i.due_on, i.kind, i.subject))


# --- reading -------------------------------------------------------------------------------------


def published_records(
    session: Session,
    *,
    kinds: Iterable[PublicKind] | None = None,
    text: str = "",
    enterprise_id: int | None = None,
    offset: int = 0,
    limit: int = 50,
) -> tuple[list[PublicRecord], int]:
    """Published records (withdrawn ones too, shown as such), newest first, and the total.
    ``text`` matches the enterprise's USCC exactly or a part of its (public) name."""
    query = select(PublicRecord).where(PublicRecord.published_at.is_not(None))
    if kinds is not None:
        query = query.where(PublicRecord.kind.in_(list(kinds)))
    if enterprise_id is not None:
        query = query.where(PublicRecord.enterprise_id == enterprise_id)
    text = (text or "").strip()
    if text:
        escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(
            or_(
                PublicRecord.subject_uscc == text.upper(),
                PublicRecord.subject_name.like(f"%{escaped}%", escape="\\"),
                PublicRecord.subject_key == text,
            )
        )
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(PublicRecord.published_at.desc(), PublicRecord.id.desc())
        .offset(offset)
        .limit(limit)
    ).all()
    return list(rows), int(total)


def get_public_record(session: Session, record_id: int) -> PublicRecord:
    """A published record (pending ones do not exist for the public)."""
    record = session.get(PublicRecord, record_id)
    if record is None or record.published_at is None:
        raise DisclosureNotFoundError(reason("no published record ${id}", id=record_id))
    return record


def public_view(record: PublicRecord) -> dict[str, Any]:
    """What anyone may see of a published record: the document (unless withdrawn), the
    corrections, the withdrawal and the enterprise's replies (masked)."""
    return {
        "id": record.id,
        "kind": record.kind.value,
        "subject_key": record.subject_key,
        "schema_version": record.schema_version,
        "revision": record.revision,
        "published_at": _iso(record.published_at),
        "due_on": record.due_on.isoformat(),
        "status": "withdrawn" if record.withdrawn_at is not None else "published",
        "withdrawn_at": _iso(record.withdrawn_at),
        "withdrawal_reason": mask_text(record.withdrawal_reason),
        "document": None if record.withdrawn_at is not None else dict(record.document),
        "corrections": [
            {"at": c.get("at"), "reason": mask_text(c.get("reason")) or ""}
            for c in record.corrections
        ],
        "replies": [public_reply(reply) for reply in record.replies],
    }


def public_reply(reply: RecordReply) -> dict[str, Any]:
    return {"id": reply.id, "at": _iso(reply.created_at), "body": mask_text(reply.body) or ""}


# --- replies and appeals -----------------------------------------------------------------------


def _text(value: Any, field: str, low: int, high: int, errors: dict[str, str]) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if not low <= len(text) <= high:
        errors[field] = reason("must be ${low} to ${high} characters", low=low, high=high)
    return text


class DisclosureService:
    """Replies and appeals by enterprises, decisions by supervisors; all audit-logged."""

    def __init__(
        self, session: Session, actor: User, clock: Callable[[], dt.datetime] = utcnow
    ) -> None:
        self.session = session
        self.actor = actor
        self.clock = clock

    def _own_record(self, record_id: int, what: Reason) -> PublicRecord:
        if (
            not self.actor.active
            or Role(self.actor.role) is not Role.ENTERPRISE
            or self.actor.enterprise_id is None
        ):
            raise DisclosurePermissionError(
                reason("only an enterprise account can ${action}", action=what)
            )
        record = get_public_record(self.session, record_id)
        if record.enterprise_id != self.actor.enterprise_id:
            # Another enterprise's record: refused, without saying more.
            raise DisclosurePermissionError(
                reason("an enterprise can ${action} only about itself", action=what)
            )
        if record.withdrawn_at is not None:
            raise DisclosureStateError(reason("record ${id} was withdrawn", id=record.id))
        return record

    def reply(self, record_id: int, body: str) -> RecordReply:
        """A reply shown beside the record (the enterprise's own view of the facts)."""
        record = self._own_record(record_id, reason("reply to a published record"))
        errors: dict[str, str] = {}
        text = _text(body, "body", MIN_TEXT, MAX_REPLY, errors)
        if errors:
            raise DisclosureValidationError(errors)
        now = self.clock()
        reply = RecordReply(
            record=record,
            enterprise_id=record.enterprise_id,
            author=self.actor,
            body=text,
            created_at=now,
        )
        self.session.add(reply)
        self.session.flush()
        audit.record(
            self.session,
            self.actor,
            "publication.reply",
            reply,
            {"record_id": record.id, "kind": record.kind.value},
            at=now,
        )
        return reply

    def appeal(self, record_id: int, grounds: str) -> RecordAppeal:
        """An appeal against the record; one open appeal per record at a time."""
        record = self._own_record(record_id, reason("appeal a published record"))
        errors: dict[str, str] = {}
        text = _text(grounds, "grounds", MIN_GROUNDS, MAX_GROUNDS, errors)
        if errors:
            raise DisclosureValidationError(errors)
        self.session.flush()
        self.session.refresh(record, with_for_update=True)  # two appeals at once: one wins
        open_appeal = self.session.scalar(
            select(RecordAppeal.id).where(
                RecordAppeal.record_id == record.id,
                RecordAppeal.status == AppealStatus.SUBMITTED,
            )
        )
        if open_appeal is not None:
            raise DisclosureStateError(
                reason("appeal ${id} about this record is still open", id=open_appeal)
            )
        now = self.clock()
        appeal = RecordAppeal(
            record=record,
            enterprise_id=record.enterprise_id,
            applicant=self.actor,
            grounds=text,
            status=AppealStatus.SUBMITTED,
            created_at=now,
            updated_at=now,
        )
        self.session.add(appeal)
        self.session.flush()
        audit.record(
            self.session,
            self.actor,
            "publication.appeal",
            appeal,
            {"record_id": record.id, "kind": record.kind.value},
            at=now,
        )
        return appeal

    def decide(
        self,
        appeal: RecordAppeal,
        *,
        uphold: bool,
        reason: str,
        action: AppealAction | str | None = None,
    ) -> RecordAppeal:
        """Uphold (correct or withdraw the record, with the reason) or dismiss an appeal."""
        if not may_decide(self.actor, appeal.record):
            raise DisclosurePermissionError(_DECIDING_ROLE)
        errors: dict[str, str] = {}
        text = _text(reason, "reason", MIN_TEXT, MAX_REASON, errors)
        chosen: AppealAction | None = None
        if uphold:
            try:
                chosen = AppealAction(action) if action is not None else None
            except ValueError:
                chosen = None
            if chosen is None:
                errors["action"] = _ACTION_MISSING
        elif action is not None:
            errors["action"] = _ACTION_UNWANTED
        if errors:
            raise DisclosureValidationError(errors)
        self.session.flush()
        self.session.refresh(appeal, with_for_update=True)
        if appeal.status is not AppealStatus.SUBMITTED:
            raise DisclosureStateError(_already_decided(appeal))
        record = appeal.record
        if uphold and record.withdrawn_at is not None:
            raise DisclosureStateError(_already_withdrawn(record))
        now = self.clock()
        appeal.status = AppealStatus.UPHELD if uphold else AppealStatus.DISMISSED
        appeal.action = chosen
        appeal.decided_by = self.actor
        appeal.decided_at = now
        appeal.decision_reason = text
        appeal.updated_at = now
        self.session.flush()
        audit.record(
            self.session,
            self.actor,
            "publication.appeal.uphold" if uphold else "publication.appeal.dismiss",
            appeal,
            {"record_id": record.id, "action": chosen.value if chosen else None, "reason": text},
            at=now,
        )
        if chosen is AppealAction.WITHDRAW:
            withdraw(self.session, record, text, now=now, actor=self.actor, appeal=appeal)
        elif chosen is AppealAction.CORRECT:
            record.corrections = [
                *record.corrections,
                {"at": _iso(now), "reason": text, "appeal_id": appeal.id},
            ]
            record.revision += 1
            record.updated_at = now
            self.session.flush()
            audit.record(
                self.session,
                self.actor,
                "publication.correct",
                record,
                {"appeal_id": appeal.id, "reason": text, "revision": record.revision},
                at=now,
            )
        return appeal


def may_decide(user: User, record: PublicRecord) -> bool:
    """Admins; supervisors of the record's department (or without a department)."""
    if not user.active or Role(user.role) not in DECIDING_ROLES:
        return False
    if Role(user.role) is Role.ADMIN or user.department_id is None:
        return True
    return record.department_id is None or record.department_id == user.department_id


def get_appeal(session: Session, viewer: User, appeal_id: int) -> RecordAppeal:
    """An appeal the viewer may see: their own enterprise's, or one they may decide."""
    appeal = session.get(RecordAppeal, appeal_id)
    allowed = appeal is not None and (
        may_decide(viewer, appeal.record)
        or (Role(viewer.role) is Role.ENTERPRISE and viewer.enterprise_id == appeal.enterprise_id)
    )
    if not allowed:
        raise DisclosureNotFoundError(reason("no appeal ${id}", id=appeal_id))
    assert appeal is not None
    return appeal


def list_appeals(
    session: Session, viewer: User, status: AppealStatus | None = None, limit: int = 200
) -> list[RecordAppeal]:
    """Appeals the viewer may see, newest first."""
    query = select(RecordAppeal).order_by(RecordAppeal.id.desc())
    role = Role(viewer.role)
    if role is Role.ENTERPRISE:
        query = query.where(RecordAppeal.enterprise_id == viewer.enterprise_id)
    elif role is Role.SUPERVISOR and viewer.department_id is not None:
        query = query.join(PublicRecord, PublicRecord.id == RecordAppeal.record_id).where(
            or_(
                PublicRecord.department_id.is_(None),
                PublicRecord.department_id == viewer.department_id,
            )
        )
    elif role not in DECIDING_ROLES:
        return []
    if status is not None:
        query = query.where(RecordAppeal.status == status)
    return list(session.scalars(query.limit(limit)))


def present_appeal(appeal: RecordAppeal) -> dict[str, Any]:
    return {
        "id": appeal.id,
        "record_id": appeal.record_id,
        "enterprise_id": appeal.enterprise_id,
        "grounds": appeal.grounds,
        "status": appeal.status.value,
        "action": appeal.action.value if appeal.action else None,
        "submitted_at": _iso(appeal.created_at),
        "decided_at": _iso(appeal.decided_at),
        "decision_reason": appeal.decision_reason,
    }


__all__ = [
    "DUE_WORKING_DAYS",
    "HOLD_SETTING",
    "SCHEMA_VERSION",
    "DisclosureError",
    "DisclosureNotFoundError",
    "DisclosurePermissionError",
    "DisclosureService",
    "DisclosureStateError",
    "DisclosureValidationError",
    "DueItem",
    "Publisher",
    "RunSummary",
    "build",
    "due_items",
    "due_on",
    "get_appeal",
    "get_public_record",
    "hold_working_days",
    "list_appeals",
    "may_decide",
    "present_appeal",
    "public_view",
    "publish_on",
    "published_records",
    "run",
    "withdraw",
]
