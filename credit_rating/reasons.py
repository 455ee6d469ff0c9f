"""Reason codes (评分理由): the indicators that cost an enterprise the most points.

The cost of an indicator is the points of its best bin minus the points the enterprise earned in
it (never negative). The reasons of a row are its ``k`` costliest indicators with a cost above
zero, costliest first; equal costs keep the scorecard's indicator order. A reason is stored as a
code (``penalty_index/3``, ``annual_report/missing``) which, with the scorecard id and version,
names one bin; the wording comes from the scorecard, in Chinese or English.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from credit_rating.scorecard import CHUNK, Scorecard, ScoreResult


@dataclass(frozen=True)
class Reasons:
    """Top-k reasons per row: indicator index (-1 = none), bin index and points lost."""

    card: Scorecard
    indicator: np.ndarray  # int16 (n, k)
    bin: np.ndarray  # uint8 (n, k)
    lost: np.ndarray  # int32 (n, k), 0 where indicator is -1

    def codes(self, row: int) -> list[str]:
        return [
            self.card.indicators[j].reason_code(int(b))
            for j, b in zip(self.indicator[row], self.bin[row], strict=True)
            if j >= 0
        ]

    def texts(self, row: int, lang: str = "zh") -> list[str]:
        return [
            reason_text(self.card, int(j), int(b), int(p), lang)
            for j, b, p in zip(self.indicator[row], self.bin[row], self.lost[row], strict=True)
            if j >= 0
        ]


def reason_codes(result: ScoreResult, k: int = 3, *, threads: int | None = None) -> Reasons:
    """The ``k`` costliest indicators of every row of ``result`` (vectorised, in blocks).

    Each (indicator, bin) gets one sortable key, cost × 2^16 + (2^16 − 1 − indicator), so that
    the largest key is the costliest indicator and, among equal costs, the first in the card;
    the top k are taken by k passes of an element-wise maximum over the indicators.
    """
    card = result.card
    m, n = result.bins.shape
    k = max(0, min(k, m))
    indicator = np.full((n, k), -1, dtype=np.int16)
    bins_out = np.zeros((n, k), dtype=np.uint8)
    lost = np.zeros((n, k), dtype=np.int32)
    if k == 0 or n == 0:
        return Reasons(card, indicator, bins_out, lost)
    shift = 16
    low = (1 << shift) - 1
    key_luts = [
        ((ind.best_points - ind.points_lut.astype(np.int64)) << shift) + (low - j)
        for j, ind in enumerate(card.indicators)
    ]

    def block(start: int) -> None:
        stop = min(n, start + CHUNK)
        width = stop - start
        key = np.empty((m, width), dtype=np.int64)
        for j in range(m):
            np.take(key_luts[j], result.bins[j, start:stop], out=key[j])
        columns = np.arange(width)
        for rank in range(k):
            best = np.maximum.reduce(key, axis=0)
            cost = best >> shift
            which = low - (best & low)
            has = cost > 0
            indicator[start:stop, rank] = np.where(has, which, -1)
            lost[start:stop, rank] = np.where(has, cost, 0)
            bins_out[start:stop, rank] = np.where(has, result.bins[which, start + columns], 0)
            key[which, columns] = -1  # below every real key: not picked again

    starts = range(0, n, CHUNK)
    workers = threads if threads is not None else min(os.cpu_count() or 1, 8)
    if workers > 1 and len(starts) > 1:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(block, starts))
    else:
        for start in starts:
            block(start)
    return Reasons(card, indicator, bins_out, lost)


def reason_text(card: Scorecard, indicator: int, bin_index: int, lost: int, lang: str) -> str:
    """E.g. 行政处罚指数：3及以上（扣60分） / Administrative penalties: 3 or more (−60 points)."""
    ind = card.indicators[indicator]
    label = ind.label.get(lang)
    bin_label = ind.bin(bin_index).label.get(lang)
    if lang.lower().startswith("zh"):
        return f"{label}：{bin_label}（扣{lost}分）"
    return f"{label}: {bin_label} (−{lost} points)"


def explain(result: ScoreResult, row: int, k: int = 3, lang: str = "zh") -> list[str]:
    """Reason texts of one row."""
    return reason_codes(result.take(np.array([row])), k).texts(0, lang)
