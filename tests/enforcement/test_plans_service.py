"""PlanService: the plan life cycle, roles, states, validation, immutability, redraws, audit."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import cache
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from enforcement.models import (
    AuditLog,
    AuditLogImmutableError,
    PlanImmutableError,
    PlanStatus,
    Role,
    SamplingMethod,
    SamplingPlan,
    User,
)
from enforcement.security import hash_password
from enforcement.services import audit
from enforcement.services.plans import (
    SEED_BYTES,
    PermissionDeniedError,
    PlanNotFoundError,
    PlanService,
    PlanStateError,
    PlanValidationError,
    current_fields,
    get_plan,
    list_plans,
    new_secret_seed,
    plan_spec,
    plan_summary,
)
from random_sampler import seeds
from random_sampler.allocation import PlanSpec
from tests.factories import DepartmentFactory, InspectionItemFactory, JurisdictionFactory

START = dt.datetime(2025, 3, 1, 2, 0, tzinfo=dt.UTC)
RATIOS = {"A": 0.03, "B": 0.1, "C": 0.3, "D": 0.8}


class Clock:
    def __init__(self, now: dt.datetime = START) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, delta: dt.timedelta) -> None:
        self.now += delta


@cache
def _password_hash() -> str:
    return hash_password("plan-tests")  # argon2 is slow; one hash serves every test user


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def make_user(db_session: Session) -> Callable[..., User]:
    def make(username: str, role: Role, **fields: Any) -> User:
        user = User(
            username=username,
            display_name=username.title(),
            role=role,
            password_hash=_password_hash(),
            **fields,
        )
        db_session.add(user)
        db_session.flush()
        return user

    return make


@pytest.fixture
def supervisor(make_user: Callable[..., User]) -> User:
    return make_user("supervisor", Role.SUPERVISOR)


@pytest.fixture
def inspector(make_user: Callable[..., User]) -> User:
    return make_user("inspector", Role.INSPECTOR)


@pytest.fixture
def service(db_session: Session, supervisor: User, clock: Clock) -> PlanService:
    return PlanService(db_session, supervisor, clock=clock)


@pytest.fixture
def registry(db_session: Session) -> dict[str, Any]:
    market = DepartmentFactory(code="SCJG")
    food = DepartmentFactory(code="SPAQ")
    items = [
        InspectionItemFactory(code="SCJG-GS-001", department=market),
        InspectionItemFactory(code="SPAQ-JY-001", department=food),
        InspectionItemFactory(code="SPAQ-JY-002", department=food),
    ]
    city = JurisdictionFactory(adcode="330700", name="金华市")
    county = JurisdictionFactory(adcode="330783", name="东阳市", parent=city)
    return {"items": items, "city": city, "county": county, "departments": [market, food]}


def _fields(**overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "code": "2025-DY-01",
        "title": "2025年东阳市双随机抽查计划",
        "year": 2025,
        "items": ["SPAQ-JY-001", "SCJG-GS-001"],
        "jurisdictions": ["330783"],
        "tier_ratios": RATIOS,
    }
    fields.update(overrides)
    return fields


def _actions(session: Session, plan: SamplingPlan) -> list[tuple[str, str | None]]:
    return [
        (row.action, row.actor.username if row.actor else None)
        for row in audit.history(session, plan)
    ]


def _committed(service: PlanService, **overrides: Any) -> tuple[SamplingPlan, bytes]:
    plan = service.create(**_fields(**overrides))
    service.approve(plan)
    seed = new_secret_seed()
    service.commit_seed(plan, seeds.commit(seed))
    return plan, seed


def _simulate_draw(session: Session, plan: SamplingPlan, seed: bytes) -> None:
    """What the draw step will do to the plan: status drawn and the seed revealed."""
    plan.status = PlanStatus.DRAWN
    plan.revealed_seed = seed.hex()
    plan.drawn_at = START
    session.flush()


# --------------------------------------------------------------------------- creation


def test_create_stores_a_draft_with_every_field(
    service: PlanService, registry: dict[str, Any], supervisor: User, db_session: Session
) -> None:
    plan = service.create(
        **_fields(
            budget=120,
            method="poisson",
            exclude_within_months=6,
            annual_cap=3,
            alternates_per_stratum=2,
            strata_keys=["tier", "jurisdiction"],
            team_size=3,
            workload_cap=20,
            recuse_same_jurisdiction=True,
            due_date=dt.date(2025, 11, 30),
        )
    )
    db_session.expire_all()
    plan = get_plan(db_session, "2025-DY-01")
    assert plan.status is PlanStatus.DRAFT
    assert [item.code for item in plan.items] == ["SCJG-GS-001", "SPAQ-JY-001"]
    # A joint plan: the departments come from the items.
    assert [d.code for d in plan.departments] == ["SCJG", "SPAQ"]
    assert plan.jurisdiction_ids == [registry["county"].id]
    assert plan.tier_ratios == RATIOS
    assert plan.method is SamplingMethod.POISSON
    assert (plan.budget, plan.exclude_within_months, plan.annual_cap) == (120, 6, 3)
    assert (plan.alternates_per_stratum, plan.team_size, plan.workload_cap) == (2, 3, 20)
    assert plan.strata_keys == ["tier", "jurisdiction"]
    assert plan.recuse_same_jurisdiction is True
    assert plan.effective_due_date == dt.date(2025, 11, 30)
    assert plan.created_by_id == supervisor.id
    assert plan.created_at == START
    assert plan.seed_commitment is None and plan.revealed_seed is None
    assert _actions(db_session, plan) == [("plan.create", "supervisor")]


def test_defaults_and_plan_spec(service: PlanService, registry: dict[str, Any]) -> None:
    plan = service.create(**_fields())
    assert plan.method is SamplingMethod.EXACT
    assert plan.team_size == 2
    assert plan.alternates_per_stratum == 3
    assert plan.strata_keys == ["jurisdiction", "tier", "industry_section"]
    assert plan.recuse_same_jurisdiction is False
    assert plan.budget is None and plan.workload_cap is None
    assert plan.effective_due_date == dt.date(2025, 12, 31)
    assert plan_spec(plan) == PlanSpec(
        tier_ratio=(0.03, 0.1, 0.3, 0.8), budget=None, method="exact", alternates_per_stratum=3
    )


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("tier_ratios", {"A": 1.5, "B": 0.1, "C": 0.3, "D": 0.8}, "tier A: 1.5 is not between 0"),
        ("tier_ratios", {"A": 0.1, "B": 0.1, "C": 0.3}, "missing a ratio for tier D"),
        ("tier_ratios", {"A": 0, "B": 0, "C": 0, "D": 0}, "at least one tier"),
        ("tier_ratios", {"A": 0.1, "B": 0.1, "C": 0.3, "D": 0.8, "E": 1}, "unknown tiers E"),
        ("tier_ratios", {"A": "x", "B": 0.1, "C": 0.3, "D": 0.8}, "'x' is not a number"),
        ("team_size", 1, "between 2 and 20"),
        ("team_size", 2.5, "whole number"),
        ("items", ["SPAQ-JY-001", "NOPE-1"], "not on the inspection item list: NOPE-1"),
        ("items", [], "at least one"),
        ("jurisdictions", ["999999"], "unknown administrative division codes: 999999"),
        ("year", 1999, "between 2000 and 2100"),
        ("method", "random", "must be one of exact, poisson"),
        ("strata_keys", ["jurisdiction", "industry_section"], "must include 'tier'"),
        ("strata_keys", ["tier", "colour"], "unknown keys colour"),
        ("strata_keys", ["tier", "tier"], "listed twice"),
        ("budget", 0, "between 1 and"),
        ("annual_cap", 0, "between 1 and"),
        ("exclude_within_months", -1, "between 0 and"),
        ("workload_cap", 0, "between 1 and"),
        ("alternates_per_stratum", -1, "between 0 and"),
        ("code", "bad code", "may contain only"),
        ("title", "   ", "must not be empty"),
        ("recuse_same_jurisdiction", "yes", "true or false"),
        ("due_date", dt.date(2024, 12, 31), "before the plan's year 2025"),
        ("due_date", "2025-06-30", "calendar date"),
    ],
)
def test_validation_errors_name_the_field(
    service: PlanService,
    registry: dict[str, Any],
    db_session: Session,
    field: str,
    value: Any,
    reason: str,
) -> None:
    with pytest.raises(PlanValidationError) as caught:
        service.create(**_fields(**{field: value}))
    assert caught.value.field == field
    assert reason in caught.value.errors[field]
    assert str(caught.value).startswith(f"{field}: ")
    assert db_session.scalar(select(func.count()).select_from(SamplingPlan)) == 0


def test_every_bad_field_is_reported_at_once(
    service: PlanService, registry: dict[str, Any]
) -> None:
    with pytest.raises(PlanValidationError) as caught:
        service.create(**_fields(team_size=1, year=3000, title=None, colour="red"))
    # An unknown field is refused before anything else is looked at.
    assert caught.value.errors == {"colour": "is not a field of a sampling plan"}
    with pytest.raises(PlanValidationError) as caught:
        service.create(**_fields(team_size=1, year=3000, title=None))
    assert set(caught.value.errors) == {"team_size", "year", "title"}
    assert caught.value.errors["title"] == "is required"


def test_inactive_items_and_taken_codes_are_refused(
    service: PlanService, registry: dict[str, Any]
) -> None:
    registry["items"][2].active = False
    with pytest.raises(PlanValidationError, match="items: inactive items cannot be planned"):
        service.create(**_fields(items=["SPAQ-JY-002"]))
    service.create(**_fields())
    with pytest.raises(PlanValidationError, match="code: '2025-DY-01' is already used"):
        service.create(**_fields())


# --------------------------------------------------------------------------- life cycle


def test_life_cycle_with_audit_rows(
    service: PlanService, registry: dict[str, Any], db_session: Session, clock: Clock
) -> None:
    plan = service.create(**_fields())
    clock.advance(dt.timedelta(hours=1))
    service.approve(plan)
    assert plan.status is PlanStatus.APPROVED
    assert plan.approved_by.username == "supervisor"
    assert plan.approved_at == START + dt.timedelta(hours=1)

    seed = new_secret_seed()
    assert len(seed) == SEED_BYTES
    clock.advance(dt.timedelta(hours=1))
    service.commit_seed(plan, seeds.commit(seed))
    db_session.expire_all()
    plan = get_plan(db_session, plan.code)
    assert plan.status is PlanStatus.SEED_COMMITTED
    assert plan.committed_at == START + dt.timedelta(hours=2)
    # Only the commitment is stored; the seed itself is nowhere in the database.
    assert seeds.verify_commitment(seed, plan.seed_commitment)
    assert not seeds.verify_commitment(new_secret_seed(), plan.seed_commitment)
    assert plan.revealed_seed is None

    rows = audit.history(db_session, plan)
    assert [(r.action, r.actor.username, r.at) for r in rows] == [
        ("plan.create", "supervisor", START),
        ("plan.approve", "supervisor", START + dt.timedelta(hours=1)),
        ("plan.commit_seed", "supervisor", START + dt.timedelta(hours=2)),
    ]
    assert rows[0].entity_type == "sampling_plans"
    assert rows[0].entity_id == str(plan.id)
    assert rows[2].details == {"commitment": plan.seed_commitment, "public_value_source": None}


def test_an_admin_may_govern_plans(
    db_session: Session, make_user: Callable[..., User], registry: dict[str, Any]
) -> None:
    admin = make_user("admin", Role.ADMIN)
    service = PlanService(db_session, admin)
    plan = service.create(**_fields())
    service.approve(plan)
    assert plan.approved_by is admin


def test_an_offline_commitment_is_accepted_in_any_case(
    service: PlanService, registry: dict[str, Any]
) -> None:
    plan = service.create(**_fields())
    service.approve(plan)
    seed = bytes.fromhex("00" * 31 + "2a")
    service.commit_seed(
        plan,
        "  " + seeds.commit(seed).upper() + "\n",
        public_value_source=" 福彩双色球 2025-03-04 ",
    )
    assert plan.seed_commitment == seeds.commit(seed)
    assert seeds.verify_commitment(seed, plan.seed_commitment)
    assert plan.public_value_source == "福彩双色球 2025-03-04"
    assert plan_summary(plan)["public_value_source"] == "福彩双色球 2025-03-04"


@pytest.mark.parametrize(
    ("commitment", "reason"),
    [
        ("xyz", "64 hexadecimal digits"),
        ("a" * 63, "64 hexadecimal digits"),
        ("g" * 64, "64 hexadecimal digits"),
        (seeds.commit(b""), "empty seed"),
    ],
)
def test_bad_commitments_are_refused(
    service: PlanService, registry: dict[str, Any], commitment: str, reason: str
) -> None:
    plan = service.create(**_fields())
    service.approve(plan)
    with pytest.raises(PlanValidationError) as caught:
        service.commit_seed(plan, commitment)
    assert caught.value.field == "commitment"
    assert reason in str(caught.value)
    assert plan.status is PlanStatus.APPROVED


def test_a_commitment_cannot_serve_two_plans(
    service: PlanService, registry: dict[str, Any]
) -> None:
    first, _ = _committed(service)
    second = service.create(**_fields(code="2025-DY-02"))
    service.approve(second)
    with pytest.raises(PlanValidationError, match="already used by plan 2025-DY-01"):
        service.commit_seed(second, first.seed_commitment)


def test_a_department_supervisor_governs_only_plans_involving_the_department(
    db_session: Session, make_user: Callable[..., User], registry: dict[str, Any]
) -> None:
    market, food = registry["departments"]
    market_head = PlanService(db_session, make_user("m", Role.SUPERVISOR, department_id=market.id))
    food_head = PlanService(db_session, make_user("f", Role.SUPERVISOR, department_id=food.id))

    with pytest.raises(PermissionDeniedError, match="does not involve the user's department"):
        food_head.create(**_fields(code="MARKET-ONLY", items=["SCJG-GS-001"]))
    market_only = market_head.create(**_fields(code="MARKET-ONLY", items=["SCJG-GS-001"]))
    with pytest.raises(PermissionDeniedError, match="does not involve"):
        food_head.approve(market_only)
    with pytest.raises(PermissionDeniedError, match="does not involve"):
        market_head.update(market_only, items=["SPAQ-JY-001"])  # would hand it to food
    assert market_only.status is PlanStatus.DRAFT and [i.code for i in market_only.items] == [
        "SCJG-GS-001"
    ]

    joint = market_head.create(**_fields(code="JOINT"))  # market and food items
    food_head.approve(joint)  # a joint plan is governed by every department in it
    assert joint.status is PlanStatus.APPROVED
    bureau = PlanService(db_session, make_user("head", Role.SUPERVISOR))  # no department
    bureau.approve(market_only)
    assert market_only.status is PlanStatus.APPROVED


def test_roles_are_enforced(
    db_session: Session,
    service: PlanService,
    inspector: User,
    make_user: Callable[..., User],
    registry: dict[str, Any],
) -> None:
    plan = service.create(**_fields())
    as_inspector = PlanService(db_session, inspector)
    with pytest.raises(PermissionDeniedError, match=r"inspector \(role inspector\) may not"):
        as_inspector.approve(plan)
    with pytest.raises(PermissionDeniedError):
        as_inspector.create(**_fields(code="OTHER"))
    with pytest.raises(PermissionDeniedError):
        as_inspector.update(plan, title="改")
    assert plan.status is PlanStatus.DRAFT

    service.approve(plan)
    enterprise = make_user("firm", Role.ENTERPRISE)
    with pytest.raises(PermissionDeniedError):
        PlanService(db_session, enterprise).commit_seed(plan, seeds.commit(b"seed"))
    retired = make_user("retired", Role.SUPERVISOR, active=False)
    with pytest.raises(PermissionDeniedError, match="inactive"):
        PlanService(db_session, retired).commit_seed(plan, seeds.commit(b"seed"))
    assert plan.status is PlanStatus.APPROVED
    # Refusals change nothing and leave no audit trail of a transition.
    assert _actions(db_session, plan) == [
        ("plan.create", "supervisor"),
        ("plan.approve", "supervisor"),
    ]


def test_wrong_states_name_current_and_expected(
    service: PlanService, registry: dict[str, Any]
) -> None:
    plan = service.create(**_fields())
    with pytest.raises(PlanStateError) as caught:
        service.commit_seed(plan, seeds.commit(b"seed"))
    assert caught.value.current is PlanStatus.DRAFT
    assert caught.value.expected == (PlanStatus.APPROVED,)
    assert "is draft: commit a seed needs status approved" in str(caught.value)

    service.approve(plan)
    with pytest.raises(PlanStateError, match="is approved: approve needs status draft"):
        service.approve(plan)
    with pytest.raises(PlanStateError, match="is approved: edit needs status draft"):
        service.update(plan, title="改")
    with pytest.raises(PlanStateError, match="redraw needs status"):
        service.redraw(plan, "数据有误")


def test_update_a_draft_records_each_change(
    service: PlanService, registry: dict[str, Any], db_session: Session
) -> None:
    plan = service.create(**_fields())
    service.update(plan, title="新标题", team_size=3, jurisdictions=["330700", "330783"])
    assert plan.title == "新标题"
    assert plan.team_size == 3
    assert plan.jurisdiction_ids == [registry["city"].id, registry["county"].id]
    service.update(plan, items=["SPAQ-JY-002"], due_date=dt.date(2025, 6, 30))
    assert [item.code for item in plan.items] == ["SPAQ-JY-002"]
    assert [d.code for d in plan.departments] == ["SPAQ"]
    # An update that changes nothing writes no audit row.
    service.update(plan, title="新标题", jurisdictions=["330700", "330783"])

    rows = audit.history(db_session, plan)
    assert [row.action for row in rows] == ["plan.create", "plan.update", "plan.update"]
    assert rows[1].details == {
        "changes": {
            "title": {"from": "2025年东阳市双随机抽查计划", "to": "新标题"},
            "team_size": {"from": 2, "to": 3},
            "jurisdictions": {"from": ["330783"], "to": ["330700", "330783"]},
        }
    }
    assert rows[2].details["changes"]["due_date"] == {"from": None, "to": "2025-06-30"}
    with pytest.raises(PlanValidationError, match="team_size: must be between 2 and 20"):
        service.update(plan, team_size=1)
    with pytest.raises(PlanValidationError, match="status: is not a field"):
        service.update(plan, status=PlanStatus.APPROVED)
    assert plan.team_size == 3 and plan.status is PlanStatus.DRAFT


def test_approval_revalidates_the_plan(service: PlanService, registry: dict[str, Any]) -> None:
    plan = service.create(**_fields())
    registry["items"][1].active = False  # SPAQ-JY-001 retired after the plan was drafted
    with pytest.raises(PlanValidationError, match="items: inactive items"):
        service.approve(plan)
    assert plan.status is PlanStatus.DRAFT


# --------------------------------------------------------------------------- immutability


def test_a_drawn_plan_is_immutable(
    service: PlanService, registry: dict[str, Any], db_session: Session
) -> None:
    plan, seed = _committed(service)
    _simulate_draw(db_session, plan, seed)

    with pytest.raises(PlanImmutableError, match="is drawn and can no longer change"):
        service.update(plan, title="改")
    with pytest.raises(PlanImmutableError):
        service.approve(plan)
    with pytest.raises(PlanImmutableError):
        service.commit_seed(plan, seeds.commit(b"another seed"))
    assert plan.title == "2025年东阳市双随机抽查计划"

    # Code that bypasses the service is stopped at flush time.
    plan.team_size = 5
    with pytest.raises(PlanImmutableError):
        db_session.flush()
    db_session.expire(plan)
    plan.items = plan.items[:1]
    with pytest.raises(PlanImmutableError):
        db_session.flush()
    db_session.expire(plan)
    plan.status = PlanStatus.DRAFT
    with pytest.raises(PlanImmutableError):
        db_session.flush()
    db_session.expire(plan)
    db_session.delete(plan)
    with pytest.raises(PlanImmutableError):
        db_session.flush()


def test_publishing_is_the_one_change_a_drawn_plan_accepts(
    service: PlanService, registry: dict[str, Any], db_session: Session, supervisor: User
) -> None:
    plan, seed = _committed(service)
    _simulate_draw(db_session, plan, seed)
    plan.status = PlanStatus.PUBLISHED
    plan.published_by = supervisor
    plan.published_at = START
    db_session.flush()
    db_session.expire_all()
    plan = get_plan(db_session, plan.code)
    assert plan.status is PlanStatus.PUBLISHED
    plan.public_value = "changed after the fact"
    with pytest.raises(PlanImmutableError, match="is published"):
        db_session.flush()


def test_database_constraints_back_the_rules(
    db_session: Session, service: PlanService, registry: dict[str, Any]
) -> None:
    plan = service.create(**_fields())
    for column, value in [
        ("team_size", 1),
        ("status", "seed_committed"),  # without a commitment
        ("revealed_seed", "00ff"),  # before the draw
        ("redraw_reason", "no superseded plan"),
    ]:
        savepoint = db_session.begin_nested()
        with pytest.raises(IntegrityError):
            db_session.execute(
                SamplingPlan.__table__.update()
                .where(SamplingPlan.__table__.c.id == plan.id)
                .values({column: value})
            )
        savepoint.rollback()


# --------------------------------------------------------------------------- redraw


def test_redraw_creates_a_new_plan_with_the_reason(
    service: PlanService, registry: dict[str, Any], db_session: Session, clock: Clock
) -> None:
    plan, seed = _committed(service, budget=50, team_size=3)
    _simulate_draw(db_session, plan, seed)
    clock.advance(dt.timedelta(days=1))

    new = service.redraw(plan, "  名录库数据导入有误，需重新抽取  ")
    db_session.expire_all()
    new = get_plan(db_session, "2025-DY-01-R1")
    old = get_plan(db_session, "2025-DY-01")
    assert new.status is PlanStatus.DRAFT
    assert new.supersedes is old and old.superseded_by is new
    assert new.redraw_reason == "名录库数据导入有误，需重新抽取"
    assert new.seed_commitment is None and new.approved_at is None
    assert {**current_fields(new), "code": old.code} == current_fields(old)
    assert new.created_at == START + dt.timedelta(days=1)
    # The old plan is untouched and still frozen.
    assert old.status is PlanStatus.DRAWN
    assert old.revealed_seed == seed.hex()
    assert _actions(db_session, old)[-1] == ("plan.redraw", "supervisor")
    assert audit.history(db_session, old)[-1].details == {
        "new_plan": "2025-DY-01-R1",
        "reason": "名录库数据导入有误，需重新抽取",
    }
    assert audit.history(db_session, new)[0].details == {
        "code": "2025-DY-01-R1",
        "supersedes": "2025-DY-01",
        "reason": "名录库数据导入有误，需重新抽取",
    }
    summary = plan_summary(old)
    assert summary["superseded_by"] == "2025-DY-01-R1"
    assert plan_summary(new)["supersedes"] == "2025-DY-01"

    with pytest.raises(PlanStateError, match="already superseded by 2025-DY-01-R1"):
        service.redraw(old, "again")
    with pytest.raises(
        PlanStateError, match="is draft: a redraw needs status seed committed, drawn or published"
    ):
        service.redraw(new, "again")

    # The redraw goes through the whole life cycle with a fresh seed; its own redraw is R2.
    service.approve(new)
    service.commit_seed(new, seeds.commit(new_secret_seed()))
    second = service.redraw(new, "抽取当天系统故障")
    assert second.code == "2025-DY-01-R2"
    assert second.supersedes is new


def test_redraw_needs_a_reason_and_the_role(
    service: PlanService, registry: dict[str, Any], db_session: Session, inspector: User
) -> None:
    plan, _ = _committed(service)
    with pytest.raises(PlanValidationError) as caught:
        service.redraw(plan, "   ")
    assert caught.value.field == "reason"
    service.create(**_fields(code="taken"))
    with pytest.raises(PlanValidationError, match="code: 'taken' is already used"):
        service.redraw(plan, "原因", code="taken")
    with pytest.raises(PermissionDeniedError):
        PlanService(db_session, inspector).redraw(plan, "原因")
    assert plan.superseded_by is None


# --------------------------------------------------------------------------- reading, audit


def test_reading_plans(service: PlanService, registry: dict[str, Any], db_session: Session) -> None:
    service.create(**_fields(code="B-2024", year=2024))
    approved = service.create(**_fields(code="A-2025"))
    service.approve(approved)
    service.create(**_fields(code="C-2025"))
    assert [p.code for p in list_plans(db_session)] == ["A-2025", "C-2025", "B-2024"]
    assert [p.code for p in list_plans(db_session, year=2024)] == ["B-2024"]
    assert [p.code for p in list_plans(db_session, status="approved")] == ["A-2025"]
    with pytest.raises(PlanNotFoundError, match="no sampling plan with code 'Z'"):
        get_plan(db_session, "Z")
    summary = plan_summary(approved)
    assert summary["status"] == "approved"
    assert summary["jurisdictions"] == [{"adcode": "330783", "name": "东阳市"}]
    assert summary["departments"] == ["SCJG", "SPAQ"]
    assert summary["approved_by"] == "supervisor"
    assert summary["tier_ratios"] == RATIOS


def test_audit_rows_are_append_only(
    service: PlanService, registry: dict[str, Any], db_session: Session
) -> None:
    plan = service.create(**_fields())
    row = db_session.scalar(select(AuditLog).where(AuditLog.entity_id == str(plan.id)))
    row.action = "plan.nothing_happened"
    with pytest.raises(AuditLogImmutableError):
        db_session.flush()
    db_session.expire(row)
    db_session.delete(row)
    with pytest.raises(AuditLogImmutableError):
        db_session.flush()
