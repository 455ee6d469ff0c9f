"""Scoring benchmark: a 30-indicator scorecard over N synthetic enterprises, against pandas.

Used by ``suijian bench rate``; see docs/benchmarks.md. The data (one array per indicator, about
2 % missing; floats for numeric indicators, int8 codes for categoricals and flags) is built
first and not timed. ``seconds`` is ``Scorecard.score`` on all rows — bin per indicator, points,
total, tier with the bin caps — best of ``repeat`` runs. ``baseline_seconds`` is the same card
applied the usual pandas way on the same rows, from a DataFrame built beforehand (not timed):
``pd.cut`` per numeric indicator, ``Series.map`` per categorical and flag, ``fillna`` with the
missing points, the sum, and ``pd.cut`` of the total into tiers. The two totals and tiers are
compared row by row; a difference is an error. ``reasons_seconds`` is one run of
``reason_codes`` (the three costliest indicators of every row) on the result. With
``train_rows`` it also trains a card on that many synthetic inspection rows (outcomes from a
known logistic model plus 200 inspectors' strictness) and reports ``train_seconds``.
"""

from __future__ import annotations

import gc
import os
import platform
import time
from typing import Any

import numpy as np
import pandas as pd

from credit_rating import Scorecard, Text, reason_codes, train_scorecard
from credit_rating.synthetic import synthetic_card, synthetic_columns, synthetic_history
from credit_rating.tiers import TIERS

DEFAULT_ENTERPRISES = 10_000_000
DEFAULT_INDICATORS = 30
DEFAULT_REPEAT = 3


def run(
    n: int = DEFAULT_ENTERPRISES,
    *,
    indicators: int = DEFAULT_INDICATORS,
    repeat: int = DEFAULT_REPEAT,
    baseline: bool = True,
    train_rows: int = 0,
    threads: int | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    card = synthetic_card(indicators, seed)
    started = time.perf_counter()
    columns = synthetic_columns(card, n, seed)
    generation = time.perf_counter() - started

    runs = []
    result = None
    for _ in range(max(1, repeat)):
        result = None
        gc.collect()
        started = time.perf_counter()
        result = card.score(columns, threads=threads)
        runs.append(time.perf_counter() - started)
    assert result is not None

    gc.collect()
    started = time.perf_counter()
    reason_codes(result, 3, threads=threads)
    reasons_seconds = time.perf_counter() - started

    figures: dict[str, Any] = {
        "enterprises": n,
        "indicators": len(card.indicators),
        "seconds": round(min(runs), 4),
        "baseline_seconds": None,
        "runs_seconds": [round(r, 4) for r in runs],
        "rows_per_second": round(n / min(runs)),
        "reasons_seconds": round(reasons_seconds, 4),
        "threads": threads if threads is not None else min(os.cpu_count() or 1, 8),
        "tier_shares": {
            t: round(float(s), 4)
            for t, s in zip(TIERS, np.bincount(result.tier, minlength=4) / max(n, 1), strict=True)
        },
        "generation_seconds": round(generation, 2),
    }
    if baseline:
        frame = pd.DataFrame(columns)
        gc.collect()
        started = time.perf_counter()
        total, tier = pandas_score(card, frame)
        figures["baseline_seconds"] = round(time.perf_counter() - started, 4)
        if not np.array_equal(total, result.score) or not np.array_equal(tier, result.tier):
            raise RuntimeError("the pandas baseline and Scorecard.score disagree")
        figures["speedup"] = round(figures["baseline_seconds"] / figures["seconds"], 1)
        del frame
    if train_rows:
        history, outcome, inspector, specs = synthetic_history(card, train_rows, seed=seed)
        started = time.perf_counter()
        trained = train_scorecard(
            history,
            outcome,
            specs,
            card_id="synthetic-trained",
            version="bench",
            title=Text("合成训练", "synthetic training"),
            inspector=inspector,
        )
        figures["train_rows"] = train_rows
        figures["train_seconds"] = round(time.perf_counter() - started, 2)
        figures["train_refits"] = trained.refits
        figures["train_breakdown"] = dict(trained.stats)
    figures["numpy"] = np.__version__
    figures["pandas"] = pd.__version__
    figures["python"] = platform.python_version()
    figures["cpus"] = os.cpu_count()
    return figures


def pandas_score(card: Scorecard, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """The same card with pandas: pd.cut / map per indicator, the sum, pd.cut into tiers."""
    total = pd.Series(card.base_points, index=frame.index, dtype="int64")
    for ind in card.indicators:
        column = frame[ind.name]
        if ind.type == "numeric":
            edges = [-np.inf, *ind.edges.tolist(), np.inf]
            points = [b.points for b in ind.bins]
            binned = pd.cut(column, bins=edges, right=False, labels=False)
            earned = binned.map(dict(enumerate(points))).fillna(ind.missing.points)
        else:
            lookup = {code: ind.bins[int(b)].points for code, b in enumerate(ind.code_to_bin[:-2])}
            earned = column.map(lookup).fillna(ind.missing.points)
        total += earned.astype("int64")
    assert card.cutoffs is not None
    c = card.cutoffs
    tiers = pd.cut(total, bins=[-np.inf, c.c, c.b, c.a, np.inf], right=False, labels=False)
    tier = (3 - tiers).astype("uint8")
    for ind in card.indicators:  # bin caps (none in the synthetic card, kept for equality)
        if ind.has_caps:
            raise RuntimeError("the pandas baseline does not apply bin caps")
    return total.to_numpy(dtype=np.int32), tier.to_numpy()


def human(figures: dict[str, Any]) -> str:
    lines = [
        f"scored {figures['enterprises']:,} enterprises with {figures['indicators']} indicators "
        f"in {figures['seconds']:.3f} s ({figures['rows_per_second']:,} rows/s, "
        f"{figures['threads']} threads)",
    ]
    if figures.get("baseline_seconds") is not None:
        lines.append(
            f"pandas baseline: {figures['baseline_seconds']:.3f} s ({figures['speedup']}x slower)"
        )
    if "train_seconds" in figures:
        lines.append(
            f"training on {figures['train_rows']:,} rows: {figures['train_seconds']:.1f} s"
        )
    return "\n".join(lines)
