"""The recency-weighted penalty index of the general card."""

from __future__ import annotations

import numpy as np
import pytest

from credit_rating import PENALTY_SEVERITY, count_in_window, recency_weighted_sum


def test_severity_fades_with_a_one_year_half_life_and_stops_at_three_years() -> None:
    owner = np.array([0, 0, 1, 1, 2])
    age = np.array([0.0, 365.25, 730.5, 1200.0, -3.0])  # today, 1 y, 2 y, > 3 y, future
    weight = np.array(
        [PENALTY_SEVERITY["fine"], PENALTY_SEVERITY["fine"], 4.0, 5.0, PENALTY_SEVERITY["warning"]]
    )
    index = recency_weighted_sum(owner, age, weight, 4)
    assert index.tolist() == pytest.approx([2.0 + 1.0, 1.0, 0.0, 0.0])


def test_counts_in_window_and_bad_owner() -> None:
    owner = np.array([0, 0, 2])
    assert count_in_window(owner, np.array([10, 400, 5]), 3, window_days=365).tolist() == [
        1.0,
        0.0,
        1.0,
    ]
    with pytest.raises(ValueError, match=r"owner: indices must be in 0\.\.2"):
        recency_weighted_sum(np.array([3]), np.array([1.0]), np.array([1.0]), 3)
