"""Target selection: exclusions, exact budgets, the per-stratum definition, bit-identical
subsets, alternates, item coverage and merged checklists."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from random_sampler import seeds
from random_sampler.allocation import PlanSpec
from random_sampler.select import (
    ANNUAL_CAP,
    INSPECTED_RECENTLY,
    ITEM_ALL_EXCLUDED,
    ITEM_COVERED,
    ITEM_COVERED_BY_ADDITION,
    ITEM_NO_TARGET,
    ITEM_NOT_EVALUATED,
    NO_ITEM,
    NOT_EXCLUDED,
    NOT_IN_BUSINESS,
    _permutation_prefix,
    draw_stratum,
    draw_targets,
    exclusion_reason_text,
    exclusions,
    item_coverage_text,
)

RATIOS = (0.03, 0.10, 0.30, 0.80)
KEY = seeds.draw_key(b"select-test-seed", "2025-03-01 lottery")
PLAN = PlanSpec(RATIOS, budget=60, exclude_within_months=6, annual_cap=3)
PROPERTY = settings(max_examples=40, deadline=None, database=None)


def population(
    n: int = 600, strata: int = 8, items: int = 3, seed: int = 0, scope: float = 0.6
) -> dict:
    """Synthetic candidate arrays in the shape draw_targets takes."""
    rng = np.random.default_rng(seed)
    tier = (np.arange(strata) % 4).astype(np.uint8)
    return {
        "target_id": (10_000 + rng.permutation(n)).astype(np.int64),
        "stratum": rng.integers(0, strata, n).astype(np.int32),
        "stratum_labels": [f"3307{h:02d}|{'ABCD'[tier[h]]}|F52" for h in range(strata)],
        "stratum_tier": tier,
        "in_business": rng.random(n) < 0.95,
        "months_since_last": np.where(rng.random(n) < 0.4, np.nan, rng.random(n) * 24),
        "inspections_this_year": rng.integers(0, 4, n).astype(np.int16),
        "eligible_items": rng.random((n, items)) < scope,
        "item_department": (np.arange(items) % 2).astype(np.int16),
    }


def subset(arrays: dict, keep: np.ndarray) -> dict:
    """The same population restricted to targets ``keep`` (relative order preserved)."""
    per_target = {
        "target_id",
        "stratum",
        "in_business",
        "months_since_last",
        "inspections_this_year",
        "eligible_items",
    }
    return {name: value[keep] if name in per_target else value for name, value in arrays.items()}


def stratum_positions(arrays: dict, selection, h: int) -> np.ndarray:  # type: ignore[no-untyped-def]
    """Target indices of stratum h's candidates, in input order."""
    return np.flatnonzero((arrays["stratum"] == h) & (selection.excluded_reason == 0))


def reference_order(label: str, size: int, key: bytes = KEY) -> np.ndarray:
    """The published definition: candidates sorted by (u, position)."""
    u = seeds.generator(seeds.stratum_seed(key, label)).random(size)
    return np.argsort(u, kind="stable")


# --- exclusions -----------------------------------------------------------------------


def test_exclusion_reasons_by_hand() -> None:
    # Stratum 0 is tier C, stratum 1 is tier D (exempt from the recent-inspection rule).
    stratum = np.array([0, 0, 1, 0, 0, 0, 0, 1, 0, 0], dtype=np.int32)
    in_business = np.array([0, 1, 1, 1, 1, 1, 1, 1, 0, 1], dtype=bool)
    months = np.array([1, 2, 2, np.nan, np.nan, np.nan, 6.0, np.nan, 1, 1])
    this_year = np.array([0, 0, 0, 3, 2, 0, 0, 5, 3, 3], dtype=np.int16)
    eligible = np.ones((10, 2), dtype=bool)
    eligible[5] = False
    eligible[8] = False
    tier = np.array([2, 3], dtype=np.uint8)
    reason = exclusions(stratum, tier, in_business, months, this_year, eligible, PLAN)
    assert reason.tolist() == [
        NOT_IN_BUSINESS,  # closed
        INSPECTED_RECENTLY,  # 2 months ago, tier C
        NOT_EXCLUDED,  # 2 months ago but tier D
        ANNUAL_CAP,  # 3 inspections this year, cap 3
        NOT_EXCLUDED,  # never inspected, under the cap
        NO_ITEM,  # no item of the plan applies
        NOT_EXCLUDED,  # exactly 6 months ago is not "within 6 months"
        ANNUAL_CAP,  # the cap applies to tier D too
        NOT_IN_BUSINESS,  # every reason applies: not in business wins
        INSPECTED_RECENTLY,  # recent and capped: recent wins
    ]
    lenient = PlanSpec(RATIOS, budget=1)
    reason = exclusions(stratum, tier, in_business, months, this_year, eligible, lenient)
    assert reason.tolist() == [1, 0, 0, 0, 0, 4, 0, 0, 1, 0]
    assert exclusion_reason_text(INSPECTED_RECENTLY) == "近期已被检查"
    assert exclusion_reason_text(ANNUAL_CAP, "en") == "annual inspection cap reached"


def test_exclusions_match_a_plain_reference() -> None:
    arrays = population(n=5000, items=9, seed=3, scope=0.15)  # 9 items: 8- and 1-byte words
    tier = arrays["stratum_tier"][arrays["stratum"]]
    recent = (arrays["months_since_last"] < 6) & (tier != 3)
    expected = np.zeros(5000, dtype=np.int8)
    expected[arrays["inspections_this_year"] >= 3] = ANNUAL_CAP
    expected[recent] = INSPECTED_RECENTLY
    expected[~arrays["eligible_items"].any(axis=1)] = NO_ITEM
    expected[~arrays["in_business"]] = NOT_IN_BUSINESS
    assert (expected == NO_ITEM).any() and (expected == INSPECTED_RECENTLY).any()
    selection = draw_targets(key=KEY, plan=PLAN, **arrays)
    assert np.array_equal(selection.excluded_reason, expected)
    for width in range(1, 12):  # every word layout of the row-wise any()
        eligible = arrays["eligible_items"][:, :width]
        got = exclusions(
            arrays["stratum"],
            arrays["stratum_tier"],
            arrays["in_business"],
            arrays["months_since_last"],
            arrays["inspections_this_year"],
            np.ascontiguousarray(eligible) if width % 2 else eligible,
            PLAN,
        )
        assert np.array_equal(got == NO_ITEM, ~eligible.any(axis=1) & arrays["in_business"])


# --- budgets, candidates, alternates --------------------------------------------------


def check_selection(arrays: dict, plan: PlanSpec, selection) -> None:  # type: ignore[no-untyped-def]
    """Invariants every draw must satisfy."""
    sampled = selection.drawn[~selection.drawn_by_coverage]
    assert len(set(selection.drawn.tolist())) == selection.drawn.size
    assert np.all(selection.excluded_reason[selection.drawn] == NOT_EXCLUDED)
    assert np.array_equal(selection.drawn_stratum, arrays["stratum"][selection.drawn])
    assert np.array_equal(selection.drawn_id, arrays["target_id"][selection.drawn])
    assert np.all(np.diff(selection.drawn_stratum[: sampled.size]) >= 0)  # by stratum
    candidates = np.bincount(
        arrays["stratum"][selection.excluded_reason == 0],
        minlength=len(arrays["stratum_labels"]),
    )
    assert np.array_equal(selection.stratum_size, candidates)
    assert np.array_equal(
        selection.stratum_allocation,
        np.bincount(arrays["stratum"][sampled], minlength=len(arrays["stratum_labels"])),
    )
    if plan.method == "exact":
        assert np.array_equal(selection.stratum_allocation, selection.allocation.count)
        assert int(selection.stratum_allocation.sum()) == selection.allocation.budget
    # Alternates: candidates, never drawn, ranked 1..a within each stratum.
    assert not set(selection.alternates.tolist()) & set(selection.drawn.tolist())
    assert np.all(selection.excluded_reason[selection.alternates] == NOT_EXCLUDED)
    assert np.array_equal(selection.alternate_stratum, arrays["stratum"][selection.alternates])
    assert np.array_equal(selection.alternate_id, arrays["target_id"][selection.alternates])
    for h in range(len(arrays["stratum_labels"])):
        ranks = selection.alternate_rank[selection.alternate_stratum == h]
        assert ranks.tolist() == list(range(1, ranks.size + 1))
        if not selection.coverage_added.size:
            spare = selection.stratum_size[h] - selection.stratum_allocation[h]
            wanted = plan.alternates_for(int(selection.stratum_allocation[h]))
            assert ranks.size == min(wanted, spare)
    # Probabilities: r'_h for candidates, 0 for excluded targets.
    probability = selection.inclusion_probability
    candidate = selection.excluded_reason == 0
    assert np.all(probability[~candidate] == 0)
    assert np.array_equal(
        probability[candidate], selection.stratum_probability[arrays["stratum"][candidate]]
    )
    # Checklists: the eligible items of each drawn target, grouped by department.
    assert np.array_equal(selection.items_for_target, arrays["eligible_items"][selection.drawn])
    for d in range(selection.required_departments.shape[1]):
        columns = arrays["item_department"] == d
        assert np.array_equal(
            selection.required_departments[:, d],
            selection.items_for_target[:, columns].any(axis=1),
        )


@PROPERTY
@given(
    seed=st.binary(min_size=1, max_size=16),
    budget=st.integers(0, 250),
    alternates=st.one_of(st.integers(0, 5), st.sampled_from([0.1, 0.5, 1.0])),
    data_seed=st.integers(0, 5),
)
def test_exact_budget_and_invariants_for_every_seed(seed, budget, alternates, data_seed) -> None:  # type: ignore[no-untyped-def]
    arrays = population(seed=data_seed)
    plan = PlanSpec(
        RATIOS,
        budget=budget,
        exclude_within_months=6,
        annual_cap=3,
        alternates_per_stratum=alternates,
    )
    selection = draw_targets(key=seeds.draw_key(seed), plan=plan, **arrays)
    assert int(selection.stratum_allocation.sum()) == budget
    assert selection.drawn.size == budget + selection.coverage_added.size
    check_selection(arrays, plan, selection)


def test_budget_larger_than_the_candidates_is_refused() -> None:
    arrays = population(n=50, seed=1)
    with pytest.raises(ValueError, match=r"plan\.budget 500 exceeds"):
        draw_targets(key=KEY, plan=PlanSpec(RATIOS, budget=500), **arrays)


def test_budget_none_uses_the_tier_ratios() -> None:
    arrays = population(n=2000, seed=2)
    selection = draw_targets(key=KEY, plan=PlanSpec(RATIOS), **arrays)
    base = np.asarray(RATIOS)[arrays["stratum_tier"]]
    expected_total = float(np.dot(base, selection.stratum_size))
    assert int(selection.stratum_allocation.sum()) == int(np.floor(expected_total + 0.5))
    assert selection.stratum_probability == pytest.approx(base, rel=1e-3)


def test_same_seed_same_draw_and_different_seed_different_draw() -> None:
    arrays = population()
    first = draw_targets(key=KEY, plan=PLAN, **arrays)
    again = draw_targets(key=KEY, plan=PLAN, **arrays)
    for name in ("drawn", "alternates", "alternate_rank", "coverage_added", "stratum_allocation"):
        assert np.array_equal(getattr(first, name), getattr(again, name)), name
    other = draw_targets(
        key=seeds.draw_key(b"select-test-seed", "another lottery"), plan=PLAN, **arrays
    )
    assert not np.array_equal(first.drawn, other.drawn)
    assert not np.array_equal(first.alternates, other.alternates)


# --- the published per-stratum definition ---------------------------------------------


def test_exact_draw_follows_the_published_definition() -> None:
    arrays = population(n=3000, seed=4)
    plan = PlanSpec(RATIOS, budget=400, exclude_within_months=6, alternates_per_stratum=4)
    selection = draw_targets(key=KEY, plan=plan, **arrays)
    for h, label in enumerate(arrays["stratum_labels"]):
        positions = stratum_positions(arrays, selection, h)
        n = int(selection.stratum_allocation[h])
        order = reference_order(label, positions.size)
        drawn = selection.drawn[selection.drawn_stratum == h]
        assert np.array_equal(drawn, positions[np.sort(order[:n])])
        alternates = selection.alternates[selection.alternate_stratum == h]
        assert np.array_equal(alternates, positions[order[n : n + 4]])


def test_poisson_draw_follows_the_published_definition() -> None:
    arrays = population(n=3000, seed=5)
    plan = PlanSpec(RATIOS, budget=400, method="poisson", alternates_per_stratum=2)
    selection = draw_targets(key=KEY, plan=plan, **arrays)
    assert selection.allocation.count is None
    for h, label in enumerate(arrays["stratum_labels"]):
        positions = stratum_positions(arrays, selection, h)
        u = seeds.generator(seeds.stratum_seed(KEY, label)).random(positions.size)
        chosen = u < selection.stratum_probability[h]
        drawn = selection.drawn[selection.drawn_stratum == h]
        assert np.array_equal(drawn, positions[chosen])
        rest = np.flatnonzero(~chosen)
        nxt = rest[np.argsort(u[rest], kind="stable")[:2]]
        assert np.array_equal(
            selection.alternates[selection.alternate_stratum == h], positions[nxt]
        )
    check_selection(arrays, plan, selection)


def test_poisson_total_is_random_around_the_budget() -> None:
    arrays = population(n=4000, seed=6)
    plan = PlanSpec(RATIOS, budget=300, method="poisson")
    totals = [
        int(
            draw_targets(
                key=seeds.draw_key(b"p", str(i)), plan=plan, **arrays
            ).stratum_allocation.sum()
        )
        for i in range(40)
    ]
    assert len(set(totals)) > 5
    # Sum of independent Bernoullis: variance <= 300, so the mean of 40 runs is within
    # 5 * sqrt(300 / 40) ~ 14 of the budget.
    assert abs(np.mean(totals) - 300) < 14


@pytest.mark.parametrize("tie_levels", [3, 50, 10_000, None])
def test_permutation_prefix_handles_ties_and_short_bands(tie_levels: int | None) -> None:
    rng = np.random.default_rng(7)
    for trial in range(200):
        size = int(rng.integers(1, 400))
        u = rng.random(size)
        if tie_levels is not None:
            u = np.floor(u * tie_levels) / tie_levels  # many equal values
        if trial % 3 == 0:
            u = 0.5 + u / 2  # nothing near 0: the first band comes up empty
        n = int(rng.integers(0, size + 1))
        spares = int(rng.integers(0, size - n + 1))
        drawn, alternates = _permutation_prefix(u, n, spares)
        order = np.argsort(u, kind="stable")
        assert np.array_equal(drawn, np.sort(order[:n]))
        assert np.array_equal(alternates, order[n : n + spares])


def test_draw_stratum_depends_only_on_key_label_and_size() -> None:
    first = draw_stratum(KEY, "330701|B|F52", 5000, PLAN, count=37)
    again = draw_stratum(KEY, "330701|B|F52", 5000, PLAN, count=37)
    assert np.array_equal(first.drawn, again.drawn)
    assert np.array_equal(first.alternates, again.alternates)
    other_label = draw_stratum(KEY, "330702|B|F52", 5000, PLAN, count=37)
    assert not np.array_equal(first.drawn, other_label.drawn)
    with pytest.raises(ValueError, match=r"count 38 is not within 0\.\.37"):
        draw_stratum(KEY, "x", 37, PLAN, count=38)


# --- per-stratum bit-identity ---------------------------------------------------------


@pytest.mark.parametrize("method", ["exact", "poisson"])
def test_a_subset_of_strata_computed_alone_is_bit_identical(method: str) -> None:
    arrays = population(n=4000, strata=10, seed=8)
    plan = PlanSpec(RATIOS, budget=500, method=method, exclude_within_months=6, annual_cap=3)
    full = draw_targets(key=KEY, plan=plan, **arrays)
    chosen = [1, 4, 7]

    def per_stratum(selection, h):  # type: ignore[no-untyped-def]
        return (
            selection.drawn_id[
                (selection.drawn_stratum == h) & ~selection.drawn_by_coverage
            ].tolist(),
            selection.alternate_id[selection.alternate_stratum == h].tolist(),
        )

    # Same arrays, only some strata computed.
    partial = draw_targets(key=KEY, plan=plan, strata=chosen, **arrays)
    assert partial.computed_strata.tolist() == chosen
    assert np.all(partial.item_coverage == ITEM_NOT_EVALUATED)
    assert partial.coverage_added.size == 0
    # Only the chosen strata's targets (as a worker would receive them) plus the global
    # allocation: identical ids and alternates.
    keep = np.isin(arrays["stratum"], chosen)
    alone = draw_targets(
        key=KEY, plan=plan, strata=chosen, allocation=full.allocation, **subset(arrays, keep)
    )
    for h in chosen:
        assert per_stratum(partial, h) == per_stratum(full, h)
        assert per_stratum(alone, h) == per_stratum(full, h)
        assert per_stratum(full, h)[0]  # not trivially empty
    assert set(partial.drawn_stratum.tolist()) == set(chosen)
    # The union of disjoint parts is the whole draw.
    parts = [
        draw_targets(key=KEY, plan=plan, strata=part, allocation=full.allocation, **arrays)
        for part in ([0, 1, 2, 3], [4, 5, 6], [7, 8, 9])
    ]
    union = np.concatenate([part.drawn for part in parts])
    assert np.array_equal(union, full.drawn[~full.drawn_by_coverage])


def test_subset_with_a_wrong_allocation_is_refused() -> None:
    arrays = population(n=2000, seed=9)
    full = draw_targets(key=KEY, plan=PLAN, **arrays)
    keep = np.isin(arrays["stratum"], [2, 3])
    keep[np.flatnonzero(keep & (full.excluded_reason == 0))[0]] = False  # lose one candidate
    with pytest.raises(ValueError, match="candidates here but"):
        draw_targets(
            key=KEY, plan=PLAN, strata=[2, 3], allocation=full.allocation, **subset(arrays, keep)
        )
    other_labels = dict(arrays, stratum_labels=[label + "x" for label in arrays["stratum_labels"]])
    with pytest.raises(ValueError, match="labels differ"):
        draw_targets(key=KEY, plan=PLAN, strata=[2], allocation=full.allocation, **other_labels)
    with pytest.raises(ValueError, match="strata must be stratum codes"):
        draw_targets(key=KEY, plan=PLAN, strata=[99], **arrays)


def test_large_population_crosses_chunk_boundaries() -> None:
    # More than one 65,536-target chunk, so the chunked grouping is exercised.
    arrays = population(n=200_000, strata=37, items=2, seed=10)
    plan = PlanSpec(RATIOS, budget=9_000, exclude_within_months=6, annual_cap=3)
    selection = draw_targets(key=KEY, plan=plan, **arrays)
    check_selection(arrays, plan, selection)
    for h in (0, 17, 36):
        positions = stratum_positions(arrays, selection, h)
        order = reference_order(arrays["stratum_labels"][h], positions.size)
        n = int(selection.stratum_allocation[h])
        assert np.array_equal(
            selection.drawn[selection.drawn_stratum == h], positions[np.sort(order[:n])]
        )


# --- item coverage --------------------------------------------------------------------


def coverage_population() -> dict:
    """Items: 0 everywhere; 1 and 4 only on targets of a ratio-0 stratum (never sampled);
    2 only on closed targets; 3 on no target at all."""
    arrays = population(n=900, strata=4, items=5, seed=11, scope=0.0)
    eligible = arrays["eligible_items"]
    eligible[:, 0] = True
    rare = np.flatnonzero(arrays["stratum"] == 0)[:6]  # stratum 0 is tier A
    eligible[rare, 1] = True
    eligible[rare, 4] = True
    arrays["in_business"][:] = True
    closed = np.flatnonzero(arrays["stratum"] == 2)[:3]
    arrays["in_business"][closed] = False
    eligible[closed, 2] = True
    arrays["inspections_this_year"][:] = 0
    return arrays


def test_coverage_adds_targets_and_reports_uncoverable_items() -> None:
    arrays = coverage_population()
    plan = PlanSpec((0.0, 0.1, 0.3, 0.8), budget=50)  # tier A is never sampled
    selection = draw_targets(key=KEY, plan=plan, **arrays)
    rare = np.flatnonzero(arrays["eligible_items"][:, 1])
    assert selection.coverage_item.tolist() == [1]  # one addition covers items 1 and 4
    assert selection.coverage_added.size == 1 and selection.coverage_added[0] in rare
    assert selection.item_coverage.tolist() == [
        ITEM_COVERED,
        ITEM_COVERED_BY_ADDITION,
        ITEM_ALL_EXCLUDED,
        ITEM_NO_TARGET,
        ITEM_COVERED_BY_ADDITION,
    ]
    assert selection.uncovered_items.tolist() == [2, 3]
    assert item_coverage_text(ITEM_NO_TARGET, "en") == "no target in scope"
    assert int(selection.stratum_allocation.sum()) == 50  # the budget counts sampled targets
    assert selection.drawn.size == 51
    assert selection.drawn[-1] == selection.coverage_added[0]
    assert selection.drawn_by_coverage.tolist() == [False] * 50 + [True]
    assert selection.drawn_stratum[-1] == 0
    assert selection.items_for_target[-1].tolist() == [True, True, False, False, True]
    check_selection(arrays, plan, selection)
    # The pick is uniform among the eligible candidates: over seeds, all of them occur.
    picks = {
        int(draw_targets(key=seeds.draw_key(b"c", str(i)), plan=plan, **arrays).coverage_added[0])
        for i in range(120)
    }
    assert picks == set(rare.tolist())


def test_a_coverage_pick_leaves_the_alternates() -> None:
    arrays = coverage_population()
    plan = PlanSpec((0.0, 0.1, 0.3, 0.8), budget=50, alternates_per_stratum=500)
    selection = draw_targets(key=KEY, plan=plan, **arrays)
    # Every stratum-0 candidate is an alternate, so the pick must have been one.
    added = int(selection.coverage_added[0])
    assert added not in selection.alternates.tolist()
    stratum0 = selection.alternate_stratum == 0
    assert stratum0.sum() == selection.stratum_size[0] - 1
    assert selection.alternate_rank[stratum0].tolist() == list(range(1, stratum0.sum() + 1))
    check_selection(arrays, plan, selection)


@PROPERTY
@given(data_seed=st.integers(0, 10_000), scope=st.sampled_from([0.002, 0.01, 0.05]))
def test_every_coverable_item_is_covered(data_seed: int, scope: float) -> None:
    arrays = population(n=800, strata=6, items=12, seed=data_seed, scope=scope)
    plan = PlanSpec(RATIOS, exclude_within_months=6, annual_cap=2)  # budget from the ratios
    selection = draw_targets(key=KEY, plan=plan, **arrays)
    eligible = arrays["eligible_items"]
    candidate = selection.excluded_reason == 0
    coverable = (eligible & candidate[:, None]).any(axis=0)
    covered = eligible[selection.drawn].any(axis=0)
    assert np.array_equal(covered, coverable)
    status = selection.item_coverage
    assert np.all((status == ITEM_ALL_EXCLUDED) == (~coverable & eligible.any(axis=0)))
    assert np.all((status == ITEM_NO_TARGET) == ~eligible.any(axis=0))
    assert np.all(np.isin(selection.coverage_added, np.flatnonzero(candidate)))
    assert np.all(selection.coverage_item < eligible.shape[1])
    for target, item in zip(selection.coverage_added, selection.coverage_item, strict=True):
        assert eligible[target, item]
    check_selection(arrays, plan, selection)


def test_joint_tasks_and_cross_department_share() -> None:
    arrays = population(n=1000, items=4, seed=12, scope=0.4)
    selection = draw_targets(key=KEY, plan=PLAN, **arrays)
    joint = selection.required_departments.sum(axis=1) >= 2
    assert np.array_equal(selection.cross_department, joint)
    assert selection.cross_department_share == pytest.approx(joint.mean())
    assert 0 < selection.cross_department_share < 1
    assert selection.required_departments.shape == (selection.drawn.size, 2)


# --- bad input ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"stratum": lambda a: np.where(np.arange(a.size) == 3, 8, a)}, "within 0..7"),
        ({"stratum": lambda a: np.where(np.arange(a.size) == 3, -1, a)}, "within 0..7"),
        ({"stratum": lambda a: a.astype(float)}, "integer array of stratum codes"),
        ({"in_business": lambda a: a[:-1]}, "in_business must be a 1-D array of 600"),
        ({"target_id": lambda a: a[:, None]}, "target_id must be a 1-D array"),
        ({"eligible_items": lambda a: a.astype(int)}, "must be bool arrays"),
        ({"eligible_items": lambda a: a[:, :0]}, "at least one item column"),
        ({"item_department": lambda a: a[:-1]}, "one department per item"),
        ({"months_since_last": lambda a: a.astype(str)}, "months_since_last must be numeric"),
        ({"inspections_this_year": lambda a: a.astype(float)}, "must be an integer array"),
        ({"stratum_labels": lambda a: [*a[:-1], "coverage"]}, "reserved"),
    ],
)
def test_bad_input_names_the_field(change: dict, message: str) -> None:
    arrays = population()
    for name, function in change.items():
        arrays[name] = function(arrays[name])
    with pytest.raises(ValueError, match=message):
        draw_targets(key=KEY, plan=PLAN, **arrays)


def test_empty_population() -> None:
    arrays = population(n=0)
    selection = draw_targets(key=KEY, plan=PlanSpec(RATIOS, budget=0), **arrays)
    assert selection.drawn.size == 0 and selection.alternates.size == 0
    assert selection.item_coverage.tolist() == [ITEM_NO_TARGET] * 3
    assert selection.cross_department_share == 0.0
