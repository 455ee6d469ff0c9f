"""Masking personal data before anything leaves for the public (一公开, open data, the joint
list). One module, so the rules are applied the same way everywhere and tested in one place.

The rules (个人信息保护法 art. 28 and 政府信息公开条例 art. 15: personal information is not
disclosed; names of officers acting in office are, but here only in part):

* a person's name keeps the surname (a compound surname such as 欧阳 whole) and one ``*``
  for the rest, whatever its length: "张晓明" → "张*", "欧阳娜娜" → "欧阳*"; a Latin-script
  name keeps its first letter: "John Smith" → "J*";
* inspectors appear only by masked name; their ids and credential numbers never;
* the operator of an individual business (个体工商户) is a private person: the name is
  masked, and where the business name contains it, that part of the business name too;
  a company's legal representative is public registry data and stays;
* in free text (replies, reasons, case summaries) mainland mobile numbers keep the first
  three and the last four digits ("138****5678"), landline numbers the area code and the
  last four ("0579-****1234"), and resident ID numbers (checksum-valid 18-digit, or 15-digit
  with a valid birth date) the first and last character ("3****************4").

Names inside free text cannot be found reliably, so free text written by inspectors (finding
descriptions, result notes) is not published at all (see docs/open-data.md).
"""

from __future__ import annotations

import datetime as dt
import re

from enforcement.models import Enterprise, EntityType

MASK = "*"

#: Two-character surnames (复姓) kept whole.
COMPOUND_SURNAMES = frozenset(
    {
        "欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙",
        "宇文", "司徒", "夏侯", "轩辕", "令狐", "端木", "独孤", "南宫", "西门", "百里",
        "呼延", "申屠", "澹台", "公羊", "太史", "万俟", "闻人", "赫连", "钟离", "宗政",
        "濮阳", "淳于", "单于", "拓跋", "司空", "东郭", "第五", "左丘", "梁丘", "羊舌",
    }
)  # fmt: skip

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"

# Not inside a longer run of digits or letters (a USCC or an order number is no phone).
_ID18 = re.compile(r"(?<![0-9A-Za-z])(\d{17}[0-9Xx])(?![0-9A-Za-z])")
_ID15 = re.compile(r"(?<![0-9A-Za-z])(\d{15})(?![0-9A-Za-z])")
_MOBILE = re.compile(r"(?<![0-9A-Za-z])(?:\+?86[- ]?)?(1[3-9]\d)[- ]?(\d{4})[- ]?(\d{4})(?!\d)")
_LANDLINE = re.compile(r"(?<![0-9A-Za-z])(0\d{2,3})[- ]?(\d{3,4})[- ]?(\d{4})(?!\d)")


def _is_cjk(char: str) -> bool:
    return "\u3400" <= char <= "\u9fff" or "\uf900" <= char <= "\ufaff"


def mask_name(name: str | None) -> str | None:
    """A person's name as the public sees it: the surname and one star."""
    if name is None:
        return None
    text = name.strip()
    if not text:
        return ""
    keep = 1
    if _is_cjk(text[0]) and len(text) > 2 and text[:2] in COMPOUND_SURNAMES:
        keep = 2
    return text[:keep] + MASK


def is_resident_id(text: str) -> bool:
    """Whether ``text`` is a resident ID number (GB 11643: 18 characters with a valid
    checksum, or the old 15 digits) with a real birth date."""
    if len(text) == 18 and text[:17].isdigit():
        total = sum(int(d) * w for d, w in zip(text[:17], _ID_WEIGHTS, strict=True))
        if _ID_CHECK[total % 11] != text[17].upper():
            return False
        birth = text[6:14]
    elif len(text) == 15 and text.isdigit():
        birth = "19" + text[6:12]
    else:
        return False
    try:
        born = dt.date(int(birth[:4]), int(birth[4:6]), int(birth[6:8]))
    except ValueError:
        return False
    return dt.date(1900, 1, 1) <= born <= dt.date(2100, 1, 1)


def mask_id_number(text: str) -> str:
    """The first and the last character, the rest starred (the length stays)."""
    return text[0] + MASK * (len(text) - 2) + text[-1] if len(text) > 2 else MASK * len(text)


def mask_text(text: str | None) -> str | None:
    """Free text with resident ID numbers and phone numbers masked."""
    if not text:
        return text

    def ids(match: re.Match[str]) -> str:
        found = match.group(1)
        return mask_id_number(found) if is_resident_id(found) else found

    masked = _ID18.sub(ids, text)
    masked = _ID15.sub(ids, masked)
    masked = _MOBILE.sub(lambda m: f"{m.group(1)}{MASK * 4}{m.group(3)}", masked)
    return _LANDLINE.sub(lambda m: f"{m.group(1)}-{MASK * 4}{m.group(3)}", masked)


def is_individual(enterprise: Enterprise) -> bool:
    """Individual businesses are run by a private person (their operator)."""
    return EntityType(enterprise.entity_type) is EntityType.INDIVIDUAL


def public_representative(enterprise: Enterprise) -> str | None:
    """The legal representative (company) or the operator, masked (individual business)."""
    name = enterprise.legal_representative
    if name is None:
        return None
    return mask_name(name) if is_individual(enterprise) else name.strip()


def public_enterprise_name(enterprise: Enterprise) -> str:
    """The registered name; an individual business's operator name inside it is masked
    ("东阳市张三小吃店" run by 张三 → "东阳市张*小吃店")."""
    name = enterprise.name.strip()
    operator = (enterprise.legal_representative or "").strip()
    if is_individual(enterprise) and len(operator) >= 2 and operator in name:
        name = name.replace(operator, mask_name(operator) or "")
    return name


def public_officer(name: str | None) -> str | None:
    """An inspector as the public sees them: the masked name, nothing else."""
    return mask_name(name)


__all__ = [
    "COMPOUND_SURNAMES",
    "is_individual",
    "is_resident_id",
    "mask_id_number",
    "mask_name",
    "mask_text",
    "public_enterprise_name",
    "public_officer",
    "public_representative",
]
