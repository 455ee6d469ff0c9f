"""RFC 3797 "Publicly Verifiable Nominations Committee (NomCom) Random Selection", exactly.

Anyone holding the published ordered pool and the random sources announced after it (for
example lottery results) can recompute the selection: pick i uses
``MD5(pre_i || key || pre_i) mod (P - i)`` over the candidates not yet chosen, where ``pre_i``
is i as two big-endian bytes and ``key`` is the canonical string of the sources (section 4).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

_NUMBER = re.compile(r"[0-9]+(?:\.[0-9]*)?|\.[0-9]+")
_MAX_PICKS = 2**16  # the prefix is two bytes


class SourceError(ValueError):
    """A random source value that RFC 3797 cannot canonicalise."""


def canonical_number(token: str) -> str:
    """One number in RFC 3797 canonical form: no leading zeros, no trailing fraction zeros."""
    if not _NUMBER.fullmatch(token):
        raise SourceError(f"random source value {token!r} is not a non-negative decimal number")
    try:
        value = Decimal(token)
    except InvalidOperation as exc:  # pragma: no cover - the regex admits only decimals
        raise SourceError(f"random source value {token!r} is not a number") from exc
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def key_string(sources: Iterable[str | Sequence[str]]) -> str:
    """The key string: each number followed by ".", each source ended by "/".

    A source given as one string is split on whitespace or commas; the numbers of a source
    are sorted ascending, as the RFC requires for sets of numbers drawn at once.
    """
    parts = []
    for source in sources:
        tokens = re.split(r"[\s,]+", source.strip()) if isinstance(source, str) else source
        numbers = [canonical_number(token) for token in tokens if token]
        if not numbers:
            raise SourceError("a random source has no values")
        numbers.sort(key=Decimal)
        parts.append("".join(f"{number}." for number in numbers) + "/")
    if not parts:
        raise SourceError("at least one random source is required")
    return "".join(parts)


@dataclass(frozen=True)
class Pick:
    """One selection step: ``position`` is the 1-based index into the original pool."""

    step: int
    digest_hex: str
    remaining: int
    position: int


def select(pool_size: int, key: str, count: int) -> list[Pick]:
    """Select ``count`` of ``pool_size`` candidates in order (section 4 of the RFC)."""
    if pool_size < 0 or count < 0:
        raise ValueError("pool size and count must not be negative")
    if count > pool_size:
        raise ValueError(f"cannot select {count} from a pool of {pool_size}")
    if count > _MAX_PICKS:
        raise ValueError(f"RFC 3797 selects at most {_MAX_PICKS} candidates")
    encoded = key.encode("ascii")
    remaining = list(range(1, pool_size + 1))
    picks = []
    for step in range(count):
        prefix = step.to_bytes(2, "big")
        digest = hashlib.md5(prefix + encoded + prefix, usedforsecurity=False).digest()
        index = int.from_bytes(digest, "big") % len(remaining)
        picks.append(Pick(step + 1, digest.hex().upper(), len(remaining), remaining.pop(index)))
    return picks
