"""Credit-risk scorecards (信用风险分类): NumPy arrays in, arrays out.

Pure: imports no database, web or task-queue code. A scorecard is data (JSON, versioned, one
bin per line); ``Scorecard.score`` rates a batch of enterprises from one array per indicator;
``ScorecardSet`` composes the general card with the industry card picked by industry code;
``reason_codes`` names the indicators that cost the most points; ``train_scorecard`` learns a
card from inspection outcomes with inspector strictness as a nuisance term;
``consistency_report`` compares inspectors' finding rates with funnel-plot limits.
"""

from credit_rating.binning import FeatureSpec
from credit_rating.cardfile import load_scorecard
from credit_rating.cards import Rating, ScorecardSet, builtin_cards, card_set, compose
from credit_rating.consistency import ConsistencyReport, InspectorRow, consistency_report
from credit_rating.indicators import PENALTY_SEVERITY, count_in_window, recency_weighted_sum
from credit_rating.metrics import Evaluation, auc, days_earlier, evaluate, ks, lift
from credit_rating.reasons import Reasons, explain, reason_codes, reason_text
from credit_rating.scorecard import (
    FORMAT,
    Bin,
    Calibration,
    Indicator,
    Scorecard,
    ScorecardError,
    ScoreResult,
    Text,
)
from credit_rating.tiers import (
    TIER_NAMES_EN,
    TIER_NAMES_ZH,
    TIERS,
    Cutoffs,
    TierError,
    assign_tiers,
    cutoffs_from_shares,
    realised_shares,
    tier_labels,
)
from credit_rating.training import InspectorEffects, Scaling, TrainingResult, train_scorecard

__all__ = [
    "FORMAT",
    "PENALTY_SEVERITY",
    "TIERS",
    "TIER_NAMES_EN",
    "TIER_NAMES_ZH",
    "Bin",
    "Calibration",
    "ConsistencyReport",
    "Cutoffs",
    "Evaluation",
    "FeatureSpec",
    "Indicator",
    "InspectorEffects",
    "InspectorRow",
    "Rating",
    "Reasons",
    "Scaling",
    "ScoreResult",
    "Scorecard",
    "ScorecardError",
    "ScorecardSet",
    "Text",
    "TierError",
    "TrainingResult",
    "assign_tiers",
    "auc",
    "builtin_cards",
    "card_set",
    "compose",
    "consistency_report",
    "count_in_window",
    "cutoffs_from_shares",
    "days_earlier",
    "evaluate",
    "explain",
    "ks",
    "lift",
    "load_scorecard",
    "realised_shares",
    "reason_codes",
    "reason_text",
    "recency_weighted_sum",
    "tier_labels",
    "train_scorecard",
]
