"""A transparent additive scorecard (评分卡): data in JSON, scoring vectorised over NumPy arrays.

Each indicator sorts an enterprise into one bin; the bin earns points; the score is the base
points plus the points of every indicator, and cut-offs map the score to tiers A–D. Higher scores
mean lower risk. Every indicator has an explicit ``missing`` bin: a missing value (NaN, None, an
empty string, or -1 for integer codes) scores the missing bin's points, never a silent zero.

The JSON format (``"format": "suijian-scorecard/1"``) is described in docs/credit-model.md.
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
import re
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from credit_rating.tiers import TIERS, Cutoffs, TierError, assign_tiers, validate_shares

FORMAT = "suijian-scorecard/1"
KINDS = ("general", "industry", "composed")
TYPES = ("numeric", "categorical", "flag")
RISKS = ("increasing", "decreasing", "none")
MAX_BINS = 250  # bin indices are uint8, the missing bin included
CHUNK = 1 << 17  # rows per block: the temporaries of one block stay in cache
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_INDUSTRY = re.compile(r"^[A-T](\d{2,4})?$")


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
            "score": [_plain(s) for s in self.scores],
            "probability": [round(p, 6) for p in self.probabilities],
        }


def _plain(value: float) -> float:
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
        return _parse_card(data)

    @classmethod
    def from_json(cls, text: str) -> Scorecard:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ScorecardError(f"not valid JSON: {exc}") from exc
        return _parse_card(data)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "format": FORMAT,
            "id": self.id,
            "version": self.version,
            "kind": self.kind,
            "title": self.title.as_dict(),
        }
        if self.description:
            out["description"] = self.description.as_dict()
        if self.industries:
            out["industries"] = list(self.industries)
        out["base_points"] = self.base_points
        tiers: dict[str, Any] = {}
        if self.cutoffs:
            tiers["cutoffs"] = self.cutoffs.as_dict()
        if self.shares:
            tiers["shares"] = dict(self.shares)
        if tiers:
            out["tiers"] = tiers
        out["indicators"] = [_indicator_dict(ind) for ind in self.indicators]
        if self.calibration:
            out["calibration"] = self.calibration.as_dict()
        for key, value in self.meta.items():
            out[key] = value
        return out

    def to_json(self) -> str:
        """Indented JSON, one bin per line, so that a change reads well in a diff."""
        return _dump(self.to_dict()) + "\n"

    def replace(self, **changes: Any) -> Scorecard:
        data = {f: getattr(self, f) for f in self.__dataclass_fields__}
        data.update(changes)
        return Scorecard(**data)


def load_scorecard(source: str | os.PathLike[str] | Mapping[str, Any]) -> Scorecard:
    """A scorecard from a JSON file path or an already-parsed dict."""
    if isinstance(source, Mapping):
        return _parse_card(source)
    path = Path(source)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScorecardError(f"{path}: cannot read ({exc.strerror})") from exc
    try:
        return Scorecard.from_json(text)
    except ScorecardError as exc:
        raise ScorecardError(f"{path.name}: {exc}") from exc


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


# ---------------------------------------------------------------------- parsing


def _require(data: Mapping[str, Any], key: str, where: str) -> Any:
    if key not in data:
        raise ScorecardError(f"{where}: missing {key!r}")
    return data[key]


def _points(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ScorecardError(f"{where}.points: not a number: {value!r}")
    if not float(value).is_integer():
        raise ScorecardError(f"{where}.points: must be a whole number, got {value!r}")
    if abs(value) > 100_000:
        raise ScorecardError(f"{where}.points: too large: {value!r}")
    return int(value)


def _parse_bin(data: Any, where: str, ind_type: str, default_label: Text | None) -> Bin:
    if not isinstance(data, Mapping):
        raise ScorecardError(f"{where}: a bin must be an object")
    allowed = {"points", "label", "below", "categories", "other", "value", "cap", "evidence"}
    extra = set(data) - allowed
    if extra:
        raise ScorecardError(f"{where}: unknown keys {sorted(extra)}")
    points = _points(_require(data, "points", where), where)
    label = Text.parse(data["label"], f"{where}.label") if "label" in data else default_label
    cap = data.get("cap")
    if cap is not None and cap not in TIERS:
        raise ScorecardError(f"{where}.cap: must be one of A, B, C, D, got {cap!r}")
    below = data.get("below")
    if below is not None:
        if ind_type != "numeric":
            raise ScorecardError(f"{where}.below: only numeric indicators have edges")
        numeric = isinstance(below, int | float) and not isinstance(below, bool)
        if not numeric or not math.isfinite(below):
            raise ScorecardError(f"{where}.below: not a finite number: {below!r}")
    categories = data.get("categories", ())
    if categories and ind_type != "categorical":
        raise ScorecardError(f"{where}.categories: only categorical indicators have categories")
    if not isinstance(categories, list | tuple) or not all(
        isinstance(c, str) and c for c in categories
    ):
        raise ScorecardError(f"{where}.categories: must be a list of non-empty strings")
    value = data.get("value")
    if value is not None and (ind_type != "flag" or not isinstance(value, bool)):
        raise ScorecardError(f"{where}.value: only flags have a value, true or false")
    evidence = data.get("evidence")
    if evidence is not None and not isinstance(evidence, Mapping):
        raise ScorecardError(f"{where}.evidence: must be an object")
    return Bin(
        points=points,
        label=label or Text("", ""),
        below=None if below is None else float(below),
        categories=tuple(categories),
        other=bool(data.get("other", False)),
        value=value,
        cap=cap,
        evidence=dict(evidence) if evidence is not None else None,
    )


def _fmt(value: float) -> str:
    return f"{value:g}"


def _numeric_label(low: float | None, high: float | None, unit: Text | None) -> Text:
    zh_u = unit.zh if unit else ""
    en_u = f" {unit.en}" if unit else ""
    if low is None and high is not None:
        return Text(f"<{_fmt(high)}{zh_u}", f"< {_fmt(high)}{en_u}")
    if high is None and low is not None:
        return Text(f"≥{_fmt(low)}{zh_u}", f"≥ {_fmt(low)}{en_u}")
    if low is None:
        return Text("全部", "all")
    return Text(f"{_fmt(low)}–{_fmt(high)}{zh_u}", f"{_fmt(low)}–{_fmt(high)}{en_u}")  # type: ignore[arg-type]


def _parse_indicator(data: Any, where: str) -> Indicator:
    if not isinstance(data, Mapping):
        raise ScorecardError(f"{where}: an indicator must be an object")
    name = _require(data, "name", where)
    if not isinstance(name, str) or not _NAME.match(name):
        raise ScorecardError(f"{where}.name: must be snake_case ascii, got {name!r}")
    where = f"{where} ({name})"
    allowed = {
        "name",
        "label",
        "type",
        "bins",
        "missing",
        "risk",
        "unit",
        "rationale",
        "definition",
    }
    extra = set(data) - allowed
    if extra:
        raise ScorecardError(f"{where}: unknown keys {sorted(extra)}")
    ind_type = _require(data, "type", where)
    if ind_type not in TYPES:
        raise ScorecardError(f"{where}.type: must be one of {', '.join(TYPES)}, got {ind_type!r}")
    risk = data.get("risk", "none")
    if risk not in RISKS:
        raise ScorecardError(f"{where}.risk: must be one of {', '.join(RISKS)}, got {risk!r}")
    label = Text.parse(_require(data, "label", where), f"{where}.label")
    unit = Text.parse(data["unit"], f"{where}.unit") if "unit" in data else None
    raw_bins = _require(data, "bins", where)
    if not isinstance(raw_bins, list) or not raw_bins:
        raise ScorecardError(f"{where}.bins: need a non-empty list")
    if len(raw_bins) >= MAX_BINS:
        raise ScorecardError(f"{where}.bins: at most {MAX_BINS - 1} bins")
    if "missing" not in data:
        raise ScorecardError(f"{where}.missing: every indicator needs an explicit missing bin")
    missing = _parse_bin(data["missing"], f"{where}.missing", "missing", MISSING_LABEL)
    for key in ("below", "categories", "other", "value"):
        if key in data["missing"]:
            raise ScorecardError(f"{where}.missing.{key}: the missing bin only has points/label")

    bins: list[Bin] = []
    previous: float | None = None
    for i, raw in enumerate(raw_bins):
        bw = f"{where}.bins[{i}]"
        default = None
        if ind_type == "numeric":
            below = raw.get("below") if isinstance(raw, Mapping) else None
            last = i == len(raw_bins) - 1
            if last and below is not None:
                raise ScorecardError(f"{bw}.below: the last bin is open-ended (no 'below')")
            if not last and below is None:
                raise ScorecardError(f"{bw}.below: needed on every bin but the last")
            if below is not None and previous is not None and not below > previous:
                raise ScorecardError(
                    f"{bw}.below: edges must increase, {below!r} follows {previous!r}"
                )
            default = _numeric_label(previous, below, unit)
            if below is not None:
                previous = float(below)
        elif ind_type == "flag":
            value = raw.get("value") if isinstance(raw, Mapping) else None
            default = Text("是", "yes") if value else Text("否", "no")
        parsed = _parse_bin(raw, bw, ind_type, default)
        if ind_type == "categorical":
            if not parsed.categories and not parsed.other:
                raise ScorecardError(f"{bw}: a categorical bin needs categories or other: true")
            if not parsed.label.zh:
                shown = "/".join(parsed.categories) or "other"
                parsed = Bin(**{**parsed.__dict__, "label": Text(shown, shown)})
        bins.append(parsed)
    if ind_type == "categorical":
        seen: dict[str, int] = {}
        for i, b in enumerate(bins):
            for c in b.categories:
                if c in seen:
                    raise ScorecardError(
                        f"{where}.bins[{i}].categories: {c!r} is already in bins[{seen[c]}]"
                    )
                seen[c] = i
        if sum(b.other for b in bins) > 1:
            raise ScorecardError(f"{where}.bins: at most one bin may have other: true")
    if ind_type == "flag":
        values = sorted(b.value for b in bins if b.value is not None)
        if len(bins) != 2 or values != [False, True] or bins[0].value is not False:
            raise ScorecardError(
                f"{where}.bins: a flag has exactly two bins, value false then value true"
            )
    ind = Indicator(
        name=name,
        label=label,
        type=ind_type,
        bins=tuple(bins),
        missing=missing,
        risk=risk,
        unit=unit,
        rationale=Text.parse(data["rationale"], f"{where}.rationale")
        if "rationale" in data
        else None,
        definition=Text.parse(data["definition"], f"{where}.definition")
        if "definition" in data
        else None,
    )
    _check_monotonic(ind, where)
    return ind


def _check_monotonic(ind: Indicator, where: str) -> None:
    """Risk increasing along the bins: points never rise from one bin to the next."""
    if ind.risk == "none":
        return
    points = [b.points for b in ind.bins if not b.other]
    sign = -1 if ind.risk == "increasing" else 1
    for i in range(1, len(points)):
        if sign * (points[i] - points[i - 1]) < 0:
            raise ScorecardError(
                f"{where}.bins[{i}].points: risk is {ind.risk} along the bins, so points must "
                f"{'not rise' if sign < 0 else 'not fall'}; {points[i - 1]} then {points[i]}"
            )


def _parse_card(data: Any) -> Scorecard:
    if not isinstance(data, Mapping):
        raise ScorecardError("a scorecard must be a JSON object")
    fmt = data.get("format", FORMAT)
    if fmt != FORMAT:
        raise ScorecardError(f"format: expected {FORMAT!r}, got {fmt!r}")
    card_id = _require(data, "id", "scorecard")
    if not isinstance(card_id, str) or not re.match(r"^[a-z0-9][a-z0-9_.+-]{0,80}$", card_id):
        raise ScorecardError(f"id: lower-case letters, digits, '-', '_', '.', '+', got {card_id!r}")
    version = _require(data, "version", "scorecard")
    if not isinstance(version, str) or not version.strip():
        raise ScorecardError(f"version: need a non-empty string, got {version!r}")
    kind = data.get("kind", "general")
    if kind not in KINDS:
        raise ScorecardError(f"kind: must be one of {', '.join(KINDS)}, got {kind!r}")
    industries = data.get("industries", [])
    if not isinstance(industries, list) or not all(
        isinstance(c, str) and _INDUSTRY.match(c) for c in industries
    ):
        raise ScorecardError(
            "industries: a list of GB/T 4754-2017 code prefixes (a letter A-T, optionally "
            f"2-4 digits, e.g. H62), got {industries!r}"
        )
    if kind == "industry" and not industries:
        raise ScorecardError("industries: an industry scorecard needs at least one code prefix")
    if kind == "general" and industries:
        raise ScorecardError("industries: only an industry scorecard lists industries")
    base = _points(_require(data, "base_points", "scorecard"), "base_points")
    raw_inds = _require(data, "indicators", "scorecard")
    if not isinstance(raw_inds, list) or not raw_inds:
        raise ScorecardError("indicators: need a non-empty list")
    indicators = tuple(_parse_indicator(d, f"indicators[{i}]") for i, d in enumerate(raw_inds))
    names = [ind.name for ind in indicators]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ScorecardError(f"indicators: duplicate names {dupes}")
    cutoffs = shares = None
    tiers = data.get("tiers")
    if tiers is not None:
        if not isinstance(tiers, Mapping) or set(tiers) - {"cutoffs", "shares"}:
            raise ScorecardError('tiers: an object with "cutoffs" and/or "shares"')
        try:
            if "cutoffs" in tiers:
                cutoffs = Cutoffs.from_dict(tiers["cutoffs"])
            if "shares" in tiers:
                shares = validate_shares(tiers["shares"])
        except TierError as exc:
            raise ScorecardError(str(exc)) from exc
    calibration = None
    if "calibration" in data:
        calibration = _parse_calibration(data["calibration"])
    known = {
        "format",
        "id",
        "version",
        "kind",
        "title",
        "description",
        "industries",
        "base_points",
        "tiers",
        "indicators",
        "calibration",
    }
    meta = {k: v for k, v in data.items() if k not in known}
    return Scorecard(
        id=card_id,
        version=version,
        kind=kind,
        title=Text.parse(_require(data, "title", "scorecard"), "title"),
        base_points=base,
        indicators=indicators,
        industries=tuple(industries),
        cutoffs=cutoffs,
        shares=shares,
        description=Text.parse(data["description"], "description")
        if "description" in data
        else None,
        calibration=calibration,
        meta=meta,
    )


def _parse_calibration(data: Any) -> Calibration:
    if not isinstance(data, Mapping):
        raise ScorecardError("calibration: must be an object")
    scores = _require(data, "score", "calibration")
    probs = _require(data, "probability", "calibration")
    if not isinstance(scores, list) or not isinstance(probs, list) or len(scores) != len(probs):
        raise ScorecardError("calibration: score and probability are lists of the same length")
    if not scores:
        raise ScorecardError("calibration: needs at least one point")
    s = np.asarray(scores, dtype=np.float64)
    p = np.asarray(probs, dtype=np.float64)
    if np.any(np.diff(s) <= 0):
        raise ScorecardError("calibration.score: must increase strictly")
    if np.any((p < 0) | (p > 1)):
        raise ScorecardError("calibration.probability: must be between 0 and 1")
    return Calibration(str(data.get("method", "")), tuple(s.tolist()), tuple(p.tolist()))


def _indicator_dict(ind: Indicator) -> dict[str, Any]:
    out: dict[str, Any] = {"name": ind.name, "label": ind.label.as_dict(), "type": ind.type}
    if ind.unit:
        out["unit"] = ind.unit.as_dict()
    out["risk"] = ind.risk
    for key in ("definition", "rationale"):
        text = getattr(ind, key)
        if text is not None:
            out[key] = text.zh if text.zh == text.en else text.as_dict()
    bins = []
    for b in ind.bins:
        d: dict[str, Any] = {}
        if b.below is not None:
            d["below"] = _plain(b.below)
        if b.categories:
            d["categories"] = list(b.categories)
        if b.other:
            d["other"] = True
        if b.value is not None:
            d["value"] = b.value
        d["points"] = b.points
        d["label"] = b.label.as_dict()
        if b.cap:
            d["cap"] = b.cap
        if b.evidence is not None:
            d["evidence"] = dict(b.evidence)
        bins.append(d)
    out["bins"] = bins
    missing: dict[str, Any] = {"points": ind.missing.points, "label": ind.missing.label.as_dict()}
    if ind.missing.cap:
        missing["cap"] = ind.missing.cap
    if ind.missing.evidence is not None:
        missing["evidence"] = dict(ind.missing.evidence)
    out["missing"] = missing
    return out


def _dump(data: Any, indent: int = 0) -> str:
    """JSON with objects expanded, except bins and short lists, which stay on one line."""
    pad = "  " * indent
    inner = "  " * (indent + 1)
    if isinstance(data, Mapping):
        if _is_leaf_object(data):
            return json.dumps(data, ensure_ascii=False)
        items = [f"{inner}{json.dumps(k)}: {_dump(v, indent + 1)}" for k, v in data.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(data, list):
        if all(not isinstance(v, Mapping | list) for v in data):
            one_line = json.dumps(data, ensure_ascii=False)
            if len(one_line) <= 100:
                return one_line
            return "[\n" + ",\n".join(f"{inner}{json.dumps(v)}" for v in data) + "\n" + pad + "]"
        items = [f"{inner}{_dump(v, indent + 1)}" for v in data]
        return "[\n" + ",\n".join(items) + "\n" + pad + "]"
    return json.dumps(data, ensure_ascii=False)


def _is_leaf_object(data: Mapping[str, Any]) -> bool:
    """A bin, a label or a small table: one line in the file."""
    if "points" in data or set(data) <= {"zh", "en"}:
        return True
    return all(not isinstance(v, Mapping | list) for v in data.values()) and len(data) <= 4


def text_list(values: Sequence[Text], lang: str) -> list[str]:
    return [v.get(lang) for v in values]
