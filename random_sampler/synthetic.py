"""Synthetic, realistic draw inputs of any size, for benchmarks and tests.

The population imitates a county-level directory: strata are (jurisdiction, credit-risk tier)
pairs, jurisdictions of unequal (log-normal) size, tiers A/B/C/D in about 40/35/20/5 %, five
departments, each target belonging to the department of its industry and eligible for some of
that department's items, about 12 % also eligible for an item of another department (joint
tasks), a rare item that draws often miss (item coverage), 4 % not in business, half the targets
inspected before (with their last two inspectors), some inspected within the exclusion period or
at the annual cap, and declared conflicts numbering 1 % of the targets (each between a target
and an officer of its department, so that they matter).

Everything comes from one NumPy generator seeded with ``seed``: same arguments, same arrays.
"""

from __future__ import annotations

import math

import numpy as np

from random_sampler.allocation import PlanSpec
from random_sampler.draw import InspectorArrays, TargetArrays, TeamOptions

TIER_SHARE = (0.40, 0.35, 0.20, 0.05)  # A..D
DEPARTMENT_SHARE = (0.35, 0.25, 0.20, 0.12, 0.08)
# Items of the synthetic plan: (department, share of that department's targets in scope).
# The last one is rare (special equipment, say): a draw of a few percent often misses it.
ITEMS = (
    (0, 0.90),
    (0, 0.50),
    (1, 0.90),
    (1, 0.40),
    (2, 0.90),
    (3, 0.90),
    (4, 0.90),
    (4, 0.002),
)
JOINT_SHARE = 0.12
PLAN_RATIOS = (0.03, 0.10, 0.30, 0.80)
BUDGET_SHARE = 0.05  # the plan draws 5 % of the directory
NEVER_INSPECTED = 0.5
LAST_INSPECTORS = 2
CONFLICT_SHARE = 0.01
FIRST_ADCODE = 330100
FIRST_TARGET_ID = 91_000_000
FIRST_INSPECTOR_ID = 7_000_000


def synthetic_inputs(
    n_targets: int, n_inspectors: int, n_strata: int, *, seed: int = 0
) -> tuple[TargetArrays, InspectorArrays, PlanSpec]:
    """Targets, inspectors and a plan (5 % budget, exact method) of the given sizes."""
    for name, value, minimum in (
        ("n_targets", n_targets, 1),
        ("n_inspectors", n_inspectors, 2 * len(DEPARTMENT_SHARE)),
        ("n_strata", n_strata, 1),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise ValueError(f"{name} must be a whole number >= {minimum}, got {value!r}")
    rng = np.random.default_rng(seed)
    n, m, s = n_targets, n_inspectors, n_strata
    n_departments = len(DEPARTMENT_SHARE)

    # Strata: stratum h is jurisdiction h // 4 with tier h % 4.
    stratum_tier = (np.arange(s) % 4).astype(np.uint8)
    stratum_jurisdiction = np.arange(s) // 4
    n_jurisdictions = int(stratum_jurisdiction[-1]) + 1
    adcode = FIRST_ADCODE + np.arange(n_jurisdictions, dtype=np.int32)
    labels = tuple(
        f"{adcode[j]}|{'ABCD'[t]}" for j, t in zip(stratum_jurisdiction, stratum_tier, strict=True)
    )
    size_weight = rng.lognormal(0.0, 0.8, n_jurisdictions)[stratum_jurisdiction]
    tier_share = np.asarray(TIER_SHARE)
    present = np.bincount(stratum_tier, minlength=4) > 0
    tier_share = np.where(present, tier_share, 0.0) / tier_share[present].sum()
    tier_weight = np.bincount(stratum_tier, weights=size_weight, minlength=4)
    probability = tier_share[stratum_tier] * size_weight / tier_weight[stratum_tier]
    cumulative = np.cumsum(probability)
    stratum = np.searchsorted(cumulative, rng.random(n) * cumulative[-1], side="right")
    stratum = np.minimum(stratum, s - 1).astype(np.int32)

    target_id = FIRST_TARGET_ID + np.cumsum(rng.integers(1, 4, n, dtype=np.int64))
    in_business = rng.random(n) >= 0.04
    inspected = rng.random(n) >= NEVER_INSPECTED
    months = np.where(inspected, rng.random(n) * 48.0, np.nan)
    inspections = np.minimum(rng.poisson(0.15, n), 5).astype(np.int16)

    # Items: in scope of the target's own department, plus one item of another one (joint).
    department = np.searchsorted(
        np.cumsum(DEPARTMENT_SHARE), rng.random(n) * sum(DEPARTMENT_SHARE), side="right"
    )
    department = np.minimum(department, n_departments - 1).astype(np.int16)
    item_department = np.array([d for d, _ in ITEMS], dtype=np.int16)
    eligible = np.zeros((n, len(ITEMS)), dtype=bool)
    for k, (item_dept, share) in enumerate(ITEMS):
        eligible[:, k] = (department == item_dept) & (rng.random(n) < share)
    joint = np.flatnonzero(rng.random(n) < JOINT_SHARE)
    common = np.array([k for k, (_, share) in enumerate(ITEMS) if share >= 0.3])
    other = common[rng.integers(0, common.size, joint.size)]
    foreign = item_department[other] != department[joint]
    eligible[joint[foreign], other[foreign]] = True

    # Inspectors: every department has at least two officers.
    officer_department = np.searchsorted(
        np.cumsum(DEPARTMENT_SHARE), rng.random(m) * sum(DEPARTMENT_SHARE), side="right"
    )
    officer_department = np.minimum(officer_department, n_departments - 1).astype(np.int16)
    officer_department[: 2 * n_departments] = np.arange(2 * n_departments) % n_departments
    inspector_id = FIRST_INSPECTOR_ID + np.arange(m, dtype=np.int64)
    active = rng.random(m) >= 0.03
    workload = np.minimum(rng.poisson(3.0, m), 15).astype(np.int32)
    officer_jurisdiction = adcode[rng.integers(0, n_jurisdictions, m)].astype(np.int32)

    # Officers of a department, to pick last inspectors and conflicts from the right one.
    by_department = np.argsort(officer_department, kind="stable")
    count = np.bincount(officer_department, minlength=n_departments)
    start = np.cumsum(count) - count

    def officers_of(dept: np.ndarray, offset: np.ndarray | None = None) -> np.ndarray:
        pick = (rng.random(dept.size) * count[dept]).astype(np.int64)
        if offset is not None:  # a different officer of the same department
            pick = (pick + offset) % count[dept]
        return inspector_id[by_department[start[dept] + pick]]

    last = np.full((n, LAST_INSPECTORS), -1, dtype=np.int64)
    rows = np.flatnonzero(inspected)
    first = officers_of(department[rows])
    last[rows, 0] = first
    last[rows, 1] = _second_officer(
        rng, first, department[rows], inspector_id, by_department, start, count
    )

    n_conflicts = math.ceil(CONFLICT_SHARE * n)
    conflict_rows = rng.integers(0, n, n_conflicts)
    conflict_inspector = officers_of(department[conflict_rows])
    conflict_target = target_id[conflict_rows]

    targets = TargetArrays(
        target_id=target_id,
        stratum=stratum,
        stratum_labels=labels,
        stratum_tier=stratum_tier,
        in_business=in_business,
        months_since_last=months,
        inspections_this_year=inspections,
        eligible_items=eligible,
        item_department=item_department,
        jurisdiction=adcode[stratum_jurisdiction[stratum]].astype(np.int32),
        last_inspectors=last,
    )
    inspectors = InspectorArrays(
        inspector_id=inspector_id,
        department=officer_department,
        jurisdiction=officer_jurisdiction,
        active=active,
        workload=workload,
        conflict_inspector=conflict_inspector,
        conflict_target=conflict_target,
    )
    plan = PlanSpec(
        PLAN_RATIOS,
        budget=max(1, round(BUDGET_SHARE * n)),
        method="exact",
        exclude_within_months=6.0,
        annual_cap=2,
        alternates_per_stratum=3,
    )
    return targets, inspectors, plan


def _second_officer(
    rng: np.random.Generator,
    first: np.ndarray,
    department: np.ndarray,
    inspector_id: np.ndarray,
    by_department: np.ndarray,
    start: np.ndarray,
    count: np.ndarray,
) -> np.ndarray:
    """Another officer of the same department as ``first`` (ids; the departments have >= 2)."""
    slot = np.empty(inspector_id.size, dtype=np.int64)
    slot[by_department] = np.arange(inspector_id.size)  # each officer's place in its department
    first_slot = slot[np.searchsorted(inspector_id, first)] - start[department]
    step = 1 + (rng.random(first.size) * (count[department] - 1)).astype(np.int64)
    second = (first_slot + step) % count[department]
    return inspector_id[by_department[start[department] + second]]


def synthetic_team_options(
    targets: TargetArrays, inspectors: InspectorArrays, plan: PlanSpec
) -> TeamOptions:
    """Two-officer teams, same-jurisdiction recusal, and a workload cap with room for the plan:
    the heaviest current workload plus three times the average new load."""
    budget = plan.budget if plan.budget is not None else targets.target_id.size
    active = max(1, int(np.count_nonzero(inspectors.active)))
    new_load = math.ceil(3 * 2.2 * budget / active)  # 2.2: joint tasks need a few more
    cap = int(inspectors.workload.max(initial=0)) + max(new_load, 2)
    return TeamOptions(team_size=2, workload_cap=cap, recuse_same_jurisdiction=True)
