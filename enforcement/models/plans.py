"""Sampling plans (抽查计划), their draws and the inspection tasks a draw creates.

Life cycle of a plan: draft → approved → seed_committed → drawn → published. A drawn or
published plan is frozen: the flush guard below refuses any change to it other than
publishing, so even code that bypasses ``PlanService`` cannot rewrite a draw's inputs.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from functools import cache
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
    event,
    inspect,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship
from sqlalchemy.orm.interfaces import ONETOMANY

from enforcement.models.accounts import User
from enforcement.models.base import Base, TimestampMixin, UTCDateTime, str_enum, utcnow
from enforcement.models.registry import Department, Enterprise, InspectionItem, Inspector
from enforcement.reasons import Reason, reason


class PlanStatus(enum.StrEnum):
    DRAFT = "draft"
    APPROVED = "approved"
    SEED_COMMITTED = "seed_committed"
    DRAWN = "drawn"
    PUBLISHED = "published"


# Statuses in which the plan's draw exists and must never change.
FROZEN_STATUSES = frozenset({PlanStatus.DRAWN, PlanStatus.PUBLISHED})


class SamplingMethod(enum.StrEnum):
    EXACT = "exact"  # fixed counts per stratum, the budget met exactly
    POISSON = "poisson"  # independent inclusion, the total is random


class TaskStatus(enum.StrEnum):
    STANDBY = "standby"  # an alternate not (yet) called up
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    CANCELLED = "cancelled"  # e.g. the target closed; an alternate takes its place


#: How refusals name a plan's status ("plan P is ${status}"); the web layer translates them.
#: Here, not in the services, because ``PlanImmutableError`` below names the status too.
PLAN_STATUS_NAMES: dict[PlanStatus, Reason] = {
    PlanStatus.DRAFT: reason("draft"),
    PlanStatus.APPROVED: reason("approved"),
    PlanStatus.SEED_COMMITTED: reason("seed committed"),
    PlanStatus.DRAWN: reason("drawn"),
    PlanStatus.PUBLISHED: reason("published"),
}
#: How refusals name a task's status ("the task is ${status}").
TASK_STATUS_NAMES: dict[TaskStatus, Reason] = {
    TaskStatus.STANDBY: reason("on standby"),
    TaskStatus.OPEN: reason("open for inspection"),
    TaskStatus.IN_PROGRESS: reason("being inspected"),
    TaskStatus.DONE: reason("done"),
    TaskStatus.CANCELLED: reason("cancelled"),
}


class MemberRole(enum.StrEnum):
    LEAD = "lead"
    MEMBER = "member"


plan_items = Table(
    "plan_items",
    Base.metadata,
    Column(
        "plan_id", Integer, ForeignKey("sampling_plans.id", ondelete="CASCADE"), primary_key=True
    ),
    # No cascade: an item named by a plan cannot be deleted (deactivate it instead).
    Column("item_id", Integer, ForeignKey("inspection_items.id"), primary_key=True, index=True),
)

task_items = Table(
    "task_items",
    Base.metadata,
    Column(
        "task_id",
        Integer,
        ForeignKey("inspection_tasks.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("item_id", Integer, ForeignKey("inspection_items.id"), primary_key=True, index=True),
)


class SamplingPlan(TimestampMixin, Base):
    """A random-inspection plan: scope, risk-tiered ratios, team rules and the seed commitment."""

    __tablename__ = "sampling_plans"
    __table_args__ = (
        CheckConstraint("year BETWEEN 2000 AND 2100", name="year"),
        CheckConstraint("budget IS NULL OR budget >= 1", name="budget"),
        CheckConstraint(
            "exclude_within_months IS NULL OR exclude_within_months >= 0",
            name="exclude_within_months",
        ),
        CheckConstraint("annual_cap IS NULL OR annual_cap >= 1", name="annual_cap"),
        CheckConstraint("alternates_per_stratum >= 0", name="alternates_per_stratum"),
        CheckConstraint("team_size >= 2", name="team_size"),  # 行政处罚法 art. 42
        CheckConstraint("workload_cap IS NULL OR workload_cap >= 1", name="workload_cap"),
        CheckConstraint(
            "seed_commitment IS NULL OR length(seed_commitment) = 64", name="commitment_length"
        ),
        # Past approval a plan always has its commitment; the seed is revealed only by the draw.
        CheckConstraint(
            "status IN ('draft', 'approved') OR seed_commitment IS NOT NULL",
            name="committed",
        ),
        CheckConstraint(
            "revealed_seed IS NULL OR status IN ('drawn', 'published')", name="revealed"
        ),
        CheckConstraint(
            "(supersedes_plan_id IS NULL) = (redraw_reason IS NULL)", name="redraw_reason"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    year: Mapped[int] = mapped_column(SmallInteger)
    # Scope: each listed jurisdiction and every jurisdiction below it.
    jurisdiction_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    # Sampling ratio per credit-risk tier: {"A": 0.03, "B": 0.1, "C": 0.3, "D": 0.8}.
    tier_ratios: Mapped[dict[str, float]] = mapped_column(JSON)
    budget: Mapped[int | None] = mapped_column(Integer)  # None: the sum of ratio × stratum size
    method: Mapped[SamplingMethod] = mapped_column(
        str_enum(SamplingMethod, "method"), default=SamplingMethod.EXACT
    )
    exclude_within_months: Mapped[int | None] = mapped_column(SmallInteger)
    annual_cap: Mapped[int | None] = mapped_column(SmallInteger)  # 国办发〔2024〕54号
    alternates_per_stratum: Mapped[int] = mapped_column(SmallInteger, default=3)
    # Candidate keys that define the strata, e.g. ["jurisdiction", "tier", "industry_section"].
    strata_keys: Mapped[list[str]] = mapped_column(JSON, default=list)
    team_size: Mapped[int] = mapped_column(SmallInteger, default=2)
    workload_cap: Mapped[int | None] = mapped_column(SmallInteger)  # tasks per inspector
    recuse_same_jurisdiction: Mapped[bool] = mapped_column(Boolean, default=False)
    # Inspections to be finished by this date (Asia/Shanghai); None: 31 December of the year.
    due_date: Mapped[dt.date | None] = mapped_column(Date)
    # active_history: setting the status loads the stored one first, for the flush guard.
    status: Mapped[PlanStatus] = mapped_column(
        str_enum(PlanStatus, "status"), default=PlanStatus.DRAFT, active_history=True
    )
    # SHA-256 (hex) of the secret seed, published before the draw; unique because a seed
    # reused by a second plan would be known in advance once the first draw revealed it.
    seed_commitment: Mapped[str | None] = mapped_column(String(64), unique=True)
    revealed_seed: Mapped[str | None] = mapped_column(String(256))  # hex, set by the draw
    # Declared with the commitment: which public value, announced later, is mixed into the
    # draw (e.g. "福彩双色球 2025-03-04"); then the committer cannot predict the draw either.
    public_value_source: Mapped[str | None] = mapped_column(String(300))
    public_value: Mapped[str | None] = mapped_column(String(200))  # set by the draw
    supersedes_plan_id: Mapped[int | None] = mapped_column(
        ForeignKey("sampling_plans.id"), unique=True
    )
    redraw_reason: Mapped[str | None] = mapped_column(Text)

    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    approved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    committed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    committed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    drawn_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    drawn_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    published_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    items: Mapped[list[InspectionItem]] = relationship(
        secondary=plan_items, order_by=InspectionItem.code
    )
    supersedes: Mapped[SamplingPlan | None] = relationship(
        remote_side=[id], back_populates="superseded_by"
    )
    superseded_by: Mapped[SamplingPlan | None] = relationship(back_populates="supersedes")
    draw: Mapped[Draw | None] = relationship(back_populates="plan")
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    approved_by: Mapped[User | None] = relationship(foreign_keys=[approved_by_id])
    committed_by: Mapped[User | None] = relationship(foreign_keys=[committed_by_id])
    drawn_by: Mapped[User | None] = relationship(foreign_keys=[drawn_by_id])
    published_by: Mapped[User | None] = relationship(foreign_keys=[published_by_id])

    @property
    def departments(self) -> list[Department]:
        """The departments involved, derived from the items (a joint plan has several)."""
        unique = {item.department.id: item.department for item in self.items}
        return sorted(unique.values(), key=lambda department: department.code)

    @property
    def is_frozen(self) -> bool:
        return self.status in FROZEN_STATUSES

    @property
    def effective_due_date(self) -> dt.date:
        """The due date of the plan's tasks: ``due_date``, else 31 December of the year."""
        return self.due_date or dt.date(self.year, 12, 31)


class CandidateSnapshot(Base):
    """A draw's input arrays as stored at draw time (``random_sampler.archive``), addressed by
    the SHA-256 of the archive's bytes. Rows are written once and never changed."""

    __tablename__ = "candidate_snapshots"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    format: Mapped[str] = mapped_column(String(32))  # "suijian-snapshot/1"
    snapshot_hash: Mapped[str] = mapped_column(String(64))  # the draw core's hash of the arrays
    targets: Mapped[int] = mapped_column(Integer)
    inspectors: Mapped[int] = mapped_column(Integer)
    size: Mapped[int] = mapped_column(Integer)  # bytes of ``data``
    data: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Draw(Base):
    """The one draw of a plan: what was computed, from which snapshot, by which algorithm."""

    __tablename__ = "draws"

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("sampling_plans.id"), unique=True)
    algorithm_version: Mapped[str] = mapped_column(String(32))  # "suijian-draw/1"
    snapshot_hash: Mapped[str] = mapped_column(String(64))  # SHA-256 hex of the candidates
    # The stored inputs; None only for draws made before snapshots were kept.
    snapshot_sha256: Mapped[str | None] = mapped_column(
        ForeignKey("candidate_snapshots.sha256"), index=True
    )
    report: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    plan: Mapped[SamplingPlan] = relationship(back_populates="draw")
    snapshot: Mapped[CandidateSnapshot | None] = relationship()
    # The drawn tasks only (round 1): what the draw computed, published and verifies.
    tasks: Mapped[list[InspectionTask]] = relationship(
        back_populates="draw",
        cascade="all, delete-orphan",
        order_by="InspectionTask.id",
        primaryjoin="and_(Draw.id == InspectionTask.draw_id, InspectionTask.round == 1)",
    )


class InspectionTask(TimestampMixin, Base):
    """One drawn target (or alternate): one visit, its items merged into one checklist."""

    __tablename__ = "inspection_tasks"
    __table_args__ = (
        # A drawn target is round 1; a re-inspection (复查) of it is round 2, 3, … of the
        # same draw and enterprise (see enforcement.services.rectification).
        UniqueConstraint("draw_id", "enterprise_id", "round", name="uq_inspection_tasks_target"),
        CheckConstraint(
            "(is_alternate AND alternate_rank IS NOT NULL AND alternate_rank >= 1)"
            " OR (NOT is_alternate AND alternate_rank IS NULL)",
            name="alternate_rank",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The identifier clients (the inspectors' tablets) see; stable across databases.
    uuid: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True, default=uuid.uuid4)
    # Not indexed on its own: uq_inspection_tasks_target leads with draw_id.
    draw_id: Mapped[int] = mapped_column(ForeignKey("draws.id", ondelete="CASCADE"))
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id"), index=True)
    stratum: Mapped[str] = mapped_column(String(200))  # canonical label, "330783|C|F"
    is_alternate: Mapped[bool] = mapped_column(Boolean, default=False)
    alternate_rank: Mapped[int | None] = mapped_column(Integer)  # 1 = first backup
    checklist: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    due_date: Mapped[dt.date] = mapped_column(Date)  # Asia/Shanghai calendar date
    status: Mapped[TaskStatus] = mapped_column(
        str_enum(TaskStatus, "status"), default=TaskStatus.OPEN
    )
    # 1 = drawn; more = a re-inspection, not part of the draw (its bundle, its verification).
    round: Mapped[int] = mapped_column(SmallInteger, default=1, server_default="1")
    reinspection_of_id: Mapped[int | None] = mapped_column(
        ForeignKey("inspection_tasks.id"), index=True
    )

    draw: Mapped[Draw] = relationship(back_populates="tasks")
    enterprise: Mapped[Enterprise] = relationship()
    items: Mapped[list[InspectionItem]] = relationship(
        secondary=task_items, order_by=InspectionItem.code
    )
    members: Mapped[list[TaskMember]] = relationship(
        back_populates="task", cascade="all, delete-orphan", order_by="TaskMember.id"
    )


class TaskMember(Base):
    """An officer of a task's team (at least two per team)."""

    __tablename__ = "task_members"
    __table_args__ = (UniqueConstraint("task_id", "inspector_id", name="uq_task_members_officer"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("inspection_tasks.id", ondelete="CASCADE"))
    # Indexed: an inspector's task list is read by this column.
    inspector_id: Mapped[int] = mapped_column(ForeignKey("inspectors.id"), index=True)
    role: Mapped[MemberRole] = mapped_column(str_enum(MemberRole, "role"))

    task: Mapped[InspectionTask] = relationship(back_populates="members")
    inspector: Mapped[Inspector] = relationship()


class PlanError(Exception):
    """Base of the errors about sampling plans (the rest are in ``enforcement.services.plans``)."""


class PlanStateError(PlanError):
    """The plan is not in a status that allows the action."""

    def __init__(
        self, message: str, current: PlanStatus | str, expected: tuple[PlanStatus, ...] = ()
    ) -> None:
        super().__init__(message)
        self.current = PlanStatus(current)
        self.expected = expected


class PlanImmutableError(PlanStateError):
    """A drawn or published plan was about to change."""

    def __init__(self, plan: SamplingPlan, status: PlanStatus | str) -> None:
        super().__init__(
            reason(
                "plan ${plan} is ${status} and can no longer change; "
                "a redraw is a new plan with a recorded reason",
                plan=plan.code,
                status=PLAN_STATUS_NAMES[PlanStatus(status)],
            ),
            status,
        )
        self.plan = plan


# Publishing is the one change a drawn plan accepts.
_PUBLISH_FIELDS = frozenset({"status", "published_at", "published_by_id", "published_by"})


@event.listens_for(Session, "before_flush")
def _frozen_plans_stay_frozen(session: Session, _context: Any, _instances: Any) -> None:
    for plan in session.deleted:
        if isinstance(plan, SamplingPlan) and _stored_status(plan) in FROZEN_STATUSES:
            raise PlanImmutableError(plan, _stored_status(plan))
    for plan in session.dirty:
        if not isinstance(plan, SamplingPlan):
            continue
        before = _stored_status(plan)
        if before not in FROZEN_STATUSES:
            continue
        state = inspect(plan)
        guarded = _guarded_attributes()
        changed = {
            attr.key for attr in state.attrs if attr.key in guarded and attr.history.has_changes()
        }
        publishing = before is PlanStatus.DRAWN and PlanStatus(plan.status) is PlanStatus.PUBLISHED
        if changed and not (publishing and changed <= _PUBLISH_FIELDS):
            raise PlanImmutableError(plan, before)


def _stored_status(plan: SamplingPlan) -> PlanStatus:
    """The status as loaded from the database (before any change pending in the session)."""
    history = inspect(plan).attrs.status.history
    if history.deleted:
        return PlanStatus(history.deleted[0])
    return PlanStatus(plan.status)


@cache
def _guarded_attributes() -> frozenset[str]:
    """Columns, the plan's own references and its items; not the reverse sides (superseded_by,
    draw), which change when another row points at the plan. Computed on first use, once
    every mapper is configured."""
    mapper = SamplingPlan.__mapper__
    return frozenset(
        {column.key for column in mapper.column_attrs}
        | {rel.key for rel in mapper.relationships if rel.direction is not ONETOMANY}
    ) - {"updated_at"}


__all__ = [
    "FROZEN_STATUSES",
    "PLAN_STATUS_NAMES",
    "TASK_STATUS_NAMES",
    "CandidateSnapshot",
    "Draw",
    "InspectionTask",
    "MemberRole",
    "PlanError",
    "PlanImmutableError",
    "PlanStateError",
    "PlanStatus",
    "SamplingMethod",
    "SamplingPlan",
    "TaskMember",
    "TaskStatus",
    "plan_items",
    "task_items",
]
