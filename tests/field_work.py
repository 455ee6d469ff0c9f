"""A drawn plan with tablets' accounts: the starting point of the field-inspection tests."""

from __future__ import annotations

import dataclasses
import datetime as dt

from geoalchemy2.shape import to_shape
from sqlalchemy import select
from sqlalchemy.orm import Session

from enforcement.models import InspectionTask, Inspector, Role, TaskStatus, User
from enforcement.services.draws import DrawService
from enforcement.services.plans import PlanService
from random_sampler import seeds
from tests.factories import FAST_HASHER, load_small_demo, user_named

SEED = bytes.fromhex("6b" * 32)
PASSWORD = "correct horse battery staple"
NOW = dt.datetime(2025, 4, 1, 1, 0, tzinfo=dt.UTC)


@dataclasses.dataclass
class FieldWork:
    task: InspectionTask
    lead: User  # the team's lead, signed in on a tablet
    member: User  # the other officer of the team
    outsider: User  # an inspector on no team of this task
    lon: float  # the enterprise's position (WGS-84)
    lat: float


def drawn_field_work(session: Session, demo_seed: int = 11) -> FieldWork:
    """Load the small demo, draw a plan and give the first staffed task's officers (and one
    outsider) accounts; committed."""
    load_small_demo(session, demo_seed)
    supervisor = user_named(session, "supervisor")
    plans = PlanService(session, supervisor, clock=lambda: NOW)
    plan = plans.create(
        code="2025-FIELD-01",
        title="2025年现场检查",
        year=2025,
        items=["SCJG-GS-001", "SPAQ-JY-001", "TZSB-SY-001"],
        jurisdictions=["330783", "330702"],
        tier_ratios={"A": 0.03, "B": 0.5, "C": 0.3, "D": 0.8},
        due_date=dt.date(2025, 11, 30),
    )
    plans.approve(plan)
    plans.commit_seed(plan, seeds.commit(SEED))
    draw = DrawService(session, supervisor, clock=lambda: NOW).draw(plan, SEED, None)
    task = next(
        t
        for t in draw.tasks
        if t.status == TaskStatus.OPEN
        and len(t.members) >= 2
        and t.enterprise.location is not None
        and len(t.checklist) >= 1
    )
    team = {m.inspector_id for m in task.members}
    outsider_id = session.scalar(
        select(Inspector.id).where(Inspector.id.not_in(team)).order_by(Inspector.id)
    )
    accounts = []
    for name, inspector_id in (
        ("lead", task.members[0].inspector_id),
        ("member", task.members[1].inspector_id),
        ("outsider", outsider_id),
    ):
        existing = session.scalar(select(User).where(User.inspector_id == inspector_id))
        if existing is not None:
            existing.inspector_id = None  # a demo account: the tablet account takes the officer
            session.flush()
        user = User(
            username=f"field-{name}",
            display_name=f"Field {name}",
            role=Role.INSPECTOR,
            password_hash=FAST_HASHER.hash(PASSWORD),
            inspector_id=inspector_id,
        )
        session.add(user)
        accounts.append(user)
    session.commit()
    point = to_shape(task.enterprise.location)
    return FieldWork(task, *accounts, lon=point.x, lat=point.y)


def offset(lon: float, lat: float, north_m: float) -> tuple[float, float]:
    """The point ``north_m`` metres north of (lon, lat)."""
    return lon, lat + north_m / 111_320.0
