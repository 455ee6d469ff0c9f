"""The wire format's fixed points: canonical JSON, payload hashes, batch signatures.

Shared by the sender (``enforcement.feed``) and the reference receiver
(``enforcement.datacenter``), so both compute the same bytes.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable
from typing import Any

SIGNATURE_HEADER = "X-Suijian-Signature"
TIMESTAMP_HEADER = "X-Suijian-Timestamp"
IDEMPOTENCY_HEADER = "Idempotency-Key"
SIGNATURE_PREFIX = "sha256="


def canonical_json(value: Any) -> bytes:
    """UTF-8 JSON with sorted keys and no spaces: equal data, equal bytes (and hash)."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def payload_sha256(payload: Any) -> str:
    return hashlib.sha256(canonical_json(payload)).hexdigest()


def idempotency_key(kind: str, record_key: str, version: int) -> str:
    return f"{kind}:{record_key}:{version}"


def batch_key(keys: Iterable[str]) -> str:
    """The ``Idempotency-Key`` of a batch: SHA-256 of its records' keys, sorted, one a line."""
    return hashlib.sha256("\n".join(sorted(keys)).encode("utf-8")).hexdigest()


def sign(body: bytes, secret: str) -> str:
    """The signature header value: ``sha256=<hex HMAC-SHA256 of the exact body>``."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return SIGNATURE_PREFIX + digest


def verify(body: bytes, secret: str, header: str | None) -> bool:
    """Whether ``header`` is the signature of ``body`` (constant-time comparison)."""
    if not header or not secret:
        return False
    return hmac.compare_digest(sign(body, secret), header.strip())


def summary_digest(lines: Iterable[tuple[str, str]]) -> str:
    """The reconciliation hash: SHA-256 over the ``idempotency_key:payload_sha256`` lines
    sorted as strings (code points), each ending in a newline (no lines: the empty string)."""
    hasher = hashlib.sha256()
    for line in sorted(f"{key}:{sha}\n" for key, sha in lines):
        hasher.update(line.encode("utf-8"))
    return hasher.hexdigest()


__all__ = [
    "IDEMPOTENCY_HEADER",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "batch_key",
    "canonical_json",
    "idempotency_key",
    "payload_sha256",
    "sign",
    "summary_digest",
    "verify",
]
