"""Unified social credit code (统一社会信用代码, USCC) validation, GB 32100-2015.

Pure module: no database, no web framework.  Structure of the 18 characters::

    pos 1      registration authority code   登记管理部门代码
    pos 2      entity type                   机构类别代码
    pos 3-8    administrative division code  登记管理机关行政区划码 (GB/T 2260, 6 digits)
    pos 9-17   organisation code             主体标识码（组织机构代码）; pos 17 is its
               GB 11714 check character
    pos 18     check character               校验码

Charset ``0123456789ABCDEFGHJKLMNPQRTUWXY`` (31 characters: I, O, S, V and Z are never used),
values 0..30 in that order.  Position 18 = 31 - (sum of value x weight over positions 1..17
mod 31), 31 -> 0, with weights 1 3 9 27 19 26 16 17 20 29 25 13 8 24 10 30 28.

GB 11714 organisation code check (position 17): the first 8 characters have values
0-9 for digits and A=10 ... Z=35, weights 3 7 9 10 5 8 4 2; C9 = 11 - (sum mod 11),
10 -> 'X', 11 -> '0'.

Errors name the 1-based position of the offending character (for the 6-character division
field, the position of the first non-digit, or 3 when the whole field is an unknown code).
Input is never silently repaired: lowercase letters are errors.  Callers strip surrounding
whitespace before calling.
"""

from __future__ import annotations

import csv
import functools
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from enforcement.reasons import reason

__all__ = [
    "AUTHORITIES",
    "CHARSET",
    "UsccError",
    "division_name",
    "is_valid_uscc",
    "known_divisions",
    "make_uscc",
    "organisation_check_character",
    "uscc_check_character",
    "validate_uscc",
]

CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_VALUE = {ch: i for i, ch in enumerate(CHARSET)}
_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_EXCLUDED = frozenset("IOSVZ")

_ORG_CHARSET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"  # GB 11714: value = index (A = 10)
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)

_DATA_DIR = Path(__file__).resolve().parent / "data"


@dataclass(frozen=True)
class _Authority:
    name_zh: str
    name_en: str
    types: dict[str, tuple[str, str]]  # entity type -> (Chinese, English)


# GB 32100-2015, Appendix A (table of registration authority codes and entity-type codes),
# with the later additions A (中央军委改革和编制办公室) and N (农业).  Position 1 is the
# authority, position 2 the entity type; 9 = "other" where the authority has it.
AUTHORITIES: dict[str, _Authority] = {
    "1": _Authority(
        "机构编制",
        "public-sector establishment (organisation staffing)",
        {
            "1": ("机关", "government body"),
            "2": ("事业单位", "public institution"),
            "3": (
                "中央编办直接管理机构编制的群众团体",
                "mass organisation staffed by the central staffing office",
            ),
            "9": ("其他", "other"),
        },
    ),
    "2": _Authority(
        "外交",
        "foreign affairs",
        {
            "1": ("外国常驻新闻机构", "resident foreign news organisation"),
            "9": ("其他", "other"),
        },
    ),
    "3": _Authority(
        "司法行政",
        "justice administration",
        {
            "1": ("律师执业机构", "law firm"),
            "2": ("公证处", "notary office"),
            "3": ("基层法律服务所", "grassroots legal service office"),
            "4": ("司法鉴定机构", "forensic appraisal institution"),
            "5": ("仲裁委员会", "arbitration commission"),
            "9": ("其他", "other"),
        },
    ),
    "4": _Authority(
        "文化",
        "culture",
        {
            "1": ("外国在华文化中心", "foreign cultural centre in China"),
            "9": ("其他", "other"),
        },
    ),
    "5": _Authority(
        "民政",
        "civil affairs",
        {
            "1": ("社会团体", "social organisation"),
            "2": ("民办非企业单位", "private non-enterprise unit"),
            "3": ("基金会", "foundation"),
            "9": ("其他", "other"),
        },
    ),
    "6": _Authority(
        "旅游",
        "tourism",
        {
            "1": ("外国旅游部门常驻代表机构", "resident office of a foreign tourism authority"),
            "2": (
                "港澳台地区旅游部门常驻内地（大陆）代表机构",
                "resident mainland office of a Hong Kong, Macao or Taiwan tourism authority",
            ),
            "9": ("其他", "other"),
        },
    ),
    "7": _Authority(
        "宗教",
        "religious affairs",
        {
            "1": ("宗教活动场所", "place of religious activity"),
            "2": ("宗教院校", "religious school"),
            "9": ("其他", "other"),
        },
    ),
    "8": _Authority(
        "工会",
        "trade unions",
        {
            "1": ("基层工会", "grassroots trade union"),
            "9": ("其他", "other"),
        },
    ),
    # The standard says 工商 (industry and commerce); the function now sits with market
    # regulation (市场监管).  There is no "9 other" for this authority.
    "9": _Authority(
        "工商",
        "industry and commerce (market regulation)",
        {
            "1": ("企业", "enterprise"),
            "2": ("个体工商户", "individual business"),
            "3": ("农民专业合作社", "farmers' specialised cooperative"),
        },
    ),
    "A": _Authority(
        "中央军委改革和编制办公室",
        "Central Military Commission reform and staffing office",
        {
            "1": ("军队事业单位", "military public institution"),
            "9": ("其他", "other"),
        },
    ),
    "N": _Authority(
        "农业",
        "agriculture",
        {
            "1": ("组级集体经济组织", "group-level collective economic organisation"),
            "2": ("村级集体经济组织", "village-level collective economic organisation"),
            "3": ("乡镇级集体经济组织", "township-level collective economic organisation"),
            "9": ("其他", "other"),
        },
    ),
    "Y": _Authority(
        "其他",
        "other",
        {
            "1": ("其他", "other"),
        },
    ),
}


@dataclass(frozen=True)
class UsccError:
    """The first problem found in a code.

    ``position`` is 1-based, or None for whole-code problems (length).
    """

    position: int | None
    reason: str
    reason_zh: str


# --------------------------------------------------------------------------- check characters


def organisation_check_character(first8: str) -> str:
    """GB 11714 check character (USCC position 17) for the 8-character organisation base."""
    if len(first8) != 8:
        raise ValueError(f"organisation code base must be 8 characters, got {len(first8)}")
    total = 0
    for ch, weight in zip(first8, _ORG_WEIGHTS, strict=True):
        value = _ORG_CHARSET.find(ch)
        if value < 0:
            raise ValueError(f"invalid organisation code character {ch!r}")
        total += value * weight
    check = 11 - total % 11
    return "X" if check == 10 else "0" if check == 11 else str(check)


def uscc_check_character(first17: str) -> str:
    """GB 32100 check character (position 18) for the first 17 characters."""
    if len(first17) != 17:
        raise ValueError(f"expected the first 17 characters, got {len(first17)}")
    total = 0
    for ch, weight in zip(first17, _WEIGHTS, strict=True):
        value = _VALUE.get(ch)
        if value is None:
            raise ValueError(f"invalid USCC character {ch!r}")
        total += value * weight
    return CHARSET[(31 - total % 31) % 31]


# --------------------------------------------------------------------------- divisions


@functools.cache
def _division_table() -> dict[str, str]:
    """code -> name; current divisions first, then abolished ones (see data/ATTRIBUTION.md)."""
    table: dict[str, str] = {}
    with (_DATA_DIR / "divisions.csv").open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            table[row["code"]] = row["name"]
    # Abolished codes: a USCC never changes once issued, so entities registered before a
    # merger (e.g. 330103 下城区, merged into 拱墅区 in 2021) still carry the old code.
    with (_DATA_DIR / "divisions_historical.csv").open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            table.setdefault(row["code"], row["name"])
    return table


@functools.cache
def known_divisions() -> frozenset[str]:
    """Bundled 6-digit division codes: current (province, prefecture, county) plus abolished."""
    return frozenset(_division_table())


def division_name(code: str) -> str | None:
    """Name of a bundled division code, or None when the code is unknown or has no name."""
    return _division_table().get(code) or None


# --------------------------------------------------------------------------- validation


def _err(position: int | None, reason: str, reason_zh: str) -> UsccError:
    return UsccError(position=position, reason=reason, reason_zh=reason_zh)


def validate_uscc(code: str, *, divisions: Collection[str] | None = None) -> UsccError | None:
    """Return None if ``code`` is a valid USCC, else the first problem found.

    Checks in order: lowercase letters, length 18, charset, registration authority (pos 1),
    entity type for that authority (pos 2), division code (pos 3-8; ``divisions`` defaults to
    :func:`known_divisions`), GB 11714 organisation check character (pos 17), check
    character (pos 18).
    """
    for pos, ch in enumerate(code, start=1):
        if "a" <= ch <= "z":
            upper = ch.upper()
            note_zh = "（且不使用I、O、S、V、Z）" if upper in _EXCLUDED else ""
            why = (
                reason(
                    "position ${position}: lowercase letter '${char}' is not allowed; codes use "
                    "uppercase letters only (and I, O, S, V, Z are never used)",
                    position=pos,
                    char=ch,
                )
                if upper in _EXCLUDED
                else reason(
                    "position ${position}: lowercase letter '${char}' is not allowed; codes use "
                    "uppercase letters only",
                    position=pos,
                    char=ch,
                )
            )
            return _err(
                pos,
                why,
                f"第{pos}位：不允许小写字母{ch!r}，统一社会信用代码只使用大写字母{note_zh}",
            )

    if len(code) != 18:
        return _err(
            None,
            reason("code must be 18 characters long, got ${length}", length=len(code)),
            f"统一社会信用代码应为18位，实际为{len(code)}位",
        )

    for pos, ch in enumerate(code, start=1):
        if ch not in _VALUE:
            return _err(
                pos,
                reason(
                    "position ${position}: character '${char}' is not allowed; codes use only "
                    "digits and uppercase letters, and I, O, S, V, Z are never used",
                    position=pos,
                    char=ch,
                ),
                f"第{pos}位：字符{ch!r}不在代码字符集中（只使用数字和大写字母，不使用I、O、S、V、Z）",
            )

    authority_code, entity_type = code[0], code[1]
    authority = AUTHORITIES.get(authority_code)
    if authority is None:
        valid = ", ".join(AUTHORITIES)
        return _err(
            1,
            reason(
                "position 1: registration authority code '${code}' is unknown (valid: ${valid})",
                code=authority_code,
                valid=valid,
            ),
            f"第1位：登记管理部门代码{authority_code!r}无效（有效值：{'、'.join(AUTHORITIES)}）",
        )
    if entity_type not in authority.types:
        valid = ", ".join(authority.types)
        return _err(
            2,
            reason(
                "position 2: entity type '${type}' is not valid for registration authority "
                "'${code}' (${authority}); valid types: ${valid}",
                type=entity_type,
                code=authority_code,
                authority=authority.name_en,
                valid=valid,
            ),
            f"第2位：机构类别代码{entity_type!r}对登记管理部门{authority_code!r}"
            f"（{authority.name_zh}）无效（有效值：{'、'.join(authority.types)}）",
        )

    division = code[2:8]
    for pos, ch in enumerate(division, start=3):
        if not ch.isdigit():
            return _err(
                pos,
                reason(
                    "position ${position}: administrative division code (positions 3-8) must be "
                    "digits, got '${char}'",
                    position=pos,
                    char=ch,
                ),
                f"第{pos}位：登记管理机关行政区划码（第3-8位）只能是数字，实际为{ch!r}",
            )
    if divisions is None:
        divisions = known_divisions()
    if division not in divisions:
        return _err(
            3,
            reason(
                "positions 3-8: administrative division code '${division}' is not a known "
                "division code",
                division=division,
            ),
            f"第3-8位：登记管理机关行政区划码{division!r}不是已知的行政区划代码",
        )

    expected_org = organisation_check_character(code[8:16])
    if code[16] != expected_org:
        return _err(
            17,
            reason(
                "position 17: organisation code check character (GB 11714) is '${found}', "
                "expected '${expected}' (or one of positions 9-16 is mistyped)",
                found=code[16],
                expected=expected_org,
            ),
            f"第17位：组织机构代码校验码（GB 11714）为{code[16]!r}，应为{expected_org!r}"
            "（或第9-16位有误）",
        )

    expected = uscc_check_character(code[:17])
    if code[17] != expected:
        return _err(
            18,
            reason(
                "position 18: check character is '${found}', expected '${expected}' "
                "(or one of positions 1-17 is mistyped)",
                found=code[17],
                expected=expected,
            ),
            f"第18位：校验码为{code[17]!r}，应为{expected!r}（或第1-17位有误）",
        )
    return None


def is_valid_uscc(code: str) -> bool:
    return validate_uscc(code) is None


def make_uscc(authority: str, entity_type: str, division: str, org_base8: str) -> str:
    """Build a complete valid code from its parts (both check characters are computed).

    Raises ValueError when the parts cannot make a valid code (e.g. unknown division,
    entity type not allowed for the authority, characters outside the charset).
    """
    if len(authority) != 1 or len(entity_type) != 1:
        raise ValueError("authority and entity_type must be single characters")
    if len(division) != 6:
        raise ValueError(f"division must be 6 digits, got {division!r}")
    if len(org_base8) != 8:
        raise ValueError(f"org_base8 must be 8 characters, got {org_base8!r}")
    first16 = authority + entity_type + division + org_base8
    bad = [ch for ch in first16 if ch not in _VALUE]
    if bad:
        raise ValueError(f"character {bad[0]!r} is not in the USCC charset {CHARSET}")
    first17 = first16 + organisation_check_character(org_base8)
    code = first17 + uscc_check_character(first17)
    error = validate_uscc(code)
    if error is not None:
        raise ValueError(error.reason)
    return code
