"""Scoring an ``IndicatorFrame`` with the shipped scorecards (``credit_rating``): the one place
where the system of record's indicators meet the model's.

The scorecards (``credit_rating/scorecards/*.json``) are data, versioned and reviewed in a
diff; the card that rated a row is stored with its rating as ``id@version``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np

from credit_rating.cards import ScorecardSet, builtin_cards
from credit_rating.reasons import reason_codes, reason_text
from credit_rating.tiers import TIERS
from enforcement.services.credit_indicators import IndicatorFrame

MAX_REASONS = 3


@dataclass(frozen=True)
class ScoredBatch:
    score: np.ndarray  # float64 (n,)
    tier: list[str]  # "A".."D"
    scorecard: list[str]  # "id@version" of the card that rated each row
    reasons: list[list[dict[str, Any]]]  # the costliest indicators, zh and en


@cache
def scorecards() -> ScorecardSet:
    """The shipped general and industry cards (loaded and checked once per process)."""
    return builtin_cards()


def score_frame(frame: IndicatorFrame, cards: ScorecardSet | None = None) -> ScoredBatch:
    cards = cards or scorecards()
    n = len(frame.enterprise_id)
    rating = cards.rate(frame.industry_code, _with_unknowns(frame.columns, cards, n))
    if rating.tier is None:
        raise ValueError("the shipped scorecards must define tier cut-offs")
    labels = [f"{card.id}@{card.version}" for card in rating.cards]
    reasons: list[list[dict[str, Any]]] = [[] for _ in range(n)]
    for rows, result in rating.groups.values():
        top = reason_codes(result, MAX_REASONS)
        card = result.card
        for local, row in enumerate(rows.tolist()):
            entries = []
            for j, b, lost in zip(
                top.indicator[local], top.bin[local], top.lost[local], strict=True
            ):
                if j < 0:
                    continue
                indicator = card.indicators[int(j)]
                entries.append(
                    {
                        "indicator": indicator.name,
                        "code": indicator.reason_code(int(b)),
                        "points_lost": int(lost),
                        "zh": reason_text(card, int(j), int(b), int(lost), "zh"),
                        "en": reason_text(card, int(j), int(b), int(lost), "en"),
                    }
                )
            reasons[row] = entries
    return ScoredBatch(
        score=rating.score.astype(np.float64),
        tier=[TIERS[t] for t in rating.tier.tolist()],
        scorecard=[labels[i] for i in rating.card_index.tolist()],
        reasons=reasons,
    )


def _with_unknowns(
    columns: dict[str, np.ndarray], cards: ScorecardSet, n: int
) -> dict[str, np.ndarray]:
    """Indicators a card asks for that the system of record does not hold (yet): all
    unknown, so they score each card's explicit missing bin."""
    out = dict(columns)
    for card in cards.cards:
        for indicator in card.indicators:
            if indicator.name not in out:
                out[indicator.name] = (
                    np.full(n, None, dtype=object)
                    if indicator.type == "categorical"
                    else np.full(n, np.nan)
                )
    return out


__all__ = ["ScoredBatch", "score_frame", "scorecards"]
