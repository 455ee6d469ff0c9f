"""How many targets each stratum gets: risk-tiered ratios scaled to the budget, rounded exactly.

Each stratum h has N_h candidates (after exclusions) and a credit-risk tier with a plan ratio
r_h. The ratios are scaled by one common factor c so that the expected total equals the budget,
with every scaled ratio capped at 1 and the excess redistributed (water-filling):
``r'_h = min(1, c * r_h)`` and ``sum(r'_h * N_h) == budget``. ``r'_h`` is every candidate's
inclusion probability.

The exact method turns the expected counts ``r'_h * N_h`` into integers by randomised systematic
rounding: each stratum keeps the floor of its expected count, and one uniform draw ``u`` from
the "allocation" generator places points ``u, u + 1, u + 2, ...`` on the cumulative fractional
parts (strata in label order); a stratum gets one more target per point in its interval. The
counts then sum to the budget exactly and ``E[n_h] = r'_h * N_h`` (to 2**-40, the integer
resolution of the computation), because each interval is shorter than 1 and is hit with
probability equal to its length.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Literal

import numpy as np

from random_sampler import seeds

TIERS = ("A", "B", "C", "D")
TIER_D = 3
Method = Literal["exact", "poisson"]
METHODS: tuple[str, ...] = ("exact", "poisson")

# Expected counts this close to an integer are taken as that integer, so float noise in
# r'_h * N_h (e.g. 29.999999999999996) does not become a spurious fractional part.
_INTEGER_TOLERANCE = 1e-6
_UNIT = 1 << 40  # resolution of the rounding: expectations are exact to 2**-40


@dataclass(frozen=True)
class PlanSpec:
    """The sampling parameters of a plan.

    ``tier_ratio``: sampling ratio per credit-risk tier A..D, each in [0, 1].
    ``budget``: total number of targets to draw; None means ``round(sum(ratio * size))``.
    ``method``: "exact" (fixed counts, budget met exactly) or "poisson" (independent
    inclusion with the same probabilities; the total is random with expectation = budget).
    ``exclude_within_months``: candidates inspected less than this many months ago are
    excluded, except tier D. ``annual_cap``: candidates already inspected this many times this
    year are excluded. ``alternates_per_stratum``: an int is a count of backups per stratum,
    a float is a ratio of the stratum's drawn count (rounded up).
    """

    tier_ratio: tuple[float, float, float, float]
    budget: int | None = None
    method: Method = "exact"
    exclude_within_months: float | None = None
    annual_cap: int | None = None
    alternates_per_stratum: int | float = 3

    def __post_init__(self) -> None:
        try:
            ratios = tuple(self.tier_ratio)
        except TypeError:
            raise ValueError(f"plan.tier_ratio must be {len(TIERS)} numbers (A..D)") from None
        if len(ratios) != len(TIERS):
            raise ValueError(f"plan.tier_ratio needs {len(TIERS)} values (A..D), got {len(ratios)}")
        clean = []
        for tier, value in zip(TIERS, ratios, strict=True):
            if isinstance(value, bool) or not isinstance(value, int | float | np.number):
                raise ValueError(f"plan.tier_ratio[{tier}] must be a number, got {value!r}")
            number = float(value)
            if not 0.0 <= number <= 1.0:
                raise ValueError(f"plan.tier_ratio[{tier}] must be between 0 and 1, got {value}")
            clean.append(number)
        object.__setattr__(self, "tier_ratio", tuple(clean))
        if self.budget is not None:
            _require_int(self.budget, "plan.budget", minimum=0)
            object.__setattr__(self, "budget", int(self.budget))
        if self.method not in METHODS:
            raise ValueError(f"plan.method must be one of {METHODS}, got {self.method!r}")
        months = self.exclude_within_months
        if months is not None and (
            isinstance(months, bool)
            or not isinstance(months, int | float | np.number)
            or not math.isfinite(months)
            or months < 0
        ):
            raise ValueError(
                f"plan.exclude_within_months must be a non-negative number, got {months!r}"
            )
        if months is not None:
            object.__setattr__(self, "exclude_within_months", float(months))
        if self.annual_cap is not None:
            _require_int(self.annual_cap, "plan.annual_cap", minimum=1)
            object.__setattr__(self, "annual_cap", int(self.annual_cap))
        alternates = self.alternates_per_stratum
        if isinstance(alternates, bool | np.bool_) or not isinstance(
            alternates, int | float | np.integer | np.floating
        ):
            raise ValueError(
                f"plan.alternates_per_stratum must be a count or a ratio, got {alternates!r}"
            )
        alternates = (
            int(alternates) if isinstance(alternates, int | np.integer) else float(alternates)
        )
        object.__setattr__(self, "alternates_per_stratum", alternates)
        if not math.isfinite(alternates) or alternates < 0:
            raise ValueError(
                f"plan.alternates_per_stratum must not be negative, got {alternates!r}"
            )

    def alternates_for(self, drawn: int) -> int:
        """Number of alternates wanted for a stratum where ``drawn`` targets were drawn."""
        if isinstance(self.alternates_per_stratum, int):
            return self.alternates_per_stratum
        # The tolerance keeps float noise (0.1 * 30 = 3.0000000000000004) from adding one.
        return math.ceil(self.alternates_per_stratum * drawn - 1e-9)

    def as_dict(self) -> dict[str, object]:
        """Plain JSON-ready values (for the published bundle)."""
        values = asdict(self)
        values["tier_ratio"] = list(self.tier_ratio)
        return values


@dataclass(frozen=True)
class Allocation:
    """Per-stratum sizes, inclusion probabilities and (exact method) drawn counts.

    ``stratum_size``: candidates N_h; ``ratio``: r'_h, the inclusion probability;
    ``expected``: r'_h * N_h; ``count``: n_h for the exact method, None for Poisson;
    ``budget``: the expected total; ``scale``: the common factor c applied to the tier ratios;
    ``u``: the allocation generator's draw used for the rounding (None for Poisson).
    """

    method: str
    stratum_labels: tuple[str, ...]
    stratum_size: np.ndarray
    ratio: np.ndarray
    expected: np.ndarray
    count: np.ndarray | None
    budget: float
    scale: float
    u: float | None


def scaled_ratios(
    stratum_size: np.ndarray, base_ratio: np.ndarray, budget: int
) -> tuple[np.ndarray, float]:
    """``(r', c)`` with ``r'_h = min(1, c * r_h)`` and ``sum(r'_h * N_h) == budget``.

    Raises ValueError when the budget exceeds the candidates of strata with a positive ratio.
    """
    size = np.asarray(stratum_size, dtype=np.float64)
    base = np.asarray(base_ratio, dtype=np.float64)
    if size.shape != base.shape or size.ndim != 1:
        raise ValueError("stratum_size and base_ratio must be 1-D arrays of the same length")
    if np.any(size < 0) or np.any(base < 0):
        raise ValueError("stratum sizes and ratios must not be negative")
    active = (base > 0) & (size > 0)
    capacity = float(size[active].sum())
    if budget > capacity:
        raise ValueError(
            f"plan.budget {budget} exceeds the {int(capacity)} candidates in strata "
            "with a positive tier ratio"
        )
    if budget == 0:
        return np.zeros_like(base), 0.0
    # Water-filling: with the j largest ratios capped at 1, the rest scale by
    # c_j = (budget - capped sizes) / sum(r * N of the rest); the answer is the smallest j
    # whose largest uncapped ratio stays <= 1 after scaling. Products instead of quotients
    # keep tiny ratios from overflowing.
    order = np.flatnonzero(active)[np.argsort(-base[active], kind="stable")]
    r_sorted = base[order]
    n_sorted = size[order]
    remaining = budget - np.concatenate(([0.0], np.cumsum(n_sorted)[:-1]))
    rest_weight = np.cumsum((r_sorted * n_sorted)[::-1])[::-1]
    # The last j always fits (its c_j * r_j is the leftover share of the smallest-ratio
    # stratum, <= 1 because budget <= capacity), so argmax finds a true entry.
    fits = remaining * r_sorted <= rest_weight * (1.0 + 1e-12)
    j = int(np.argmax(fits))
    with np.errstate(over="ignore"):
        scale = float(remaining[j] / rest_weight[j])
        ratio = np.minimum(1.0, base / rest_weight[j] * remaining[j])
    ratio[order[:j]] = 1.0
    return ratio, scale


def systematic_round(expected: np.ndarray, total: int, order: np.ndarray, u: float) -> np.ndarray:
    """Integers with ``sum == total`` and ``E[result] == expected`` when ``u ~ U[0, 1)``.

    ``order`` is the order in which strata are laid on the line (a permutation of the
    indices); ``sum(expected)`` must equal ``total`` up to float noise.
    """
    expected = np.asarray(expected, dtype=np.float64)
    if not 0.0 <= u < 1.0:
        raise ValueError(f"u must be in [0, 1), got {u}")
    nearest = np.rint(expected)
    snapped = np.where(np.abs(expected - nearest) <= _INTEGER_TOLERANCE, nearest, expected)
    floor = np.floor(snapped)
    fraction = snapped - floor
    remainder = total - int(floor.sum())
    if abs(float(fraction.sum()) - remainder) > _INTEGER_TOLERANCE * max(1, len(expected)):
        raise ValueError(
            f"expected counts sum to {float(expected.sum())!r}, not to the total {total}"
        )
    # Integer arithmetic in units of 2**-40 makes the rounding exact and portable: float
    # cumulative sums minus u can round across an integer and lose a unit of the total.
    units = np.rint(fraction * _UNIT).astype(np.int64)
    if remainder > 0:
        units[np.argmax(units)] += remainder * _UNIT - int(units.sum())  # absorb float drift
    else:
        units[:] = 0
    cumulative = np.cumsum(units[order])
    start = int(u * _UNIT)  # the first point; later points are start + k * _UNIT
    hits = np.maximum(cumulative - start + _UNIT - 1, 0) // _UNIT  # points below each cut
    extra = np.diff(hits, prepend=0)
    counts = floor.astype(np.int64)
    counts[order] += extra
    return counts


def allocate(
    stratum_size: np.ndarray,
    stratum_tier: np.ndarray,
    stratum_labels: Sequence[str],
    plan: PlanSpec,
    key: bytes,
) -> Allocation:
    """Scale the tier ratios to the budget and, for the exact method, round the counts."""
    size = np.asarray(stratum_size)
    tier = np.asarray(stratum_tier)
    check_strata(stratum_labels, tier)
    if size.shape != tier.shape:
        raise ValueError(
            f"stratum_size has {size.shape[0]} strata but stratum_tier has {tier.shape[0]}"
        )
    if np.any(size < 0):
        raise ValueError("stratum_size must not be negative")
    size = size.astype(np.int64)
    base = np.asarray(plan.tier_ratio, dtype=np.float64)[tier.astype(np.intp)]
    unscaled_total = float(np.dot(base, size))
    if plan.budget is None and plan.method == "poisson":
        ratio, scale = base.copy(), 1.0
        budget: float = unscaled_total
    else:
        target = plan.budget if plan.budget is not None else math.floor(unscaled_total + 0.5)
        ratio, scale = scaled_ratios(size, base, target)
        budget = float(target)
    expected = ratio * size
    count = None
    u = None
    if plan.method == "exact":
        u = float(seeds.generator(seeds.stratum_seed(key, seeds.ALLOCATION_LABEL)).random())
        order = np.array(sorted(range(len(stratum_labels)), key=stratum_labels.__getitem__))
        count = systematic_round(expected, int(budget), order.astype(np.intp), u)
    return Allocation(
        method=plan.method,
        stratum_labels=tuple(stratum_labels),
        stratum_size=size,
        ratio=ratio,
        expected=expected,
        count=count,
        budget=budget,
        scale=scale,
        u=u,
    )


def check_strata(stratum_labels: Sequence[str], stratum_tier: np.ndarray) -> None:
    """Labels are unique strings, not reserved, one per tier code; tier codes are 0..3."""
    tier = np.asarray(stratum_tier)
    if tier.ndim != 1:
        raise ValueError("stratum_tier must be a 1-D array")
    if len(stratum_labels) != tier.shape[0]:
        raise ValueError(
            f"stratum_labels has {len(stratum_labels)} labels but stratum_tier has "
            f"{tier.shape[0]} strata"
        )
    if tier.size and (
        not np.issubdtype(tier.dtype, np.integer) or tier.min() < 0 or tier.max() > 3
    ):
        raise ValueError("stratum_tier values must be tier codes 0..3 (A..D)")
    seen: set[str] = set()
    for label in stratum_labels:
        if not isinstance(label, str) or not label:
            raise ValueError(f"stratum label {label!r} must be a non-empty string")
        if label in seeds.RESERVED_LABELS:
            raise ValueError(f"stratum label {label!r} is reserved for the draw itself")
        if label in seen:
            raise ValueError(f"stratum label {label!r} appears twice")
        seen.add(label)


def _require_int(value: object, name: str, *, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ValueError(f"{name} must be a whole number, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}")
