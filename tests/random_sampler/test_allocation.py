"""Tier ratios scaled to the budget, capped at 1, and rounded so the budget is met exactly."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from random_sampler import seeds
from random_sampler.allocation import (
    PlanSpec,
    allocate,
    check_strata,
    scaled_ratios,
    systematic_round,
)

RATIOS = (0.03, 0.10, 0.30, 0.80)
KEY = seeds.draw_key(b"allocation-test-seed", "public")
PROPERTY = settings(max_examples=60, deadline=None, database=None)


def _labels(count: int) -> list[str]:
    return [f"3307{h:02d}|F52" for h in range(count)]


@st.composite
def strata_and_budget(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, tuple, int]:
    count = draw(st.integers(1, 12))
    size = np.array(draw(st.lists(st.integers(0, 400), min_size=count, max_size=count)))
    tier = np.array(draw(st.lists(st.integers(0, 3), min_size=count, max_size=count)))
    ratios = tuple(
        draw(st.lists(st.floats(0.0, 1.0, allow_subnormal=False), min_size=4, max_size=4))
    )
    base = np.asarray(ratios)[tier]
    capacity = int(size[(base > 0) & (size > 0)].sum())
    budget = draw(st.integers(0, capacity))
    return size, tier, ratios, budget


# --- PlanSpec -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"tier_ratio": (0.1, 0.2, 0.3)}, r"plan.tier_ratio needs 4 values"),
        ({"tier_ratio": (0.1, 0.2, 1.5, 0.9)}, r"plan.tier_ratio\[C\] must be between 0 and 1"),
        ({"tier_ratio": (0.1, -0.2, 0.5, 0.9)}, r"plan.tier_ratio\[B\]"),
        ({"tier_ratio": (0.1, "x", 0.5, 0.9)}, r"plan.tier_ratio\[B\] must be a number"),
        ({"budget": -1}, r"plan.budget must be at least 0"),
        ({"budget": 2.5}, r"plan.budget must be a whole number"),
        ({"method": "stratified"}, r"plan.method must be one of"),
        ({"exclude_within_months": -3}, r"plan.exclude_within_months"),
        ({"exclude_within_months": float("nan")}, r"plan.exclude_within_months"),
        ({"annual_cap": 0}, r"plan.annual_cap must be at least 1"),
        ({"alternates_per_stratum": -1}, r"plan.alternates_per_stratum must not be negative"),
        ({"alternates_per_stratum": True}, r"plan.alternates_per_stratum must be a count"),
    ],
)
def test_plan_validation_names_the_field(kwargs: dict, message: str) -> None:
    values = {"tier_ratio": RATIOS, **kwargs}
    with pytest.raises(ValueError, match=message):
        PlanSpec(**values)


def test_plan_normalises_values() -> None:
    plan = PlanSpec(
        tier_ratio=[np.float64(0.05), 0.2, 1, 0.9],  # type: ignore[arg-type]
        budget=np.int64(40),  # type: ignore[arg-type]
        alternates_per_stratum=np.int32(2),  # type: ignore[arg-type]
    )
    assert plan.tier_ratio == (0.05, 0.2, 1.0, 0.9)
    assert type(plan.budget) is int and plan.budget == 40
    assert plan.alternates_for(100) == 2
    assert plan.as_dict()["tier_ratio"] == [0.05, 0.2, 1.0, 0.9]


def test_alternates_as_count_or_ratio() -> None:
    assert PlanSpec(RATIOS, alternates_per_stratum=3).alternates_for(50) == 3
    assert PlanSpec(RATIOS, alternates_per_stratum=0.1).alternates_for(50) == 5
    assert PlanSpec(RATIOS, alternates_per_stratum=0.1).alternates_for(51) == 6
    assert PlanSpec(RATIOS, alternates_per_stratum=0.1).alternates_for(30) == 3  # not 4
    assert PlanSpec(RATIOS, alternates_per_stratum=0.1).alternates_for(0) == 0


# --- scaled ratios --------------------------------------------------------------------


def test_scaling_without_cap() -> None:
    ratio, scale = scaled_ratios(np.array([10, 100]), np.array([0.5, 0.1]), 30)
    assert scale == pytest.approx(2.0)
    assert ratio == pytest.approx([1.0, 0.2])


def test_excess_over_one_is_redistributed() -> None:
    # c = 4 would give the first stratum 2.0; it is capped (all 10 taken) and the
    # remaining 50 go to the second stratum: c = 5, r' = 0.5.
    ratio, scale = scaled_ratios(np.array([10, 100]), np.array([0.5, 0.1]), 60)
    assert ratio == pytest.approx([1.0, 0.5])
    assert scale == pytest.approx(5.0)


def test_budget_equal_to_capacity_takes_everyone() -> None:
    ratio, _ = scaled_ratios(np.array([10, 100, 7]), np.array([0.5, 0.1, 0.0]), 110)
    assert ratio.tolist() == [1.0, 1.0, 0.0]


def test_zero_ratio_strata_get_nothing_and_budget_cannot_exceed_the_rest() -> None:
    ratio, _ = scaled_ratios(np.array([10, 100]), np.array([0.0, 0.1]), 20)
    assert ratio == pytest.approx([0.0, 0.2])
    with pytest.raises(ValueError, match=r"plan.budget 101 exceeds the 100 candidates"):
        scaled_ratios(np.array([10, 100]), np.array([0.0, 0.1]), 101)


def test_zero_budget() -> None:
    ratio, scale = scaled_ratios(np.array([10, 100]), np.array([0.3, 0.1]), 0)
    assert ratio.tolist() == [0.0, 0.0] and scale == 0.0


@PROPERTY
@given(strata_and_budget())
def test_scaled_ratios_meet_the_budget(case) -> None:  # type: ignore[no-untyped-def]
    size, tier, ratios, budget = case
    base = np.asarray(ratios)[tier]
    ratio, scale = scaled_ratios(size, base, budget)
    assert np.all((ratio >= 0) & (ratio <= 1))
    assert float(np.dot(ratio, size)) == pytest.approx(budget, abs=1e-7 * max(1, budget))
    # One common factor: uncapped strata keep the tier proportions exactly.
    uncapped = (ratio < 1) & (base > 0)
    assert ratio[uncapped] == pytest.approx(scale * base[uncapped])
    assert np.all(scale * base[ratio == 1] >= 1 - 1e-9)
    assert np.all(ratio[base == 0] == 0)


# --- systematic rounding --------------------------------------------------------------


def test_systematic_round_by_hand() -> None:
    expected = np.array([1.5, 2.25, 0.25])  # fractions .5, .25, .25 sum to 1
    order = np.arange(3)
    assert systematic_round(expected, 4, order, 0.1).tolist() == [2, 2, 0]
    assert systematic_round(expected, 4, order, 0.6).tolist() == [1, 3, 0]
    assert systematic_round(expected, 4, order, 0.9).tolist() == [1, 2, 1]


def test_systematic_round_rejects_inconsistent_totals() -> None:
    with pytest.raises(ValueError, match="not to the total 5"):
        systematic_round(np.array([1.5, 2.5]), 5, np.arange(2), 0.5)
    with pytest.raises(ValueError, match="u must be in"):
        systematic_round(np.array([1.5, 2.5]), 4, np.arange(2), 1.0)


def test_float_noise_is_not_a_fraction() -> None:
    expected = np.array([0.1 * 3 * 100, 0.7 * 100])  # 30.000000000000004 and 70.0
    for u in (0.0, 0.5, 0.999999):
        assert systematic_round(expected, 100, np.arange(2), u).tolist() == [30, 70]


@PROPERTY
@given(
    st.lists(st.floats(0.0, 50.0), min_size=1, max_size=30),
    st.floats(0.0, 1.0, exclude_max=True),
    st.randoms(use_true_random=False),
)
def test_systematic_round_is_exact(values, u, random) -> None:  # type: ignore[no-untyped-def]
    # Make the fractional parts sum to an integer by adjusting the last value.
    expected = np.asarray(values)
    expected[-1] += math.ceil(expected.sum()) - expected.sum()
    total = round(float(expected.sum()))
    order = np.asarray(random.sample(range(len(values)), len(values)))
    counts = systematic_round(expected, total, order, u)
    assert counts.sum() == total
    assert np.all(counts >= np.floor(expected - 1e-6))
    assert np.all(counts <= np.ceil(expected + 1e-6))


def test_expectation_is_exact_over_u() -> None:
    # Integrate over u on a fine midpoint grid: each stratum's extra unit is the indicator of
    # at most two intervals of total length = its fractional part, so the grid mean is
    # within 2/G of E[n_h].
    expected = np.array([0.3, 1.7, 2.45, 0.05, 4.5, 0.0, 3.0, 0.35, 0.65])
    total = round(expected.sum())
    assert total == 13
    order = np.array([4, 1, 0, 8, 2, 6, 3, 7, 5])
    grid = (np.arange(4096) + 0.5) / 4096
    mean = np.mean([systematic_round(expected, total, order, u) for u in grid], axis=0)
    assert mean == pytest.approx(expected, abs=2 / 4096)


# --- allocate -------------------------------------------------------------------------


def test_allocate_exact_meets_the_budget_for_every_seed() -> None:
    size = np.array([120, 45, 300, 17, 0, 88])
    tier = np.array([0, 1, 2, 3, 3, 1])
    plan = PlanSpec(RATIOS, budget=97)
    for i in range(300):
        allocation = allocate(size, tier, _labels(6), plan, seeds.draw_key(b"s", str(i)))
        assert allocation.count is not None
        assert int(allocation.count.sum()) == 97
        assert np.all(allocation.count <= size)
        assert np.all(np.abs(allocation.count - allocation.expected) < 1)


@PROPERTY
@given(strata_and_budget(), st.binary(min_size=1, max_size=32))
def test_allocate_property(case, seed) -> None:  # type: ignore[no-untyped-def]
    size, tier, ratios, budget = case
    plan = PlanSpec(ratios, budget=budget)
    allocation = allocate(size, tier, _labels(len(size)), plan, seeds.draw_key(seed))
    assert allocation.count is not None
    assert int(allocation.count.sum()) == budget
    assert np.all((allocation.count >= 0) & (allocation.count <= size))
    assert np.all(np.abs(allocation.count - allocation.expected) < 1)
    assert allocation.expected == pytest.approx(allocation.ratio * size)


def test_mean_count_matches_expectation_across_seeds() -> None:
    size = np.array([120, 45, 300, 17, 60])
    tier = np.array([0, 1, 2, 3, 1])
    plan = PlanSpec(RATIOS, budget=61)
    runs = 4000
    counts = np.array(
        [
            allocate(size, tier, _labels(5), plan, seeds.draw_key(b"mean", str(i))).count
            for i in range(runs)
        ]
    )
    expected = allocate(size, tier, _labels(5), plan, KEY).expected
    fraction = expected - np.floor(expected)
    # n_h - floor is Bernoulli(fraction): the mean is within 4.5 standard errors.
    tolerance = 4.5 * np.sqrt(fraction * (1 - fraction) / runs) + 1e-12
    assert np.all(np.abs(counts.mean(axis=0) - expected) <= tolerance)
    assert np.all((counts == np.floor(expected)) | (counts == np.ceil(expected)))


def test_budget_none_rounds_the_unscaled_total() -> None:
    size = np.array([100, 100, 100, 100])
    tier = np.array([0, 1, 2, 3])
    allocation = allocate(size, tier, _labels(4), PlanSpec(RATIOS), KEY)
    assert allocation.budget == 123  # 3 + 10 + 30 + 80
    assert allocation.count.tolist() == [3, 10, 30, 80]
    assert allocation.ratio == pytest.approx(RATIOS)
    uneven = allocate(np.array([10, 15]), np.array([1, 2]), _labels(2), PlanSpec(RATIOS), KEY)
    assert uneven.budget == 6  # 1.0 + 4.5 = 5.5 rounds half up
    assert int(uneven.count.sum()) == 6


def test_poisson_allocation_has_probabilities_only() -> None:
    size = np.array([100, 40])
    tier = np.array([1, 3])
    unscaled = allocate(size, tier, _labels(2), PlanSpec(RATIOS, method="poisson"), KEY)
    assert unscaled.count is None and unscaled.u is None
    assert unscaled.ratio.tolist() == [0.10, 0.80]
    assert unscaled.budget == pytest.approx(42.0)
    scaled = allocate(size, tier, _labels(2), PlanSpec(RATIOS, budget=21, method="poisson"), KEY)
    assert scaled.ratio == pytest.approx([0.05, 0.40])


def test_allocation_follows_labels_not_codes() -> None:
    size = np.array([120, 45, 300, 17, 60])
    tier = np.array([0, 1, 2, 3, 1])
    labels = _labels(5)
    plan = PlanSpec(RATIOS, budget=61)
    reference = allocate(size, tier, labels, plan, KEY)
    permutation = np.array([3, 0, 4, 2, 1])
    shuffled = allocate(
        size[permutation], tier[permutation], [labels[i] for i in permutation], plan, KEY
    )
    assert shuffled.count.tolist() == reference.count[permutation].tolist()


def test_same_seed_same_counts_and_seeds_matter() -> None:
    size = np.array([121, 45, 301, 17, 61])
    tier = np.array([0, 1, 2, 3, 1])
    plan = PlanSpec(RATIOS, budget=61)
    first = allocate(size, tier, _labels(5), plan, KEY)
    assert first.count.tolist() == allocate(size, tier, _labels(5), plan, KEY).count.tolist()
    others = {
        tuple(allocate(size, tier, _labels(5), plan, seeds.draw_key(b"k", str(i))).count)
        for i in range(50)
    }
    assert len(others) > 1


@pytest.mark.parametrize(
    ("labels", "tier", "message"),
    [
        (["a", "a"], [0, 1], "appears twice"),
        (["a", "teams"], [0, 1], "reserved"),
        (["a", ""], [0, 1], "non-empty string"),
        (["a"], [0, 1], "1 labels but stratum_tier has 2"),
        (["a", "b"], [0, 4], "tier codes 0..3"),
    ],
)
def test_strata_checks(labels: list[str], tier: list[int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        check_strata(labels, np.array(tier))
