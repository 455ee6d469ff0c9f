"""Tiers A–D: fixed cut-offs and cut-offs from target shares."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from credit_rating import Cutoffs, TierError, assign_tiers, cutoffs_from_shares, realised_shares
from credit_rating.tiers import tier_labels, validate_shares

SHARES = {"A": 0.3, "B": 0.4, "C": 0.2, "D": 0.1}


def test_cutoffs_are_inclusive_lower_bounds() -> None:
    cut = Cutoffs(90, 80, 60)
    scores = np.array([100, 90, 89, 80, 79, 60, 59, -5])
    assert tier_labels(assign_tiers(scores, cut)).tolist() == list("AABBCCDD")


def test_shares_of_distinct_scores_are_exact() -> None:
    scores = np.arange(1000)[::-1].copy()
    cut = cutoffs_from_shares(scores, SHARES)
    assert (cut.a, cut.b, cut.c) == (700, 300, 100)
    assert realised_shares(assign_tiers(scores, cut)) == pytest.approx(SHARES)


def test_ties_at_a_boundary_get_the_better_tier() -> None:
    # 10 enterprises; the 3rd and 4th best are tied: both are A, so A is 40 %, not 30 %.
    scores = np.array([100, 95, 90, 90, 80, 70, 60, 50, 40, 30])
    codes = assign_tiers(scores, cutoffs_from_shares(scores, SHARES))
    assert tier_labels(codes).tolist() == list("AAAABBBCCD")


def test_a_zero_share_empties_the_tier() -> None:
    scores = np.arange(100)
    codes = assign_tiers(scores, cutoffs_from_shares(scores, {"A": 0, "B": 0.5, "C": 0.5, "D": 0}))
    shares = realised_shares(codes)
    assert shares["A"] == 0 and shares["D"] == 0
    assert shares["B"] == pytest.approx(0.5)


@settings(max_examples=80, deadline=None, database=None)
@given(
    scores=st.lists(st.integers(-50, 50), min_size=1, max_size=400),
    a=st.floats(0, 1),
    b=st.floats(0, 1),
    c=st.floats(0, 1),
)
def test_shares_never_fall_short_and_equal_scores_share_a_tier(
    scores: list[int], a: float, b: float, c: float
) -> None:
    total = a + b + c + 1.0
    shares = {"A": a / total, "B": b / total, "C": c / total, "D": 1 - (a + b + c) / total}
    values = np.array(scores)
    codes = assign_tiers(values, cutoffs_from_shares(values, shares))
    # equal scores, equal tiers; better scores never get a worse tier
    order = np.argsort(-values, kind="stable")
    assert (np.diff(codes[order].astype(int)) >= 0).all()
    for s in np.unique(values):
        assert np.unique(codes[values == s]).size == 1
    # the cumulative share of the best tiers reaches each target
    cumulative = 0.0
    for k, tier in enumerate("ABC"):
        cumulative += shares[tier]
        assert (codes <= k).mean() >= cumulative - 1e-9


def test_bad_shares_and_cutoffs_name_the_field() -> None:
    with pytest.raises(TierError, match=r"tiers\.shares: must sum to 1"):
        validate_shares({"A": 0.5, "B": 0.5, "C": 0.5, "D": 0})
    with pytest.raises(TierError, match=r"tiers\.shares: missing D"):
        validate_shares({"A": 0.5, "B": 0.5, "C": 0})
    with pytest.raises(TierError, match=r"tiers\.shares\.B: must be between 0 and 1"):
        validate_shares({"A": 0.5, "B": -0.5, "C": 0.5, "D": 0.5})
    with pytest.raises(TierError, match="A >= B >= C"):
        Cutoffs(1, 2, 3)
    with pytest.raises(TierError, match="scores: need a non-empty"):
        cutoffs_from_shares(np.array([]), SHARES)
