"""Reading, checking and writing scorecard JSON (``"format": "suijian-scorecard/1"``).

Every rule of docs/credit-model.md is checked here when a card is loaded, and every error names
the field (``indicators[3] (age_years).bins[1].below: edges must increase, 1 follows 3``).
``dump`` writes objects expanded and each bin on one line, so that a change reads well in a diff.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from credit_rating.scorecard import (
    FORMAT,
    KINDS,
    MAX_BINS,
    MISSING_LABEL,
    RISKS,
    TYPES,
    Bin,
    Calibration,
    Indicator,
    Scorecard,
    ScorecardError,
    Text,
    json_number,
)
from credit_rating.tiers import TIERS, Cutoffs, TierError, validate_shares

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_INDUSTRY = re.compile(r"^[A-T](\d{2,4})?$")


def load_scorecard(source: str | os.PathLike[str] | Mapping[str, Any]) -> Scorecard:
    """A scorecard from a JSON file path or an already-parsed dict."""
    if isinstance(source, Mapping):
        return parse_card(source)
    path = Path(source)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScorecardError(f"{path}: cannot read ({exc.strerror})") from exc
    try:
        return Scorecard.from_json(text)
    except ScorecardError as exc:
        raise ScorecardError(f"{path.name}: {exc}") from exc


def card_to_dict(card: Scorecard) -> dict[str, Any]:
    """The card as JSON-ready data (the inverse of ``parse_card``)."""
    out: dict[str, Any] = {
        "format": FORMAT,
        "id": card.id,
        "version": card.version,
        "kind": card.kind,
        "title": card.title.as_dict(),
    }
    if card.description:
        out["description"] = card.description.as_dict()
    if card.industries:
        out["industries"] = list(card.industries)
    out["base_points"] = card.base_points
    tiers: dict[str, Any] = {}
    if card.cutoffs:
        tiers["cutoffs"] = card.cutoffs.as_dict()
    if card.shares:
        tiers["shares"] = dict(card.shares)
    if tiers:
        out["tiers"] = tiers
    out["indicators"] = [_indicator_dict(ind) for ind in card.indicators]
    if card.calibration:
        out["calibration"] = card.calibration.as_dict()
    for key, value in card.meta.items():
        out[key] = value
    return out


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


def parse_card(data: Any) -> Scorecard:
    """A checked card from parsed JSON; errors name the field."""
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
            d["below"] = json_number(b.below)
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


def dump(data: Any, indent: int = 0) -> str:
    """JSON with objects expanded, except bins and short lists, which stay on one line."""
    pad = "  " * indent
    inner = "  " * (indent + 1)
    if isinstance(data, Mapping):
        if _is_leaf_object(data):
            return json.dumps(data, ensure_ascii=False)
        items = [f"{inner}{json.dumps(k)}: {dump(v, indent + 1)}" for k, v in data.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(data, list):
        if all(not isinstance(v, Mapping | list) for v in data):
            one_line = json.dumps(data, ensure_ascii=False)
            if len(one_line) <= 100:
                return one_line
            return "[\n" + ",\n".join(f"{inner}{json.dumps(v)}" for v in data) + "\n" + pad + "]"
        items = [f"{inner}{dump(v, indent + 1)}" for v in data]
        return "[\n" + ",\n".join(items) + "\n" + pad + "]"
    return json.dumps(data, ensure_ascii=False)


def _is_leaf_object(data: Mapping[str, Any]) -> bool:
    """A bin, a label or a small table: one line in the file."""
    if "points" in data or set(data) <= {"zh", "en"}:
        return True
    return all(not isinstance(v, Mapping | list) for v in data.values()) and len(data) <= 4
