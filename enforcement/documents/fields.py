"""Checks for the plain-data inputs of official documents.

Every check raises ``ValueError`` whose message starts with the field name (``Class.field``)
and says why, so a bad record from the tablet app or a service is easy to trace.  Nothing is
silently repaired: an official document shows exactly what it was given.
"""

from __future__ import annotations

import enum
import io
import math
import re
import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import TypeVar

from PIL import Image, UnidentifiedImageError

E = TypeVar("E", bound=enum.Enum)
T = TypeVar("T")

_SHA256 = re.compile(r"[0-9a-f]{64}")
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def require_text(field: str, value: object) -> str:
    """A non-blank string (official documents have no empty required boxes)."""
    if not isinstance(value, str):
        raise ValueError(f"{field}: must be text, got {type(value).__name__}")
    if not value.strip():
        raise ValueError(f"{field}: is required and must not be blank")
    return value


def optional_text(field: str, value: object) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{field}: must be text, got {type(value).__name__}")
    return value


def require_aware(field: str, value: object) -> datetime:
    """An aware datetime: documents show Asia/Shanghai time, so the offset must be known."""
    if not isinstance(value, datetime):
        raise ValueError(f"{field}: is required and must be a datetime, got {value!r}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{field}: must be timezone-aware (got naive {value.isoformat()})")
    return value


def require_uuid(field: str, value: object) -> uuid.UUID:
    if isinstance(value, uuid.UUID):
        return value
    if isinstance(value, str):
        try:
            return uuid.UUID(value)
        except ValueError:
            pass
    raise ValueError(f"{field}: must be a UUID, got {value!r}")


def require_choice(field: str, value: object, enum_type: type[E]) -> E:
    """An enum member, or its value (plain data from JSON)."""
    try:
        return enum_type(value)
    except ValueError:
        allowed = ", ".join(repr(member.value) for member in enum_type)
        raise ValueError(f"{field}: must be one of {allowed}, got {value!r}") from None


def require_non_negative(field: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{field}: must be a number, got {value!r}")
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{field}: must be a finite number >= 0, got {value!r}")
    return float(value)


def require_count(field: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{field}: must be an integer >= 0, got {value!r}")
    return value


def require_sha256(field: str, value: object) -> str:
    """64 lowercase hex digits, as listed in the audit records."""
    if not isinstance(value, str) or not _SHA256.fullmatch(value):
        raise ValueError(f"{field}: must be 64 lowercase hexadecimal digits, got {value!r}")
    return value


def require_png(field: str, value: object) -> bytes:
    """PNG bytes that decode; a broken signature image must fail here, not vanish from the PDF."""
    if not isinstance(value, bytes | bytearray) or not value:
        raise ValueError(f"{field}: is required and must be PNG bytes")
    if not bytes(value).startswith(_PNG_MAGIC):
        raise ValueError(f"{field}: is not a PNG image (bad signature bytes)")
    try:
        # verify() checks every chunk up to IEND (a truncated upload fails here even when
        # ImageFile.LOAD_TRUNCATED_IMAGES is on); load() then decodes the pixels.
        with Image.open(io.BytesIO(value)) as image:
            image.verify()
        with Image.open(io.BytesIO(value)) as image:
            image.load()
    except (OSError, UnidentifiedImageError, SyntaxError) as exc:
        raise ValueError(f"{field}: PNG image cannot be decoded ({exc})") from None
    return bytes(value)


def require_items(field: str, value: Iterable[T], item_type: type[T], *, minimum: int) -> tuple:
    """A sequence of ``item_type`` with at least ``minimum`` entries, as a tuple."""
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise ValueError(f"{field}: must be a list of {item_type.__name__}")
    items = tuple(value)
    for index, item in enumerate(items):
        if not isinstance(item, item_type):
            raise ValueError(
                f"{field}[{index}]: must be a {item_type.__name__}, got {type(item).__name__}"
            )
    if len(items) < minimum:
        raise ValueError(f"{field}: needs at least {minimum} entries, got {len(items)}")
    return items
