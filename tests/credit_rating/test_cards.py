"""General + specialised cards: selection by industry code, composition, the shipped cards."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from credit_rating import ScorecardError, ScorecardSet, builtin_cards, compose, load_scorecard

GENERAL_INDICATORS = {
    "age_years",
    "registered_capital",
    "entity_type",
    "industry_section",
    "annual_report",
    "abnormal_operation",
    "serious_illegal",
    "penalty_index",
    "findings_3y",
    "complaints_12m",
    "overdue_rectifications",
    "related_party_risk",
}


def test_shipped_general_card_covers_the_issue_indicators_with_rationale() -> None:
    cards = builtin_cards()
    general = cards.general
    assert set(general.names) == GENERAL_INDICATORS
    assert general.cutoffs is not None
    for ind in general.indicators:
        assert ind.rationale and ind.rationale.zh and ind.rationale.en, ind.name
        assert ind.definition, ind.name
        assert ind.missing.label.zh
    assert [c.id for c in cards.industry] == ["food", "special_equipment"]


@pytest.mark.parametrize(
    ("code", "card_id"),
    [
        ("H6210", "general+food"),  # 正餐服务 under H62
        ("C1411", "general+food"),  # 糕点、面包制造 under C14
        ("F5212", "general+food"),
        ("F52", "general"),  # general retail: no industry card
        ("K7020", "general+special_equipment"),
        ("D4512", "general+special_equipment"),  # under D45
        ("C3435", "general+special_equipment"),
        ("C3381", "general"),
        ("I6513", "general"),
        (None, "general"),
        ("", "general"),
    ],
)
def test_longest_prefix_picks_the_industry_card(code: str | None, card_id: str) -> None:
    assert builtin_cards().card_for(code).id == card_id


def test_composition_adds_indicators_and_names_both_versions() -> None:
    cards = builtin_cards()
    food = cards.card_for("H62")
    assert food.names[: len(cards.general.names)] == cards.general.names
    assert "food_licence" in food.names
    assert food.version == "2026.1+2026.1"
    assert food.cutoffs == cards.general.cutoffs  # the food card has no tiers of its own
    components = food.meta["components"]
    assert [c["id"] for c in components] == ["general", "food"]
    assert components[0]["digest"] == cards.general.digest
    # the composed card is itself a valid scorecard
    assert load_scorecard(food.to_dict()).names == food.names


def test_rate_scores_each_row_with_its_card() -> None:
    cards = builtin_cards()
    codes = np.array(["H6210", "I6513", "K7020", None], dtype=object)
    columns = {}
    for card in cards.cards:
        for ind in card.indicators:
            columns[ind.name] = (
                np.full(4, None, dtype=object) if ind.type == "categorical" else np.full(4, np.nan)
            )
    rating = cards.rate(codes, columns)
    assert rating.card_index.tolist() == [1, 0, 2, 0]
    # everything unknown: each card's missing points, the industry cards' on top
    general_missing = cards.general.base_points + sum(
        ind.missing.points for ind in cards.general.indicators
    )
    food_extra = sum(ind.missing.points for ind in cards.industry[0].indicators)
    special_extra = sum(ind.missing.points for ind in cards.industry[1].indicators)
    assert rating.score.tolist() == [
        general_missing + food_extra,
        general_missing,
        general_missing + special_extra,
        general_missing,
    ]
    assert rating.tier is not None
    assert sorted(rating.groups) == [0, 1, 2]


def test_clashing_indicator_or_prefix_is_an_error() -> None:
    cards = builtin_cards()
    food = cards.industry[0]
    clash = dataclasses.replace(food, indicators=cards.general.indicators[:1])
    with pytest.raises(ScorecardError, match=r"indicators \['age_years'\] are already"):
        compose(cards.general, clash)
    twin = dataclasses.replace(cards.industry[1], industries=("H62",))
    with pytest.raises(ScorecardError, match="'H62' is already claimed by food"):
        ScorecardSet(cards.general, (food, twin))
