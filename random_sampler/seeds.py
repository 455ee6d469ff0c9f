"""Seeds of a verifiable draw: commit to a secret, reveal it, derive one generator per stratum.

The supervisor publishes ``commit(seed)`` with the plan. After the draw the seed is revealed
and anyone can check it against the commitment, mix in the public value announced after the
commitment (``draw_key``) and re-derive every generator. Each stratum gets its own generator,
keyed by its canonical label, so any subset of strata can be recomputed on its own and gives
bit-identical results to a one-process draw.

Pinned semantics (algorithm ``suijian-draw/1``): the generator is NumPy's PCG64 seeded through
``SeedSequence(int.from_bytes(seed, "big"))``. NumPy guarantees that the stream of a
BitGenerator seeded by a SeedSequence does not change between versions (NEP 19). Consumers
use only ``Generator.random()``, which for PCG64 is ``(next_uint64() >> 11) * 2**-53``, and
build everything else (permutations, picks) from those doubles, so a verifier written in any
language needs only PCG64, SeedSequence and HMAC-SHA256.
"""

from __future__ import annotations

import hashlib
import hmac

import numpy as np

ALGORITHM_VERSION = "suijian-draw/1"

# Labels reserved for the draw's own generators; stratum labels may not use them.
ALLOCATION_LABEL = "allocation"
TEAMS_LABEL = "teams"
COVERAGE_LABEL = "coverage"
RESERVED_LABELS = frozenset({ALLOCATION_LABEL, TEAMS_LABEL, COVERAGE_LABEL})

LABEL_SEPARATOR = "|"


def commit(seed: bytes) -> str:
    """SHA-256 hex digest of the secret seed, published when the plan is published."""
    _require_bytes(seed, "seed")
    return hashlib.sha256(seed).hexdigest()


def verify_commitment(seed: bytes, commitment: str) -> bool:
    """True when ``seed`` hashes to ``commitment`` (hex, case-insensitive; constant time)."""
    _require_bytes(seed, "seed")
    if not isinstance(commitment, str):
        raise TypeError("commitment must be a hex string")
    return hmac.compare_digest(commit(seed), commitment.strip().lower())


def draw_key(seed: bytes, public_value: str | None = None) -> bytes:
    """The draw's master key: HMAC-SHA256(seed, "suijian-draw/1|" + public value)."""
    _require_bytes(seed, "seed")
    if not seed:
        raise ValueError("seed must not be empty")
    message = f"{ALGORITHM_VERSION}|".encode() + (public_value or "").encode("utf-8")
    return hmac.new(seed, message, hashlib.sha256).digest()


def stratum_seed(key: bytes, label: str) -> bytes:
    """The seed of one stratum (or of a named step such as "teams"): HMAC-SHA256(key, label)."""
    _require_bytes(key, "key")
    if not isinstance(label, str):
        raise TypeError("label must be a string")
    return hmac.new(key, label.encode("utf-8"), hashlib.sha256).digest()


def generator(seed_bytes: bytes) -> np.random.Generator:
    """PCG64 generator seeded by the big-endian integer value of ``seed_bytes``."""
    _require_bytes(seed_bytes, "seed_bytes")
    entropy = int.from_bytes(seed_bytes, "big")
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(entropy)))


def stratum_label(*values: object) -> str:
    """Canonical label of a stratum: its key values as text joined by "|", e.g. "330783|C|F52"."""
    if not values:
        raise ValueError("a stratum label needs at least one key value")
    parts = [str(value) for value in values]
    for part in parts:
        if LABEL_SEPARATOR in part:
            raise ValueError(f"stratum key value {part!r} contains the separator '|'")
    return LABEL_SEPARATOR.join(parts)


def _require_bytes(value: object, name: str) -> None:
    if not isinstance(value, bytes | bytearray):
        raise TypeError(f"{name} must be bytes, not {type(value).__name__}")
