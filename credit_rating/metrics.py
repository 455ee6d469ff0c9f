"""How well a risk ranking finds problems: AUC, KS, lift and the Chicago "days earlier" simulation.

``risk`` is any array where larger means riskier (for a scorecard: minus the score).

* ``auc``: area under the ROC curve, ties counted half (Mann–Whitney).
* ``ks``: the largest gap between the cumulative shares of rows with and without a problem,
  taken only at distinct risk values (ties are never split).
* ``lift(share)``: the problem rate among the riskiest ``share`` of rows divided by the overall
  rate. Rows tied at the boundary count by the fraction of the tie group that fits (the expected
  rate under a random order of the ties), so a ranking cannot gain from how ties are broken.
* ``days_earlier``: the City of Chicago's evaluation (food-inspections-evaluation, 2014).
  Capacity is the actual schedule: every date on which the evaluated inspections took place
  keeps its number of inspections, and days without inspections stay without. The inspections
  are re-ordered by risk (riskiest first; ties keep their actual order, by date and then by
  their position in the input) and assigned to the dates in order, filling each date's capacity
  before the next. For each inspection that found a problem, days earlier = actual date −
  simulated date; the result is the mean over those inspections (negative when later). A ranking
  with no information (all tied) gives exactly 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.metrics import roc_auc_score


def _check(y: np.ndarray, risk: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y)
    r = np.asarray(risk, dtype=np.float64)
    if y.ndim != 1 or y.shape != r.shape:
        raise ValueError("outcome and risk must be one-dimensional and of the same length")
    if y.size == 0:
        raise ValueError("outcome: empty")
    if not np.isin(y, (0, 1)).all():
        raise ValueError("outcome: must be 0 or 1")
    if np.isnan(r).any():
        raise ValueError("risk: contains NaN")
    return y.astype(np.int8), r


def auc(y: np.ndarray, risk: np.ndarray) -> float:
    y, r = _check(y, risk)
    if y.min() == y.max():
        raise ValueError("outcome: AUC needs both outcomes")
    return float(roc_auc_score(y, r))


def ks(y: np.ndarray, risk: np.ndarray) -> float:
    y, r = _check(y, risk)
    pos, neg = int(y.sum()), int(y.size - y.sum())
    if pos == 0 or neg == 0:
        raise ValueError("outcome: KS needs both outcomes")
    order = np.argsort(-r, kind="stable")
    rs, ys = r[order], y[order]
    last_of_tie = np.concatenate([rs[1:] != rs[:-1], [True]])
    tp = np.cumsum(ys)[last_of_tie] / pos
    fp = np.cumsum(1 - ys)[last_of_tie] / neg
    return float(np.max(np.abs(tp - fp)))


def lift(y: np.ndarray, risk: np.ndarray, share: float = 0.25) -> float:
    """Problem rate in the riskiest ``share`` of rows ÷ overall problem rate (tie-aware)."""
    y, r = _check(y, risk)
    if not 0 < share <= 1:
        raise ValueError("share: must be in (0, 1]")
    base = float(y.mean())
    if base == 0:
        raise ValueError("outcome: lift needs at least one problem found")
    k = share * y.size
    _, inverse = np.unique(-r, return_inverse=True)  # riskiest value first
    counts = np.bincount(inverse)
    positives = np.bincount(inverse, weights=y)
    before = np.concatenate([[0], np.cumsum(counts)[:-1]])
    taken = np.clip(k - before, 0, counts)  # rows of each tie group inside the top k
    found = float((positives * taken / counts).sum())
    return (found / k) / base


def top_share_rate(y: np.ndarray, risk: np.ndarray, share: float) -> float:
    return lift(y, risk, share) * float(np.asarray(y).mean())


def days_earlier(dates: np.ndarray, y: np.ndarray, risk: np.ndarray) -> float:
    """Mean days earlier each problem would have been found (see the module docstring)."""
    y, r = _check(y, risk)
    d = np.asarray(dates).astype("datetime64[D]")
    if d.shape != y.shape:
        raise ValueError("dates: must have one date per row")
    if y.sum() == 0:
        raise ValueError("outcome: days_earlier needs at least one problem found")
    order = np.lexsort((np.arange(y.size), d, -r))  # riskiest first; ties by date, then input
    slots = np.sort(d)  # the actual schedule: each date repeated by its capacity
    simulated = np.empty_like(d)
    simulated[order] = slots
    gained = (d - simulated).astype(np.int64)
    return float(gained[y == 1].mean())


def random_order_days_earlier(dates: np.ndarray, y: np.ndarray) -> float:
    """Expected ``days_earlier`` of a uniformly random order.

    Under a random order every inspection's simulated date is, on average, the mean date of the
    schedule, so the expectation is the mean actual date of the inspections that found a problem
    minus the mean date of all of them. It is not zero when the finding rate drifts within the
    window (a seasonal rise makes any order look good): the figure to compare a ranking with.
    """
    d = np.asarray(dates).astype("datetime64[D]").astype(np.int64)
    y = np.asarray(y)
    return float(d[y == 1].mean() - d.mean())


@dataclass(frozen=True)
class Evaluation:
    auc: float
    ks: float
    base_rate: float
    top_quarter_lift: float
    days_earlier: float

    def as_dict(self, digits: int = 4) -> dict[str, float]:
        return {k: round(float(v), digits) for k, v in self.__dict__.items()}


def evaluate(dates: np.ndarray, y: np.ndarray, risk: np.ndarray) -> Evaluation:
    y = np.asarray(y)
    return Evaluation(
        auc=auc(y, risk),
        ks=ks(y, risk),
        base_rate=float(y.mean()),
        top_quarter_lift=lift(y, risk, 0.25),
        days_earlier=days_earlier(dates, y, risk),
    )
