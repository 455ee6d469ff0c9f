"""Column parsers: a whole column in, normalised values and per-row errors out.

Each parser returns ``Parsed(values, errors)``: ``values[i]`` is the normalised value of row
``i`` of the chunk (None when the cell is empty), ``errors`` lists ``(i, reason, reason_zh)``.
Whether an empty cell is allowed is the caller's business. Parsers of coded values work per
distinct value (a column of 500,000 cells usually holds a few dozen), the others have a fast
path for the common case and only look at single cells to explain a failure.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

import numpy as np

from enforcement import uscc as uscc_rules
from enforcement.importers.labels import normalise_label
from enforcement.reasons import reason

Err = tuple[int, str, str]
CellResult = tuple[Any, tuple[str, str] | None]


@dataclass
class Parsed:
    values: list[Any]
    errors: list[Err] = field(default_factory=list)


def all_text(values: Sequence[Any]) -> bool:
    """True when every cell is a str (always for CSV): the fast paths apply."""
    return set(map(type, values)) <= {str}


def is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def per_distinct(values: Sequence[Any], parse: Callable[[Any], CellResult]) -> Parsed:
    """Apply ``parse`` once per distinct cell value; empty cells give None."""

    def cell(value: Any) -> CellResult:
        return (None, None) if is_empty(value) else parse(value)

    try:
        cache = {value: cell(value) for value in set(values)}
    except TypeError:  # unhashable GeoJSON values (lists, objects)
        results = [cell(value) for value in values]
        out = [r[0] for r in results]
        return Parsed(out, [(i, *r[1]) for i, r in enumerate(results) if r[1] is not None])
    converted = {value: result[0] for value, result in cache.items()}
    out = list(map(converted.__getitem__, values))
    bad = {value: result[1] for value, result in cache.items() if result[1] is not None}
    errors = [(i, *bad[v]) for i, v in enumerate(values) if v in bad] if bad else []
    return Parsed(out, errors)


# --------------------------------------------------------------------------- text


def _cell_text(value: Any) -> CellResult:
    if isinstance(value, str):
        return value.strip() or None, None
    if isinstance(value, bool):
        return ("true" if value else "false"), None
    if isinstance(value, int):
        return str(value), None
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value)), None
        return repr(value), None
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" "), None
    if isinstance(value, dt.date):
        return value.isoformat(), None
    if value is None:
        return None, None
    return None, (reason("expected text, got a list or object"), "应为文本，实际为列表或对象")


def text(values: Sequence[Any], max_length: int, *, text_only: bool = False) -> Parsed:
    """Stripped text; empty gives None; longer than ``max_length`` characters is an error."""
    if text_only or all_text(values):
        out = [v or None for v in map(str.strip, values)]
        errors: list[Err] = []
    else:
        results = [_cell_text(v) for v in values]
        out = [r[0] for r in results]
        errors = [(i, *r[1]) for i, r in enumerate(results) if r[1] is not None]
    present = [v for v in out if v is not None] if None in out else out
    if present and max(map(len, present)) > max_length:
        errors = errors + [
            (
                i,
                reason(
                    "longer than ${limit} characters (${length})", limit=max_length, length=len(v)
                ),
                f"超过{max_length}个字符（{len(v)}个）",
            )
            for i, v in enumerate(out)
            if v is not None and len(v) > max_length
        ]
    return Parsed(out, errors)


# --------------------------------------------------------------------------- coded values


def choice(
    values: Sequence[Any], table: dict[str, Any], what: str, what_zh: str, **_: Any
) -> Parsed:
    """A coded value given by any of its spellings in ``table`` (see labels.py)."""
    accepted = ", ".join(sorted({str(v) for v in table.values()}))

    def parse(value: Any) -> CellResult:
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            value = str(value)
        key = normalise_label(str(value))
        if key in table:
            return table[key], None
        return None, (
            _unknown_choice(what, value, accepted),
            f"无法识别的{what_zh}“{value}”；可用值：{accepted}",
        )

    return per_distinct(values, parse)


def _unknown_choice(what: str, value: Any, accepted: str) -> str:
    """The refusal of a coded value, one message per kind of code (what the field holds)."""
    if what == "entity type":
        return reason(
            "unknown entity type '${value}'; accepted: ${accepted}", value=value, accepted=accepted
        )
    if what == "status":
        return reason(
            "unknown registration status '${value}'; accepted: ${accepted}",
            value=value,
            accepted=accepted,
        )
    if what == "level":
        return reason(
            "unknown jurisdiction level '${value}'; accepted: ${accepted}",
            value=value,
            accepted=accepted,
        )
    if what == "method":
        return reason(
            "unknown inspection method '${value}'; accepted: ${accepted}",
            value=value,
            accepted=accepted,
        )
    return f"unknown {what} {value!r}; accepted: {accepted}"  # a kind without a message yet


def boolean(values: Sequence[Any], table: dict[str, bool], **_: Any) -> Parsed:
    def parse(value: Any) -> CellResult:
        if isinstance(value, bool):
            return value, None
        if isinstance(value, int | float) and value in (0, 1):
            return bool(value), None
        key = normalise_label(str(value))
        if key in table:
            return table[key], None
        return None, (
            reason("not a yes/no value: '${value}' (use true/false, 1/0, 是/否)", value=value),
            f"不是是/否值：“{value}”（请用true/false、1/0、是/否）",
        )

    return per_distinct(values, parse)


INDUSTRY_RE = re.compile(r"[A-T](?:\d{2}|\d{3}|\d{4})?\Z")


def _industry(value: Any) -> CellResult:
    code = str(value).strip().upper()
    if INDUSTRY_RE.match(code):
        return code, None
    return None, (
        reason(
            "not a GB/T 4754-2017 industry code: '${value}' (a section letter A-T, optionally "
            "followed by 2-4 digits, e.g. F5212 or H62)",
            value=value,
        ),
        f"不是GB/T 4754-2017国民经济行业代码：“{value}”（门类字母A-T，可后接2-4位数字，"
        "如F5212、H62）",
    )


def industry_code(values: Sequence[Any], **_: Any) -> Parsed:
    return per_distinct(values, _industry)


def industry_cell(value: Any) -> CellResult:
    return _industry(value)


# --------------------------------------------------------------------------- numbers and dates


def coordinates(values: Sequence[Any], **_: Any) -> Parsed:
    """Floats (None when empty); only finite numbers; range checks are the caller's."""
    try:
        out = [float(v) if v != "" and v is not None else None for v in values]
    except (TypeError, ValueError):
        out, errors = [], []
        for i, v in enumerate(values):
            try:
                out.append(None if is_empty(v) else float(v))
            except (TypeError, ValueError):
                out.append(None)
                errors.append((i, reason("not a number: '${value}'", value=v), f"不是数字：“{v}”"))
    else:
        errors = []
    for i, v in enumerate(out):
        if v is not None and not math.isfinite(v):
            out[i] = None
            errors.append(
                (i, reason("not a finite number: ${value}", value=v), f"不是有限数值：“{v}”")
            )
    return Parsed(out, errors)


_DATE_RE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T].*)?\Z")
_COMPACT_DATE_RE = re.compile(r"(\d{4})(\d{2})(\d{2})\Z")
MIN_DATE, MAX_DATE = dt.date(1900, 1, 1), dt.date(2100, 12, 31)


def _date(value: Any) -> CellResult:
    if isinstance(value, dt.datetime):
        day = value.date()
    elif isinstance(value, dt.date):
        day = value
    elif isinstance(value, bool | int | float):
        return None, (
            reason(
                "a number is not a date: ${value} (format the cell as a date or write YYYY-MM-DD)",
                value=value,
            ),
            f"数字不是日期：“{value}”（请把单元格设为日期格式或写成YYYY-MM-DD）",
        )
    else:
        text_value = str(value).strip()
        match = _DATE_RE.match(text_value) or _COMPACT_DATE_RE.match(text_value)
        if not match:
            return None, (
                reason(
                    "not a date: '${value}' (use YYYY-MM-DD, YYYY/MM/DD or YYYY年M月D日)",
                    value=value,
                ),
                f"不是日期：“{value}”（请用YYYY-MM-DD、YYYY/MM/DD或YYYY年M月D日）",
            )
        try:
            day = dt.date(*(int(part) for part in match.groups()))
        except ValueError:
            return None, (reason("no such date: '${value}'", value=value), f"日期不存在：“{value}”")
    if not MIN_DATE <= day <= MAX_DATE:
        return None, (
            reason(
                "date ${date} is outside ${first}-${last}",
                date=day.isoformat(),
                first=MIN_DATE.year,
                last=MAX_DATE.year,
            ),
            f"日期{day.isoformat()}超出{MIN_DATE.year}至{MAX_DATE.year}年范围",
        )
    return day.isoformat(), None


def date(values: Sequence[Any], **_: Any) -> Parsed:
    """ISO date strings (YYYY-MM-DD) from ISO, YYYY/MM/DD, YYYY.MM.DD, YYYYMMDD, YYYY年M月D日
    text or spreadsheet date cells."""
    return per_distinct(values, _date)


_CAPITAL_RE = re.compile(
    r"(?:人民币|RMB|CNY|¥|￥)?\s*([0-9][0-9,]*(?:\.[0-9]+)?)\s*(万元|万|元)?(?:人民币)?\Z",
    re.IGNORECASE,
)
MAX_CAPITAL = Decimal("9999999999999999.99")  # Numeric(18, 2)


def _capital(value: Any) -> CellResult:
    if isinstance(value, bool):
        amount = None
    elif isinstance(value, int | float):
        amount = Decimal(str(value))
    else:
        match = _CAPITAL_RE.match(str(value).strip())
        if match is None:
            amount = None
        else:
            try:
                amount = Decimal(match.group(1).replace(",", ""))
            except InvalidOperation:
                amount = None
            if amount is not None and match.group(2) in ("万", "万元"):
                amount *= 10_000
    if amount is None or not amount.is_finite():
        text_value = str(value)
        if re.search(r"美元|港元|港币|欧元|日元|英镑|USD|HKD|EUR", text_value, re.IGNORECASE):
            return None, (
                reason(
                    "registered capital in a foreign currency cannot be stored as CNY: '${value}'",
                    value=value,
                ),
                f"外币注册资本无法按人民币保存：“{value}”",
            )
        return None, (
            reason(
                "not an amount of yuan: '${value}' (a number, optionally with 元 or 万元)",
                value=value,
            ),
            f"不是人民币金额：“{value}”（数字，可带“元”或“万元”）",
        )
    if amount < 0:
        return None, (reason("negative amount: '${value}'", value=value), f"金额为负数：“{value}”")
    if amount > MAX_CAPITAL:
        return None, (reason("amount too large: '${value}'", value=value), f"金额过大：“{value}”")
    return str(amount.quantize(Decimal("0.01"))), None


def capital(values: Sequence[Any], **_: Any) -> Parsed:
    """Registered capital in yuan as a decimal string with 2 places; "100万元" is 1,000,000."""
    return per_distinct(values, _capital)


_CN_NUMBER = {"一": 1, "两": 2, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "十": 10}
_EVERY_RE = re.compile(
    r"每\s*(\d+|[一两二三四五六十])?\s*(个月|月|季度|半年|年)\s*(?:一次|1次|检查一次)?\Z"
)
_MONTHS_RE = re.compile(r"(\d+)\s*(个月|月)\Z")
_YEARS_RE = re.compile(r"(\d+)\s*年\Z")
_UNIT_MONTHS = {"个月": 1, "月": 1, "季度": 3, "半年": 6, "年": 12}
MAX_INTERVAL = 120


def _interval(value: Any) -> CellResult:
    months: int | None = None
    if isinstance(value, bool):
        months = None
    elif isinstance(value, int):
        months = value
    elif isinstance(value, float) and value.is_integer():
        months = int(value)
    elif isinstance(value, str):
        s = value.strip()
        if s.isdigit():
            months = int(s)
        elif match := _EVERY_RE.match(s):
            count, unit = match.groups()
            n = 1 if count is None else int(count) if count.isdigit() else _CN_NUMBER[count]
            months = n * _UNIT_MONTHS[unit]
        elif match := _MONTHS_RE.match(s):
            months = int(match.group(1))
        elif match := _YEARS_RE.match(s):
            months = int(match.group(1)) * 12
        elif s == "半年":
            months = 6
    if months is None:
        return None, (
            reason(
                "not an interval in months: '${value}' (a whole number such as 12, or 每年一次, "
                "每两年一次, 每半年一次)",
                value=value,
            ),
            f"不是以月计的检查周期：“{value}”（整数如12，或每年一次、每两年一次、每半年一次）",
        )
    if not 1 <= months <= MAX_INTERVAL:
        return None, (
            reason(
                "interval must be 1-${limit} months, got ${months}",
                limit=MAX_INTERVAL,
                months=months,
            ),
            f"检查周期应为1至{MAX_INTERVAL}个月，实际为{months}",
        )
    return months, None


def interval_months(values: Sequence[Any], **_: Any) -> Parsed:
    return per_distinct(values, _interval)


# --------------------------------------------------------------------------- codes

_ADCODE_RE = re.compile(r"\d{6}(?:\d{3}){0,2}\Z")


def _adcode(value: Any) -> CellResult:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    code = str(value).strip()
    if not _ADCODE_RE.match(code) or code.startswith("00"):
        return None, (
            reason(
                "not an administrative division code: '${value}' (6 digits, or 9/12 for townships)",
                value=value,
            ),
            f"不是行政区划代码：“{value}”（6位数字，乡镇级9位或12位）",
        )
    # 12-digit statistical codes pad county and township codes with zeros.
    if len(code) == 12 and code.endswith("000"):
        code = code[:9]
    if len(code) == 9 and code.endswith("000"):
        code = code[:6]
    return code, None


def adcode(values: Sequence[Any], **_: Any) -> Parsed:
    return per_distinct(values, _adcode)


def adcode_cell(value: Any) -> CellResult:
    return _adcode(value)


_LIST_SPLIT_RE = re.compile(r"[;；、,，\n]")


def split_list(value: Any) -> list[str]:
    if isinstance(value, list | tuple):
        parts = [str(v) for v in value if v is not None]
    else:
        parts = _LIST_SPLIT_RE.split(str(value))
    seen: dict[str, None] = {}
    for part in parts:
        part = part.strip()
        if part:
            seen.setdefault(part)
    return list(seen)


def string_list(
    values: Sequence[Any], item: Callable[[str], CellResult] | None = None, **_: Any
) -> Parsed:
    """Lists separated by ; 、 , (ASCII or full-width) or given as JSON arrays; empty -> []."""
    out: list[Any] = []
    errors: list[Err] = []
    for i, value in enumerate(values):
        if is_empty(value) or value == []:
            out.append([])
            continue
        items = []
        for part in split_list(value):
            if item is None:
                items.append(part)
                continue
            parsed, error = item(part)
            if error is not None:
                errors.append((i, *error))
            elif parsed not in items:
                items.append(parsed)
        out.append(items)
    return Parsed(out, errors)


# --------------------------------------------------------------------------- USCC

_USCC_VALUE = np.full(256, 255, dtype=np.int64)
for _i, _ch in enumerate(uscc_rules.CHARSET):
    _USCC_VALUE[ord(_ch)] = _i
_ORG_VALUE = np.full(256, 255, dtype=np.int64)
for _i, _ch in enumerate("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"):
    _ORG_VALUE[ord(_ch)] = _i
_USCC_WEIGHTS = np.array((1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28))
_ORG_WEIGHTS = np.array((3, 7, 9, 10, 5, 8, 4, 2))
_CHARSET_BYTES = np.frombuffer(uscc_rules.CHARSET.encode(), dtype=np.uint8)
_PREFIXES = np.array(
    sorted(ord(a) * 256 + ord(t) for a, info in uscc_rules.AUTHORITIES.items() for t in info.types)
)


@functools.cache
def _known_divisions() -> np.ndarray:
    return np.array(sorted(int(c) for c in uscc_rules.known_divisions()), dtype=np.int64)


def _fast_valid_uscc(codes: list[str]) -> np.ndarray:
    """Vectorised GB 32100 check of codes that are all 18 ASCII characters: True = valid.

    Mirrors :func:`enforcement.uscc.validate_uscc`; False only means "ask validate_uscc".
    """
    raw = np.frombuffer("".join(codes).encode("ascii"), dtype=np.uint8).reshape(-1, 18)
    values = _USCC_VALUE[raw]
    ok = (values != 255).all(axis=1)
    ok &= np.isin(raw[:, 0].astype(np.int64) * 256 + raw[:, 1], _PREFIXES)
    digits = raw[:, 2:8].astype(np.int64) - 48
    ok &= ((digits >= 0) & (digits <= 9)).all(axis=1)
    division = digits @ np.array([100000, 10000, 1000, 100, 10, 1])
    ok &= np.isin(division, _known_divisions())
    org = _ORG_VALUE[raw[:, 8:16]]
    org_check = 11 - (np.where(org == 255, 0, org) @ _ORG_WEIGHTS) % 11
    expected17 = np.where(org_check == 10, ord("X"), np.where(org_check == 11, 48, 48 + org_check))
    ok &= (org != 255).all(axis=1) & (raw[:, 16] == expected17)
    first17 = values[:, :17]
    check = (31 - (np.where(first17 == 255, 0, first17) @ _USCC_WEIGHTS) % 31) % 31
    ok &= raw[:, 17] == _CHARSET_BYTES[check]
    return ok


def uscc(values: Sequence[Any], **_: Any) -> Parsed:
    """Unified social credit codes, checked by GB 32100 (the reason names the position)."""
    out: list[str | None] = [
        None if is_empty(v) else (v.strip() if isinstance(v, str) else str(v)) for v in values
    ]
    index = [i for i, v in enumerate(out) if v is not None]
    candidates = [out[i] for i in index]
    suspects: Iterable[int]
    if candidates and all(len(c) == 18 and c.isascii() for c in candidates):  # type: ignore[arg-type]
        valid = _fast_valid_uscc(candidates)  # type: ignore[arg-type]
        suspects = (index[j] for j in np.flatnonzero(~valid))
    else:
        suspects = index
    errors: list[Err] = []
    for i in suspects:
        problem = uscc_rules.validate_uscc(out[i])  # type: ignore[arg-type]
        if problem is not None:
            errors.append((i, problem.reason, problem.reason_zh))
            out[i] = None
    return Parsed(out, errors)


ENTITY_TYPE_BY_USCC_PREFIX = {
    "91": "company",
    "92": "individual_business",
    "93": "farmer_cooperative",
}


def entity_type_from_uscc(code: str) -> str:
    """GB 32100 positions 1-2: 9-1 company, 9-2 individual, 9-3 cooperative, 1-x public
    institutions and bodies, 5-x social organisations, anything else "other"."""
    prefix = code[:2]
    if prefix in ENTITY_TYPE_BY_USCC_PREFIX:
        return ENTITY_TYPE_BY_USCC_PREFIX[prefix]
    if code[:1] in ("1", "A"):
        return "public_institution"
    if code[:1] == "5":
        return "social_organisation"
    return "other"
