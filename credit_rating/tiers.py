"""Credit-risk tiers A–D (信用风险分类) from scores: fixed cut-offs or cut-offs from target shares.

Scores follow the scorecard convention "higher score = lower risk". A score at or above the A
cut-off is tier A, at or above B is B, at or above C is C, anything lower is D. Tiers are coded
0..3 (A..D) in arrays.

Cut-offs from target shares (e.g. A 30 %, B 40 %, C 20 %, D 10 %): sort the reference scores
from best to worst; the A cut-off is the score of the enterprise at rank ceil(0.30 × n), the B
cut-off the score at rank ceil(0.70 × n), the C cut-off at rank ceil(0.90 × n). Enterprises tied
with the one at the boundary get the better tier (equal scores never get different tiers), so the
realised shares can exceed a target by the size of the tie group at its boundary; `realised_shares`
reports them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

TIERS = ("A", "B", "C", "D")
TIER_NAMES_ZH = ("信用风险低", "信用风险一般", "信用风险较高", "信用风险高")
TIER_NAMES_EN = (
    "low credit risk",
    "average credit risk",
    "elevated credit risk",
    "high credit risk",
)


class TierError(ValueError):
    """Invalid cut-offs or target shares; the message names the field."""


@dataclass(frozen=True)
class Cutoffs:
    """Lowest score of tiers A, B and C (D is everything below C)."""

    a: float
    b: float
    c: float

    def __post_init__(self) -> None:
        for name, value in (("A", self.a), ("B", self.b), ("C", self.c)):
            if not math.isfinite(value):
                raise TierError(f"tiers.cutoffs.{name}: not a finite number: {value!r}")
        if not self.a >= self.b >= self.c:
            raise TierError(
                f"tiers.cutoffs: must satisfy A >= B >= C, got A={self.a}, B={self.b}, C={self.c}"
            )

    @classmethod
    def from_dict(cls, data: Mapping[str, float]) -> Cutoffs:
        missing = [t for t in TIERS[:3] if t not in data]
        if missing:
            raise TierError(f"tiers.cutoffs: missing {', '.join(missing)} (need A, B and C)")
        extra = set(data) - set(TIERS[:3])
        if extra:
            raise TierError(f"tiers.cutoffs: unknown keys {sorted(extra)} (only A, B, C)")
        try:
            return cls(float(data["A"]), float(data["B"]), float(data["C"]))
        except (TypeError, ValueError) as exc:
            raise TierError(f"tiers.cutoffs: not a number ({exc})") from exc

    def as_dict(self) -> dict[str, float]:
        return {"A": _plain(self.a), "B": _plain(self.b), "C": _plain(self.c)}

    def as_array(self) -> np.ndarray:
        return np.array([self.a, self.b, self.c], dtype=np.float64)


def _plain(value: float) -> float:
    """Whole numbers as int in JSON (reads better in a diff)."""
    return int(value) if float(value).is_integer() else float(value)


def validate_shares(shares: Mapping[str, float]) -> dict[str, float]:
    """Target shares for A..D: all four, each in [0, 1], summing to 1 (within 1e-6)."""
    missing = [t for t in TIERS if t not in shares]
    if missing:
        raise TierError(f"tiers.shares: missing {', '.join(missing)} (need A, B, C and D)")
    extra = set(shares) - set(TIERS)
    if extra:
        raise TierError(f"tiers.shares: unknown keys {sorted(extra)} (only A, B, C, D)")
    out: dict[str, float] = {}
    for tier in TIERS:
        try:
            value = float(shares[tier])
        except (TypeError, ValueError) as exc:
            raise TierError(f"tiers.shares.{tier}: not a number: {shares[tier]!r}") from exc
        if not 0.0 <= value <= 1.0:
            raise TierError(f"tiers.shares.{tier}: must be between 0 and 1, got {value}")
        out[tier] = value
    total = sum(out.values())
    if abs(total - 1.0) > 1e-6:
        raise TierError(f"tiers.shares: must sum to 1, got {total:.6f}")
    return out


def cutoffs_from_shares(scores: np.ndarray, shares: Mapping[str, float]) -> Cutoffs:
    """Cut-offs that give the reference scores the target shares (rule in the module docstring).

    A target share of 0 puts the cut-off above the best score (nobody in that tier).
    """
    target = validate_shares(shares)
    values = np.asarray(scores, dtype=np.float64)
    if values.ndim != 1 or values.size == 0:
        raise TierError("scores: need a non-empty one-dimensional array to derive cut-offs")
    if not np.isfinite(values).all():
        raise TierError("scores: contain NaN or infinite values")
    ordered = np.sort(values)[::-1]  # best first
    n = ordered.size
    cuts: list[float] = []
    cumulative = 0.0
    for tier in TIERS[:3]:
        cumulative += target[tier]
        rank = math.ceil(round(cumulative * n, 9))  # round: 0.7 * 10 must be 7, not 7.000001
        cuts.append(float(ordered[rank - 1]) if rank >= 1 else float(ordered[0]) + 1.0)
    # A zero share below a non-zero one must not lift the later cut-off above the earlier.
    a, b, c = cuts
    b = min(b, a)
    c = min(c, b)
    return Cutoffs(a, b, c)


def assign_tiers(scores: np.ndarray, cutoffs: Cutoffs, out: np.ndarray | None = None) -> np.ndarray:
    """Tier codes 0..3 (A..D) as uint8: the number of cut-offs the score falls below."""
    values = np.asarray(scores)
    result = np.empty(values.shape, dtype=np.uint8) if out is None else out
    tmp = np.empty(values.shape, dtype=bool)
    np.less(values, cutoffs.a, out=tmp)
    np.copyto(result, tmp, casting="unsafe")
    for cut in (cutoffs.b, cutoffs.c):
        np.less(values, cut, out=tmp)
        np.add(result, tmp, out=result, casting="unsafe")
    return result


def tier_labels(codes: np.ndarray) -> np.ndarray:
    """Letters 'A'..'D' for tier codes."""
    return np.asarray(TIERS)[np.asarray(codes, dtype=np.intp)]


def realised_shares(codes: np.ndarray) -> dict[str, float]:
    counts = np.bincount(np.asarray(codes, dtype=np.intp), minlength=4)[:4]
    total = max(int(counts.sum()), 1)
    return {tier: float(counts[i] / total) for i, tier in enumerate(TIERS)}


def tier_code(letter: str) -> int:
    try:
        return TIERS.index(letter)
    except ValueError:
        raise TierError(f"not a tier: {letter!r} (one of A, B, C, D)") from None
