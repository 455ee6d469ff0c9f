"""Over many seeded draws, inclusion frequencies match the declared probabilities.

Chi-square goodness of fit with NumPy only (no SciPy): the statistic is compared with the
0.999 quantile of the chi-square distribution from the Wilson–Hilferty approximation. The
seeds are fixed, so the test is deterministic; at the 0.999 level a correct sampler would
fail for one seed set in a thousand, and these seeds pass.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from random_sampler import seeds
from random_sampler.allocation import PlanSpec
from random_sampler.select import draw_targets

RATIOS = (0.03, 0.10, 0.30, 0.80)
RUNS = 2000
Z_0999 = 3.090232306167813  # standard normal 0.999 quantile


def chi2_quantile_0999(dof: int) -> float:
    """Wilson–Hilferty: (X/k)^(1/3) is close to normal with mean 1 - 2/(9k), var 2/(9k)."""
    h = 2.0 / (9.0 * dof)
    return dof * (1.0 - h + Z_0999 * math.sqrt(h)) ** 3


def test_wilson_hilferty_against_tabulated_quantiles() -> None:
    # Tabulated chi-square 0.999 quantiles (e.g. NIST/SEMATECH e-Handbook, table 1.3.6.7.4).
    for dof, tabulated in ((10, 29.588), (30, 59.703), (50, 86.661), (100, 149.449)):
        assert chi2_quantile_0999(dof) == pytest.approx(tabulated, rel=0.01)


def population() -> dict:
    """92 targets in 5 strata of tiers A, B, C, D, B; three closed targets in the last."""
    sizes = [40, 25, 12, 6, 9]
    tier = np.array([0, 1, 2, 3, 1], dtype=np.uint8)
    stratum = np.repeat(np.arange(5), sizes).astype(np.int32)
    n = stratum.size
    in_business = np.ones(n, dtype=bool)
    in_business[-3:] = False
    return {
        "target_id": np.arange(n, dtype=np.int64) + 1,
        "stratum": stratum,
        "stratum_labels": ["A|40", "B|25", "C|12", "D|6", "B|9"],
        "stratum_tier": tier,
        "in_business": in_business,
        "months_since_last": np.full(n, np.nan),
        "inspections_this_year": np.zeros(n, dtype=np.int16),
        "eligible_items": np.ones((n, 1), dtype=bool),  # coverage never adds targets
        "item_department": np.zeros(1, dtype=np.int16),
    }


def inclusion_counts(plan: PlanSpec, label: bytes) -> tuple[np.ndarray, np.ndarray, object]:
    arrays = population()
    counts = np.zeros(arrays["stratum"].size, dtype=np.int64)
    allocations = []
    selection = None
    for run in range(RUNS):
        selection = draw_targets(key=seeds.draw_key(label, str(run)), plan=plan, **arrays)
        assert selection.coverage_added.size == 0
        counts[selection.drawn] += 1
        allocations.append(selection.stratum_allocation)
    return counts, np.array(allocations), selection


def chi_square(counts: np.ndarray, probability: np.ndarray) -> tuple[float, int]:
    """Sum over targets with 0 < p < 1 of (observed - Rp)^2 / (Rp(1 - p)).

    Exact for Poisson sampling (independent binomial counts). With fixed stratum sizes the
    counts within a stratum are negatively correlated, which only lowers the statistic, so
    the test stays valid (conservative) for the exact method.
    """
    inside = (probability > 0) & (probability < 1)
    expected = RUNS * probability[inside]
    statistic = np.sum((counts[inside] - expected) ** 2 / (expected * (1 - probability[inside])))
    return float(statistic), int(inside.sum())


@pytest.fixture(scope="module")
def exact_runs() -> tuple[np.ndarray, np.ndarray, object]:
    # Budget 17 against 12.7 at the plain ratios: tier D (0.8 * 1.34 > 1) is capped at
    # everyone and the excess goes to A, B and C.
    return inclusion_counts(PlanSpec(RATIOS, budget=17), b"chi-square-exact")


def test_declared_probabilities_are_the_scaled_ratios(exact_runs) -> None:  # type: ignore[no-untyped-def]
    _, _, selection = exact_runs
    scale = 11 / 7.9  # 17 - 6 taken in tier D, over the weight 1.2 + 2.5 + 3.6 + 0.6
    assert selection.stratum_probability == pytest.approx(
        [0.03 * scale, 0.10 * scale, 0.30 * scale, 1.0, 0.10 * scale]
    )


def test_exact_inclusion_frequencies_match(exact_runs) -> None:  # type: ignore[no-untyped-def]
    counts, _, selection = exact_runs
    probability = selection.inclusion_probability
    statistic, dof = chi_square(counts, probability)
    assert dof == 83  # 40 + 25 + 12 + 6 open targets of stratum B|9
    assert statistic < chi2_quantile_0999(dof)
    assert np.all(counts[probability == 1] == RUNS)  # tier D: everyone, every time
    assert np.all(counts[probability == 0] == 0)  # closed targets: never


def test_the_chi_square_test_detects_wrong_probabilities(exact_runs) -> None:  # type: ignore[no-untyped-def]
    counts, _, selection = exact_runs
    probability = selection.inclusion_probability
    unscaled = np.where(probability == 1, 1.0, probability / (11 / 7.9))
    assert chi_square(counts, unscaled)[0] > chi2_quantile_0999(83)
    ten_percent_off = np.where(probability == 1, 1.0, probability * 1.1)
    assert chi_square(counts, ten_percent_off)[0] > chi2_quantile_0999(83)


def test_stratum_counts_round_with_the_right_frequencies(exact_runs) -> None:  # type: ignore[no-untyped-def]
    _, allocations, selection = exact_runs
    expected = selection.stratum_expected
    floor = np.floor(expected + 1e-9)
    fraction = expected - floor
    assert np.all(allocations.sum(axis=1) == 17)  # the budget, every run
    assert np.all((allocations == floor) | (allocations == floor + 1))
    rounded_up = (allocations == floor + 1).sum(axis=0)
    inside = (fraction > 1e-9) & (fraction < 1 - 1e-9)
    assert inside.sum() == 4
    statistic = np.sum(
        (rounded_up[inside] - RUNS * fraction[inside]) ** 2
        / (RUNS * fraction[inside] * (1 - fraction[inside]))
    )
    assert statistic < chi2_quantile_0999(int(inside.sum()))


def test_poisson_inclusion_frequencies_match() -> None:
    counts, allocations, selection = inclusion_counts(
        PlanSpec(RATIOS, budget=17, method="poisson"), b"chi-square-poisson"
    )
    statistic, dof = chi_square(counts, selection.inclusion_probability)
    assert dof == 83
    assert statistic < chi2_quantile_0999(dof)
    totals = allocations.sum(axis=1)
    assert totals.min() < 17 < totals.max()  # the total is random ...
    assert abs(totals.mean() - 17) < 4 * math.sqrt(17 / RUNS)  # ... with mean = budget
