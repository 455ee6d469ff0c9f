"""Team pairing: recusal, joint departments, workload caps, blocked reasons, fairness."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from random_sampler.teams import (
    BLOCKED_NO_DEPARTMENT,
    BLOCKED_NONE,
    BLOCKED_RECUSED,
    BLOCKED_TEAM_SIZE,
    BLOCKED_WORKLOAD,
    REASONS,
    Teams,
    assign_teams,
    reason_text,
)

UNKNOWN_ID = 999_999  # an id that names no inspector and no target


def _run(case: dict[str, Any], seed: int = 0) -> Teams:
    return assign_teams(**case, rng=np.random.default_rng(seed))


def _case(
    *,
    required: list[list[bool]] | np.ndarray,
    department: list[int],
    active: list[bool] | None = None,
    workload: list[int] | None = None,
    **options: Any,
) -> dict[str, Any]:
    """A small hand-built case: inspector ids 100, 101, ...; target ids 5000, 5001, ..."""
    n, m = len(required), len(department)
    case: dict[str, Any] = {
        "target_id": np.arange(5000, 5000 + n, dtype=np.int64),
        "required_departments": np.array(required, dtype=bool),
        "inspector_id": np.arange(100, 100 + m, dtype=np.int64),
        "department": np.array(department, dtype=np.int16),
        "active": np.ones(m, bool) if active is None else np.array(active, dtype=bool),
        "workload": np.zeros(m, np.int32) if workload is None else np.array(workload, np.int32),
    }
    case.update(options)
    return case


# --------------------------------------------------------------------------- a rule checker


def _expected_reason(case: dict[str, Any], row: int, left: np.ndarray | None) -> int:
    """Brute-force reason for one target; with ``left`` (capacity per officer), whether a team
    exists within it (0) or not (3)."""
    team_size = case.get("team_size", 2)
    required = np.flatnonzero(case["required_departments"][row])
    depts = case["department"]
    d_count = case["required_departments"].shape[1]
    union = required if required.size else np.arange(d_count)
    size = max(team_size, required.size)
    active = case["active"]

    def feasible(ok: np.ndarray) -> bool:
        per_dept = all((ok & (depts == d)).any() for d in required)
        return per_dept and int((ok & np.isin(depts, union)).sum()) >= size

    if any(not (active & (depts == d)).any() for d in required):
        return BLOCKED_NO_DEPARTMENT
    if int((active & np.isin(depts, union)).sum()) < size:
        return BLOCKED_TEAM_SIZE
    admissible = active & ~_recused(case, row)
    if not feasible(admissible):
        return BLOCKED_RECUSED
    if left is not None and not feasible(admissible & (left > 0)):
        return BLOCKED_WORKLOAD
    return BLOCKED_NONE


def _recused(case: dict[str, Any], row: int) -> np.ndarray:
    ids = case["inspector_id"]
    target = case["target_id"][row]
    recused = np.zeros(ids.size, dtype=bool)
    pairs = zip(case.get("conflict_inspector", []), case.get("conflict_target", []), strict=True)
    for inspector, conflicted_target in pairs:
        if conflicted_target == target:
            recused |= ids == inspector
    last = case.get("last_inspectors")
    if last is not None:
        recused |= np.isin(ids, last[row])
    if case.get("recuse_same_jurisdiction"):
        recused |= case["jurisdiction"] == case["target_jurisdiction"][row]
    return recused


def _check(case: dict[str, Any], teams: Teams) -> None:
    """Every rule of the pairing, checked target by target without the implementation."""
    n = case["target_id"].size
    depts, active = case["department"], case["active"]
    team_size = case.get("team_size", 2)
    cap = case.get("workload_cap")
    members, blocked = teams.members, teams.blocked
    assert members.shape[0] == n and members.shape[1] >= team_size
    assert blocked.shape == (n,) and set(np.unique(blocked)) <= set(REASONS)

    assigned = np.bincount(members[members >= 0], minlength=depts.size)
    np.testing.assert_array_equal(teams.workload, case["workload"] + assigned)
    if cap is not None:
        # Nobody passes the cap; officers already above it get nothing new.
        assert (teams.workload[assigned > 0] <= cap).all()
    left = (
        np.where(active, np.maximum(cap - teams.workload, 0), 0)
        if cap is not None
        else np.where(active, 1, 0)
    )

    for row in range(n):
        team = members[row][members[row] >= 0]
        required = np.flatnonzero(case["required_departments"][row])
        if blocked[row] != BLOCKED_NONE:
            assert team.size == 0, "a blocked target has no team"
            expected = _expected_reason(case, row, left)
            assert blocked[row] == expected, (row, blocked[row], expected)
            blamed = teams.blocked_department[row]
            if expected == BLOCKED_NO_DEPARTMENT:
                assert blamed in required and not (active & (depts == blamed)).any()
            else:  # a department is named only when it is the one that cannot supply
                union = required if required.size else np.arange(depts.max(initial=0) + 1)
                assert blamed == -1 or blamed in union
            continue
        assert teams.blocked_department[row] == -1
        assert _expected_reason(case, row, None) == BLOCKED_NONE
        assert team.size == max(team_size, required.size)
        assert np.unique(team).size == team.size, "members are distinct"
        assert active[team].all()
        assert set(required) <= set(depts[team]), "one officer of each required department"
        if required.size:
            assert set(depts[team]) <= set(required)
        assert not _recused(case, row)[team].any(), "no conflicted or recused officer"


# --------------------------------------------------------------------------- properties


@st.composite
def cases(draw: st.DrawFn) -> dict[str, Any]:
    d_count = draw(st.integers(1, 3))
    m = draw(st.integers(0, 12))
    n = draw(st.integers(0, 16))
    ints = st.integers

    def column(element: st.SearchStrategy, size: int) -> list:
        return draw(st.lists(element, min_size=size, max_size=size))

    inspector_ids = list(range(100, 100 + m))
    target_ids = list(range(5000, 5000 + n))
    some_inspector = st.sampled_from([*inspector_ids, UNKNOWN_ID])
    some_target = st.sampled_from([*target_ids, UNKNOWN_ID])
    history = draw(ints(0, 2))
    conflicts = draw(st.lists(st.tuples(some_inspector, some_target), max_size=12))
    last_row = st.lists(st.sampled_from([*inspector_ids, -1]), min_size=history, max_size=history)
    return {
        "target_id": np.array(target_ids, dtype=np.int64),
        "required_departments": np.array(
            column(st.lists(st.booleans(), min_size=d_count, max_size=d_count), n), dtype=bool
        ).reshape(n, d_count),
        "target_jurisdiction": np.array(column(ints(0, 2), n), dtype=np.int32),
        "last_inspectors": np.array(column(last_row, n), dtype=np.int64).reshape(n, history),
        "inspector_id": np.array(inspector_ids, dtype=np.int64),
        "department": np.array(column(ints(0, d_count - 1), m), dtype=np.int16),
        "jurisdiction": np.array(column(ints(0, 2), m), dtype=np.int32),
        "active": np.array(column(st.sampled_from([True, True, True, False]), m), dtype=bool),
        "workload": np.array(column(ints(0, 4), m), dtype=np.int32),
        "conflict_inspector": np.array([c[0] for c in conflicts], dtype=np.int64),
        "conflict_target": np.array([c[1] for c in conflicts], dtype=np.int64),
        "team_size": draw(ints(2, 3)),
        "workload_cap": draw(st.none() | ints(0, 7)),
        "recuse_same_jurisdiction": draw(st.booleans()),
    }


PROPERTY = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(case=cases(), seed=st.integers(0, 2**32 - 1))
def test_every_team_obeys_the_rules_and_every_block_names_its_reason(
    case: dict[str, Any], seed: int
) -> None:
    _check(case, _run(case, seed))


@PROPERTY
@given(case=cases(), seed=st.integers(0, 2**32 - 1))
def test_same_inputs_and_seed_give_the_same_teams(case: dict[str, Any], seed: int) -> None:
    first, second = _run(case, seed), _run(case, seed)
    np.testing.assert_array_equal(first.members, second.members)
    np.testing.assert_array_equal(first.blocked, second.blocked)
    np.testing.assert_array_equal(first.blocked_department, second.blocked_department)
    np.testing.assert_array_equal(first.workload, second.workload)


@PROPERTY
@given(case=cases(), seed=st.integers(0, 2**32 - 1))
def test_without_a_cap_capacity_never_blocks(case: dict[str, Any], seed: int) -> None:
    case["workload_cap"] = None
    teams = _run(case, seed)
    assert not (teams.blocked == BLOCKED_WORKLOAD).any()
    for row in range(case["target_id"].size):
        assert teams.blocked[row] == _expected_reason(case, row, None)


# --------------------------------------------------------------------------- constructed cases


@pytest.mark.parametrize("team_size", [1, 0, -3])
def test_team_size_below_two_is_refused(team_size: int) -> None:
    case = _case(required=[[True]], department=[0, 0, 0], team_size=team_size)
    with pytest.raises(ValueError, match="team_size"):
        _run(case)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"department": np.array([0, 5])}, "department"),
        ({"inspector_id": np.array([7, 7])}, "inspector_id"),
        ({"inspector_id": np.array([-1, 7])}, "inspector_id"),
        ({"workload": np.array([0, -1])}, "workload"),
        ({"active": np.array([1, 1])}, "active"),
        ({"required_departments": np.ones((3, 1), bool)}, "required_departments"),
        ({"last_inspectors": np.full((2, 1), -1)}, "last_inspectors"),
        ({"conflict_inspector": np.array([100])}, "conflict_inspector"),
        ({"recuse_same_jurisdiction": True}, "jurisdiction"),
        ({"workload_cap": -1}, "workload_cap"),
        ({"team_size": 2.0}, "team_size"),
        ({"required_departments": np.ones((1, 1), int)}, "required_departments"),
        ({"inspector_id": np.array([1.5, 2.5])}, "inspector_id"),
        ({"inspector_id": np.array([[1, 2]])}, "inspector_id"),
        ({"last_inspectors": np.zeros((1, 1))}, "last_inspectors"),
        (
            {
                "recuse_same_jurisdiction": True,
                "target_jurisdiction": np.array([1, 2]),
                "jurisdiction": np.array([1, 1]),
            },
            "target_jurisdiction",
        ),
    ],
)
def test_bad_input_names_the_field(change: dict[str, Any], field: str) -> None:
    case = _case(required=[[True]], department=[0, 0])
    case.update(change)
    with pytest.raises(ValueError, match=field):
        _run(case)


def test_a_missing_department_blocks_with_reason_1() -> None:
    # Department 1 has one officer, and he is not active.
    case = _case(
        required=[[True, False], [False, True], [True, True]],
        department=[0, 0, 0, 1],
        active=[True, True, True, False],
    )
    teams = _run(case)
    assert teams.blocked.tolist() == [BLOCKED_NONE, BLOCKED_NO_DEPARTMENT, BLOCKED_NO_DEPARTMENT]
    assert teams.blocked_department.tolist() == [-1, 1, 1]
    assert (teams.members[1:] == -1).all()
    _check(case, teams)


def test_too_few_officers_blocks_with_reason_4() -> None:
    case = _case(required=[[True, False], [False, True]], department=[0, 1, 1])
    teams = _run(case)
    assert teams.blocked.tolist() == [BLOCKED_TEAM_SIZE, BLOCKED_NONE]
    assert teams.blocked_department[0] == 0
    _check(case, teams)
    bigger = _case(required=[[True, False]], department=[0, 0, 1], team_size=3)
    assert _run(bigger).blocked.tolist() == [BLOCKED_TEAM_SIZE]


@pytest.mark.parametrize(
    "recusal",
    [
        {"conflict_inspector": np.array([100, 101]), "conflict_target": np.array([5000, 5000])},
        {"last_inspectors": np.array([[101, 102], [-1, -1]])},
        {
            "recuse_same_jurisdiction": True,
            "target_jurisdiction": np.array([7, 8]),
            "jurisdiction": np.array([8, 7, 7]),
        },
    ],
    ids=["declared-conflicts", "last-inspectors", "same-jurisdiction"],
)
def test_recusal_that_leaves_too_few_blocks_with_reason_2(recusal: dict[str, Any]) -> None:
    # Three officers; for target 5000 two of them are recused, one officer is not a team.
    case = _case(required=[[True], [True]], department=[0, 0, 0], **recusal)
    teams = _run(case)
    assert teams.blocked[0] == BLOCKED_RECUSED
    assert teams.blocked_department[0] == 0
    _check(case, teams)


def test_recusal_is_respected_when_a_team_remains() -> None:
    case = _case(
        required=[[True]] * 50,
        department=[0] * 6,
        conflict_inspector=np.array([100, 101]),
        conflict_target=np.full(2, 5000),
        last_inspectors=np.array([[102, -1]] + [[103, 104]] * 49),
    )
    for seed in range(20):
        teams = _run(case, seed)
        assert set(teams.members[0]) <= {3, 4, 5}
        assert not set(teams.members[1:].ravel()) & {3, 4}
        _check(case, teams)


def test_exhausted_caps_block_with_reason_3() -> None:
    # Four officers with one free place each: two teams of two, the third target waits.
    case = _case(required=[[True]] * 3, department=[0] * 4, workload=[4, 4, 4, 4], workload_cap=5)
    teams = _run(case, seed=3)
    assert sorted(teams.blocked.tolist()) == [BLOCKED_NONE, BLOCKED_NONE, BLOCKED_WORKLOAD]
    assert (teams.workload == 5).all()
    assert teams.blocked_department[teams.blocked == BLOCKED_WORKLOAD].tolist() == [0]
    _check(case, teams)
    full = _case(required=[[True]], department=[0] * 3, workload=[5, 6, 9], workload_cap=5)
    teams = _run(full)
    assert teams.blocked.tolist() == [BLOCKED_WORKLOAD]
    assert teams.workload.tolist() == [5, 6, 9]


def test_joint_task_gets_one_officer_of_each_department_and_grows_past_team_size() -> None:
    required = [[True, True, False], [True, True, True], [False, False, False]]
    case = _case(required=required, department=[0, 0, 1, 1, 2, 2], team_size=2)
    for seed in range(30):
        teams = _run(case, seed)
        assert teams.members.shape == (3, 3)
        depts = case["department"]
        assert depts[teams.members[0, :2]].tolist() == [0, 1]
        assert teams.members[0, 2] == -1
        assert depts[teams.members[1]].tolist() == [0, 1, 2]
        assert (teams.members[2, :2] >= 0).all(), "no department named: any officers"
        _check(case, teams)


def test_extra_members_of_a_joint_task_come_from_its_departments() -> None:
    case = _case(required=[[True, True, False]] * 200, department=[0, 1, 2] * 4, team_size=4)
    teams = _run(case)
    _check(case, teams)
    extra_depts = case["department"][teams.members[:, 2:]]
    assert set(np.unique(extra_depts)) == {0, 1}


def test_member_ids_and_reason_texts() -> None:
    case = _case(required=[[True], [True]], department=[0, 0], workload=[0, 1], workload_cap=1)
    teams = _run(case)
    ids = teams.member_ids(case["inspector_id"])
    assert (ids == -1).all() and teams.blocked.tolist() == [BLOCKED_WORKLOAD] * 2
    staffed = _run(_case(required=[[True]], department=[0, 0]))
    assert sorted(staffed.member_ids(np.array([100, 101]))[0].tolist()) == [100, 101]
    assert staffed.staffed.tolist() == [True]
    for code, (english, chinese) in REASONS.items():
        assert reason_text(code) == english
        assert reason_text(code, "zh-CN") == chinese
    with pytest.raises(ValueError, match="blocked"):
        reason_text(9)


def test_empty_inputs() -> None:
    none = _case(required=np.zeros((0, 2), bool), department=[0, 1])
    teams = _run(none)
    assert teams.members.shape == (0, 2) and teams.blocked.size == 0
    nobody = _case(required=[[True, False], [False, False]], department=[])
    assert _run(nobody).blocked.tolist() == [BLOCKED_NO_DEPARTMENT, BLOCKED_TEAM_SIZE]


def test_rng_must_be_a_generator() -> None:
    case = _case(required=[[True]], department=[0, 0])
    with pytest.raises(ValueError, match="rng"):
        assign_teams(**case, rng=np.random.RandomState(0))  # type: ignore[arg-type]


# --------------------------------------------------------------------------- at scale


def _big_case(
    seed: int,
    *,
    n: int = 20_000,
    m: int = 1_000,
    d_count: int = 4,
    cap: int | None = 60,
    recuse: bool = True,
) -> dict[str, Any]:
    g = np.random.default_rng(seed)
    target_id = g.choice(10**9, n, replace=False).astype(np.int64)
    required = np.zeros((n, d_count), bool)
    required[np.arange(n), g.integers(0, d_count, n)] = True
    joint = np.flatnonzero(g.random(n) < 0.1)
    required[joint, g.integers(0, d_count, joint.size)] = True
    inspector_id = g.choice(10**7, m, replace=False).astype(np.int64)
    last = np.where(g.random((n, 2)) < 0.5, inspector_id[g.integers(0, m, (n, 2))], -1)
    c = n // 50
    return {
        "target_id": target_id,
        "required_departments": required,
        "target_jurisdiction": g.integers(0, 8, n).astype(np.int32),
        "last_inspectors": last,
        "inspector_id": inspector_id,
        "department": g.integers(0, d_count, m).astype(np.int16),
        "jurisdiction": g.integers(0, 8, m).astype(np.int32),
        "active": g.random(m) < 0.95,
        "workload": g.integers(0, 10, m).astype(np.int32),
        "conflict_inspector": inspector_id[g.integers(0, m, c)],
        "conflict_target": target_id[g.integers(0, n, c)],
        "workload_cap": cap,
        "recuse_same_jurisdiction": recuse,
    }


def _check_vectorised(case: dict[str, Any], teams: Teams) -> None:
    """The rules over large arrays (the per-target checker is too slow here)."""
    members, staffed = teams.members, teams.staffed
    depts, ids = case["department"], case["inspector_id"]
    team = members[staffed]
    required = case["required_departments"][staffed]
    size = np.maximum(2, required.sum(axis=1))
    assert ((team >= 0).sum(axis=1) == size).all()
    assert (members[~staffed] == -1).all()
    filled = team >= 0
    safe = np.maximum(team, 0)
    ordered = np.sort(np.where(filled, team, -1 - np.arange(team.shape[1])), axis=1)
    assert (ordered[:, 1:] != ordered[:, :-1]).all(), "members are distinct"
    assert case["active"][safe][filled].all()
    for d in range(required.shape[1]):
        has = ((depts[safe] == d) & filled).any(axis=1)
        assert (has | ~required[:, d]).all(), f"department {d} missing in a joint team"
    rows = np.flatnonzero(staffed)
    tid = case["target_id"][rows]
    declared = zip(
        case["conflict_inspector"].tolist(), case["conflict_target"].tolist(), strict=True
    )
    pairs = set(declared)
    for row_id, member_ids in zip(tid, np.where(filled, ids[safe], -1), strict=True):
        assert not any((int(i), int(row_id)) in pairs for i in member_ids if i >= 0)
    last = case["last_inspectors"][rows]
    member_ids = np.where(filled, ids[safe], -2)
    assert not (member_ids[:, :, None] == last[:, None, :]).any(), "a last inspector returned"
    if case["recuse_same_jurisdiction"]:
        same = case["jurisdiction"][safe] == case["target_jurisdiction"][rows][:, None]
        assert not (same & filled).any()
    assigned = np.bincount(members[members >= 0], minlength=ids.size)
    np.testing.assert_array_equal(teams.workload, case["workload"] + assigned)
    if case["workload_cap"] is not None:
        assert (teams.workload[assigned > 0] <= case["workload_cap"]).all()


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("recuse", [False, True])
def test_large_draw_staffs_everyone_within_the_rules(seed: int, recuse: bool) -> None:
    case = _big_case(seed, recuse=recuse)
    teams = _run(case, seed)
    _check_vectorised(case, teams)
    assert teams.staffed.all()


def test_exact_capacity_is_used_to_the_last_place_despite_recusal() -> None:
    # Capacity equals demand: the conflicted and last-inspector slots can only be repaired by
    # swapping officers between teams, never by taking a spare place.
    n, m = 6_000, 300
    g = np.random.default_rng(5)
    case = _big_case(5, n=n, m=m, d_count=1, cap=None, recuse=False)
    case["active"] = np.ones(m, bool)
    case["workload"] = np.zeros(m, np.int32)
    case["workload_cap"] = 2 * n // m
    case["last_inspectors"] = case["inspector_id"][g.integers(0, m, (n, 2))]
    teams = _run(case, 11)
    _check_vectorised(case, teams)
    assert teams.staffed.all()
    assert (teams.workload == case["workload_cap"]).all()


def test_short_capacity_blocks_only_what_it_must() -> None:
    n, m, cap = 3_000, 200, 10  # 2,000 places for 6,000 needed
    case = _big_case(9, n=n, m=m, d_count=1, cap=cap, recuse=True)
    case["active"] = np.ones(m, bool)
    case["workload"] = np.zeros(m, np.int32)
    teams = _run(case, 2)
    _check_vectorised(case, teams)
    assert set(np.unique(teams.blocked)) == {BLOCKED_NONE, BLOCKED_WORKLOAD}
    assert 990 <= teams.staffed.sum() <= 1_000
    # What is left over cannot form one more admissible team for any blocked target.
    left = cap - teams.workload
    assert left.sum() == 2_000 - 2 * teams.staffed.sum()
    for row in np.flatnonzero(~teams.staffed)[:200]:
        assert _expected_reason(case, int(row), left) == BLOCKED_WORKLOAD


# --------------------------------------------------------------------------- fairness


def _chi_square_critical(dof: int, z: float = 3.090232) -> float:
    """0.999 quantile of chi-square by the Wilson–Hilferty approximation (z = Φ⁻¹(0.999))."""
    h = 2.0 / (9.0 * dof)
    return dof * (1.0 - h + z * math.sqrt(h)) ** 3


def test_wilson_hilferty_matches_tabulated_quantiles() -> None:
    # Tabulated 0.999 quantiles: chi2(10) = 29.588, chi2(49) = 85.351, chi2(99) = 148.23.
    for dof, table in [(10, 29.588), (49, 85.351), (99, 148.23)]:
        assert _chi_square_critical(dof) == pytest.approx(table, rel=0.01)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_assignments_spread_uniformly_without_a_cap(seed: int) -> None:
    m, n = 50, 5_000
    case = _case(required=[[True]] * n, department=[0] * m)
    counts = np.bincount(_run(case, seed).members.ravel(), minlength=m)
    expected = 2 * n / m
    assert counts.min() > 0
    statistic = float(((counts - expected) ** 2 / expected).sum())
    assert statistic < _chi_square_critical(m - 1)
    assert statistic > 0


@pytest.mark.parametrize("seed", [4, 5])
def test_lighter_workload_is_picked_in_proportion_to_free_capacity(seed: int) -> None:
    # Half the officers have 100 free places, half 50: they should get tasks 2:1.
    m, n, cap = 40, 1_500, 100
    workload = [0] * (m // 2) + [50] * (m // 2)
    case = _case(required=[[True]] * n, department=[0] * m, workload=workload, workload_cap=cap)
    teams = _run(case, seed)
    counts = teams.workload - np.array(workload)
    free = cap - np.array(workload)
    expected = 2 * n * free / free.sum()
    statistic = float(((counts - expected) ** 2 / expected).sum())
    assert statistic < _chi_square_critical(m - 1)
    assert counts[: m // 2].sum() > 1.7 * counts[m // 2 :].sum()


def test_every_eligible_officer_gets_work_when_capacity_is_ample() -> None:
    case = _big_case(3, n=20_000, m=1_000, cap=200, recuse=True)
    teams = _run(case, 8)
    assert teams.staffed.all()
    assigned = teams.workload - case["workload"]
    active = case["active"]
    assert (assigned[active] > 0).all()
    assert (assigned[~active] == 0).all()
    # Per department, tasks follow each officer's free capacity (chi-square, 0.999 level).
    free = np.where(active, 200 - case["workload"], 0)
    for d in range(4):
        mine = active & (case["department"] == d)
        expected = assigned[mine].sum() * free[mine] / free[mine].sum()
        statistic = float(((assigned[mine] - expected) ** 2 / expected).sum())
        assert statistic < _chi_square_critical(int(mine.sum()) - 1)


def test_different_seeds_give_different_teams() -> None:
    case = _case(required=[[True]] * 100, department=[0] * 20)
    assert not np.array_equal(_run(case, 1).members, _run(case, 2).members)


def test_many_departments_and_sparse_codes() -> None:
    # Twenty departments (targets of hundreds of different department sets), 64-bit ids and
    # jurisdiction codes far apart: the general paths behind the fast lookup tables.
    n, m, d_count = 400, 3_000, 20
    g = np.random.default_rng(12)
    required = np.zeros((n, d_count), bool)
    for row, size in enumerate(g.integers(1, 4, n)):
        required[row, g.choice(d_count, size, replace=False)] = True
    codes = g.choice(2**40, 500, replace=False).astype(np.int64)
    inspector_id = g.choice(2**50, m, replace=False).astype(np.int64)
    target_id = g.choice(2**50, n, replace=False).astype(np.int64)
    case = {
        "target_id": target_id,
        "required_departments": required,
        "target_jurisdiction": codes[g.integers(0, 500, n)],
        "last_inspectors": inspector_id[g.integers(0, m, (n, 3))],
        "inspector_id": inspector_id,
        "department": g.integers(0, d_count, m).astype(np.int16),
        "jurisdiction": codes[g.integers(0, 500, m)],
        "active": np.ones(m, bool),
        "workload": np.zeros(m, np.int32),
        "conflict_inspector": inspector_id[g.integers(0, m, 300)],
        "conflict_target": target_id[g.integers(0, n, 300)],
        "workload_cap": None,
        "recuse_same_jurisdiction": True,
    }
    teams = _run(case, 4)
    _check_vectorised(case, teams)
    assert teams.staffed.all()
    assert teams.members.shape[1] == 3
