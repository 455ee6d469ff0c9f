"""Training bins: rounded edges, small bins merged, violators pooled, rare categories pooled."""

from __future__ import annotations

import numpy as np

from credit_rating import FeatureSpec, Text
from credit_rating.binning import bin_categorical, bin_numeric, nice_edges

T = Text("x", "x")


def test_edges_are_readable() -> None:
    values = np.random.default_rng(0).gamma(2.0, 1.7, 10_000)
    edges = nice_edges(values, integer=False)
    for e in edges:
        assert len(f"{e:g}".replace(".", "").lstrip("0")) <= 2
    counts = np.random.default_rng(0).poisson(1.5, 10_000).astype(float)
    assert set(nice_edges(counts, integer=True)) <= set(range(1, 20))


def test_pooling_makes_rates_follow_the_direction() -> None:
    rng = np.random.default_rng(1)
    x = rng.random(20_000) * 10
    p = 0.05 + 0.02 * x + 0.04 * np.sin(x * 3)  # rising with wiggles
    y = (rng.random(20_000) < p).astype(float)
    spec = FeatureSpec("x", "numeric", T, risk="increasing", max_bins=6)
    edges, stats = bin_numeric(spec, x, y, min_count=300)
    rates = [f / n for n, f in stats]
    assert len(rates) <= 6
    assert rates == sorted(rates)
    assert all(n >= 300 for n, _ in stats)
    assert edges == sorted(edges)


def test_rare_categories_pool_into_other() -> None:
    spec = FeatureSpec("k", "categorical", T, categories=("a", "b", "c", "rare1", "rare2"))
    codes = np.array([0] * 500 + [1] * 500 + [2] * 500 + [3] * 5 + [4] * 5 + [-1] * 10)
    y = np.r_[np.zeros(500), np.ones(100), np.zeros(400), np.ones(250), np.zeros(250), np.ones(20)]
    groups, other, stats = bin_categorical(spec, codes, y, min_count=50)
    assert other is not None
    assert sorted(groups[other]) == ["rare1", "rare2"]
    assert sum(n for n, _ in stats) == 1510  # missing rows are not in any group
