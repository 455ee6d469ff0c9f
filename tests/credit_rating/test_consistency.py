"""Inspector consistency: funnel-plot limits and outlier flags."""

from __future__ import annotations

import numpy as np
import pytest

from credit_rating import consistency_report
from credit_rating.consistency import funnel


def _inspections(rates: dict[str, float], n: dict[str, int], seed: int = 0):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    labels, found = [], []
    for name, rate in rates.items():
        labels += [name] * n[name]
        found.append((rng.random(n[name]) < rate).astype(int))
    return np.array(labels, dtype=object), np.concatenate(found)


def test_a_strict_inspector_is_flagged_and_the_others_are_not() -> None:
    rates = {f"i{k}": 0.12 for k in range(8)} | {"strict": 0.30, "lenient": 0.03}
    counts = dict.fromkeys(rates, 600)
    labels, found = _inspections(rates, counts, seed=1)
    report = consistency_report(labels, found)
    flags = {row.inspector: row.flag for row in report.rows}
    assert flags["strict"] == "high"
    assert flags["lenient"] == "low"
    assert {flags[f"i{k}"] for k in range(8)} <= {"", "warning_high", "warning_low"}
    assert [r.inspector for r in report.outliers] == ["lenient", "strict"]
    assert report.overall_rate == pytest.approx(found.mean())


def test_limits_narrow_with_more_inspections() -> None:
    low_small, high_small = funnel(np.array([50]), 0.12, 0.998)
    low_big, high_big = funnel(np.array([5000]), 0.12, 0.998)
    assert low_small[0] < low_big[0] < 0.12 < high_big[0] < high_small[0]
    labels, found = _inspections({"a": 0.12, "b": 0.12}, {"a": 40, "b": 4000}, seed=2)
    rows = {r.inspector: r for r in consistency_report(labels, found).rows}
    width = {k: r.limits_95[1] - r.limits_95[0] for k, r in rows.items()}
    assert width["a"] > 5 * width["b"]


def test_case_mix_moves_the_target() -> None:
    # "hard" inspects riskier enterprises: a high raw rate, but as expected for its case mix
    labels = np.array(["hard"] * 1000 + ["easy"] * 1000, dtype=object)
    expected = np.r_[np.full(1000, 0.3), np.full(1000, 0.05)]
    found = (np.random.default_rng(3).random(2000) < expected).astype(int)
    raw = {r.inspector: r.flag for r in consistency_report(labels, found).rows}
    adjusted = consistency_report(labels, found, expected=expected, strictness={"hard": 0.1})
    assert raw["hard"] == "high"
    rows = {r.inspector: r for r in adjusted.rows}
    assert rows["hard"].flag == "" and rows["easy"].flag == ""
    assert rows["hard"].target == pytest.approx(0.3)
    assert adjusted.as_dict()["inspectors"][1]["strictness"] == 0.1
    assert adjusted.case_mix_adjusted
