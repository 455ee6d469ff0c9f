"""Helpers for computing indicator values from event rows (penalties, findings, complaints).

The data side turns its tables into one array per indicator; the arithmetic that the scorecards'
``definition`` texts describe lives here so that it is the same everywhere and tested once.
"""

from __future__ import annotations

import numpy as np

# Severity weights of administrative penalties (general.json, indicator penalty_index).
PENALTY_SEVERITY = {
    "warning": 1.0,  # 警告、通报批评
    "fine": 2.0,  # 罚款
    "confiscation": 3.0,  # 没收违法所得、没收非法财物
    "suspension": 4.0,  # 暂扣许可证件、降低资质等级、限制开展生产经营活动、责令停产停业
    "revocation": 5.0,  # 吊销许可证件/营业执照、责令关闭、限制从业
}
DAYS_PER_MONTH = 365.25 / 12


def recency_weighted_sum(
    owner: np.ndarray,
    age_days: np.ndarray,
    weight: np.ndarray,
    n_owners: int,
    *,
    half_life_days: float = 365.25,
    window_days: float = 3 * 365.25,
) -> np.ndarray:
    """Per owner: Σ weight × 0.5^(age / half-life) over events with 0 ≤ age < window.

    ``owner`` holds the row index (0..n_owners-1) of the enterprise of each event; ``age_days``
    how long before the rating date the event happened. Events in the future (negative age) or
    outside the window are ignored. Owners without events get 0 (a known zero: the caller
    passes NaN for owners whose history is unknown).
    """
    owner = np.asarray(owner, dtype=np.intp)
    age = np.asarray(age_days, dtype=np.float64)
    w = np.asarray(weight, dtype=np.float64)
    if not owner.shape == age.shape == w.shape:
        raise ValueError("owner, age_days and weight must have the same length")
    if owner.size and (owner.min() < 0 or owner.max() >= n_owners):
        raise ValueError(f"owner: indices must be in 0..{n_owners - 1}")
    if half_life_days <= 0 or window_days <= 0:
        raise ValueError("half_life_days and window_days must be positive")
    keep = (age >= 0) & (age < window_days)
    contrib = w[keep] * np.exp2(-age[keep] / half_life_days)
    return np.bincount(owner[keep], weights=contrib, minlength=n_owners)


def count_in_window(
    owner: np.ndarray, age_days: np.ndarray, n_owners: int, *, window_days: float
) -> np.ndarray:
    """Per owner: the number of events with 0 ≤ age < window (float, for numeric indicators)."""
    owner = np.asarray(owner, dtype=np.intp)
    age = np.asarray(age_days, dtype=np.float64)
    keep = (age >= 0) & (age < window_days)
    return np.bincount(owner[keep], minlength=n_owners).astype(np.float64)
