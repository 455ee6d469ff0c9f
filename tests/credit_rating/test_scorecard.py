"""Scorecard arithmetic, bins, missing values, input forms, JSON and validation."""

from __future__ import annotations

import copy
import json
import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from credit_rating import Scorecard, ScorecardError, load_scorecard
from credit_rating.scorecard import CHUNK
from credit_rating.synthetic import synthetic_card, synthetic_columns

PROPERTY = settings(max_examples=60, deadline=None, database=None)

CARD: dict[str, Any] = {
    "id": "test",
    "version": "1",
    "kind": "general",
    "title": {"zh": "测试", "en": "test"},
    "base_points": 100,
    "tiers": {"cutoffs": {"A": 95, "B": 80, "C": 60}},
    "indicators": [
        {
            "name": "age",
            "label": {"zh": "年限", "en": "age"},
            "type": "numeric",
            "risk": "decreasing",
            "unit": {"zh": "年", "en": "years"},
            "bins": [
                {"below": 1, "points": -20},
                {"below": 3, "points": -10},
                {"points": 0},
            ],
            "missing": {"points": -15},
        },
        {
            "name": "kind",
            "label": {"zh": "类型", "en": "kind"},
            "type": "categorical",
            "bins": [
                {"categories": ["company"], "points": 0},
                {"categories": ["individual_business", "farmer_cooperative"], "points": -5},
                {"other": True, "points": -8},
            ],
            "missing": {"points": -6},
        },
        {
            "name": "listed",
            "label": {"zh": "严重违法", "en": "blacklisted"},
            "type": "flag",
            "risk": "increasing",
            "bins": [{"value": False, "points": 0}, {"value": True, "points": -50, "cap": "D"}],
            "missing": {"points": -5},
        },
    ],
}


def card(**changes: Any) -> Scorecard:
    data = copy.deepcopy(CARD)
    data.update(changes)
    return Scorecard.from_dict(data)


def test_score_is_base_plus_the_points_of_each_bin() -> None:
    result = card().score(
        {
            "age": [0.5, 1.0, 2.999, 3.0, np.nan],
            "kind": np.array(["company", "farmer_cooperative", "shop", None, ""], dtype=object),
            "listed": [False, False, False, False, False],
        }
    )
    # age: <1 → -20, 1 is in [1, 3) → -10, 2.999 → -10, 3 → 0, NaN → missing -15
    # kind: company 0, cooperative -5, unlisted → other -8, None/"" → missing -6
    assert result.score.tolist() == [80, 85, 82, 94, 79]
    assert result.bins[0].tolist() == [0, 1, 1, 2, 3]  # 3 = the missing bin
    assert result.bins[1].tolist() == [0, 1, 2, 3, 3]
    assert result.tier_letters().tolist() == ["B", "B", "B", "B", "C"]
    assert (result.points().sum(axis=0) + 100 == result.score).all()


def test_missing_is_an_explicit_bin_never_zero() -> None:
    scored = card().score({"age": [np.nan], "kind": [None], "listed": np.array([-1])})
    assert scored.score.tolist() == [100 - 15 - 6 - 5]


def test_bin_cap_overrides_the_score() -> None:
    scored = card(base_points=500).score(
        {"age": [10.0], "kind": ["company"], "listed": np.array([True])}
    )
    assert scored.score.tolist() == [450]  # far above A, but the listed bin caps at D
    assert scored.tier_letters().tolist() == ["D"]


def test_codes_strings_and_flag_forms_agree() -> None:
    c = card()
    strings = {
        "age": [0.2, 5.0, 2.0, 7.0],
        "kind": np.array(["company", "individual_business", None, "zoo"], dtype=object),
        "listed": np.array([True, False, None, False], dtype=object),
    }
    codes = {
        "age": np.array([0.2, 5.0, 2.0, 7.0]),
        "kind": c.encode("kind", strings["kind"]),
        "listed": np.array([1, 0, -1, 0], dtype=np.int8),
    }
    floats = {**codes, "listed": np.array([1.0, 0.0, np.nan, 0.0])}
    assert c.encode("kind", strings["kind"]).tolist() == [0, 1, -1, 3]  # 3 = other
    expected = c.score(strings).score.tolist()
    assert c.score(codes).score.tolist() == expected
    assert c.score(floats).score.tolist() == expected
    assert expected == [100 - 20 - 50, 100 - 5, 100 - 10 - 6 - 5, 100 - 8]


def test_bad_columns_name_the_indicator() -> None:
    c = card()
    good = {"age": [1.0], "kind": ["company"], "listed": [False]}
    with pytest.raises(ScorecardError, match=r"missing indicator.*listed"):
        c.score({"age": [1.0], "kind": ["company"]})
    with pytest.raises(ScorecardError, match=r"columns.kind: unknown category 'x'"):
        Scorecard.from_dict(
            {
                **CARD,
                "indicators": [
                    {**CARD["indicators"][1], "bins": CARD["indicators"][1]["bins"][:2]}
                ],
            }
        ).score({"kind": ["x"]})
    with pytest.raises(ScorecardError, match=r"columns.kind: code 4 out of range"):
        c.score({**good, "kind": np.array([4])})
    with pytest.raises(ScorecardError, match=r"columns.listed: a flag must be 0, 1 or NaN"):
        c.score({**good, "listed": np.array([0.5])})
    with pytest.raises(ScorecardError, match=r"columns.listed: has 1 rows, the first column has 2"):
        c.score({**good, "kind": ["company", "company"], "age": [1.0, 2.0]})


def test_blocks_and_threads_give_the_same_result() -> None:
    synthetic = synthetic_card(12)
    columns = synthetic_columns(synthetic, 2 * CHUNK + 12_345, seed=3)
    one = synthetic.score(columns, threads=1)
    two = synthetic.score(columns, threads=2)
    assert np.array_equal(one.score, two.score)
    assert np.array_equal(one.bins, two.bins)
    assert np.array_equal(one.tier, two.tier)


def _reference_points(ind: Any, value: Any) -> int:
    """One value, one indicator, plain Python: the definition of the bins."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ind.missing.points
    if ind.type == "numeric":
        for b in ind.bins:
            if b.below is None or value < b.below:
                return b.points
    if ind.type == "flag":
        return ind.bins[1 if value else 0].points
    for b in ind.bins:
        if value in b.categories:
            return b.points
    return next(b.points for b in ind.bins if b.other)


@PROPERTY
@given(seed=st.integers(0, 10_000), n=st.integers(1, 300), m=st.integers(1, 20))
def test_vectorised_score_equals_the_row_by_row_definition(seed: int, n: int, m: int) -> None:
    synthetic = synthetic_card(m, seed)
    columns = synthetic_columns(synthetic, n, seed)
    result = synthetic.score(columns)
    for i in range(n):
        total = synthetic.base_points
        for ind in synthetic.indicators:
            raw = columns[ind.name][i]
            if ind.type == "numeric":
                value: Any = float(raw)
            elif raw < 0:
                value = None
            elif ind.type == "flag":
                value = bool(raw)
            else:
                value = ind.categories[int(raw)]
            total += _reference_points(ind, value)
        assert result.score[i] == total


@PROPERTY
@given(
    xs=st.lists(st.floats(-5, 20, allow_nan=False), min_size=2, max_size=50),
    seed=st.integers(0, 1000),
)
def test_monotone_indicators_never_reward_more_risk(xs: list[float], seed: int) -> None:
    synthetic = synthetic_card(9, seed)
    for ind in synthetic.indicators:
        if ind.type != "numeric":
            continue
        values = np.sort(np.array(xs))
        columns = synthetic_columns(synthetic, values.size, seed)
        columns[ind.name] = values
        points = synthetic.score(columns).points()[synthetic.names.index(ind.name)]
        steps = np.diff(points)
        if ind.risk == "increasing":
            assert (steps <= 0).all()
        else:
            assert (steps >= 0).all()


def test_json_round_trip_keeps_the_digest() -> None:
    c = card()
    again = Scorecard.from_json(c.to_json())
    assert again.digest == c.digest
    assert again.to_json() == c.to_json()
    changed = card(base_points=101)
    assert changed.digest != c.digest


def test_shipped_cards_are_stored_in_canonical_form(tmp_path: Any) -> None:
    from importlib import resources

    folder = resources.files("credit_rating") / "scorecards"
    for name in ("general.json", "food.json", "special_equipment.json"):
        text = (folder / name).read_text(encoding="utf-8")
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        assert load_scorecard(path).to_json() == text, name


def _invalid(mutate: Any) -> str:
    data = copy.deepcopy(CARD)
    mutate(data)
    with pytest.raises(ScorecardError) as info:
        Scorecard.from_dict(data)
    return str(info.value)


def test_validation_names_the_field() -> None:
    def no_missing(d: dict) -> None:
        del d["indicators"][0]["missing"]

    def not_monotone(d: dict) -> None:
        d["indicators"][0]["bins"][1]["points"] = -30

    def fractional(d: dict) -> None:
        d["indicators"][1]["bins"][0]["points"] = 1.5

    def edges_down(d: dict) -> None:
        d["indicators"][0]["bins"][1]["below"] = 0.5

    def duplicate_category(d: dict) -> None:
        d["indicators"][1]["bins"][1]["categories"].append("company")

    def bad_cutoffs(d: dict) -> None:
        d["tiers"]["cutoffs"]["B"] = 99

    def unknown_key(d: dict) -> None:
        d["indicators"][2]["bins"][0]["colour"] = "red"

    def flag_order(d: dict) -> None:
        d["indicators"][2]["bins"].reverse()

    assert "indicators[0] (age).missing: every indicator needs an explicit missing bin" in (
        _invalid(no_missing)
    )
    assert "indicators[0] (age).bins[1].points: risk is decreasing" in _invalid(not_monotone)
    assert "indicators[1] (kind).bins[0].points: must be a whole number" in _invalid(fractional)
    assert "indicators[0] (age).bins[1].below: edges must increase" in _invalid(edges_down)
    assert "'company' is already in bins[0]" in _invalid(duplicate_category)
    assert "tiers.cutoffs: must satisfy A >= B >= C" in _invalid(bad_cutoffs)
    assert "indicators[2] (listed).bins[0]: unknown keys ['colour']" in _invalid(unknown_key)
    assert "a flag has exactly two bins, value false then value true" in _invalid(flag_order)


def test_industry_card_needs_prefixes_and_general_has_none() -> None:
    with pytest.raises(ScorecardError, match="industries: an industry scorecard needs"):
        card(kind="industry")
    with pytest.raises(ScorecardError, match="industries: only an industry scorecard"):
        card(industries=["H62"])
    with pytest.raises(ScorecardError, match="GB/T 4754-2017"):
        card(kind="industry", industries=["62"])


def test_score_range_and_calibration_table() -> None:
    c = card()
    assert c.score_range == (100 - 20 - 8 - 50, 100)
    with pytest.raises(ScorecardError, match="no calibration table"):
        c.probability(np.array([90]))
    calibrated = Scorecard.from_dict(
        {**CARD, "calibration": {"method": "test", "score": [20, 100], "probability": [0.5, 0.1]}}
    )
    assert calibrated.probability(np.array([20, 60, 100, 200])).tolist() == pytest.approx(
        [0.5, 0.3, 0.1, 0.1]
    )
    assert json.loads(calibrated.to_json())["calibration"]["score"] == [20, 100]
