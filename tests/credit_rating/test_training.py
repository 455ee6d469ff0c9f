"""Training: monotone bins, points, calibration, inspector strictness as a nuisance term."""

from __future__ import annotations

import numpy as np
import pytest

from credit_rating import (
    FeatureSpec,
    Scorecard,
    ScorecardError,
    Text,
    auc,
    train_scorecard,
)
from credit_rating.synthetic import synthetic_card, synthetic_history

T = Text("x", "x")


def _train(columns, outcome, specs, **kw):  # type: ignore[no-untyped-def]
    return train_scorecard(columns, outcome, specs, card_id="t", version="1", title=T, **kw)


def test_learns_the_generating_card_and_the_inspectors() -> None:
    truth = synthetic_card(12, seed=5)
    columns, outcome, inspector, specs = synthetic_history(truth, 60_000, n_inspectors=30, seed=5)
    result = _train(columns, outcome, specs, inspector=inspector, calibration_folds=3)
    card = result.card
    # valid as data: the JSON passes every check (monotone bins, missing bins, whole points)
    again = Scorecard.from_json(card.to_json())
    assert again.digest == card.digest
    # as good a ranking as the true card (categorical codes re-encoded for the trained card)
    scoring = dict(columns)
    for ind in truth.indicators:
        if ind.type == "categorical":
            names = np.array([*ind.categories, None], dtype=object)
            scoring[ind.name] = names[columns[ind.name]]
    trained_auc = auc(outcome, -card.score(scoring).score)
    true_auc = auc(outcome, -truth.score(columns).score)
    assert trained_auc > true_auc - 0.01
    # inspector strictness recovered (centred log-odds; the truth is drawn in synthetic_history)
    strictness = np.random.default_rng(5 + 2).normal(0.0, 0.5, 30)
    counts = np.bincount(inspector, minlength=30)
    centred = strictness - (strictness * counts).sum() / counts.sum()
    effects = result.inspectors
    assert effects is not None
    estimated = np.empty(30)
    estimated[[int(label) for label in effects.labels]] = effects.effect
    assert np.corrcoef(centred, estimated)[0, 1] > 0.95
    assert effects.inspections.sum() == outcome.size


def test_evidence_counts_add_up_and_monotone_directions_hold() -> None:
    truth = synthetic_card(9, seed=1)
    columns, outcome, _, specs = synthetic_history(truth, 20_000, seed=1)
    card = _train(columns, outcome, specs, calibration_folds=0).card
    for ind in card.indicators:
        evidence = [b.evidence for b in (*ind.bins, ind.missing)]
        assert sum(e["n"] for e in evidence) == outcome.size
        assert sum(e["found"] for e in evidence) == int(outcome.sum())
        points = [b.points for b in ind.bins]
        if ind.risk == "increasing":
            assert points == sorted(points, reverse=True)
        elif ind.risk == "decreasing":
            assert points == sorted(points)
        assert max(b.points for b in (*ind.bins, ind.missing)) == 0  # the best bin costs nothing


def test_inspector_nuisance_removes_a_confounded_effect() -> None:
    """A flag with no effect of its own, but strict inspectors visit flagged enterprises more:
    without the nuisance term the flag earns a penalty; with it, nearly none."""
    rng = np.random.default_rng(11)
    n = 40_000
    flag = (rng.random(n) < 0.5).astype(np.int8)
    strict = np.where(rng.random(n) < np.where(flag == 1, 0.8, 0.2), 1, 0)
    eta = -2.0 + 1.5 * strict  # the outcome depends on the inspector only
    outcome = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(np.int8)
    specs = [FeatureSpec("flag", "flag", T, risk="increasing")]
    inspector = np.where(strict == 1, "strict", "lenient")
    naive = _train({"flag": flag}, outcome, specs, calibration_folds=0).card
    adjusted = _train({"flag": flag}, outcome, specs, inspector=inspector, calibration_folds=0)
    naive_penalty = -naive.indicators[0].bins[1].points
    adjusted_penalty = -adjusted.card.indicators[0].bins[1].points
    assert naive_penalty > 20  # about 0.9 log-odds × 28.85 points
    assert adjusted_penalty <= 3
    effects = dict(zip(adjusted.inspectors.labels, adjusted.inspectors.effect, strict=True))
    assert effects["strict"] - effects["lenient"] == pytest.approx(1.5, abs=0.15)


def test_calibration_is_monotone_and_matches_the_base_rate() -> None:
    truth = synthetic_card(9, seed=2)
    columns, outcome, inspector, specs = synthetic_history(truth, 30_000, seed=2)
    result = _train(columns, outcome, specs, inspector=inspector, calibration_folds=4)
    card = result.card
    assert card.calibration is not None
    probabilities = np.array(card.calibration.probabilities)
    assert (np.diff(probabilities) <= 1e-12).all()  # a higher score, a lower risk
    assert result.oof_scores is not None
    mean = float(np.mean(card.probability(result.oof_scores)))
    assert mean == pytest.approx(outcome.mean(), abs=0.005)


def test_unseen_missing_bin_gets_the_average_not_zero() -> None:
    rng = np.random.default_rng(3)
    x = rng.random(5000) * 10
    outcome = (rng.random(5000) < 0.05 + 0.03 * x).astype(np.int8)
    spec = FeatureSpec("x", "numeric", T, risk="increasing")
    ind = _train({"x": x}, outcome, [spec], calibration_folds=0).card.indicators[0]
    assert ind.missing.evidence == {"n": 0, "found": 0}
    points = [b.points for b in ind.bins]
    assert min(points) < ind.missing.points < max(points)


def test_tier_shares_and_bad_input() -> None:
    truth = synthetic_card(6, seed=4)
    columns, outcome, _, specs = synthetic_history(truth, 8_000, seed=4)
    shares = {"A": 0.3, "B": 0.4, "C": 0.2, "D": 0.1}
    card = _train(columns, outcome, specs, tier_shares=shares, calibration_folds=0).card
    assert card.cutoffs is not None and card.shares == shares
    with pytest.raises(ScorecardError, match="outcome: must be 0"):
        _train(columns, np.full(outcome.size, 2), specs)
    with pytest.raises(ScorecardError, match="outcome: need both outcomes"):
        _train(columns, np.zeros(outcome.size, dtype=int), specs)
    with pytest.raises(ScorecardError, match="columns: missing indicator"):
        _train({}, outcome, specs)
