"""A transparent additive scorecard (评分卡): data in JSON, scoring vectorised over NumPy arrays.

Each indicator sorts an enterprise into one bin; the bin earns points; the score is the base
points plus the points of every indicator, and cut-offs map the score to tiers A–D. Higher scores
mean lower risk. Every indicator has an explicit ``missing`` bin: a missing value (NaN, None, an
empty string, or -1 for integer codes) scores the missing bin's points, never a silent zero.

The JSON format (``"format": "suijian-scorecard/1"``) is read, checked and written by
``credit_rating.cardfile`` and described in docs/credit-model.md.
Points are whole numbers so that a supervisor can add them up. A bin may carry ``cap``: the best
tier an enterprise in that bin can get (e.g. the serious-illegal list caps at D), whatever its
score.

Input arrays per indicator:

* numeric: numbers (float; NaN is missing).
* categorical: strings (None/""/NaN missing; an unlisted string goes to the bin marked
  ``"other": true``, or is an error if there is none), or integer codes into
  ``Indicator.categories`` (the categories in bin order; -1 is missing). Codes are the fast path.
* flag: booleans, or 0/1 integers (-1 missing), or 0/1 floats (NaN missing).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from credit_rating.tiers import TIERS, Cutoffs, assign_tiers

FORMAT = "suijian-scorecard/1"
KINDS = ("general", "industry", "composed")
TYPES = ("numeric", "categorical", "flag")
RISKS = ("increasing", "decreasing", "none")
MAX_BINS = 250  # bin indices are uint8, the missing bin included
CHUNK = 1 << 17  # rows per block: the temporaries of one block stay in cache


class ScorecardError(ValueError):
    """An invalid scorecard or invalid input columns; the message names the field."""


@dataclass(frozen=True)
class Text:
    """A phrase in Chinese and English."""

    zh: str
    en: str

    def get(self, lang: str) -> str:
        return self.zh if lang.lower().startswith("zh") else self.en

    def as_dict(self) -> dict[str, str]:
        return {"zh": self.zh, "en": self.en}

    @classmethod
    def parse(cls, data: Any, where: str) -> Text:
        if isinstance(data, str):  # one language given: used for both
            return cls(data, data)
        if not isinstance(data, Mapping) or not {"zh", "en"} <= set(data):
            raise ScorecardError(f'{where}: need {{"zh": ..., "en": ...}}, got {data!r}')
        if not all(isinstance(data[k], str) and data[k].strip() for k in ("zh", "en")):
            raise ScorecardError(f"{where}: zh and en must be non-empty strings")
        return cls(data["zh"], data["en"])


MISSING_LABEL = Text("数据缺失", "data missing")


@dataclass(frozen=True)
class Bin:
    """One bin of an indicator: what falls in it, its points and its wording."""

    points: int
    label: Text
    below: float | None = None  # numeric: upper edge, exclusive (None for the last bin)
    categories: tuple[str, ...] = ()  # categorical: the values in this bin
    other: bool = False  # categorical: catches values not listed anywhere
    value: bool | None = None  # flag
    cap: str | None = None  # best tier allowed in this bin
    evidence: Mapping[str, float] | None = None  # training counts: {"n": .., "found": ..}


@dataclass(frozen=True)
class Indicator:
    """An indicator with its ordered bins and its explicit missing bin."""

    name: str
    label: Text
    type: str
    bins: tuple[Bin, ...]
    missing: Bin
    risk: str = "none"
    unit: Text | None = None
    rationale: Text | None = None  # why the indicator and its points (for the supervisor)
    definition: Text | None = None  # how the value is computed (for the data side)
    # Derived lookup tables (filled in __post_init__).
    edges: np.ndarray = field(init=False, repr=False, compare=False)
    categories: tuple[str, ...] = field(init=False, repr=False, compare=False)
    points_lut: np.ndarray = field(init=False, repr=False, compare=False)
    code_to_bin: np.ndarray = field(init=False, repr=False, compare=False)
    cap_lut: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(
            self,
            "edges",
            np.array([b.below for b in self.bins[:-1]], dtype=np.float64)
            if self.type == "numeric"
            else np.empty(0),
        )
        if self.type == "categorical":
            cats = tuple(c for b in self.bins for c in b.categories)
            owner = [i for i, b in enumerate(self.bins) for _ in b.categories]
        elif self.type == "flag":
            by_value = {b.value: i for i, b in enumerate(self.bins)}
            cats = ("false", "true")
            owner = [by_value[False], by_value[True]]
        else:
            cats, owner = (), []
        set_(self, "categories", cats)
        # code -> bin: the listed categories, then code len(categories) for "other" (unlisted
        # values; only valid with an other bin), then code -1 (missing) as the last entry.
        other = next((i for i, b in enumerate(self.bins) if b.other), self.missing_index)
        table = [*owner, other, self.missing_index]
        set_(self, "code_to_bin", np.array(table, dtype=np.uint8))
        set_(
            self,
            "points_lut",
            np.array([b.points for b in (*self.bins, self.missing)], dtype=np.int32),
        )
        caps = [TIERS.index(b.cap) if b.cap else 0 for b in (*self.bins, self.missing)]
        set_(self, "cap_lut", np.array(caps, dtype=np.uint8))

    @property
    def n_bins(self) -> int:
        """Regular bins (the missing bin is one more, at index ``n_bins``)."""
        return len(self.bins)

    @property
    def missing_index(self) -> int:
        return len(self.bins)

    @property
    def has_caps(self) -> bool:
        return bool(self.cap_lut.any())

    @property
    def best_points(self) -> int:
        return int(self.points_lut.max())

    def bin(self, index: int) -> Bin:
        return self.missing if index == self.missing_index else self.bins[index]

    def reason_code(self, index: int) -> str:
        """Stable code of a bin within a scorecard version: ``name/2`` or ``name/missing``."""
        return f"{self.name}/{'missing' if index == self.missing_index else index}"

    def other_index(self) -> int | None:
        for i, b in enumerate(self.bins):
            if b.other:
                return i
        return None


@dataclass(frozen=True)
class Calibration:
    """Score → probability of a problem found, piecewise linear between the points."""

    method: str
    scores: tuple[float, ...]
    probabilities: tuple[float, ...]

    def __call__(self, scores: np.ndarray) -> np.ndarray:
        return np.interp(np.asarray(scores, dtype=np.float64), self.scores, self.probabilities)

    def as_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "score": [json_number(s) for s in self.scores],
            "probability": [round(p, 6) for p in self.probabilities],
        }


def json_number(value: float) -> float:
    """Whole numbers as int, others rounded to 6 decimals: stable, readable JSON."""
    return int(value) if float(value).is_integer() else round(float(value), 6)


@dataclass(frozen=True)
class ScoreResult:
    """Scores of a batch: total, bin per indicator (rows of ``bins``), tiers when cut-offs exist."""

    card: Scorecard
    score: np.ndarray  # int32 (n,)
    bins: np.ndarray  # uint8 (indicators, n); the missing bin is Indicator.missing_index
    tier: np.ndarray | None  # uint8 (n,), 0..3 = A..D; None without cut-offs
    cutoffs: Cutoffs | None

    def __len__(self) -> int:
        return int(self.score.shape[0])

    def points(self) -> np.ndarray:
        """Points per indicator and row, int32 (indicators, n)."""
        out = np.empty(self.bins.shape, dtype=np.int32)
        for j, ind in enumerate(self.card.indicators):
            np.take(ind.points_lut, self.bins[j], out=out[j])
        return out

    def tier_letters(self) -> np.ndarray:
        if self.tier is None:
            raise ScorecardError("tiers: the scorecard has no cut-offs; use with_cutoffs()")
        return np.asarray(TIERS)[self.tier]

    def with_cutoffs(self, cutoffs: Cutoffs) -> ScoreResult:
        """The same scores with tiers from these cut-offs (bin caps applied)."""
        tier = assign_tiers(self.score, cutoffs)
        _apply_caps(self.card, self.bins, tier)
        return ScoreResult(self.card, self.score, self.bins, tier, cutoffs)

    def take(self, rows: np.ndarray) -> ScoreResult:
        tier = None if self.tier is None else self.tier[rows]
        return ScoreResult(self.card, self.score[rows], self.bins[:, rows], tier, self.cutoffs)

    def probability(self) -> np.ndarray:
        """Calibrated probability of a problem found (needs a trained card's calibration)."""
        return self.card.probability(self.score)


def _apply_caps(card: Scorecard, bins: np.ndarray, tier: np.ndarray) -> None:
    for j, ind in enumerate(card.indicators):
        if ind.has_caps:
            np.maximum(tier, ind.cap_lut[bins[j]], out=tier)


@dataclass(frozen=True)
class Scorecard:
    """A versioned scorecard. Build it with ``Scorecard.from_dict`` / ``load_scorecard``."""

    id: str
    version: str
    kind: str
    title: Text
    base_points: int
    indicators: tuple[Indicator, ...]
    industries: tuple[str, ...] = ()
    cutoffs: Cutoffs | None = None
    shares: Mapping[str, float] | None = None
    description: Text | None = None
    calibration: Calibration | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)  # scaling, training, components…

    # ------------------------------------------------------------------ identity
    @property
    def digest(self) -> str:
        """SHA-256 of the canonical JSON: what a stored rating points to, with id and version."""
        cached = self.__dict__.get("_digest")
        if cached is None:
            canonical = json.dumps(self.to_dict(), sort_keys=True, ensure_ascii=False)
            cached = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
            object.__setattr__(self, "_digest", cached)
        return cached

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(ind.name for ind in self.indicators)

    def indicator(self, name: str) -> Indicator:
        for ind in self.indicators:
            if ind.name == name:
                return ind
        raise ScorecardError(f"{self.id}: no indicator named {name!r}")

    @property
    def score_range(self) -> tuple[int, int]:
        low = self.base_points + sum(int(i.points_lut.min()) for i in self.indicators)
        high = self.base_points + sum(i.best_points for i in self.indicators)
        return low, high

    # ------------------------------------------------------------------ scoring
    def score(
        self,
        columns: Mapping[str, Any],
        *,
        cutoffs: Cutoffs | None = None,
        threads: int | None = None,
    ) -> ScoreResult:
        """Score a batch. ``columns`` maps each indicator name to an array (extra keys ignored)."""
        prepared, n = self._prepare(columns)
        score = np.empty(n, dtype=np.int32)
        bins = np.empty((len(self.indicators), n), dtype=np.uint8)
        cut = cutoffs or self.cutoffs
        tier = np.empty(n, dtype=np.uint8) if cut is not None else None

        def block(start: int) -> None:
            stop = min(n, start + CHUNK)
            total = score[start:stop]
            total.fill(self.base_points)
            tmp_points = np.empty(stop - start, dtype=np.int32)
            tmp_bool = np.empty(stop - start, dtype=bool)
            for j, (ind, (mode, values)) in enumerate(zip(self.indicators, prepared, strict=True)):
                out = bins[j, start:stop]
                x = values[start:stop]
                if mode == "numeric":
                    edges = ind.edges
                    if edges.size:
                        np.greater_equal(x, edges[0], out=out, casting="unsafe")
                        for edge in edges[1:]:
                            np.greater_equal(x, edge, out=tmp_bool)
                            np.add(out, tmp_bool, out=out, casting="unsafe")
                    else:
                        out.fill(0)
                    np.isnan(x, out=tmp_bool)
                    np.copyto(out, ind.missing_index, where=tmp_bool)
                else:  # integer codes; -1 indexes the last entry, the missing bin
                    np.take(ind.code_to_bin, x, out=out)
                np.take(ind.points_lut, out, out=tmp_points)
                np.add(total, tmp_points, out=total)
            if tier is not None and cut is not None:
                assign_tiers(total, cut, out=tier[start:stop])
                _apply_caps(self, bins[:, start:stop], tier[start:stop])

        starts = range(0, n, CHUNK)
        workers = threads if threads is not None else min(os.cpu_count() or 1, 8)
        if workers > 1 and len(starts) > 1:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                list(pool.map(block, starts))  # NumPy releases the GIL inside each operation
        else:
            for start in starts:
                block(start)
        return ScoreResult(self, score, bins, tier, cut)

    def encode(self, name: str, values: Any) -> np.ndarray:
        """Integer codes (int16) of a categorical or flag indicator's values for this card:
        the fast input of ``score``. Codes index ``indicator(name).categories``, which follow
        this card's bins, so codes made for one card version are not valid for another."""
        ind = self.indicator(name)
        if ind.type == "numeric":
            raise ScorecardError(f"{self.id}.{name}: numeric indicators take numbers, not codes")
        return encode(ind, values)

    def probability(self, scores: np.ndarray) -> np.ndarray:
        if self.calibration is None:
            raise ScorecardError(f"{self.id}: no calibration table (only trained cards have one)")
        return self.calibration(scores)

    def _prepare(self, columns: Mapping[str, Any]) -> tuple[list[tuple[str, np.ndarray]], int]:
        prepared: list[tuple[str, np.ndarray]] = []
        n: int | None = None
        absent = [ind.name for ind in self.indicators if ind.name not in columns]
        if absent:
            raise ScorecardError(f"columns: missing indicator(s) {', '.join(absent)}")
        for ind in self.indicators:
            raw = columns[ind.name]
            mode, values = _prepare_column(ind, raw)
            if values.ndim != 1:
                raise ScorecardError(f"columns.{ind.name}: must be one-dimensional")
            if n is None:
                n = values.shape[0]
            elif values.shape[0] != n:
                raise ScorecardError(
                    f"columns.{ind.name}: has {values.shape[0]} rows, the first column has {n}"
                )
            prepared.append((mode, values))
        return prepared, n or 0

    # ------------------------------------------------------------------ JSON
    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Scorecard:
        """A card from parsed JSON, checked (``credit_rating.cardfile``)."""
        from credit_rating.cardfile import parse_card

        return parse_card(data)

    @classmethod
    def from_json(cls, text: str) -> Scorecard:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ScorecardError(f"not valid JSON: {exc}") from exc
        return cls.from_dict(data)

    def to_dict(self) -> dict[str, Any]:
        from credit_rating.cardfile import card_to_dict

        return card_to_dict(self)

    def to_json(self) -> str:
        """Indented JSON, one bin per line, so that a change reads well in a diff."""
        from credit_rating.cardfile import dump

        return dump(self.to_dict()) + "\n"

    def replace(self, **changes: Any) -> Scorecard:
        data = {f: getattr(self, f) for f in self.__dataclass_fields__}
        data.update(changes)
        return Scorecard(**data)


# ---------------------------------------------------------------------- input columns


def _prepare_column(ind: Indicator, raw: Any) -> tuple[str, np.ndarray]:
    """(mode, values) for one indicator's input array: "numeric" floats or integer "codes"."""
    values = np.asarray(raw)
    where = f"columns.{ind.name}"
    if ind.type == "numeric":
        if values.dtype.kind not in "fiub":
            try:
                values = values.astype(np.float64)
            except (TypeError, ValueError) as exc:
                raise ScorecardError(f"{where}: not numeric ({exc})") from exc
        return "numeric", np.ascontiguousarray(values, dtype=np.float64)
    if values.dtype.kind in "iu":
        if values.size:
            low, high = int(values.min()), int(values.max())
            top = len(ind.categories) - (0 if ind.other_index() is not None else 1)
            if low < -1 or high > top:
                bad = low if low < -1 else high
                raise ScorecardError(f"{where}: code {bad} out of range (0..{top}, -1 missing)")
        return "codes", values
    if values.dtype.kind == "b":
        return "codes", values.astype(np.int8)
    if values.dtype.kind == "f":
        if ind.type != "flag":
            raise ScorecardError(f"{where}: give strings or integer codes for a categorical")
        finite = values[~np.isnan(values)]
        if finite.size and not np.isin(finite, (0.0, 1.0)).all():
            raise ScorecardError(f"{where}: a flag must be 0, 1 or NaN")
        return "codes", np.where(np.isnan(values), -1, values).astype(np.int8)
    return "codes", encode(ind, values, where)


def _is_missing(value: Any) -> bool:
    return value is None or value == "" or (isinstance(value, float) and math.isnan(value))


def encode(ind: Indicator, values: Any, where: str | None = None) -> np.ndarray:
    """Codes of category values for this indicator (int16): the index in
    ``ind.categories``, ``len(ind.categories)`` for an unlisted value when the indicator has an
    "other" bin, -1 for missing. Strings are mapped once per distinct value."""
    where = where or f"columns.{ind.name}"
    lookup: dict[Any, int] = {c: i for i, c in enumerate(ind.categories)}
    if ind.type == "flag":
        lookup.update({True: 1, False: 0})  # also 1 and 0, which hash like True and False
    other = ind.other_index()
    uniques, inverse = _unique(np.asarray(values))
    codes = np.empty(len(uniques), dtype=np.int16)
    for k, value in enumerate(uniques):
        if _is_missing(value):
            codes[k] = -1
        elif value in lookup:
            codes[k] = lookup[value]
        elif other is not None:
            codes[k] = len(ind.categories)
        else:
            raise ScorecardError(
                f"{where}: unknown category {value!r} (known: {', '.join(ind.categories)})"
            )
    return codes[inverse]


def _unique(values: np.ndarray) -> tuple[list[Any], np.ndarray]:
    if values.dtype.kind in "US":
        uniq, inverse = np.unique(values, return_inverse=True)
        return [str(u) for u in uniq], inverse.reshape(-1)
    index: dict[Any, int] = {}
    inverse = np.empty(values.shape[0], dtype=np.intp)
    for i, value in enumerate(values.tolist()):
        key = "" if _is_missing(value) else value
        k = index.get(key)
        if k is None:
            k = index[key] = len(index)
        inverse[i] = k
    return list(index), inverse
