"""Synthetic scorecards and enterprises for benchmarks and tests (deterministic per seed).

``synthetic_card`` builds a card of ``n`` indicators: numeric ones with five edges (six bins),
categorical ones with eight categories in four bins plus "other", and flags; each with an
explicit missing bin and monotone points where a risk direction is declared.
``synthetic_columns`` draws one array per indicator with about 2 % missing values: floats for
numeric indicators, int8 codes for categoricals and flags (-1 missing). ``synthetic_history``
adds outcomes from a known logistic model and random inspectors with their own strictness.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from credit_rating.binning import FeatureSpec
from credit_rating.scorecard import Scorecard, Text
from credit_rating.tiers import cutoffs_from_shares

MISSING_SHARE = 0.02
SHARES = {"A": 0.3, "B": 0.4, "C": 0.2, "D": 0.1}


def _kind(j: int) -> str:
    # 18 numeric, 8 categorical, 4 flags in 30; the same proportions for other sizes.
    r = j % 15
    return "numeric" if r < 9 else "categorical" if r < 13 else "flag"


def synthetic_card(n_indicators: int = 30, seed: int = 0) -> Scorecard:
    rng = np.random.default_rng(seed)
    indicators: list[dict[str, Any]] = []
    for j in range(n_indicators):
        kind = _kind(j)
        name = f"x{j:02d}_{kind[:3]}"
        label = {"zh": f"指标{j}", "en": f"indicator {j}"}
        missing = {"points": -int(rng.integers(0, 15))}
        if kind == "numeric":
            edges = np.round(np.cumsum(rng.uniform(0.5, 2.0, 5)), 2).tolist()
            steps = np.sort(rng.integers(0, 12, 6))[::-1]
            points = (steps - steps.max()).tolist()  # rising risk: points fall to the right
            if j % 2:
                points = points[::-1]
            bins = [{"below": e, "points": int(p)} for e, p in zip(edges, points[:-1], strict=True)]
            bins.append({"points": int(points[-1])})
            risk = "increasing" if j % 2 == 0 else "decreasing"
            indicators.append(
                {"name": name, "label": label, "type": "numeric", "risk": risk,
                 "bins": bins, "missing": missing}
            )  # fmt: skip
        elif kind == "categorical":
            cats = [f"c{k}" for k in range(8)]
            bins = [
                {"categories": cats[2 * k : 2 * k + 2], "points": -int(rng.integers(0, 20))}
                for k in range(4)
            ]
            bins.append({"other": True, "points": -10})
            indicators.append(
                {"name": name, "label": label, "type": "categorical", "bins": bins,
                 "missing": missing}
            )  # fmt: skip
        else:
            bins = [
                {"value": False, "points": 0},
                {"value": True, "points": -int(rng.integers(5, 60))},
            ]
            indicators.append(
                {"name": name, "label": label, "type": "flag", "risk": "increasing",
                 "bins": bins, "missing": missing}
            )  # fmt: skip
    card = Scorecard.from_dict(
        {
            "id": "synthetic",
            "version": f"{n_indicators}-{seed}",
            "kind": "general",
            "title": {"zh": "合成评分卡", "en": "synthetic scorecard"},
            "base_points": 1000,
            "indicators": indicators,
        }
    )
    # Cut-offs that give a sample of synthetic enterprises the usual 30/40/20/10 % shares.
    sample = card.score(synthetic_columns(card, 20_000, seed), threads=1).score
    return card.replace(cutoffs=cutoffs_from_shares(sample, SHARES), shares=SHARES)


def synthetic_columns(card: Scorecard, n: int, seed: int = 0) -> dict[str, np.ndarray]:
    """One array per indicator of ``card`` for ``n`` enterprises, about 2 % missing."""
    rng = np.random.default_rng(seed + 1)
    out: dict[str, np.ndarray] = {}
    for ind in card.indicators:
        missing = rng.random(n) < MISSING_SHARE
        if ind.type == "numeric":
            top = float(ind.edges[-1]) if ind.edges.size else 1.0
            x = rng.random(n) * (1.25 * top)  # every bin populated
            x[missing] = np.nan
        elif ind.type == "categorical":
            x = rng.integers(0, len(ind.categories), n, dtype=np.int8)
            x[missing] = -1
        else:
            x = (rng.random(n) < 0.1).astype(np.int8)
            x[missing] = -1
        out[ind.name] = x
    return out


def synthetic_history(
    card: Scorecard, n: int, *, n_inspectors: int = 200, seed: int = 0
) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray, list[FeatureSpec]]:
    """Inspection rows (columns), outcomes, inspector ids and the specs to train on.

    The true risk is the card's own points (log-odds ≈ −points/30 around a 10 % base rate) plus
    an inspector effect (sd 0.5 log-odds), inspectors assigned at random.
    """
    rng = np.random.default_rng(seed + 2)
    columns = synthetic_columns(card, n, seed)
    points = card.score(columns).score.astype(np.float64)
    eta = -(points - np.median(points)) / 30.0 + np.log(0.1 / 0.9)
    strictness = rng.normal(0.0, 0.5, n_inspectors)
    inspector = rng.integers(0, n_inspectors, n)
    eta += strictness[inspector]
    outcome = (rng.random(n) < 1.0 / (1.0 + np.exp(-eta))).astype(np.int8)
    specs = [
        FeatureSpec(
            ind.name,
            ind.type,
            Text(ind.label.zh, ind.label.en),
            risk=ind.risk,
            categories=ind.categories if ind.type == "categorical" else (),
        )
        for ind in card.indicators
    ]
    return columns, outcome, inspector, specs
