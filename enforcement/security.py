"""Password hashing: argon2id through argon2-cffi, with transparent parameter upgrades."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# argon2-cffi's defaults are RFC 9106's low-memory profile (argon2id, t=3, m=64 MiB, p=4).
_hasher = PasswordHasher()


@cache
def _dummy_hash() -> str:
    # Verifying against a real hash when the user does not exist costs the same time as a
    # real check, so response time does not reveal which usernames exist.
    return _hasher.hash("suijian-dummy-password-for-timing")


@dataclass(frozen=True)
class Verification:
    ok: bool
    #: A fresh hash to store when the stored one used weaker parameters; else None.
    new_hash: str | None = None


def hash_password(password: str) -> str:
    """An argon2id PHC string (``$argon2id$v=19$m=...``) with a random salt."""
    if not password:
        raise ValueError("password: must not be empty")
    return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> Verification:
    """Check ``password`` against ``stored_hash`` in constant time.

    A missing or malformed hash is a failed check (after a dummy verification of equal cost),
    never an exception. On success, ``new_hash`` is set when the parameters are outdated.
    """
    if not stored_hash:
        _burn(password)
        return Verification(ok=False)
    try:
        _hasher.verify(stored_hash, password)
    except VerificationError:
        return Verification(ok=False)
    except InvalidHashError:
        _burn(password)
        return Verification(ok=False)
    if _hasher.check_needs_rehash(stored_hash):
        return Verification(ok=True, new_hash=_hasher.hash(password))
    return Verification(ok=True)


def dummy_verify(password: str) -> None:
    """Spend the time of one verification; for unknown usernames."""
    _burn(password)


def _burn(password: str) -> None:
    with contextlib.suppress(VerificationError):
        _hasher.verify(_dummy_hash(), password)
