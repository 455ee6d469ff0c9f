"""Reason codes: the indicators that cost the most points, in Chinese and English."""

from __future__ import annotations

import numpy as np

from credit_rating import builtin_cards, explain, reason_codes
from credit_rating.synthetic import synthetic_card, synthetic_columns

CLEAN = {
    "age_years": 12.0,
    "registered_capital": 500.0,
    "entity_type": "company",
    "industry_section": "I",
    "annual_report": "on_time",
    "abnormal_operation": 0,
    "serious_illegal": 0,
    "penalty_index": 0.0,
    "findings_3y": 0.0,
    "complaints_12m": 0.0,
    "overdue_rectifications": 0.0,
    "related_party_risk": 0,
}


def columns(*rows: dict) -> dict:
    out = {}
    for name in CLEAN:
        values = [row.get(name, CLEAN[name]) for row in rows]
        out[name] = np.array(values, dtype=object if isinstance(CLEAN[name], str) else float)
    return out


def test_costliest_first_then_card_order_and_none_for_clean_rows() -> None:
    general = builtin_cards().general
    result = general.score(
        columns(
            CLEAN,
            {"penalty_index": 1.5, "annual_report": "late", "complaints_12m": 1.0},
            {"age_years": np.nan, "registered_capital": np.nan},  # -15 and -5
            {"findings_3y": 1.0, "annual_report": "late"},  # -30 and -30: card order
        )
    )
    reasons = reason_codes(result, k=2)
    assert reasons.codes(0) == []  # a clean enterprise has no reason
    assert reasons.codes(1) == ["penalty_index/2", "annual_report/1"]
    assert reasons.lost[1].tolist() == [50, 30]
    assert reasons.codes(2) == ["age_years/missing", "registered_capital/missing"]
    assert reasons.codes(3) == ["annual_report/1", "findings_3y/1"]
    assert reasons.indicator[0].tolist() == [-1, -1]


def test_texts_in_both_languages() -> None:
    general = builtin_cards().general
    result = general.score(columns({"serious_illegal": 1, "age_years": np.nan}))
    reasons = reason_codes(result, k=3)
    assert reasons.texts(0, "zh") == [
        "列入严重违法失信名单：已列入（扣400分）",
        "成立年限：数据缺失（扣15分）",
    ]
    assert reasons.texts(0, "en") == [
        "On the serious-illegal-and-dishonest list: listed (−400 points)",
        "Years since establishment: data missing (−15 points)",
    ]
    assert explain(result, 0, k=1, lang="en") == reasons.texts(0, "en")[:1]


def test_reasons_agree_with_points_on_many_rows() -> None:
    card = synthetic_card(30)
    result = card.score(synthetic_columns(card, 5000, seed=4))
    reasons = reason_codes(result, k=4)
    points = result.points()
    best = np.array([ind.best_points for ind in card.indicators])[:, None]
    cost = best - points
    for i in range(0, 5000, 97):
        expected = sorted(
            (j for j in range(len(card.indicators)) if cost[j, i] > 0),
            key=lambda j: (-cost[j, i], j),
        )[:4]
        got = [int(j) for j in reasons.indicator[i] if j >= 0]
        assert got == expected
        assert reasons.lost[i][: len(got)].tolist() == [int(cost[j, i]) for j in expected]
