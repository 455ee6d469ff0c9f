"""AUC, KS, lift and the days-earlier simulation on hand-checked cases."""

from __future__ import annotations

import numpy as np
import pytest

from credit_rating import auc, days_earlier, evaluate, ks, lift
from credit_rating.metrics import random_order_days_earlier


def test_auc_and_ks_on_a_small_case() -> None:
    y = np.array([0, 0, 1, 1])
    risk = np.array([0.1, 0.4, 0.35, 0.8])
    assert auc(y, risk) == pytest.approx(0.75)
    assert ks(y, risk) == pytest.approx(0.5)
    assert auc(y, np.zeros(4)) == pytest.approx(0.5)
    assert ks(y, np.zeros(4)) == 0.0  # ties are never split


def test_lift_counts_ties_at_the_boundary_by_expectation() -> None:
    y = np.array([1, 0, 1, 0, 0, 0, 0, 0])
    assert lift(y, np.array([8, 7, 6, 5, 4, 3, 2, 1]), 0.25) == pytest.approx(2.0)
    # the top two are tied with two others: the top quarter holds half of that group
    risk = np.array([5, 5, 5, 5, 1, 1, 1, 1])
    assert lift(y, risk, 0.25) == pytest.approx((2 / 4) / 0.25)
    assert lift(y, np.zeros(8), 0.25) == pytest.approx(1.0)


def test_days_earlier_follows_the_actual_schedule() -> None:
    dates = np.array(["2014-01-01", "2014-01-01", "2014-01-02", "2014-01-05"], "datetime64[D]")
    y = np.array([0, 0, 0, 1])
    # the riskiest is the one found on the 5th: it takes the first slot, on the 1st
    assert days_earlier(dates, y, np.array([0, 0, 0, 1])) == 4.0
    # no information: everything keeps its place
    assert days_earlier(dates, y, np.zeros(4)) == 0.0
    # the worst order pushes it to the last slot, which is its own
    assert days_earlier(dates, y, np.array([3, 2, 1, 0])) == 0.0
    y2 = np.array([0, 1, 0, 1])
    assert days_earlier(dates, y2, np.array([0, 1, 0, 2])) == pytest.approx((4 + 0) / 2)


def test_random_order_expectation_matches_shuffles() -> None:
    rng = np.random.default_rng(0)
    dates = np.datetime64("2014-01-01") + np.sort(rng.integers(0, 120, 2000))
    y = (rng.random(2000) < np.linspace(0.05, 0.3, 2000)).astype(int)  # rising rate
    expected = random_order_days_earlier(dates, y)
    shuffles = [days_earlier(dates, y, rng.random(2000)) for _ in range(200)]
    assert expected > 5
    assert np.mean(shuffles) == pytest.approx(expected, abs=1.0)


def test_evaluate_and_bad_input() -> None:
    dates = np.array(["2014-01-01"] * 4, "datetime64[D]")
    figures = evaluate(dates, np.array([0, 1, 0, 1]), np.array([1, 2, 3, 4])).as_dict()
    assert set(figures) == {"auc", "ks", "base_rate", "top_quarter_lift", "days_earlier"}
    assert figures["base_rate"] == 0.5
    with pytest.raises(ValueError, match="same length"):
        auc(np.array([0, 1]), np.array([1.0]))
    with pytest.raises(ValueError, match="both outcomes"):
        auc(np.array([1, 1]), np.array([1.0, 2.0]))
    with pytest.raises(ValueError, match="must be 0 or 1"):
        ks(np.array([0, 2]), np.array([1.0, 2.0]))
