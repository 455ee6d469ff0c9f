"""Binning for training: quantile candidates, small bins merged, monotone by pooling violators.

Numeric indicator: candidate edges at 20 quantiles of the non-missing values (rounded to whole
numbers for counts, else to two significant digits, so a supervisor reads "2.5 years", not
"2.4931"); bins with fewer than ``min_count`` rows are merged into the neighbour with the closer
finding rate; when the risk direction is declared, adjacent bins that violate it are pooled
(pool-adjacent-violators on the finding rates, weighted by counts); finally the closest adjacent
pair is merged until at most ``max_bins`` remain. Categorical: rare categories pool into an
"other" bin (which also takes categories never seen in training); with a declared order the
bins follow it and are pooled like numeric ones. The missing bin is always separate.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from credit_rating.scorecard import MISSING_LABEL, Bin, Indicator, ScorecardError, Text

CANDIDATES = 20


@dataclass(frozen=True)
class FeatureSpec:
    """What the trainer needs to know about one indicator."""

    name: str
    type: str  # numeric | categorical | flag
    label: Text
    risk: str = "none"  # increasing | decreasing | none (categorical: along `categories`)
    unit: Text | None = None
    categories: tuple[str, ...] = ()  # categorical: the known values (in risk order if risk set)
    category_labels: Mapping[str, Text] = field(default_factory=dict)
    integer: bool = False  # numeric counts: edges are whole numbers, labels "0", "1–2", "≥ 3"
    max_bins: int = 6
    definition: Text | None = None
    rationale: Text | None = None
    missing_label: Text = MISSING_LABEL
    flag_labels: tuple[Text, Text] = (Text("否", "no"), Text("是", "yes"))


@dataclass
class _Bins:
    """Working state: per bin its members (edges or categories), counts and findings."""

    n: list[float]
    found: list[float]
    edges: list[float] = field(default_factory=list)  # numeric: len(n) - 1 edges
    cats: list[list[str]] = field(default_factory=list)  # categorical
    other: int | None = None  # categorical: index of the "other" bin

    def rate(self, i: int) -> float:
        return self.found[i] / self.n[i] if self.n[i] else 0.0

    def merge(self, i: int) -> None:
        """Merge bin i+1 into bin i."""
        self.n[i] += self.n.pop(i + 1)
        self.found[i] += self.found.pop(i + 1)
        if self.edges:
            self.edges.pop(i)
        if self.cats:
            self.cats[i] += self.cats.pop(i + 1)
            if self.other is not None and self.other > i:
                self.other = i if self.other == i + 1 else self.other - 1


def nice_edges(values: np.ndarray, integer: bool) -> np.ndarray:
    """Rounded quantile candidates strictly inside (min, max]."""
    qs = np.quantile(values, np.linspace(0, 1, CANDIDATES + 1)[1:-1])
    edges = np.ceil(qs - 1e-9) if integer else np.array([_two_digits(q) for q in qs])
    edges = np.unique(edges)
    low, high = values.min(), values.max()
    return edges[(edges > low) & (edges <= high)]


def _two_digits(value: float) -> float:
    if value == 0 or not math.isfinite(value):
        return 0.0
    digits = 1 - math.floor(math.log10(abs(value)))
    return round(value, digits)


def _pool_violators(bins: _Bins, increasing: bool) -> None:
    """Merge adjacent bins until finding rates follow the direction (weighted PAV)."""
    changed = True
    while changed and len(bins.n) > 1:
        changed = False
        for i in range(len(bins.n) - 1):
            a, b = bins.rate(i), bins.rate(i + 1)
            if (b < a) if increasing else (b > a):
                bins.merge(i)
                changed = True
                break


def _merge_small(bins: _Bins, min_count: float, protect: int | None = None) -> None:
    while len(bins.n) > 1:
        small = [i for i, c in enumerate(bins.n) if c < min_count and i != protect]
        if not small:
            return
        i = min(small, key=lambda k: bins.n[k])
        if i == 0:
            bins.merge(0)
        elif i == len(bins.n) - 1:
            bins.merge(i - 1)
        else:  # into the neighbour with the closer rate
            left = abs(bins.rate(i) - bins.rate(i - 1))
            right = abs(bins.rate(i) - bins.rate(i + 1))
            bins.merge(i - 1 if left <= right else i)


def _merge_to(bins: _Bins, max_bins: int) -> None:
    while len(bins.n) > max(1, max_bins):
        diffs = [abs(bins.rate(i + 1) - bins.rate(i)) for i in range(len(bins.n) - 1)]
        bins.merge(int(np.argmin(diffs)))


def bin_numeric(
    spec: FeatureSpec, x: np.ndarray, y: np.ndarray, min_count: float
) -> tuple[list[float], list[tuple[float, float]]]:
    """Edges and (rows, findings) per bin of a numeric indicator (missing rows excluded)."""
    present = ~np.isnan(x)
    xs, ys = x[present], y[present]
    if xs.size == 0:
        return [], [(0.0, 0.0)]
    edges = nice_edges(xs, spec.integer)
    idx = np.searchsorted(edges, xs, side="right")
    k = edges.size + 1
    state = _Bins(
        n=np.bincount(idx, minlength=k).astype(float).tolist(),
        found=np.bincount(idx, weights=ys, minlength=k).tolist(),
        edges=edges.tolist(),
    )
    _merge_small(state, min_count)
    if spec.risk != "none":
        _pool_violators(state, spec.risk == "increasing")
    _merge_to(state, spec.max_bins)
    return state.edges, list(zip(state.n, state.found, strict=True))


def bin_categorical(
    spec: FeatureSpec, codes: np.ndarray, y: np.ndarray, min_count: float
) -> tuple[list[list[str]], int | None, list[tuple[float, float]]]:
    """Category groups, the index of the "other" group, and (rows, findings) per group.

    ``codes`` index ``spec.categories``; -1 is missing (excluded here).
    """
    k = len(spec.categories)
    present = codes >= 0
    counts = np.bincount(codes[present], minlength=k).astype(float)
    found = np.bincount(codes[present], weights=y[present], minlength=k)
    ordered = spec.risk != "none"
    if ordered:
        state = _Bins(n=counts.tolist(), found=found.tolist(), cats=[[c] for c in spec.categories])
        _merge_small(state, min_count)
        _pool_violators(state, spec.risk == "increasing")
        _merge_to(state, spec.max_bins)
        return state.cats, None, list(zip(state.n, state.found, strict=True))
    big = [i for i in range(k) if counts[i] >= min_count]
    small = [i for i in range(k) if counts[i] < min_count]
    big.sort(key=lambda i: found[i] / counts[i])
    state = _Bins(
        n=[counts[i] for i in big],
        found=[found[i] for i in big],
        cats=[[spec.categories[i]] for i in big],
    )
    # "other" holds the rare and the unseen categories; it sits where its rate puts it.
    other_n, other_found = float(counts[small].sum()), float(found[small].sum())
    other_rate = other_found / other_n if other_n else -1.0
    pos = sum(1 for i in range(len(state.n)) if state.rate(i) <= other_rate)
    state.n.insert(pos, other_n)
    state.found.insert(pos, other_found)
    state.cats.insert(pos, [spec.categories[i] for i in small])
    state.other = pos
    _merge_to(state, spec.max_bins)
    return state.cats, state.other, list(zip(state.n, state.found, strict=True))


def numeric_labels(edges: list[float], spec: FeatureSpec) -> list[Text]:
    """Bin labels; for whole-number counts "0", "1–2", "≥ 3"."""
    unit_zh = spec.unit.zh if spec.unit else ""
    unit_en = f" {spec.unit.en}" if spec.unit and spec.unit.en else ""
    bounds = [None, *edges, None]
    labels = []
    for low, high in itertools.pairwise(bounds):
        if spec.integer:
            lo = None if low is None else int(low)
            hi = None if high is None else int(high) - 1  # [low, high) on whole numbers
            if lo is None and hi is not None:
                zh = en = f"≤{hi}" if hi > 0 else str(hi)
            elif hi is None and lo is not None:
                zh, en = f"≥{lo}", f"≥ {lo}"
            elif lo is None or hi is None:
                zh = en = "all"
            else:
                zh = en = str(lo) if lo == hi else f"{lo}–{hi}"
            labels.append(Text(f"{zh}{unit_zh}", f"{en}{unit_en}"))
            continue
        if low is None and high is None:
            labels.append(Text("全部", "all"))
        elif low is None:
            labels.append(Text(f"<{high:g}{unit_zh}", f"< {high:g}{unit_en}"))
        elif high is None:
            labels.append(Text(f"≥{low:g}{unit_zh}", f"≥ {low:g}{unit_en}"))
        else:
            labels.append(Text(f"{low:g}–{high:g}{unit_zh}", f"{low:g}–{high:g}{unit_en}"))
    return labels


def build_indicator(
    spec: FeatureSpec,
    values: np.ndarray,
    y: np.ndarray,
    min_count: float,
) -> tuple[Indicator, list[tuple[float, float]]]:
    """An indicator with zero points (the trainer fills them) and (rows, findings) per bin,
    the missing bin last."""
    if spec.type == "numeric":
        x = np.asarray(values, dtype=np.float64)
        edges, stats = bin_numeric(spec, x, y, min_count)
        labels = numeric_labels(edges, spec)
        bins = tuple(
            Bin(points=0, label=label, below=edges[i] if i < len(edges) else None)
            for i, label in enumerate(labels)
        )
        miss = np.isnan(x)
    elif spec.type == "categorical":
        codes = categorical_codes(spec, values)
        groups, other, stats = bin_categorical(spec, codes, y, min_count)
        bins = tuple(
            Bin(
                points=0,
                label=_group_label(spec, group, i == other),
                categories=tuple(group),
                other=i == other,
            )
            for i, group in enumerate(groups)
        )
        miss = codes < 0
    elif spec.type == "flag":
        x = flag_values(spec, values)
        present = ~np.isnan(x)
        stats = [
            (float(((x == v) & present).sum()), float(y[(x == v) & present].sum())) for v in (0, 1)
        ]
        bins = (
            Bin(points=0, label=spec.flag_labels[0], value=False),
            Bin(points=0, label=spec.flag_labels[1], value=True),
        )
        miss = ~present
    else:
        raise ScorecardError(f"{spec.name}.type: must be numeric, categorical or flag")
    stats = [*stats, (float(miss.sum()), float(y[miss].sum()))]
    ind = Indicator(
        name=spec.name,
        label=spec.label,
        type=spec.type,
        bins=bins,
        missing=Bin(points=0, label=spec.missing_label),
        risk=spec.risk,
        unit=spec.unit,
        rationale=spec.rationale,
        definition=spec.definition,
    )
    return ind, stats


def _group_label(spec: FeatureSpec, group: list[str], other: bool) -> Text:
    names = [spec.category_labels.get(c, Text(c, c)) for c in group]
    if other:
        zh = "其他" + (f"（{'、'.join(t.zh for t in names)}）" if names else "")
        en = "other" + (f" ({', '.join(t.en for t in names)})" if names else "")
        return Text(zh, en)
    return Text("、".join(t.zh for t in names), ", ".join(t.en for t in names))


def categorical_codes(spec: FeatureSpec, values: np.ndarray) -> np.ndarray:
    """Codes into spec.categories (-1 missing); unknown strings are an error."""
    arr = np.asarray(values)
    if arr.dtype.kind in "iu":
        return arr.astype(np.int64)
    lookup = {c: i for i, c in enumerate(spec.categories)}
    out = np.empty(arr.shape[0], dtype=np.int64)
    for i, v in enumerate(arr.tolist()):
        if v is None or v == "" or (isinstance(v, float) and math.isnan(v)):
            out[i] = -1
        elif v in lookup:
            out[i] = lookup[v]
        else:
            raise ScorecardError(f"{spec.name}: unknown category {v!r}")
    return out


def flag_values(spec: FeatureSpec, values: np.ndarray) -> np.ndarray:
    """Flags as floats 0/1 with NaN missing."""
    arr = np.asarray(values)
    if arr.dtype.kind == "b":
        return arr.astype(np.float64)
    if arr.dtype.kind in "iu":
        return np.where(arr < 0, np.nan, arr).astype(np.float64)
    if arr.dtype.kind == "f":
        return arr.astype(np.float64)
    raise ScorecardError(f"{spec.name}: a flag must be booleans, 0/1 integers or 0/1 floats")
