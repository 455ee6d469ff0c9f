"""The draw of a sampling plan: seed check, candidate snapshot, ``run_draw``, tasks and teams.

``DrawService.draw`` takes a plan from seed_committed to drawn in the caller's transaction
(it flushes, never commits). The snapshot is read from the database in a fixed order
(enterprises and inspectors by id, strata by label, items by code), so the same database
and the same seed give the same draw, task for task. The snapshot is stored with the draw
(``candidate_snapshots``), so publishing and verifying later use exactly these inputs.

Tiers come from the enterprises' current credit rating (``enterprises.credit_tier``); an
enterprise not rated yet counts as tier B. Placeholder until inspections are recorded (see
docs/draws.md): nobody has been inspected (months since the last inspection NaN, inspections
this year 0).
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from celery import Celery
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from enforcement.models import (
    FROZEN_STATUSES,
    CandidateSnapshot,
    Department,
    Draw,
    Enterprise,
    EnterpriseStatus,
    InspectionItem,
    InspectionTask,
    Inspector,
    InspectorConflict,
    Jurisdiction,
    MemberRole,
    PlanImmutableError,
    PlanStateError,
    PlanStatus,
    SamplingPlan,
    TaskMember,
    TaskStatus,
    User,
    utcnow,
)
from enforcement.reasons import reason
from enforcement.services import audit
from enforcement.services.plans import (
    PLAN_STATUS_NAMES,
    PlanValidationError,
    plan_spec,
    require_governing_role,
)
from enforcement.services.snapshots import load_snapshot, store_snapshot
from enforcement.services.task_feed import note_task_changes
from random_sampler import seeds
from random_sampler.allocation import TIERS
from random_sampler.archive import SnapshotArchive
from random_sampler.draw import (
    DrawResult,
    InspectorArrays,
    TargetArrays,
    TeamOptions,
    draw_allocation,
    finish_draw,
    run_draw,
)
from random_sampler.teams import MAX_DEPARTMENTS

# The tier of an enterprise not rated yet (a new registration): 信用风险一般, the middle
# ground, neither exempted like A nor targeted like D.
DEFAULT_TIER = "B"
MAX_SEED_BYTES = 128  # revealed_seed holds 256 hex digits
MAX_PUBLIC_VALUE = 200
# Tasks that count towards an inspector's workload.
OPEN_TASK_STATUSES = (TaskStatus.OPEN, TaskStatus.IN_PROGRESS)
# Namespace of the task UUIDs, derived from the plan's (unique) commitment and the enterprise.
TASK_UUID_NAMESPACE = uuid.UUID("6b1f3c52-8d0e-5a4e-9a57-3f1d2c7e9b10")
_MISSING = "-"  # a stratum key value that is not known (no industry code, no jurisdiction)


@dataclass(frozen=True)
class Snapshot:
    """The draw's inputs as read from the database, and what maps them back to rows."""

    targets: TargetArrays
    inspectors: InspectorArrays
    items: tuple[InspectionItem, ...]  # column k of eligible_items
    departments: tuple[int, ...]  # department id of each department index

    def archive(self) -> SnapshotArchive:
        """The arrays with what maps their columns back to records, as stored with the draw."""
        return SnapshotArchive(
            targets=self.targets,
            inspectors=self.inspectors,
            meta={
                "items": [item.code for item in self.items],
                "item_ids": [item.id for item in self.items],
                "departments": list(self.departments),
            },
        )


class DrawService:
    """Runs the draw of a plan as ``actor`` (a supervisor or admin), audit-logged."""

    def __init__(
        self, session: Session, actor: User, clock: Callable[[], dt.datetime] = utcnow
    ) -> None:
        self.session = session
        self.actor = actor
        self.clock = clock

    def stage_snapshot(self, plan: SamplingPlan) -> str:
        """Build and store the candidate snapshot of a seed-committed ``plan``; returns its
        SHA-256. For a distributed draw: the caller commits, then draws with
        ``snapshot_sha256`` (the workers read the snapshot from the database)."""
        require_governing_role(self.actor, reason("draw a sampling plan"), plan.departments)
        _require_drawable(plan)
        sha256 = store_snapshot(self.session, build_snapshot(self.session, plan).archive()).sha256
        audit.record(
            self.session, self.actor, "plan.stage_snapshot", plan, {"snapshot_sha256": sha256}
        )
        return sha256

    def draw(
        self,
        plan: SamplingPlan,
        seed: bytes,
        public_value: str | None = None,
        *,
        snapshot_sha256: str | None = None,
        parts: int = 1,
        celery_app: Celery | None = None,
        timeout: float = 600.0,
    ) -> Draw:
        """seed_committed → drawn: check the seed and public value, snapshot the candidates
        (or take the staged snapshot ``snapshot_sha256``), run the draw and store it with one
        task per drawn target and per alternate.

        With ``parts`` > 1 the strata are drawn by the workers of ``celery_app`` and merged
        here (``enforcement.distributed_draw``); this needs a staged, committed snapshot and
        gives the same draw as one process.

        Raises ``PermissionDeniedError`` (role, department), ``PlanStateError`` (status; a
        drawn plan gives ``PlanImmutableError``) and ``PlanValidationError`` naming ``seed``,
        ``public_value`` or a plan field the candidates cannot satisfy (e.g. ``budget``).
        """
        require_governing_role(self.actor, reason("draw a sampling plan"), plan.departments)
        self.session.flush()
        self.session.refresh(plan, with_for_update=True)  # concurrent draws serialise
        _require_drawable(plan)
        value = _check_inputs(plan, seed, public_value)
        if parts > 1 and (snapshot_sha256 is None or celery_app is None):
            raise ValueError("a distributed draw needs a staged snapshot and a Celery app")

        if snapshot_sha256 is None:
            snapshot = build_snapshot(self.session, plan)
            stored = store_snapshot(self.session, snapshot.archive())
        else:
            stored, snapshot = _staged_snapshot(self.session, plan, snapshot_sha256)
        spec = plan_spec(plan)
        options = TeamOptions(
            team_size=plan.team_size,
            workload_cap=plan.workload_cap,
            recuse_same_jurisdiction=plan.recuse_same_jurisdiction,
        )
        inputs = {
            "seed": bytes(seed),
            "public_value": value,
            "plan": spec,
            "targets": snapshot.targets,
            "inspectors": snapshot.inspectors,
            "team_options": options,
        }
        try:
            if parts > 1:
                from enforcement.distributed_draw import distributed_selection

                selection = distributed_selection(
                    celery_app,
                    snapshot_sha256=stored.sha256,
                    plan=spec,
                    seed=bytes(seed),
                    public_value=value,
                    parts=parts,
                    timeout=timeout,
                )
                result = finish_draw(selection=selection, **inputs)
            else:
                result = run_draw(**inputs)
        except ValueError as exc:
            raise _as_plan_error(exc) from exc
        report = result.report
        now = self.clock()
        draw = Draw(
            plan=plan,
            algorithm_version=seeds.ALGORITHM_VERSION,
            snapshot_hash=report["snapshot_hash"],
            snapshot=stored,
            report=report,
            created_at=now,
        )
        self.session.add(draw)
        draw.tasks = _tasks(plan, snapshot, result)
        # The staffed tasks appear on their teams' tablets at the next sync.
        note_task_changes(self.session, [task for task in draw.tasks if task.members])
        plan.status = PlanStatus.DRAWN
        plan.revealed_seed = bytes(seed).hex()
        plan.public_value = value
        plan.drawn_by = self.actor
        plan.drawn_at = now
        self.session.flush()
        audit.record(
            self.session,
            self.actor,
            "plan.draw",
            plan,
            {
                "draw_id": draw.id,
                "algorithm_version": draw.algorithm_version,
                "snapshot_hash": draw.snapshot_hash,
                "public_value": value,
                "drawn": report["totals"]["drawn"],
                "alternates": report["totals"]["alternates"],
                "staffed": report["teams"]["staffed"],
                "blocked": report["teams"]["blocked"],
            },
            at=now,
        )
        return draw


def draw_summary(draw: Draw) -> dict[str, Any]:
    """The figures a person checks after a draw (for the command line and the API)."""
    report = draw.report
    teams = report["teams"]
    return {
        "plan": draw.plan.code,
        "algorithm_version": draw.algorithm_version,
        "snapshot_hash": draw.snapshot_hash,
        "candidates": report["totals"]["candidates"],
        "excluded": report["totals"]["excluded"],
        "drawn": report["totals"]["drawn"],
        "added_for_coverage": report["totals"]["added_for_coverage"],
        "staffed": teams["staffed"],
        "blocked": teams["blocked"],
        "blocked_by_reason": {
            key: entry["count"] for key, entry in teams["by_reason"].items() if entry["count"]
        },
        "alternates": report["totals"]["alternates"],
        "cross_department": report["joint"]["cross_department"],
        "cross_department_share": report["joint"]["share"],
    }


def check_draw_inputs(plan: SamplingPlan, seed: bytes, public_value: str | None) -> None:
    """The checks ``DrawService.draw`` makes of the plan's status, the seed and the public
    value, without drawing (read-only): a page that hands a large draw to the worker refuses
    a wrong seed at once. Raises ``PlanStateError``/``PlanImmutableError`` or
    ``PlanValidationError`` naming ``seed``/``public_value``."""
    _require_drawable(plan)
    _check_inputs(plan, seed, public_value)


def scope_size(session: Session, plan: SamplingPlan) -> int:
    """How many market entities the plan's jurisdictions hold (the draw's snapshot size)."""
    scope, _ = _scope(session, plan.jurisdiction_ids)
    if not scope:
        return 0
    query = select(func.count()).where(Enterprise.jurisdiction_id.in_(scope))
    return int(session.scalar(query) or 0)


def preview_allocation(session: Session, plan: SamplingPlan) -> dict[str, Any]:
    """The expected number of targets per stratum before the draw (read-only).

    Uses the draw's own allocation (``random_sampler.draw.draw_allocation``) on the candidate
    snapshot the draw would read now. The expectations do not depend on the seed; the exact
    method's integer counts do (each stratum gets the floor of its expectation or one more),
    so they are not shown: a placeholder key is used and ``count`` is ignored.
    """
    snapshot = build_snapshot(session, plan)
    allocation = draw_allocation(key=bytes(32), plan=plan_spec(plan), targets=snapshot.targets)
    tiers = snapshot.targets.stratum_tier
    strata = [
        {
            "label": label,
            "tier": TIERS[int(tiers[h])],
            "candidates": int(allocation.stratum_size[h]),
            "inclusion_probability": float(allocation.ratio[h]),
            "expected": float(allocation.expected[h]),
        }
        for h, label in enumerate(allocation.stratum_labels)
    ]
    return {
        "method": allocation.method,
        "targets": len(snapshot.targets),
        "candidates": int(allocation.stratum_size.sum()),
        "budget": float(allocation.budget),
        "scale": float(allocation.scale),
        "strata": strata,
    }


def _staged_snapshot(
    session: Session, plan: SamplingPlan, sha256: str
) -> tuple[CandidateSnapshot, Snapshot]:
    """A stored snapshot of ``plan`` with its records (it must be for the plan's items)."""
    stored = session.get(CandidateSnapshot, sha256)
    if stored is None:
        raise PlanStateError(
            reason("no staged candidate snapshot ${sha256}", sha256=sha256), plan.status
        )
    archive = load_snapshot(session, sha256)
    items = tuple(sorted(plan.items, key=lambda item: item.code))
    if list(archive.meta.get("items", ())) != [item.code for item in items]:
        raise PlanStateError(
            reason(
                "candidate snapshot ${sha256} was staged for other items than plan ${plan}'s",
                sha256=sha256,
                plan=plan.code,
            ),
            plan.status,
        )
    snapshot = Snapshot(
        targets=archive.targets,
        inspectors=archive.inspectors,
        items=items,
        departments=tuple(archive.meta["departments"]),
    )
    return stored, snapshot


# ---------------------------------------------------------------------- checks


_CORE_FIELD = re.compile(r"^(?:plan|team_options)\.(\w+)")


def _as_plan_error(exc: ValueError) -> Exception:
    """The draw core's refusal of a plan parameter (it names "plan.<field>", e.g. a budget
    above the candidates) as the plan field's validation error; anything else unchanged."""
    match = _CORE_FIELD.match(str(exc))
    if match is None:
        return exc
    field = {"tier_ratio": "tier_ratios"}.get(match.group(1), match.group(1))
    return PlanValidationError(
        {
            field: reason(
                "${error}; the plan cannot be drawn as it is: start a redraw with a new value",
                error=str(exc),
            )
        }
    )


def _require_drawable(plan: SamplingPlan) -> None:
    if plan.status in FROZEN_STATUSES:
        raise PlanImmutableError(plan, plan.status)
    if plan.status is not PlanStatus.SEED_COMMITTED:
        raise PlanStateError(
            reason(
                "plan ${plan} is ${status}: the draw needs status ${needed}",
                plan=plan.code,
                status=PLAN_STATUS_NAMES[PlanStatus(plan.status)],
                needed=PLAN_STATUS_NAMES[PlanStatus.SEED_COMMITTED],
            ),
            plan.status,
            (PlanStatus.SEED_COMMITTED,),
        )
    if plan.superseded_by is not None:
        raise PlanStateError(
            reason(
                "plan ${plan} is superseded by ${newer}; draw that plan instead",
                plan=plan.code,
                newer=plan.superseded_by.code,
            ),
            plan.status,
            (PlanStatus.SEED_COMMITTED,),
        )


def _check_inputs(plan: SamplingPlan, seed: object, public_value: object) -> str | None:
    """The clean public value; every bad input named at once."""
    errors: dict[str, str] = {}
    if not isinstance(seed, bytes | bytearray) or not seed:
        errors["seed"] = reason("must be the secret seed's bytes (hexadecimal on the command line)")
    elif len(seed) > MAX_SEED_BYTES:
        errors["seed"] = reason(
            "must be at most ${limit} bytes, not ${length}", limit=MAX_SEED_BYTES, length=len(seed)
        )
    elif plan.seed_commitment is None or not seeds.verify_commitment(
        bytes(seed), plan.seed_commitment
    ):
        errors["seed"] = reason(
            "does not match the commitment of plan ${plan} "
            "(SHA-256 of the seed must be ${commitment})",
            plan=plan.code,
            commitment=plan.seed_commitment,
        )
    value = public_value.strip() if isinstance(public_value, str) else public_value
    if value is not None and not isinstance(value, str):
        errors["public_value"] = reason("must be text")
    elif plan.public_value_source and not value:
        errors["public_value"] = reason(
            "is required: the plan declared the source '${source}'",
            source=plan.public_value_source,
        )
    elif not plan.public_value_source and value:
        errors["public_value"] = reason(
            "was not declared when the seed was committed, so none may be mixed in now"
        )
    elif value and len(value) > MAX_PUBLIC_VALUE:
        errors["public_value"] = reason(
            "must be at most ${limit} characters", limit=MAX_PUBLIC_VALUE
        )
    if errors:
        raise PlanValidationError(errors)
    return value or None


# ---------------------------------------------------------------------- snapshot


def build_snapshot(session: Session, plan: SamplingPlan) -> Snapshot:
    """The candidate targets and the inspectors of ``plan``'s draw, in a deterministic order."""
    departments = tuple(session.scalars(select(Department.id).order_by(Department.id)))
    if len(departments) > MAX_DEPARTMENTS:
        raise PlanStateError(
            reason(
                "the draw handles at most ${limit} departments, the database has ${count}",
                limit=MAX_DEPARTMENTS,
                count=len(departments),
            ),
            plan.status,
        )
    department_index = {department: i for i, department in enumerate(departments)}
    items = tuple(sorted(plan.items, key=lambda item: item.code))
    return Snapshot(
        targets=_targets(session, plan, items, department_index),
        inspectors=_inspectors(session, department_index),
        items=items,
        departments=departments,
    )


def _scope(session: Session, roots: Sequence[int]) -> tuple[set[int], dict[int, str]]:
    """The plan's jurisdictions with everything below them, and every adcode by id."""
    rows = session.execute(select(Jurisdiction.id, Jurisdiction.parent_id, Jurisdiction.adcode))
    children: dict[int, list[int]] = {}
    adcode: dict[int, str] = {}
    for jurisdiction_id, parent_id, code in rows:
        adcode[jurisdiction_id] = code
        if parent_id is not None:
            children.setdefault(parent_id, []).append(jurisdiction_id)
    scope: set[int] = set()
    stack = [j for j in roots if j in adcode]
    while stack:
        current = stack.pop()
        if current not in scope:
            scope.add(current)
            stack.extend(children.get(current, ()))
    return scope, adcode


def _targets(
    session: Session,
    plan: SamplingPlan,
    items: Sequence[InspectionItem],
    department_index: dict[int, int],
) -> TargetArrays:
    scope, adcode = _scope(session, plan.jurisdiction_ids)
    rows = session.execute(
        select(
            Enterprise.id,
            Enterprise.jurisdiction_id,
            Enterprise.status,
            Enterprise.industry_code,
            Enterprise.entity_type,
            Enterprise.credit_tier,
        )
        .where(Enterprise.jurisdiction_id.in_(scope))
        .order_by(Enterprise.id)
    ).all()
    n = len(rows)
    target_id = np.fromiter((row[0] for row in rows), dtype=np.int64, count=n)
    jurisdiction = np.fromiter((row[1] for row in rows), dtype=np.int32, count=n)
    in_business = np.fromiter(
        (EnterpriseStatus(row[2]) is EnterpriseStatus.IN_BUSINESS for row in rows),
        dtype=bool,
        count=n,
    )
    keys = list(plan.strata_keys)
    # A province has millions of rows but a few thousand distinct (jurisdiction, industry,
    # type, tier) combinations: labels and item scopes are worked out once per combination.
    label_of: dict[tuple[Any, ...], str] = {}
    label_of_row = []
    for row in rows:
        combination = (row[1], row[3], row[4], row[5])
        label = label_of.get(combination)
        if label is None:
            label = seeds.stratum_label(*(_key_value(key, row, adcode) for key in keys))
            label_of[combination] = label
        label_of_row.append(label)
    labels = tuple(sorted(set(label_of.values())))
    code_of = {label: h for h, label in enumerate(labels)}
    stratum = np.fromiter((code_of[label] for label in label_of_row), dtype=np.int32, count=n)
    # "tier" is a required stratum key, so every stratum has exactly one tier.
    stratum_tier = np.zeros(len(labels), dtype=np.uint8)
    for (_jurisdiction, _industry, _type, tier), label in label_of.items():
        stratum_tier[code_of[label]] = TIERS.index(tier or DEFAULT_TIER)
    scopes: dict[tuple[Any, Any], tuple[bool, ...]] = {}
    eligible_rows = []
    for row in rows:
        scope_key = (row[3], row[4])
        in_scope = scopes.get(scope_key)
        if in_scope is None:
            in_scope = tuple(_in_scope(item, row[3], row[4]) for item in items)
            scopes[scope_key] = in_scope
        eligible_rows.append(in_scope)
    eligible = np.array(eligible_rows, dtype=bool).reshape(n, len(items))
    return TargetArrays(
        target_id=target_id,
        stratum=stratum,
        stratum_labels=labels,
        stratum_tier=stratum_tier,
        in_business=in_business,
        # No inspection history is recorded yet: never inspected, none this year.
        months_since_last=np.full(n, np.nan),
        inspections_this_year=np.zeros(n, dtype=np.int16),
        eligible_items=eligible,
        item_department=np.array(
            [department_index[item.department_id] for item in items], dtype=np.int16
        ),
        jurisdiction=jurisdiction,
    )


def _key_value(key: str, row: Any, adcode: dict[int, str]) -> str:
    _id, jurisdiction_id, _status, industry_code, entity_type, tier = row
    if key == "jurisdiction":
        return adcode.get(jurisdiction_id, _MISSING)
    if key == "tier":
        return tier or DEFAULT_TIER
    if key == "industry_section":
        return industry_code[:1] if industry_code else _MISSING
    if key == "industry_division":
        return industry_code[:3] if industry_code and len(industry_code) >= 3 else _MISSING
    if key == "entity_type":
        return str(getattr(entity_type, "value", entity_type))
    raise ValueError(f"unknown stratum key {key!r}")


def _in_scope(item: InspectionItem, industry_code: str | None, entity_type: Any) -> bool:
    """Whether an enterprise is in the item's scope (an empty scope list means all)."""
    industries = item.scope_industries or []
    types = item.scope_entity_types or []
    industry_ok = not industries or (
        industry_code is not None and any(industry_code.startswith(p) for p in industries)
    )
    type_ok = not types or str(getattr(entity_type, "value", entity_type)) in types
    return industry_ok and type_ok


def _inspectors(session: Session, department_index: dict[int, int]) -> InspectorArrays:
    rows = session.execute(
        select(
            Inspector.id, Inspector.department_id, Inspector.jurisdiction_id, Inspector.active
        ).order_by(Inspector.id)
    ).all()
    workload = dict(
        session.execute(
            select(TaskMember.inspector_id, func.count())
            .join(InspectionTask, InspectionTask.id == TaskMember.task_id)
            .where(InspectionTask.status.in_(OPEN_TASK_STATUSES))
            .group_by(TaskMember.inspector_id)
        ).all()
    )
    # Declared conflicts with an enterprise, and with a person: every enterprise that person
    # represents legally (names are not unique, so this may recuse too many, never too few).
    by_enterprise = select(InspectorConflict.inspector_id, InspectorConflict.enterprise_id).where(
        InspectorConflict.enterprise_id.is_not(None)
    )
    by_person = select(InspectorConflict.inspector_id, Enterprise.id).join(
        Enterprise, Enterprise.legal_representative == InspectorConflict.person_name
    )
    pairs = sorted(set(session.execute(by_enterprise).all()) | set(session.execute(by_person)))
    m = len(rows)
    return InspectorArrays(
        inspector_id=np.fromiter((row[0] for row in rows), dtype=np.int64, count=m),
        department=np.fromiter((department_index[row[1]] for row in rows), dtype=np.int16, count=m),
        jurisdiction=np.fromiter(
            (-1 if row[2] is None else row[2] for row in rows), dtype=np.int32, count=m
        ),
        active=np.fromiter((bool(row[3]) for row in rows), dtype=bool, count=m),
        workload=np.fromiter((workload.get(row[0], 0) for row in rows), dtype=np.int32, count=m),
        conflict_inspector=np.array([p[0] for p in pairs], dtype=np.int64),
        conflict_target=np.array([p[1] for p in pairs], dtype=np.int64),
    )


# ---------------------------------------------------------------------- tasks


def _tasks(plan: SamplingPlan, snapshot: Snapshot, result: DrawResult) -> list[InspectionTask]:
    selection = result.selection
    labels = snapshot.targets.stratum_labels
    due = plan.effective_due_date
    tasks = []
    for i, enterprise_id in enumerate(selection.drawn_id.tolist()):
        task = _task(plan, snapshot, enterprise_id, selection.items_for_target[i], due)
        task.stratum = labels[int(selection.drawn_stratum[i])]
        task.status = TaskStatus.OPEN
        members = [int(m) for m in result.team_member_id[i] if m >= 0]
        task.members = [
            TaskMember(inspector_id=m, role=MemberRole.LEAD if j == 0 else MemberRole.MEMBER)
            for j, m in enumerate(members)
        ]
        tasks.append(task)
    eligible = snapshot.targets.eligible_items
    for a, enterprise_id in enumerate(selection.alternate_id.tolist()):
        row = eligible[int(selection.alternates[a])]
        task = _task(plan, snapshot, enterprise_id, row, due)
        task.stratum = labels[int(selection.alternate_stratum[a])]
        task.is_alternate = True
        task.alternate_rank = int(selection.alternate_rank[a])
        task.status = TaskStatus.STANDBY
        tasks.append(task)
    return tasks


def _task(
    plan: SamplingPlan,
    snapshot: Snapshot,
    enterprise_id: int,
    item_row: np.ndarray,
    due: dt.date,
) -> InspectionTask:
    items = [item for item, on in zip(snapshot.items, item_row.tolist(), strict=True) if on]
    return InspectionTask(
        # Derived, not random: the same draw gives the same task identifiers everywhere.
        uuid=uuid.uuid5(TASK_UUID_NAMESPACE, f"{plan.seed_commitment}:{enterprise_id}"),
        enterprise_id=enterprise_id,
        is_alternate=False,
        alternate_rank=None,
        items=items,
        checklist=[
            {"code": item.code, "name": item.name, "department": item.department.code}
            for item in items
        ],
        due_date=due,
    )


__all__ = [
    "DEFAULT_TIER",
    "OPEN_TASK_STATUSES",
    "DrawService",
    "Snapshot",
    "build_snapshot",
    "check_draw_inputs",
    "draw_summary",
    "preview_allocation",
    "scope_size",
]
