"""DrawService and ``suijian plan draw``: seed checks, the snapshot, tasks, teams, determinism."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from enforcement.cli import main
from enforcement.db import make_engine
from enforcement.models import (
    Draw,
    Enterprise,
    InspectionTask,
    InspectorConflict,
    Jurisdiction,
    MemberRole,
    PlanImmutableError,
    PlanStateError,
    PlanStatus,
    SamplingPlan,
    TaskStatus,
    User,
)
from enforcement.services import audit
from enforcement.services.draws import DrawService, build_snapshot
from enforcement.services.plans import (
    PermissionDeniedError,
    PlanService,
    PlanValidationError,
)
from random_sampler import seeds
from tests.factories import (
    DepartmentFactory,
    EnterpriseFactory,
    InspectionItemFactory,
    InspectorFactory,
    JurisdictionFactory,
    load_small_demo,
    user_named,
)
from tests.workers import running_worker

SEED = bytes.fromhex("5a" * 32)
ITEMS = ["SCJG-GS-001", "SPAQ-JY-001", "TZSB-SY-001"]
NOW = dt.datetime(2025, 3, 4, 2, 0, tzinfo=dt.UTC)


def _clock() -> dt.datetime:
    return NOW


@pytest.fixture
def demo(db_session: Session) -> Session:
    return load_small_demo(db_session, 7)


def _committed_plan(
    session: Session, *, seed: bytes = SEED, source: str | None = None, **fields: Any
) -> SamplingPlan:
    service = PlanService(session, user_named(session, "supervisor"), clock=_clock)
    values: dict[str, Any] = {
        "code": "2025-DRAW-01",
        "title": "2025年抽查",
        "year": 2025,
        "items": ITEMS,
        "jurisdictions": ["330783", "330702"],
        "tier_ratios": {"A": 0.03, "B": 0.5, "C": 0.3, "D": 0.8},
        "due_date": dt.date(2025, 11, 30),
        **fields,
    }
    plan = service.create(**values)
    service.approve(plan)
    service.commit_seed(plan, seeds.commit(seed), public_value_source=source)
    return plan


def _task_rows(draw: Draw) -> list[tuple[Any, ...]]:
    return [
        (
            str(task.uuid),
            task.enterprise_id,
            task.stratum,
            task.is_alternate,
            task.alternate_rank,
            task.status.value,
            task.due_date,
            tuple(item.code for item in task.items),
            tuple((m.inspector_id, m.role.value) for m in task.members),
        )
        for task in sorted(draw.tasks, key=lambda t: (t.is_alternate, t.id))
    ]


def test_full_cycle_creates_staffed_tasks_without_conflicts(demo: Session) -> None:
    plan = _committed_plan(demo)
    supervisor = user_named(demo, "supervisor")
    draw = DrawService(demo, supervisor, clock=_clock).draw(plan, SEED, None)
    demo.flush()
    demo.expire_all()

    assert plan.status is PlanStatus.DRAWN
    assert plan.revealed_seed == SEED.hex()
    assert plan.public_value is None
    assert plan.drawn_by_id == supervisor.id and plan.drawn_at == NOW
    assert draw.algorithm_version == seeds.ALGORITHM_VERSION
    assert draw.snapshot_hash == draw.report["snapshot_hash"]
    assert len(draw.snapshot_hash) == 64

    drawn = [t for t in draw.tasks if not t.is_alternate]
    alternates = [t for t in draw.tasks if t.is_alternate]
    assert len(drawn) == draw.report["totals"]["drawn"] >= 5
    assert len(alternates) == draw.report["totals"]["alternates"]
    blocked = {b["target_id"]: b["reason"] for b in draw.report["teams"]["blocked_targets"]}
    assert demo.scalar(select(func.count()).select_from(InspectorConflict)) > 0
    plan_items = {item.code for item in plan.items}
    for task in drawn:
        assert task.status is TaskStatus.OPEN
        assert task.due_date == dt.date(2025, 11, 30)
        assert task.items and {item.code for item in task.items} <= plan_items
        assert [c["code"] for c in task.checklist] == [item.code for item in task.items]
        if task.enterprise_id in blocked:
            assert task.members == []
            continue
        assert len(task.members) >= 2
        assert [m.role for m in task.members] == [MemberRole.LEAD] + [MemberRole.MEMBER] * (
            len(task.members) - 1
        )
        departments = {m.inspector.department_id for m in task.members}
        assert {item.department_id for item in task.items} <= departments
        for member in task.members:
            for conflict in member.inspector.conflicts:
                assert conflict.enterprise_id != task.enterprise_id
                assert conflict.person_name != task.enterprise.legal_representative
    assert draw.report["teams"]["staffed"] == sum(1 for t in drawn if t.members)
    for task in alternates:
        assert task.status is TaskStatus.STANDBY and task.alternate_rank >= 1
        assert task.members == []
    assert len({t.enterprise_id for t in draw.tasks}) == len(draw.tasks)

    trail = [row for row in audit.history(demo, plan) if row.action == "plan.draw"]
    assert len(trail) == 1
    assert trail[0].details["snapshot_hash"] == draw.snapshot_hash
    assert trail[0].details["drawn"] == len(drawn)

    plan.title = "changed after the draw"
    with pytest.raises(PlanImmutableError):
        demo.flush()


def test_snapshot_is_in_scope_with_the_rated_tiers_and_never_inspected(demo: Session) -> None:
    plan = _committed_plan(demo, strata_keys=["jurisdiction", "tier", "industry_section"])
    in_scope = select(Enterprise).join(Jurisdiction).where(Jurisdiction.adcode == "330783")
    rated = demo.scalars(in_scope.order_by(Enterprise.id)).all()[:4]
    for enterprise, tier in zip(rated, "ADCA", strict=True):
        enterprise.credit_tier = tier
    demo.flush()
    snapshot = build_snapshot(demo, plan)
    targets = snapshot.targets
    ids = targets.target_id.tolist()
    assert ids == sorted(ids) and ids
    adcodes = demo.scalars(
        select(Jurisdiction.adcode)
        .join(Enterprise, Enterprise.jurisdiction_id == Jurisdiction.id)
        .where(Enterprise.id.in_(ids))
    ).all()
    assert set(adcodes) <= {"330783", "330702"}
    tier_of = {
        int(t): "ABCD"[targets.stratum_tier[s]] for t, s in zip(ids, targets.stratum, strict=True)
    }
    for enterprise in rated:  # the rated tier, in the stratum label and the stratum's tier
        assert tier_of[enterprise.id] == enterprise.credit_tier
    assert sum(tier == "B" for tier in tier_of.values()) == len(ids) - 4  # unrated count as B
    for label, tier in zip(targets.stratum_labels, targets.stratum_tier.tolist(), strict=True):
        assert label.split("|")[1] == "ABCD"[tier]
    assert targets.inspections_this_year.sum() == 0
    assert all(v != v for v in targets.months_since_last.tolist())  # all NaN
    assert targets.eligible_items.shape == (len(ids), len(ITEMS))


def test_wrong_seed_is_refused_and_nothing_is_written(demo: Session) -> None:
    plan = _committed_plan(demo)
    service = DrawService(demo, user_named(demo, "supervisor"), clock=_clock)
    with pytest.raises(PlanValidationError) as refused:
        service.draw(plan, bytes.fromhex("a5" * 32), None)
    assert refused.value.field == "seed"
    assert "does not match the commitment" in refused.value.errors["seed"]
    with pytest.raises(PlanValidationError) as empty:
        service.draw(plan, b"", None)
    assert empty.value.field == "seed"
    assert plan.status is PlanStatus.SEED_COMMITTED and plan.revealed_seed is None
    assert demo.scalar(select(func.count()).select_from(Draw)) == 0


def test_wrong_role_is_refused(demo: Session) -> None:
    plan = _committed_plan(demo)
    with pytest.raises(PermissionDeniedError, match="may not draw a sampling plan"):
        DrawService(demo, user_named(demo, "inspector")).draw(plan, SEED, None)
    assert plan.status is PlanStatus.SEED_COMMITTED


def test_drawing_twice_or_too_early_is_refused(demo: Session) -> None:
    plan = _committed_plan(demo)
    service = DrawService(demo, user_named(demo, "supervisor"), clock=_clock)
    service.draw(plan, SEED, None)
    with pytest.raises(PlanStateError, match="can no longer change"):
        service.draw(plan, SEED, None)
    assert demo.scalar(select(func.count()).select_from(Draw)) == 1

    planner = PlanService(demo, user_named(demo, "supervisor"), clock=_clock)
    draft = planner.create(
        code="2025-DRAW-02",
        title="草稿",
        year=2025,
        items=ITEMS,
        jurisdictions=["330783"],
        tier_ratios={"A": 0.1, "B": 0.1, "C": 0.1, "D": 0.1},
    )
    planner.approve(draft)
    with pytest.raises(PlanStateError, match="needs status seed committed") as early:
        service.draw(draft, SEED, None)
    assert not isinstance(early.value, PlanImmutableError)


def test_public_value_is_required_exactly_when_declared(demo: Session) -> None:
    service = DrawService(demo, user_named(demo, "supervisor"), clock=_clock)
    declared = _committed_plan(demo, source="福彩双色球 2025-03-04")
    with pytest.raises(PlanValidationError) as missing:
        service.draw(declared, SEED, "  ")
    assert missing.value.field == "public_value"
    draw = service.draw(declared, SEED, " 03 07 12 19 25 31 + 09 ")
    assert declared.public_value == "03 07 12 19 25 31 + 09"
    assert draw.report["public_value"] == "03 07 12 19 25 31 + 09"

    other_seed = bytes.fromhex("6b" * 32)
    undeclared = _committed_plan(demo, seed=other_seed, code="2025-DRAW-03")
    with pytest.raises(PlanValidationError) as unexpected:
        service.draw(undeclared, other_seed, "whatever")
    assert unexpected.value.field == "public_value"


def test_same_inputs_and_seed_give_identical_tasks_after_rollback(demo: Session) -> None:
    plan = _committed_plan(demo)
    supervisor = user_named(demo, "supervisor")
    results = []
    for _ in range(2):
        savepoint = demo.begin_nested()
        draw = DrawService(demo, supervisor, clock=_clock).draw(plan, SEED, None)
        demo.flush()
        results.append((_task_rows(draw), draw.report, draw.snapshot_hash))
        savepoint.rollback()
        demo.expire_all()
        assert plan.status is PlanStatus.SEED_COMMITTED
    assert results[0] == results[1]
    assert results[0][0]  # a draw with tasks, not two empty ones


def test_declared_conflicts_keep_an_officer_off_the_team(db_session: Session) -> None:
    department = DepartmentFactory(code="SCJG")
    county = JurisdictionFactory(adcode="330783", name="东阳市")
    item = InspectionItemFactory(code="SCJG-GS-001", department=department)
    firm = EnterpriseFactory(jurisdiction=county, legal_representative="李四")
    officers = [InspectorFactory(department=department) for _ in range(3)]
    db_session.add_all(
        [
            InspectorConflict(inspector=officers[0], enterprise=firm, relation="亲属"),
            InspectorConflict(inspector=officers[1], person_name="李四", relation="同学"),
        ]
    )
    supervisor = User(
        username="boss", display_name="Boss", role="supervisor", password_hash="x" * 20
    )
    db_session.add(supervisor)
    db_session.flush()

    service = PlanService(db_session, supervisor, clock=_clock)
    plan = service.create(
        code="CONFLICT-01",
        title="回避",
        year=2025,
        items=[item.code],
        jurisdictions=["330783"],
        tier_ratios={"A": 1.0, "B": 1.0, "C": 1.0, "D": 1.0},
        alternates_per_stratum=0,
    )
    service.approve(plan)
    service.commit_seed(plan, seeds.commit(SEED))
    draw = DrawService(db_session, supervisor, clock=_clock).draw(plan, SEED, None)

    (task,) = draw.tasks
    assert task.enterprise_id == firm.id
    # Two officers declared a conflict (one by the firm, one by its legal representative):
    # one officer is left, so the target is blocked as recused (no lawful team of two).
    assert task.members == []
    (blocked,) = draw.report["teams"]["blocked_targets"]
    assert (blocked["target_id"], blocked["reason"]) == (firm.id, "recused")

    officers.append(InspectorFactory(department=department))
    db_session.flush()
    redrawn = PlanService(db_session, supervisor, clock=_clock).redraw(plan, "more officers")
    service.approve(redrawn)
    other_seed = bytes.fromhex("7c" * 32)
    service.commit_seed(redrawn, seeds.commit(other_seed))
    (staffed,) = (
        DrawService(db_session, supervisor, clock=_clock).draw(redrawn, other_seed, None).tasks
    )
    assert {m.inspector_id for m in staffed.members} == {officers[2].id, officers[3].id}


# ---------------------------------------------------------------------- command line


class Suijian:
    def __init__(self, ini: Path) -> None:
        self.ini = str(ini)
        self.runner = CliRunner()

    def __call__(self, *args: str) -> Result:
        return self.runner.invoke(main, ["-c", self.ini, *args])

    def ok(self, *args: str) -> Result:
        result = self(*args)
        assert result.exit_code == 0, result.output
        return result


def _fresh(directory: Path) -> Suijian:
    database = directory / "draw.sqlite"
    ini = directory / "test.ini"
    ini.write_text(f"[app:main]\nuse = egg:suijian\nsqlalchemy.url = sqlite:///{database}\n")
    cli = Suijian(ini)
    cli.ok("db", "upgrade")
    cli.ok("demo", "load", "--enterprises", "300", "--inspectors", "30")
    for step in (
        [
            "plan",
            "create",
            "--code",
            "CLI-DRAW",
            "--title",
            "2025年东阳市双随机抽查计划",
            "--year",
            "2025",
            "--items",
            ",".join(ITEMS),
            "--jurisdictions",
            "330783,330702",
            "--ratios",
            "A=0.03,B=0.4,C=0.3,D=0.8",
        ],
        ["plan", "approve", "CLI-DRAW"],
        [
            "plan",
            "commit",
            "CLI-DRAW",
            "--commitment",
            seeds.commit(SEED),
            "--public-value-source",
            "福彩双色球 2025-03-04",
        ],
    ):
        cli.ok(*step, "--as", "supervisor")
    return cli


@pytest.fixture
def two_databases(tmp_path: Path) -> Iterator[tuple[Suijian, Suijian, Path, Path]]:
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("DATABASE_URL", raising=False)
        first, second = tmp_path / "one", tmp_path / "two"
        first.mkdir()
        second.mkdir()
        yield _fresh(first), _fresh(second), first / "draw.sqlite", second / "draw.sqlite"


def _stored_tasks(database: Path) -> list[tuple[Any, ...]]:
    engine = make_engine(f"sqlite:///{database}")
    try:
        with Session(engine) as session:
            draw = session.scalar(select(Draw))
            assert draw is not None
            return [*_task_rows(draw), draw.snapshot_hash]
    finally:
        engine.dispose()


def test_cli_draw_on_two_fresh_databases(
    two_databases: tuple[Suijian, Suijian, Path, Path],
) -> None:
    first, second, first_db, second_db = two_databases

    refused = first("plan", "draw", "CLI-DRAW", "--seed", "zz", "--as", "supervisor")
    assert refused.exit_code != 0 and "--seed" in refused.output
    wrong = first(
        "plan", "draw", "CLI-DRAW", "--seed", "a5" * 32, "--public-value", "1", "--as", "supervisor"
    )
    assert wrong.exit_code == 1 and "--seed: does not match the commitment" in wrong.output
    missing = first("plan", "draw", "CLI-DRAW", "--seed", SEED.hex(), "--as", "supervisor")
    assert missing.exit_code == 1 and "--public-value: is required" in missing.output
    role = first(
        "plan", "draw", "CLI-DRAW", "--seed", SEED.hex(), "--public-value", "1", "--as", "inspector"
    )
    assert role.exit_code == 1 and "may not draw a sampling plan" in role.output

    outputs = [
        cli.ok(
            "plan",
            "draw",
            "CLI-DRAW",
            "--seed",
            SEED.hex(),
            "--public-value",
            "03 07 12 19 25 31 + 09",
            "--as",
            "supervisor",
        ).output
        for cli in (first, second)
    ]
    assert outputs[0] == outputs[1]
    for label in ("targets drawn", "teams staffed", "blocked", "alternates", "cross-department"):
        assert label in outputs[0]
    tasks = _stored_tasks(first_db)
    assert tasks == _stored_tasks(second_db)
    assert f"snapshot hash       {tasks[-1]}" in outputs[0]

    again = first(
        "plan",
        "draw",
        "CLI-DRAW",
        "--seed",
        SEED.hex(),
        "--public-value",
        "1",
        "--as",
        "supervisor",
    )
    assert again.exit_code == 1 and "can no longer change" in again.output
    shown = first.ok("plan", "show", "CLI-DRAW", "--json").stdout
    assert '"status": "drawn"' in shown and SEED.hex() in shown


def test_every_task_of_a_draw_is_stored(demo: Session) -> None:
    plan = _committed_plan(demo)
    draw = DrawService(demo, user_named(demo, "supervisor"), clock=_clock).draw(plan, SEED, None)
    demo.flush()
    count = demo.scalar(
        select(func.count()).select_from(InspectionTask).where(InspectionTask.draw_id == draw.id)
    )
    assert count == draw.report["totals"]["drawn"] + draw.report["totals"]["alternates"]


def test_cli_distributed_draw_on_a_worker_equals_the_local_draw(
    two_databases: tuple[Suijian, Suijian, Path, Path], redis_url: str
) -> None:
    """`plan draw --parts 3` stages the snapshot, the worker draws the strata in a chord,
    and the stored draw equals the one-process draw of an identical database."""
    first, second, first_db, second_db = two_databases
    with Path(first.ini).open("a") as ini:
        ini.write(f"celery.broker_url = {redis_url}\ncelery.result_backend = {redis_url}\n")
    settings = {
        "sqlalchemy.url": f"sqlite:///{first_db}",
        "celery.broker_url": redis_url,
        "celery.result_backend": redis_url,
    }
    draw = ["plan", "draw", "CLI-DRAW", "--seed", SEED.hex(), "--public-value", "7 + 1"]
    with running_worker(settings):
        distributed = first.ok(*draw, "--parts", "3", "--timeout", "120", "--as", "supervisor")
    local = second.ok(*draw, "--as", "supervisor")
    assert distributed.output == local.output
    assert _stored_tasks(first_db) == _stored_tasks(second_db)
