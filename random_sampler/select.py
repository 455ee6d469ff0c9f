"""Target selection: exclusions, stratified draw, alternates, item coverage and checklists.

Definition of one stratum's draw (algorithm ``suijian-draw/1``), reproducible anywhere:

1. The stratum's candidates are its non-excluded targets in input order (the published
   snapshot order), positions ``0 .. N_h - 1``.
2. ``u = generator(stratum_seed(key, label)).random(N_h)``: one double per candidate.
3. Candidates sorted by ``(u, position)`` form a uniformly random permutation.
   Exact method: the first ``n_h`` of the permutation are drawn (a random permutation
   prefix) and the next ``A_h`` are the alternates, in permutation order. Poisson method:
   the candidates with ``u < r'_h`` are drawn (each independently with probability
   ``r'_h``) and the alternates are the next ``A_h`` of the permutation.
4. Drawn targets are listed in position order (a sample has no meaningful internal order,
   and not sorting it keeps the draw linear); alternates are listed in rank order.

Only the stratum's own generator and its own candidates are involved, so any subset of strata
computes bit-identically in any process. The allocation (n_h) and the item coverage step are
global and cheap; they are computed once from the per-stratum candidate counts.

The permutation is defined by sorting the doubles rather than by ``Generator.permutation``
because NumPy pins the bit streams across versions but not the shuffling algorithms.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from random_sampler import seeds
from random_sampler.allocation import TIER_D, Allocation, PlanSpec, allocate, check_strata

# Exclusion reasons (excluded_reason codes).
NOT_EXCLUDED = 0
NOT_IN_BUSINESS = 1
INSPECTED_RECENTLY = 2
ANNUAL_CAP = 3
NO_ITEM = 4  # none of the plan's items applies to the target (addition to the spec's 0..3)

EXCLUSION_TEXT: dict[int, tuple[str, str]] = {
    NOT_EXCLUDED: ("not excluded", "未排除"),
    NOT_IN_BUSINESS: ("not in business", "非存续（在业）状态"),
    INSPECTED_RECENTLY: ("inspected within the plan's exclusion period", "近期已被检查"),
    ANNUAL_CAP: ("annual inspection cap reached", "已达年度检查次数上限"),
    NO_ITEM: ("no item of the plan applies", "无适用的抽查事项"),
}

# Item coverage status (item_coverage codes).
ITEM_NOT_EVALUATED = -1  # coverage is global: not run when only some strata are computed
ITEM_COVERED = 0  # at least one drawn target is eligible for the item
ITEM_COVERED_BY_ADDITION = 1  # covered by a target added for coverage
ITEM_ALL_EXCLUDED = 2  # targets are in scope but every one of them is excluded
ITEM_NO_TARGET = 3  # no target is in the item's scope at all

ITEM_COVERAGE_TEXT: dict[int, tuple[str, str]] = {
    ITEM_NOT_EVALUATED: ("coverage not evaluated", "未评估覆盖"),
    ITEM_COVERED: ("covered by the draw", "已由抽取覆盖"),
    ITEM_COVERED_BY_ADDITION: ("covered by an added target", "已由补充抽取覆盖"),
    ITEM_ALL_EXCLUDED: ("every target in scope is excluded", "适用对象均被排除"),
    ITEM_NO_TARGET: ("no target in scope", "无适用对象"),
}

# Candidates are grouped by stratum in chunks small enough for a cache-resident radix sort;
# chunk-local positions then fit in uint16.
_CHUNK = 1 << 16
_BLOCK = 4 * _CHUNK


def exclusion_reason_text(code: int, locale: str = "zh-CN") -> str:
    """The reason for an exclusion code, in Chinese (default) or English."""
    english, chinese = EXCLUSION_TEXT[int(code)]
    return english if locale.lower().startswith("en") else chinese


def item_coverage_text(code: int, locale: str = "zh-CN") -> str:
    """The meaning of an item coverage code, in Chinese (default) or English."""
    english, chinese = ITEM_COVERAGE_TEXT[int(code)]
    return english if locale.lower().startswith("en") else chinese


@dataclass(frozen=True)
class StratumDraw:
    """One stratum's result as candidate positions (0-based, in the stratum's input order)."""

    drawn: np.ndarray
    alternates: np.ndarray


@dataclass(frozen=True)
class Coverage:
    """Targets added so that every coverable item has at least one drawn eligible target."""

    added: np.ndarray  # target indices, in the order added
    added_item: np.ndarray  # the item each addition was made for
    item_status: np.ndarray  # int8[K], ITEM_* codes


@dataclass(frozen=True)
class Selection:
    """The drawn targets, their alternates and the report numbers.

    Target-level arrays index the input arrays. ``drawn`` lists the sampled targets ordered
    by stratum code then input position, followed by the targets added for item coverage
    (``drawn_by_coverage``). ``stratum_allocation`` counts the sampled targets only, so for
    the exact method ``stratum_allocation.sum() == budget`` and ``len(drawn) == budget +
    len(coverage_added)``.
    """

    drawn: np.ndarray  # int64[n]
    drawn_stratum: np.ndarray  # int32[n]
    drawn_id: np.ndarray  # int64[n], target_id of the drawn targets
    drawn_by_coverage: np.ndarray  # bool[n]
    candidate_stratum: np.ndarray  # uint16/int32[N], stratum code; S for excluded targets
    excluded_reason: np.ndarray  # int8[N]
    alternates: np.ndarray  # int64[a], ordered by stratum then rank
    alternate_stratum: np.ndarray  # int32[a]
    alternate_rank: np.ndarray  # int32[a], 1 = first backup of its stratum
    alternate_id: np.ndarray  # int64[a]
    stratum_size: np.ndarray  # int64[S], candidates N_h
    stratum_probability: np.ndarray  # float64[S], r'_h
    stratum_expected: np.ndarray  # float64[S], r'_h * N_h
    stratum_allocation: np.ndarray  # int64[S], sampled n_h (0 for strata not computed)
    computed_strata: np.ndarray  # int64[...], the strata this call drew
    coverage_added: np.ndarray  # int64[c], target indices added for coverage
    coverage_item: np.ndarray  # int64[c], the item each was added for
    item_coverage: np.ndarray  # int8[K], ITEM_* codes
    items_for_target: np.ndarray  # bool[n, K], the merged checklist of each drawn target
    required_departments: np.ndarray  # bool[n, D], departments with an item on the target
    allocation: Allocation

    @cached_property
    def inclusion_probability(self) -> np.ndarray:
        """float64[N]: r'_h for each candidate, 0 for excluded targets.

        Computed on first use: at 10M targets it is an 80 MB array that the draw itself
        does not need.
        """
        return np.append(self.stratum_probability, 0.0)[self.candidate_stratum]

    @property
    def uncovered_items(self) -> np.ndarray:
        """Items no drawn target can cover (reported, never silently ignored)."""
        return np.flatnonzero(self.item_coverage >= ITEM_ALL_EXCLUDED)

    @property
    def cross_department(self) -> np.ndarray:
        """bool[n]: joint tasks, with items of two or more departments."""
        return self.required_departments.sum(axis=1) >= 2

    @property
    def cross_department_share(self) -> float:
        """Share of drawn targets that are joint (cross-department) tasks."""
        n = self.drawn.shape[0]
        return float(self.cross_department.sum() / n) if n else 0.0


def exclusions(
    stratum: np.ndarray,
    stratum_tier: np.ndarray,
    in_business: np.ndarray,
    months_since_last: np.ndarray,
    inspections_this_year: np.ndarray,
    eligible_items: np.ndarray,
    plan: PlanSpec,
) -> np.ndarray:
    """int8[N] exclusion reason per target (0 = candidate).

    Precedence when several apply: not in business, no item applies, inspected recently,
    annual cap. "Inspected recently" means ``months_since_last < exclude_within_months``
    (NaN = never inspected) and never applies to tier D; the cap excludes
    ``inspections_this_year >= annual_cap`` in every tier.
    """
    n = stratum.shape[0]
    rule = _RecentRule(plan, stratum_tier)
    reason = np.empty(n, dtype=np.int8)
    for block in _blocks(n):
        _exclude_block(
            reason[block],
            stratum[block],
            in_business[block],
            months_since_last[block],
            inspections_this_year[block],
            eligible_items[block],
            plan,
            rule,
        )
    return reason


class _RecentRule:
    """Which strata the "inspected recently" exclusion applies to (every tier except D)."""

    def __init__(self, plan: PlanSpec, stratum_tier: np.ndarray) -> None:
        self.months = plan.exclude_within_months
        exempt = np.asarray(stratum_tier) == TIER_D
        self.applies_to_all = not exempt.any()
        self.applies_to_none = self.months is None or bool(exempt.all())
        self.applies = ~exempt


def _exclude_block(
    out: np.ndarray,
    stratum: np.ndarray,
    in_business: np.ndarray,
    months_since_last: np.ndarray,
    inspections_this_year: np.ndarray,
    eligible_items: np.ndarray,
    plan: PlanSpec,
    rule: _RecentRule,
) -> None:
    """Exclusion reasons of one cache-sized block of targets, written into ``out``.

    Branch-free arithmetic (see ``_overwrite``); lowest precedence is written first.
    """
    out[:] = NOT_EXCLUDED
    if plan.annual_cap is not None:
        _overwrite(out, inspections_this_year >= plan.annual_cap, ANNUAL_CAP)
    if not rule.applies_to_none:
        recent = months_since_last < rule.months  # NaN (never inspected) compares False
        if not rule.applies_to_all:
            recent &= np.take(rule.applies, stratum)
        _overwrite(out, recent, INSPECTED_RECENTLY)
    _overwrite(out, ~_any_item(eligible_items), NO_ITEM)
    _overwrite(out, ~in_business, NOT_IN_BUSINESS)


def _blocks(n: int) -> list[slice]:
    """Slices of ``_BLOCK`` targets: element-wise passes over a block stay in cache, which
    makes the half-dozen passes of the exclusion step nearly twice as fast overall."""
    return [slice(start, min(n, start + _BLOCK)) for start in range(0, n, _BLOCK)]


def draw_stratum(
    key: bytes,
    label: str,
    size: int,
    plan: PlanSpec,
    *,
    count: int | None = None,
    probability: float = 0.0,
) -> StratumDraw:
    """Draw one stratum of ``size`` candidates: ``count`` of them (exact) or each with
    ``probability`` (Poisson), plus the plan's alternates. Depends on nothing else."""
    if size < 0:
        raise ValueError(f"stratum {label!r}: size must not be negative")
    u = seeds.generator(seeds.stratum_seed(key, label)).random(size)
    if plan.method == "exact":
        if count is None or not 0 <= count <= size:
            raise ValueError(f"stratum {label!r}: count {count} is not within 0..{size}")
        spares = min(plan.alternates_for(count), size - count)
        drawn, alternates = _permutation_prefix(u, count, spares)
        return StratumDraw(drawn=drawn, alternates=alternates)
    drawn = np.flatnonzero(u < probability)
    spares = min(plan.alternates_for(drawn.shape[0]), size - drawn.shape[0])
    window = _window(u, probability, spares)
    alternates = window[np.argsort(u[window], kind="stable")[:spares]]
    return StratumDraw(drawn=drawn, alternates=alternates)


def cover_items(
    eligible_items: np.ndarray,
    candidate: np.ndarray,
    drawn: np.ndarray,
    key: bytes,
    drawn_items: np.ndarray | None = None,
) -> Coverage:
    """Add targets until every item with an eligible candidate has a drawn eligible target.

    Items are visited in index order; for an uncovered item one candidate is picked uniformly
    among the eligible candidates, ``pool[floor(u * len(pool))]`` with ``u`` from the
    "coverage" generator. Items without any eligible candidate are reported in
    ``item_status`` (ITEM_ALL_EXCLUDED / ITEM_NO_TARGET). ``drawn_items`` (the rows of
    ``eligible_items`` for ``drawn``) may be passed when the caller has them already.
    """
    if drawn_items is None:
        drawn_items = np.take(eligible_items, drawn, axis=0)
    # Column by column: any() stops at the first hit, where any(axis=0) reads every row.
    covered = np.array([drawn_items[:, item].any() for item in range(drawn_items.shape[1])], bool)
    status = np.where(covered, ITEM_COVERED, ITEM_NOT_EVALUATED).astype(np.int8)
    added: list[int] = []
    added_item: list[int] = []
    rng = None
    for item in np.flatnonzero(~covered):
        if covered[item]:
            continue  # covered meanwhile by an earlier addition
        column = eligible_items[:, item]
        pool = np.flatnonzero(column & candidate)
        if pool.size == 0:
            status[item] = ITEM_ALL_EXCLUDED if column.any() else ITEM_NO_TARGET
            continue
        if rng is None:
            rng = seeds.generator(seeds.stratum_seed(key, seeds.COVERAGE_LABEL))
        pick = int(pool[int(rng.random() * pool.size)])
        newly = eligible_items[pick] & ~covered
        status[newly] = ITEM_COVERED_BY_ADDITION
        covered |= newly
        added.append(pick)
        added_item.append(int(item))
    return Coverage(
        added=np.asarray(added, dtype=np.int64),
        added_item=np.asarray(added_item, dtype=np.int64),
        item_status=status,
    )


def draw_targets(
    *,
    key: bytes,
    plan: PlanSpec,
    target_id: np.ndarray,
    stratum: np.ndarray,
    stratum_labels: Sequence[str],
    stratum_tier: np.ndarray,
    in_business: np.ndarray,
    months_since_last: np.ndarray,
    inspections_this_year: np.ndarray,
    eligible_items: np.ndarray,
    item_department: np.ndarray,
    strata: Sequence[int] | np.ndarray | None = None,
    allocation: Allocation | None = None,
) -> Selection:
    """Exclude, allocate, draw every stratum (or only ``strata``), then cover the items.

    ``allocation`` may be passed when the arrays hold only the targets of some strata (a
    distributed draw): it must be the allocation of the whole draw; the candidate counts of
    the computed strata are checked against it. Item coverage is global and runs only when
    every stratum is computed (``strata is None``); otherwise ``item_coverage`` is
    ITEM_NOT_EVALUATED and the caller runs ``cover_items`` after merging.
    """
    n_strata = len(stratum_labels)
    check_strata(stratum_labels, stratum_tier)
    stratum_tier = np.asarray(stratum_tier)
    target_id, stratum, in_business, months_since_last, inspections_this_year = (
        np.asarray(a)
        for a in (target_id, stratum, in_business, months_since_last, inspections_this_year)
    )
    eligible_items, item_department = np.asarray(eligible_items), np.asarray(item_department)
    _check_targets(
        target_id,
        stratum,
        in_business,
        months_since_last,
        inspections_this_year,
        eligible_items,
        item_department,
    )
    # One pass over cache-sized blocks: exclusions, stratum codes (excluded targets go to an
    # extra last group S) and the chunk-wise grouping by code.
    n = stratum.shape[0]
    code_type = np.uint16 if n_strata < np.iinfo(np.uint16).max else np.int32
    rule = _RecentRule(plan, stratum_tier)
    reason = np.empty(n, dtype=np.int8)
    codes = np.empty(n, dtype=code_type)
    index = _StratumIndex(n, n_strata + 1)
    unsigned = np.dtype(f"u{stratum.dtype.itemsize}")
    for block in _blocks(n):
        block_stratum = stratum[block]
        # Seen as unsigned, negative codes become huge: one comparison checks both bounds.
        if (block_stratum.view(unsigned) >= n_strata).any():
            raise ValueError(f"stratum codes must be within 0..{n_strata - 1}")
        block_reason = reason[block]
        _exclude_block(
            block_reason,
            block_stratum,
            in_business[block],
            months_since_last[block],
            inspections_this_year[block],
            eligible_items[block],
            plan,
            rule,
        )
        block_codes = codes[block]
        block_codes[:] = block_stratum  # codes += excluded * (S - codes), branch-free
        step = np.subtract(code_type(n_strata), block_codes, dtype=code_type)
        step *= block_reason != NOT_EXCLUDED
        block_codes += step
        index.add(block.start, block_codes)
    index.finish()
    candidate = reason == NOT_EXCLUDED
    size = index.total[:n_strata]

    computed = _computed_strata(strata, n_strata)
    if allocation is None:
        allocation = allocate(size, stratum_tier, stratum_labels, plan, key)
    else:
        _check_allocation(allocation, plan, size, computed, stratum_labels)

    drawn_parts: list[np.ndarray] = []
    drawn_strata: list[np.ndarray] = []
    alt_parts: list[np.ndarray] = []
    alt_strata: list[np.ndarray] = []
    sampled = np.zeros(n_strata, dtype=np.int64)
    for h in computed:
        result = draw_stratum(
            key,
            stratum_labels[h],
            int(size[h]),
            plan,
            count=None if allocation.count is None else int(allocation.count[h]),
            probability=float(allocation.ratio[h]),
        )
        sampled[h] = result.drawn.shape[0]
        if result.drawn.size:
            drawn_parts.append(index.positions(h, result.drawn))
            drawn_strata.append(np.full(result.drawn.shape[0], h, dtype=np.int32))
        if result.alternates.size:
            alt_parts.append(index.positions(h, result.alternates))
            alt_strata.append(np.full(result.alternates.shape[0], h, dtype=np.int32))
    sample = _concat(drawn_parts, np.int64)
    sample_stratum = _concat(drawn_strata, np.int32)
    alternates = _concat(alt_parts, np.int64)
    alternate_stratum = _concat(alt_strata, np.int32)

    sample_items = np.take(eligible_items, sample, axis=0)
    if strata is None:
        coverage = cover_items(eligible_items, candidate, sample, key, sample_items)
    else:
        coverage = Coverage(
            added=np.zeros(0, dtype=np.int64),
            added_item=np.zeros(0, dtype=np.int64),
            item_status=np.full(eligible_items.shape[1], ITEM_NOT_EVALUATED, dtype=np.int8),
        )
    if coverage.added.size:
        # A target added for coverage is no longer a backup of its stratum.
        keep = ~np.isin(alternates, coverage.added)
        alternates, alternate_stratum = alternates[keep], alternate_stratum[keep]
    drawn = np.concatenate([sample, coverage.added])
    drawn_stratum = np.concatenate([sample_stratum, stratum[coverage.added].astype(np.int32)])
    by_coverage = np.zeros(drawn.shape[0], dtype=bool)
    by_coverage[sample.shape[0] :] = True

    items = np.concatenate([sample_items, np.take(eligible_items, coverage.added, axis=0)])
    return Selection(
        drawn=drawn,
        drawn_stratum=drawn_stratum,
        drawn_id=np.take(target_id, drawn).astype(np.int64, copy=False),
        drawn_by_coverage=by_coverage,
        candidate_stratum=codes,
        excluded_reason=reason,
        alternates=alternates,
        alternate_stratum=alternate_stratum,
        alternate_rank=ranks_within(alternate_stratum),
        alternate_id=np.take(target_id, alternates).astype(np.int64, copy=False),
        stratum_size=size.astype(np.int64),
        stratum_probability=allocation.ratio,
        stratum_expected=allocation.expected,
        stratum_allocation=sampled,
        computed_strata=np.asarray(computed, dtype=np.int64),
        coverage_added=coverage.added,
        coverage_item=coverage.added_item,
        item_coverage=coverage.item_status,
        items_for_target=items,
        required_departments=required_departments_of(items, np.asarray(item_department)),
        allocation=allocation,
    )


class _StratumIndex:
    """Where the r-th candidate of stratum h is, without sorting all N targets at once.

    The codes are cut into chunks; each chunk is stable-sorted by code (a radix sort on
    uint16 that stays in cache) and counted. The r-th member of stratum h lives in the chunk
    whose running count of h passes r, at its chunk-local sorted slot.
    """

    def __init__(self, n: int, n_codes: int) -> None:
        self.n_codes = n_codes
        self.local = np.empty(n, dtype=np.uint16)
        self.counts = np.zeros((max(1, -(-n // _CHUNK)), n_codes), dtype=np.int64)

    def add(self, start: int, codes: np.ndarray) -> None:
        """Sort and count the chunks of ``codes``, which start at target ``start``."""
        for offset in range(0, codes.shape[0], _CHUNK):
            segment = codes[offset : offset + _CHUNK]
            first = start + offset
            self.local[first : first + segment.shape[0]] = np.argsort(segment, kind="stable")
            self.counts[first // _CHUNK] = np.bincount(segment, minlength=self.n_codes)

    def finish(self) -> None:
        counts = self.counts
        self.total = counts.sum(axis=0)
        # Stored stratum-major so that each stratum's rows are contiguous.
        prefix = np.zeros((counts.shape[0] + 1, self.n_codes), dtype=np.int64)
        np.cumsum(counts, axis=0, out=prefix[1:])
        self.prefix = np.ascontiguousarray(prefix.T)
        self.local_start = np.ascontiguousarray((np.cumsum(counts, axis=1) - counts).T)

    def positions(self, h: int, ranks: np.ndarray) -> np.ndarray:
        """Target indices of the candidates of stratum ``h`` at within-stratum ``ranks``."""
        running = self.prefix[h]
        if ranks.shape[0] > 1 and ranks[0] <= ranks[-1] and np.all(ranks[1:] >= ranks[:-1]):
            # Ascending ranks (the drawn ones): find each chunk's run of ranks once.
            per_chunk = np.diff(np.searchsorted(ranks, running))
            first = np.arange(per_chunk.shape[0], dtype=np.int64) * _CHUNK
            slot = ranks + np.repeat(first + self.local_start[h] - running[:-1], per_chunk)
            return np.repeat(first, per_chunk) + self.local[slot]
        chunk = np.searchsorted(running, ranks, side="right") - 1
        offset = chunk * _CHUNK
        slot = offset + self.local_start[h][chunk] + (ranks - running[chunk])
        return offset + self.local[slot].astype(np.int64)


def _permutation_prefix(u: np.ndarray, n: int, spares: int) -> tuple[np.ndarray, np.ndarray]:
    """Positions 0..n-1 of the (u, position) order, ascending, and the next ``spares`` in order.

    Cuts at the n-th and (n + spares)-th smallest values, so the drawn positions need no
    sort (linear, whatever n); only the alternates are sorted. Equal doubles at a cut fall
    back to an exact stable sort. Both branches compute the same result; the first is faster
    when few are drawn, the second when many are.
    """
    size = u.shape[0]
    k = n + spares
    if k == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    if 4 * k <= size:
        # Few: everything happens inside a band just above 0 that holds the k smallest.
        window = _window(u, 0.0, k)
        values = u[window]
        cut_n, cut_k = _kth_smallest_exact(values, n), _kth_smallest_exact(values, k)
        drawn = window[values <= cut_n]
        spare = window[(values > cut_n) & (values <= cut_k)]
    else:
        cut_n, cut_k = _cuts(u, n, k)
        drawn = np.flatnonzero(u <= cut_n)
        spare = np.flatnonzero((u > cut_n) & (u <= cut_k))
    if drawn.shape[0] != n or spare.shape[0] != spares:  # tied doubles at a cut
        order = np.argsort(u, kind="stable")  # ties go by position
        return np.sort(order[:n]), order[n:k]
    return drawn, spare[np.argsort(u[spare], kind="stable")]


def _kth_smallest_exact(values: np.ndarray, j: int) -> float:
    """The j-th smallest of ``values`` (1-based); -inf for j = 0, +inf past the end."""
    if j <= 0:
        return -math.inf
    if j >= values.shape[0]:
        return math.inf
    return float(np.partition(values, j - 1)[j - 1])


def _cuts(u: np.ndarray, n: int, k: int) -> tuple[float, float]:
    """The n-th and k-th smallest values of u (1-based, n <= k; +-inf outside 1..len-1).

    u is uniform on [0, 1), so both lie within a few standard deviations of n / len and
    k / len: count what is below a band around them and select inside the band only,
    instead of partitioning the whole stratum. Falls back to the whole array if the band
    misses.
    """
    size = u.shape[0]
    spread = 6.0 * math.sqrt(size / 4.0) + 2.0  # >= 6 standard deviations of any rank
    low, high = (n - spread) / size, (k + spread) / size
    below = int(np.count_nonzero(u < low)) if low > 0.0 else 0
    band = u[(u >= low) & (u < high)] if low > 0.0 else u[u < high]
    inside = [j for j in (n, k) if 0 < j < size]
    if all(0 <= j - below - 1 < band.shape[0] for j in inside):
        values, offset = band, below
    else:
        values, offset = u, 0
    ranks = sorted({j - offset - 1 for j in inside})
    part = np.partition(values, ranks) if ranks else values

    def cut(j: int) -> float:
        if j <= 0:
            return -math.inf
        if j >= size:
            return math.inf
        return float(part[j - offset - 1])

    return cut(n), cut(k)


def _window(u: np.ndarray, low: float, k: int) -> np.ndarray:
    """Ascending positions with ``u >= low`` that include the ``k`` smallest such values.

    Looks first just above ``low``, in a band expected to hold a few more than k values,
    so later steps touch about k values rather than the whole stratum; falls back to every
    value >= low when the band comes up short. Either way the k smallest are inside.
    """
    n = u.shape[0]
    if k <= 0 or n == 0:
        return np.zeros(0, dtype=np.int64)
    high = low + (k + 5.0 * math.sqrt(k) + 10.0) / n
    if high < 1.0:
        band = np.flatnonzero((u >= low) & (u < high))
        if band.shape[0] >= k:
            return band
    return np.flatnonzero(u >= low)


def _overwrite(reason: np.ndarray, mask: np.ndarray, code: int) -> None:
    """``reason[mask] = code`` without branches: reason += mask * (code - reason)."""
    step = np.subtract(np.int8(code), reason, dtype=np.int8)
    step *= mask.view(np.int8)
    reason += step


def _any_item(eligible_items: np.ndarray) -> np.ndarray:
    """Row-wise any() of a bool[N, K] array.

    ``any(axis=1)`` over a short inner axis costs ~25 ns a row; instead each row's K bytes
    are read as a few (possibly overlapping, unaligned) 8/4/2/1-byte words and compared with
    zero, which touches the memory once or twice.
    """
    n, k = eligible_items.shape
    if n == 0:
        return np.zeros(0, dtype=bool)
    raw = np.ascontiguousarray(eligible_items).reshape(-1).view(np.uint8)
    width = next(w for w in (8, 4, 2, 1) if w <= k)
    offsets = list(range(0, k - width + 1, width))
    if offsets[-1] != k - width:
        offsets.append(k - width)  # overlaps the previous word; harmless for any()
    result = np.zeros(n, dtype=bool)
    for offset in offsets:
        words = np.ndarray((n,), dtype=f"<u{width}", buffer=raw, offset=offset, strides=(k,))
        result |= words != 0
    return result


def required_departments_of(items: np.ndarray, item_department: np.ndarray) -> np.ndarray:
    """bool[n, D]: which departments have at least one item on each target (joint tasks)."""
    n_departments = int(item_department.max()) + 1 if item_department.size else 0
    required = np.zeros((items.shape[0], n_departments), dtype=bool)
    for department in range(n_departments):
        columns = item_department == department
        if columns.any():
            required[:, department] = items[:, columns].any(axis=1)
    return required


def ranks_within(group: np.ndarray) -> np.ndarray:
    """1-based rank of each element within its run of equal consecutive group values."""
    if group.size == 0:
        return np.zeros(0, dtype=np.int32)
    starts = np.flatnonzero(np.concatenate(([True], group[1:] != group[:-1])))
    lengths = np.diff(np.append(starts, group.shape[0]))
    return (np.arange(group.shape[0]) - np.repeat(starts, lengths) + 1).astype(np.int32)


def _concat(parts: list[np.ndarray], dtype: type) -> np.ndarray:
    return np.concatenate(parts).astype(dtype, copy=False) if parts else np.zeros(0, dtype=dtype)


def _computed_strata(strata: Sequence[int] | np.ndarray | None, n_strata: int) -> list[int]:
    if strata is None:
        return list(range(n_strata))
    chosen = sorted({int(h) for h in strata})
    if chosen and (chosen[0] < 0 or chosen[-1] >= n_strata):
        raise ValueError(f"strata must be stratum codes 0..{n_strata - 1}")
    return chosen


def _check_allocation(
    allocation: Allocation,
    plan: PlanSpec,
    size: np.ndarray,
    computed: list[int],
    labels: Sequence[str],
) -> None:
    if allocation.method != plan.method:
        raise ValueError(
            f"allocation is for method {allocation.method!r}, plan uses {plan.method!r}"
        )
    if tuple(allocation.stratum_labels) != tuple(labels):
        raise ValueError("allocation was computed for other strata (labels differ)")
    for h in computed:
        if size[h] != allocation.stratum_size[h]:
            raise ValueError(
                f"stratum {labels[h]!r} has {size[h]} candidates here but "
                f"{allocation.stratum_size[h]} in the allocation"
            )


def _check_targets(
    target_id: np.ndarray,
    stratum: np.ndarray,
    in_business: np.ndarray,
    months_since_last: np.ndarray,
    inspections_this_year: np.ndarray,
    eligible_items: np.ndarray,
    item_department: np.ndarray,
) -> None:
    n = stratum.shape[0]
    for name, array in (
        ("target_id", target_id),
        ("in_business", in_business),
        ("months_since_last", months_since_last),
        ("inspections_this_year", inspections_this_year),
    ):
        if np.ndim(array) != 1 or np.shape(array)[0] != n:
            raise ValueError(f"{name} must be a 1-D array of {n} values (one per target)")
    if np.ndim(eligible_items) != 2 or eligible_items.shape[0] != n:
        raise ValueError(f"eligible_items must be a bool array of shape ({n}, K)")
    if eligible_items.dtype != np.bool_ or in_business.dtype != np.bool_:
        raise ValueError("eligible_items and in_business must be bool arrays")
    if eligible_items.shape[1] == 0:
        raise ValueError("eligible_items needs at least one item column")
    if np.ndim(item_department) != 1 or len(item_department) != eligible_items.shape[1]:
        raise ValueError(
            f"item_department must have one department per item ({eligible_items.shape[1]})"
        )
    if len(item_department) and np.min(item_department) < 0:
        raise ValueError("item_department values must not be negative")
    if not np.issubdtype(stratum.dtype, np.integer):
        raise ValueError("stratum must be an integer array of stratum codes")
    if not np.issubdtype(months_since_last.dtype, np.number):
        raise ValueError("months_since_last must be numeric (NaN = never inspected)")
    if not np.issubdtype(inspections_this_year.dtype, np.integer):
        raise ValueError("inspections_this_year must be an integer array")
