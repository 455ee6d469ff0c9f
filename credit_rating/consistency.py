"""Inspector consistency (执法尺度一致性): finding rate per inspector against funnel-plot limits.

With inspectors assigned at random, every inspector should find problems at about the same rate;
how far a rate may stray by chance depends on how many inspections it rests on. For an inspector
with ``n`` inspections the control limits around the target rate ``p`` are the binomial
quantiles of Binomial(n, p) divided by n: 95 % limits (2.5 % and 97.5 %) and 99.8 % limits
(0.1 % and 99.9 %). The target is the overall finding rate, or, when each inspection's expected
probability is given (case mix: a scorecard's calibrated probability of its enterprise), the
inspector's own expected rate Σp/n with a normal approximation of the Poisson-binomial spread.

Flags: ``high``/``low`` outside the 99.8 % limits (a significant outlier), ``warning_high``/
``warning_low`` outside the 95 % limits only, else empty. The trainer's strictness (the
inspector's log-odds shift, shrunk) is reported beside the rates when available.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.stats import binom, norm

LEVELS = (0.95, 0.998)


@dataclass(frozen=True)
class InspectorRow:
    inspector: str
    inspections: int
    findings: int
    rate: float
    target: float
    limits_95: tuple[float, float]
    limits_998: tuple[float, float]
    z: float
    flag: str
    strictness: float | None = None  # log-odds shift from training, if known

    def as_dict(self) -> dict[str, Any]:
        out = {
            "inspector": self.inspector,
            "inspections": self.inspections,
            "findings": self.findings,
            "rate": round(self.rate, 4),
            "target": round(self.target, 4),
            "limits_95": [round(v, 4) for v in self.limits_95],
            "limits_998": [round(v, 4) for v in self.limits_998],
            "z": round(self.z, 3),
            "flag": self.flag,
        }
        if self.strictness is not None:
            out["strictness"] = round(self.strictness, 4)
        return out


@dataclass(frozen=True)
class ConsistencyReport:
    overall_rate: float
    rows: tuple[InspectorRow, ...]
    case_mix_adjusted: bool

    @property
    def outliers(self) -> tuple[InspectorRow, ...]:
        return tuple(r for r in self.rows if r.flag in ("high", "low"))

    def as_dict(self) -> dict[str, Any]:
        return {
            "overall_rate": round(self.overall_rate, 4),
            "case_mix_adjusted": self.case_mix_adjusted,
            "inspectors": [r.as_dict() for r in self.rows],
            "outliers": [r.inspector for r in self.outliers],
        }


def consistency_report(
    inspector: Sequence[Any] | np.ndarray,
    found: np.ndarray,
    *,
    expected: np.ndarray | None = None,
    strictness: dict[str, float] | None = None,
    min_inspections: int = 1,
) -> ConsistencyReport:
    """Per-inspector finding rates with funnel limits; unknown inspectors (None/"") are left out
    of the rows but counted in the overall rate."""
    labels = np.asarray(
        [
            "" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v)
            for v in np.asarray(inspector, dtype=object).tolist()
        ],
        dtype=object,
    )
    y = np.asarray(found)
    if y.shape != labels.shape:
        raise ValueError("inspector and found must have the same length")
    if y.size == 0 or not np.isin(y, (0, 1)).all():
        raise ValueError("found: a non-empty array of 0 and 1")
    p_all = float(y.mean())
    probs = None
    if expected is not None:
        probs = np.asarray(expected, dtype=np.float64)
        if probs.shape != y.shape or np.any((probs < 0) | (probs > 1)):
            raise ValueError("expected: one probability in [0, 1] per inspection")
    rows = []
    for label in sorted(set(labels.tolist()) - {""}):
        mask = labels == label
        n = int(mask.sum())
        if n < min_inspections:
            continue
        x = int(y[mask].sum())
        rate = x / n
        if probs is None:
            target = p_all
            lim95 = _binomial_limits(n, target, 0.95)
            lim998 = _binomial_limits(n, target, 0.998)
            sd = np.sqrt(max(target * (1 - target), 1e-12) / n)
        else:
            p = probs[mask]
            target = float(p.mean())
            sd = float(np.sqrt(max((p * (1 - p)).sum(), 1e-12)) / n)
            lim95 = _normal_limits(target, sd, 0.95)
            lim998 = _normal_limits(target, sd, 0.998)
        z = (rate - target) / sd
        if rate > lim998[1]:
            flag = "high"
        elif rate < lim998[0]:
            flag = "low"
        elif rate > lim95[1]:
            flag = "warning_high"
        elif rate < lim95[0]:
            flag = "warning_low"
        else:
            flag = ""
        rows.append(
            InspectorRow(
                inspector=label,
                inspections=n,
                findings=x,
                rate=rate,
                target=target,
                limits_95=lim95,
                limits_998=lim998,
                z=float(z),
                flag=flag,
                strictness=None if strictness is None else strictness.get(label),
            )
        )
    return ConsistencyReport(p_all, tuple(rows), probs is not None)


def _binomial_limits(n: int, p: float, level: float) -> tuple[float, float]:
    tail = (1 - level) / 2
    low = float(binom.ppf(tail, n, p)) / n
    high = float(binom.ppf(1 - tail, n, p)) / n
    return low, high


def _normal_limits(target: float, sd: float, level: float) -> tuple[float, float]:
    z = float(norm.ppf(1 - (1 - level) / 2))
    return max(0.0, target - z * sd), min(1.0, target + z * sd)


def funnel(n: np.ndarray, p: float, level: float) -> tuple[np.ndarray, np.ndarray]:
    """The funnel's limit curves at inspection counts ``n`` (for plotting)."""
    counts = np.asarray(n, dtype=np.int64)
    tail = (1 - level) / 2
    safe = np.maximum(counts, 1)
    return binom.ppf(tail, safe, p) / safe, binom.ppf(1 - tail, safe, p) / safe
