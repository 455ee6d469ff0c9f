"""General + specialised (通用+专用): one general scorecard plus industry scorecards.

An industry scorecard adds its own indicators to the general one; its ``industries`` are
GB/T 4754-2017 code prefixes, and an enterprise gets the industry card whose prefix is the
longest match of its industry code (``C1411`` matches ``C14`` before ``C``), or the general card
alone when none matches or the code is missing. Two industry cards may not claim the same prefix.

The composed card has the general indicators then the industry ones, base points added, the
industry card's tiers if it has its own, else the general card's, and a version naming both
(``2026.1+2026.1``): a rating keeps the composed card's id, version and digest.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import numpy as np

from credit_rating.cardfile import load_scorecard
from credit_rating.scorecard import Scorecard, ScorecardError, ScoreResult, Text
from credit_rating.tiers import Cutoffs

BUILTIN = ("general.json", "food.json", "special_equipment.json")


def compose(general: Scorecard, industry: Scorecard) -> Scorecard:
    """The general card plus the industry card's indicators."""
    if general.kind != "general":
        raise ScorecardError(f"{general.id}: kind is {general.kind!r}, expected 'general'")
    if industry.kind != "industry":
        raise ScorecardError(f"{industry.id}: kind is {industry.kind!r}, expected 'industry'")
    clash = sorted(set(general.names) & set(industry.names))
    if clash:
        raise ScorecardError(
            f"{industry.id}: indicators {clash} are already in the general card {general.id}"
        )
    own_tiers = industry.cutoffs is not None or industry.shares is not None
    digest = hashlib.sha256(f"{general.digest}+{industry.digest}".encode()).hexdigest()
    return Scorecard(
        id=f"{general.id}+{industry.id}",
        version=f"{general.version}+{industry.version}",
        kind="composed",
        title=Text(
            f"{general.title.zh}＋{industry.title.zh}", f"{general.title.en} + {industry.title.en}"
        ),
        base_points=general.base_points + industry.base_points,
        indicators=general.indicators + industry.indicators,
        industries=industry.industries,
        cutoffs=industry.cutoffs if own_tiers else general.cutoffs,
        shares=industry.shares if own_tiers else general.shares,
        meta={
            "components": [
                {"id": c.id, "version": c.version, "digest": c.digest} for c in (general, industry)
            ],
            "components_digest": digest,
        },
    )


@dataclass(frozen=True)
class Rating:
    """Ratings of a batch under a card set: one group per card actually used."""

    cards: tuple[Scorecard, ...]  # index 0 = the general card alone
    card_index: np.ndarray  # int16 (n,): which card rated each row
    score: np.ndarray  # int32 (n,)
    tier: np.ndarray | None  # uint8 (n,), None when a used card has no cut-offs
    groups: Mapping[int, tuple[np.ndarray, ScoreResult]]  # card index -> (rows, result)


@dataclass(frozen=True)
class ScorecardSet:
    """The general card and the industry cards; picks and composes by industry code."""

    general: Scorecard
    industry: tuple[Scorecard, ...] = ()
    _composed: tuple[Scorecard, ...] = field(init=False, repr=False, compare=False)
    _prefixes: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        prefixes: dict[str, int] = {}
        ids = [self.general.id]
        for i, card in enumerate(self.industry, start=1):
            if card.id in ids:
                raise ScorecardError(f"{card.id}: two scorecards with the same id")
            ids.append(card.id)
            for prefix in card.industries:
                if prefix in prefixes:
                    other = self.industry[prefixes[prefix] - 1].id
                    raise ScorecardError(
                        f"{card.id}.industries: {prefix!r} is already claimed by {other}"
                    )
                prefixes[prefix] = i
        composed = (self.general, *(compose(self.general, c) for c in self.industry))
        object.__setattr__(self, "_composed", composed)
        object.__setattr__(self, "_prefixes", prefixes)

    @property
    def cards(self) -> tuple[Scorecard, ...]:
        """Index 0 is the general card; index i the general card composed with industry[i-1]."""
        return self._composed

    def card_for(self, industry_code: str | None) -> Scorecard:
        return self._composed[self._match(industry_code)]

    def _match(self, code: str | None) -> int:
        if not code:
            return 0
        code = str(code).strip().upper()
        for length in range(len(code), 0, -1):
            hit = self._prefixes.get(code[:length])
            if hit is not None:
                return hit
        return 0

    def select(self, industry_codes: Sequence[str | None] | np.ndarray) -> np.ndarray:
        """Card index (into ``cards``) per row, by the longest matching industry-code prefix."""
        values = np.asarray(industry_codes, dtype=object)
        index: dict[Any, int] = {}
        out = np.empty(values.shape[0], dtype=np.int16)
        for i, code in enumerate(values.tolist()):
            hit = index.get(code)
            if hit is None:
                hit = index[code] = self._match(code if isinstance(code, str) else None)
            out[i] = hit
        return out

    def rate(
        self,
        industry_codes: Sequence[str | None] | np.ndarray,
        columns: Mapping[str, Any],
        *,
        cutoffs: Mapping[int, Cutoffs] | None = None,
    ) -> Rating:
        """Score every row with its card. ``columns`` holds every indicator any used card needs
        (rows whose card lacks an indicator ignore it). ``cutoffs`` may override a card's tiers,
        keyed by card index."""
        card_index = self.select(industry_codes)
        n = card_index.shape[0]
        score = np.empty(n, dtype=np.int32)
        tier: np.ndarray | None = np.empty(n, dtype=np.uint8)
        groups: dict[int, tuple[np.ndarray, ScoreResult]] = {}
        for i in np.unique(card_index).tolist():
            card = self._composed[i]
            rows = np.flatnonzero(card_index == i)
            whole = rows.size == n
            sub = {
                name: (np.asarray(columns[name]) if whole else np.asarray(columns[name])[rows])
                for name in card.names
                if name in columns
            }
            result = card.score(sub, cutoffs=(cutoffs or {}).get(i))
            score[rows] = result.score
            if result.tier is None:
                tier = None
            elif tier is not None:
                tier[rows] = result.tier
            groups[i] = (rows, result)
        return Rating(self._composed, card_index, score, tier, groups)


def builtin_cards() -> ScorecardSet:
    """The shipped cards: general.json, food.json and special_equipment.json (package data)."""
    base = resources.files("credit_rating") / "scorecards"
    cards = []
    for name in BUILTIN:
        try:
            cards.append(load_scorecard(dict(_read_json(base / name))))
        except ScorecardError as exc:
            raise ScorecardError(f"{name}: {exc}") from exc
    return ScorecardSet(cards[0], tuple(cards[1:]))


def card_set(cards: Iterable[Scorecard]) -> ScorecardSet:
    """A set from loaded cards: exactly one general card, any number of industry cards."""
    items = list(cards)
    general = [c for c in items if c.kind == "general"]
    if len(general) != 1:
        raise ScorecardError(f"need exactly one general scorecard, got {len(general)}")
    industry = tuple(c for c in items if c.kind == "industry")
    return ScorecardSet(general[0], industry)


def _read_json(path: Any) -> Mapping[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))
