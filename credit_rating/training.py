"""Train a scorecard from inspection outcomes (problem found or not).

1. Bin every indicator (``binning``): monotone where a risk direction is declared, an explicit
   missing bin always.
2. Fit one L2-penalised logistic regression on the one-hot bins **plus one column per
   inspector** (a nuisance term). Inspectors are assigned at random, so their strictness is
   independent of the enterprise and can be separated from it; the penalty shrinks each
   inspector's effect towards the average like a random-effects estimate. The inspector columns
   are then dropped: the intercept is taken at the average inspector (effects centred on the
   training rows), and no inspector ever enters an enterprise's score.
3. Where a fitted bin breaks the declared direction (the joint fit can disagree with the raw
   rates), the offending adjacent bins are merged and the model refitted.
4. Points: score = offset + factor × ln(odds of no problem), factor = PDO / ln 2, with the
   offset placing ``scaling.odds`` at ``scaling.score``; each indicator's best bin gets 0 points
   and the others lose points, the rest goes into the base points; points are rounded to whole
   numbers. A bin never seen in training (a missing bin, say) gets the rows-weighted mean of the
   indicator's other bins: the average risk, explicit in the card.
5. Calibration: out-of-fold scores (k folds, grouped by enterprise when groups are given, the
   same bins, refitted coefficients) → isotonic regression of the outcome on the score; the
   table is stored in the card (``calibration``).

The output is a ``Scorecard`` (JSON-serialisable, with per-bin evidence) plus the inspector
strictness estimates for the consistency report.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold, KFold

from credit_rating.binning import FeatureSpec, build_indicator, numeric_labels
from credit_rating.scorecard import (
    Bin,
    Calibration,
    Indicator,
    Scorecard,
    ScorecardError,
    Text,
)
from credit_rating.tiers import Cutoffs, cutoffs_from_shares, validate_shares

# Solver tolerance: on 1M rows the points stay within 0.2 of a 1e-6 fit, a third faster.
TOLERANCE = 1e-5


@dataclass(frozen=True)
class Scaling:
    """Points to double the odds (PDO) and an anchor: ``score`` points at ``odds`` good:bad."""

    pdo: float = 20.0
    score: float = 600.0
    odds: float = 50.0

    @property
    def factor(self) -> float:
        return self.pdo / math.log(2)

    @property
    def offset(self) -> float:
        return self.score - self.factor * math.log(self.odds)

    def as_dict(self) -> dict[str, float]:
        return {"pdo": self.pdo, "score": self.score, "odds": self.odds}


@dataclass(frozen=True)
class InspectorEffects:
    """Strictness per inspector: log-odds shift against the average inspector (shrunken)."""

    labels: tuple[str, ...]
    inspections: np.ndarray  # int64
    findings: np.ndarray  # int64
    effect: np.ndarray  # float64, centred on the training rows

    def odds_ratio(self) -> np.ndarray:
        return np.exp(self.effect)

    def as_dict(self) -> dict[str, dict[str, float]]:
        return {
            label: {
                "inspections": int(self.inspections[i]),
                "findings": int(self.findings[i]),
                "effect": round(float(self.effect[i]), 4),
            }
            for i, label in enumerate(self.labels)
        }


@dataclass(frozen=True)
class TrainingResult:
    card: Scorecard
    inspectors: InspectorEffects | None
    oof_scores: np.ndarray | None  # out-of-fold scores of the training rows (calibration)
    seconds: float
    refits: int
    stats: Mapping[str, Any] = field(default_factory=dict)


def train_scorecard(
    columns: Mapping[str, Any],
    outcome: np.ndarray,
    specs: Sequence[FeatureSpec],
    *,
    card_id: str,
    version: str,
    title: Text,
    inspector: np.ndarray | None = None,
    groups: np.ndarray | None = None,
    scaling: Scaling | None = None,
    c: float = 1.0,
    min_bin_share: float = 0.02,
    min_bin_count: int = 30,
    calibration_folds: int = 5,
    tier_shares: Mapping[str, float] | None = None,
    cutoffs: Cutoffs | None = None,
    description: Text | None = None,
    max_iter: int = 500,
    seed: int = 0,
    meta: Mapping[str, Any] | None = None,
) -> TrainingResult:
    """Train a general scorecard. ``outcome`` is 1 where a problem was found.

    ``inspector`` (labels or codes per row, None/"" unknown) enters only the fit, as a nuisance
    term. ``groups`` (e.g. the enterprise of each row) keeps an enterprise's rows in one
    calibration fold. Tier cut-offs: ``cutoffs`` as given, or from ``tier_shares`` over the
    training rows' scores (the shares are kept in the card too).
    """
    started = time.perf_counter()
    scaling = scaling or Scaling()
    y = np.asarray(outcome)
    if y.ndim != 1 or y.size == 0:
        raise ScorecardError("outcome: need a non-empty one-dimensional array")
    if not np.isin(y, (0, 1)).all():
        raise ScorecardError("outcome: must be 0 (no problem found) or 1 (problem found)")
    y = y.astype(np.float64)
    n = y.size
    if not 0 < y.sum() < n:
        raise ScorecardError("outcome: need both outcomes (problems found and not found)")
    if tier_shares is not None:
        validate_shares(tier_shares)
    names = [s.name for s in specs]
    absent = [name for name in names if name not in columns]
    if absent:
        raise ScorecardError(f"columns: missing indicator(s) {', '.join(absent)}")
    for name in names:
        if np.asarray(columns[name]).shape[0] != n:
            raise ScorecardError(f"columns.{name}: has a different number of rows than outcome")
    min_count = max(float(min_bin_count), min_bin_share * n)

    indicators: list[Indicator] = []
    stats: list[list[tuple[float, float]]] = []
    for spec in specs:
        ind, st = build_indicator(spec, np.asarray(columns[spec.name]), y, min_count)
        indicators.append(ind)
        stats.append(st)

    insp_codes, insp_labels = _inspector_codes(inspector, n)
    binned = time.perf_counter()
    refits = 0
    while True:
        provisional = _card(card_id, version, title, 0, indicators, description)
        bins = provisional.score(_recoded(columns, specs, indicators)).bins
        design = _design(indicators, bins, insp_codes, len(insp_labels))
        model = _fit(design.matrix, y, c, max_iter, seed)
        coef = model.coef_[0]
        bin_coef = design.bin_coefficients(coef)
        merged = _fix_direction(indicators, specs, bin_coef, stats)
        if merged is None:
            break
        indicators = merged
        refits += 1
        if refits > 50:
            raise ScorecardError("training: could not make the bins monotone in 50 refits")

    # Inspector effects: centre on the training rows; the mean goes into the intercept.
    intercept = float(model.intercept_[0])
    insp_effects = None
    if design.n_insp:
        raw = design.inspector_effects(coef)
        counts = np.bincount(insp_codes, minlength=len(insp_labels))
        mean = float((raw * counts).sum() / counts.sum())
        intercept += mean
        found = np.bincount(insp_codes, weights=y, minlength=len(insp_labels))
        insp_effects = InspectorEffects(
            tuple(insp_labels), counts.astype(np.int64), found.astype(np.int64), raw - mean
        )

    fitted = time.perf_counter()
    card = _points_card(
        card_id, version, title, description, indicators, bin_coef, intercept, scaling, stats
    )
    columns = _recoded(columns, specs, indicators)
    oof = None
    if calibration_folds >= 2:  # the last fit's design has the final bins
        oof = _out_of_fold_scores(
            design, insp_codes, y, groups, calibration_folds, c, max_iter, seed, scaling, model
        )
        card = card.replace(calibration=_calibrate(oof, y, calibration_folds))
    scores = card.score(columns).score
    cut = cutoffs
    if cut is None and tier_shares is not None:
        cut = cutoffs_from_shares(scores, tier_shares)
    card_meta: dict[str, Any] = {
        "scaling": scaling.as_dict(),
        "training": {
            "rows": int(n),
            "problems_found": int(y.sum()),
            "base_rate": round(float(y.mean()), 6),
            "penalty_c": c,
            "inspector_nuisance": bool(insp_labels),
            "calibration_folds": calibration_folds,
            **(dict(meta) if meta else {}),
        },
    }
    card = card.replace(cutoffs=cut, shares=dict(tier_shares) if tier_shares else None)
    card = card.replace(meta=card_meta)
    card = Scorecard.from_dict(card.to_dict())  # the output is checked like any card file
    return TrainingResult(
        card=card,
        inspectors=insp_effects,
        oof_scores=oof,
        seconds=time.perf_counter() - started,
        refits=refits,
        stats={
            "design_columns": int(design.matrix.shape[1]),
            "binning_seconds": round(binned - started, 3),
            "fit_seconds": round(fitted - binned, 3),
            "calibration_seconds": round(time.perf_counter() - fitted, 3),
        },
    )


# ---------------------------------------------------------------------- pieces


def _recoded(
    columns: Mapping[str, Any], specs: Sequence[FeatureSpec], indicators: Sequence[Indicator]
) -> dict[str, Any]:
    """Integer codes of categoricals index ``spec.categories``; a card's codes index its own
    ``Indicator.categories`` (bin order), so translate them."""
    out = dict(columns)
    for spec, ind in zip(specs, indicators, strict=True):
        values = np.asarray(columns[spec.name])
        if spec.type == "categorical" and values.dtype.kind in "iu":
            table = np.array([*(ind.categories.index(c) for c in spec.categories), -1])
            out[spec.name] = table[values].astype(np.int16)
    return out


def _card(
    card_id: str,
    version: str,
    title: Text,
    base: int,
    indicators: Sequence[Indicator],
    description: Text | None,
) -> Scorecard:
    return Scorecard(
        id=card_id,
        version=version,
        kind="general",
        title=title,
        base_points=base,
        indicators=tuple(indicators),
        description=description,
    )


def _inspector_codes(inspector: np.ndarray | None, n: int) -> tuple[np.ndarray, list[str]]:
    """Dense codes 0..k-1 and labels; unknown inspectors share one "unknown" level."""
    if inspector is None:
        return np.zeros(n, dtype=np.int64), []
    values = np.asarray(inspector, dtype=object)
    if values.shape[0] != n:
        raise ScorecardError("inspector: has a different number of rows than outcome")
    keys = [
        "unknown" if v is None or v == "" or (isinstance(v, float) and math.isnan(v)) else str(v)
        for v in values.tolist()
    ]
    labels = sorted(set(keys))
    lookup = {label: i for i, label in enumerate(labels)}
    return np.array([lookup[k] for k in keys], dtype=np.int64), labels


@dataclass(frozen=True)
class _Design:
    """The sparse design: each indicator's bins against its most common bin (reference coding:
    no column for it, so its log-odds is 0), then the inspectors in effects coding (k-1 columns,
    the last inspector -1 in all of them), which keeps the penalised fit well conditioned and
    shrinks inspectors towards their mean, as a random effect would be."""

    matrix: sparse.csr_matrix
    columns: list[np.ndarray]  # per indicator: column of each bin, -1 for reference or unseen
    seen: list[np.ndarray]  # per indicator: bins with at least one row
    counts: list[np.ndarray]  # per indicator: rows per bin
    n_bin_cols: int
    n_insp: int

    def bin_coefficients(self, coef: np.ndarray) -> list[np.ndarray]:
        """Log-odds per bin (missing bin last); unseen bins get the rows-weighted mean."""
        out = []
        for cols, seen, counts in zip(self.columns, self.seen, self.counts, strict=True):
            values = np.where(cols >= 0, coef[np.maximum(cols, 0)], 0.0)
            mean = float((values[seen] * counts[seen]).sum() / counts[seen].sum())
            values[~seen] = mean
            out.append(values)
        return out

    def inspector_effects(self, coef: np.ndarray) -> np.ndarray:
        """Log-odds shift of every inspector (not yet centred)."""
        head = coef[self.n_bin_cols : self.n_bin_cols + self.n_insp - 1]
        return np.concatenate([head, [-head.sum()]])


def _design(
    indicators: Sequence[Indicator],
    bins: np.ndarray,
    insp_codes: np.ndarray,
    n_insp: int,
) -> _Design:
    n = bins.shape[1]
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    vals: list[np.ndarray] = []
    columns, seen_all, counts_all = [], [], []
    offset = 0
    for j, ind in enumerate(indicators):
        counts = np.bincount(bins[j], minlength=ind.n_bins + 1)
        seen = counts > 0
        reference = int(np.argmax(counts))
        col_of_bin = np.full(ind.n_bins + 1, -1, dtype=np.int64)
        own = seen.copy()
        own[reference] = False
        col_of_bin[own] = offset + np.arange(int(own.sum()))
        offset += int(own.sum())
        c = col_of_bin[bins[j]]
        keep = np.flatnonzero(c >= 0)
        rows.append(keep)
        cols.append(c[keep])
        vals.append(np.ones(keep.size))
        columns.append(col_of_bin)
        seen_all.append(seen)
        counts_all.append(counts.astype(np.float64))
    n_cols = offset
    if n_insp > 1:
        last = n_insp - 1
        regular = np.flatnonzero(insp_codes != last)
        rows.append(regular)
        cols.append(offset + insp_codes[regular])
        vals.append(np.ones(regular.size))
        at_last = np.flatnonzero(insp_codes == last)
        rows.append(np.repeat(at_last, last))
        cols.append(np.tile(offset + np.arange(last), at_last.size))
        vals.append(-np.ones(at_last.size * last))
        n_cols += last
    matrix = sparse.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n_cols)
    )
    return _Design(matrix, columns, seen_all, counts_all, offset, n_insp if n_insp > 1 else 0)


def _fit(
    design: sparse.csr_matrix,
    y: np.ndarray,
    c: float,
    max_iter: int,
    seed: int,
    start: Any = None,
    tol: float = TOLERANCE,
) -> Any:
    """L2 logistic regression; ``start`` (a fitted model) warm-starts the solver."""
    model = LogisticRegression(
        C=c, max_iter=max_iter, tol=tol, random_state=seed, warm_start=start is not None
    )
    if start is not None:
        model.coef_ = start.coef_.copy()
        model.intercept_ = start.intercept_.copy()
    model.fit(design, y)
    return model


def _fix_direction(
    indicators: list[Indicator],
    specs: Sequence[FeatureSpec],
    bin_coef: list[np.ndarray],
    stats: list[list[tuple[float, float]]],
) -> list[Indicator] | None:
    """Merge the first adjacent pair per indicator whose fitted risk breaks the direction."""
    changed = False
    out = []
    for j, ind in enumerate(indicators):
        if ind.risk == "none" or ind.n_bins < 2:
            out.append(ind)
            continue
        risk = bin_coef[j][: ind.n_bins]
        sign = 1 if ind.risk == "increasing" else -1
        bad = [i for i in range(ind.n_bins - 1) if sign * (risk[i + 1] - risk[i]) < -1e-9]
        if not bad:
            out.append(ind)
            continue
        changed = True
        i = bad[0]
        if ind.type == "flag":  # two bins that disagree with the direction: no effect
            out.append(ind)
            bin_coef[j][:2] = bin_coef[j][:2].mean()
            continue
        out.append(_merge_bins(ind, i, specs[j]))
        s = stats[j]
        stats[j] = [*s[:i], (s[i][0] + s[i + 1][0], s[i][1] + s[i + 1][1]), *s[i + 2 :]]
    if not changed:
        return None
    if all(o is i for o, i in zip(out, indicators, strict=True)):
        return None  # only flags were neutralised
    return out


def _merge_bins(ind: Indicator, i: int, spec: FeatureSpec) -> Indicator:
    a, b = ind.bins[i], ind.bins[i + 1]
    if ind.type == "numeric":
        edges = [e.below for k, e in enumerate(ind.bins[:-1]) if k != i]
        labels = numeric_labels([float(e) for e in edges if e is not None], spec)
        bins = tuple(
            Bin(points=0, label=label, below=edges[k] if k < len(edges) else None)
            for k, label in enumerate(labels)
        )
    else:
        merged = Bin(
            points=0,
            label=Text(f"{a.label.zh}、{b.label.zh}", f"{a.label.en}, {b.label.en}"),
            categories=a.categories + b.categories,
            other=a.other or b.other,
        )
        bins = (*ind.bins[:i], merged, *ind.bins[i + 2 :])
    return Indicator(
        name=ind.name,
        label=ind.label,
        type=ind.type,
        bins=bins,
        missing=ind.missing,
        risk=ind.risk,
        unit=ind.unit,
        rationale=ind.rationale,
        definition=ind.definition,
    )


def _points_card(
    card_id: str,
    version: str,
    title: Text,
    description: Text | None,
    indicators: Sequence[Indicator],
    bin_coef: list[np.ndarray],
    intercept: float,
    scaling: Scaling,
    stats: list[list[tuple[float, float]]],
) -> Scorecard:
    factor = scaling.factor
    base = scaling.offset - factor * intercept
    new = []
    for ind, coef, st in zip(indicators, bin_coef, stats, strict=True):
        best = float(coef.min())  # lowest log-odds of a problem = most points
        base -= factor * best
        points = np.rint(-factor * (coef - best)).astype(int)
        bins = tuple(
            Bin(
                points=int(points[i]),
                label=b.label,
                below=b.below,
                categories=b.categories,
                other=b.other,
                value=b.value,
                evidence={"n": int(st[i][0]), "found": int(st[i][1])},
            )
            for i, b in enumerate(ind.bins)
        )
        miss = Bin(
            points=int(points[-1]),
            label=ind.missing.label,
            evidence={"n": int(st[-1][0]), "found": int(st[-1][1])},
        )
        new.append(
            Indicator(
                name=ind.name,
                label=ind.label,
                type=ind.type,
                bins=bins,
                missing=miss,
                risk=ind.risk,
                unit=ind.unit,
                rationale=ind.rationale,
                definition=ind.definition,
            )
        )
    return _card(card_id, version, title, round(base), new, description)


def _out_of_fold_scores(
    design: _Design,
    insp_codes: np.ndarray,
    y: np.ndarray,
    groups: np.ndarray | None,
    folds: int,
    c: float,
    max_iter: int,
    seed: int,
    scaling: Scaling,
    full_model: Any,
) -> np.ndarray:
    """Scores of each row from a fit without its fold (same bins; warm-started from the full
    fit and to a looser tolerance: the scores only feed the isotonic calibration)."""
    matrix = design.matrix
    n_insp = design.n_insp
    splits: Any
    if groups is not None:
        splits = GroupKFold(n_splits=folds).split(matrix, y, groups=np.asarray(groups))
    else:
        splits = KFold(n_splits=folds, shuffle=True, random_state=seed).split(matrix)
    oof = np.empty(y.size)
    bin_part = matrix[:, : design.n_bin_cols]
    for train_idx, test_idx in splits:
        model = _fit(matrix[train_idx], y[train_idx], c, max_iter, seed, start=full_model, tol=1e-4)
        coef = model.coef_[0]
        intercept = float(model.intercept_[0])
        if design.n_insp:  # the average inspector of the fold's training rows
            counts = np.bincount(insp_codes[train_idx], minlength=n_insp)
            effects = design.inspector_effects(coef)
            intercept += float((effects * counts).sum() / counts.sum())
        eta = intercept + bin_part[test_idx] @ coef[: design.n_bin_cols]
        oof[test_idx] = scaling.offset - scaling.factor * eta
    return oof


def _calibrate(scores: np.ndarray, y: np.ndarray, folds: int, max_points: int = 40) -> Calibration:
    iso = IsotonicRegression(increasing=False, out_of_bounds="clip", y_min=0.0, y_max=1.0)
    iso.fit(scores, y)
    xs = np.asarray(iso.X_thresholds_, dtype=np.float64)
    ps = np.asarray(iso.y_thresholds_, dtype=np.float64)
    if xs.size > max_points:
        grid = np.unique(np.quantile(scores, np.linspace(0, 1, max_points)))
        xs, ps = grid, np.interp(grid, xs, ps)
    xs = np.round(xs, 2)
    keep = np.concatenate([[True], np.diff(xs) > 0])
    return Calibration(
        method=f"isotonic on out-of-fold scores ({folds} folds)",
        scores=tuple(xs[keep].tolist()),
        probabilities=tuple(np.round(ps[keep], 6).tolist()),
    )
