"""The feed's wire format: canonical JSON, hashes, HMAC signatures; the retry policy."""

from __future__ import annotations

import hashlib
import hmac
import random

import pytest

from enforcement.feed import FeedSettings, RetryPolicy
from enforcement.feed.signing import (
    batch_key,
    canonical_json,
    idempotency_key,
    payload_sha256,
    sign,
    summary_digest,
    verify,
)
from enforcement.settings import apply_env_overrides


def test_canonical_json_sorts_keys_and_keeps_chinese() -> None:
    one = {"b": [1, 2], "a": "现场检查笔录", "c": {"z": None, "y": True}}
    two = {"c": {"y": True, "z": None}, "a": "现场检查笔录", "b": [1, 2]}
    expected = '{"a":"现场检查笔录","b":[1,2],"c":{"y":true,"z":null}}'.encode()
    assert canonical_json(one) == canonical_json(two) == expected
    assert payload_sha256(one) == hashlib.sha256(expected).hexdigest()


def test_canonical_json_refuses_what_json_cannot_hold() -> None:
    with pytest.raises(ValueError):
        canonical_json({"score": float("nan")})
    with pytest.raises(TypeError):
        canonical_json({"items": {1, 2}})


def test_signature_is_hmac_sha256_of_the_exact_body() -> None:
    body = b'{"records":[{"kind":"penalty"}]}'
    expected = hmac.new(b"shared-secret", body, hashlib.sha256).hexdigest()
    assert sign(body, "shared-secret") == f"sha256={expected}"
    assert verify(body, "shared-secret", f"sha256={expected}")


@pytest.mark.parametrize(
    ("body", "secret", "header"),
    [
        (b'{"records":[]} ', "shared-secret", None),  # a byte more than was signed
        (b'{"records":[]}', "another-secret", None),  # signed with another secret
        (b'{"records":[]}', "shared-secret", ""),  # no header
        (b'{"records":[]}', "shared-secret", "sha256=00"),  # a wrong digest
        (b'{"records":[]}', "", None),  # the receiver has no secret: nothing verifies
    ],
)
def test_verify_refuses_anything_else(body: bytes, secret: str, header: str | None) -> None:
    signed = sign(b'{"records":[]}', "shared-secret")
    assert not verify(body, secret, signed if header is None else header)


def test_keys_and_batch_key() -> None:
    assert idempotency_key("penalty", "penalty:123", 2) == "penalty:penalty:123:2"
    keys = ["inspection:a:1", "penalty:b:3", "inspection:a:2"]
    expected = hashlib.sha256(b"inspection:a:1\ninspection:a:2\npenalty:b:3").hexdigest()
    assert batch_key(keys) == batch_key(reversed(keys)) == expected


def test_summary_digest_sorts_lines_as_strings() -> None:
    assert summary_digest([]) == hashlib.sha256(b"").hexdigest()
    pairs = [("x:10", "b" * 64), ("x:1", "a" * 64)]
    # "x:10:..." sorts before "x:1:..." as strings ("0" < ":"), whatever the input order.
    expected = hashlib.sha256(f"x:10:{'b' * 64}\nx:1:{'a' * 64}\n".encode()).hexdigest()
    assert summary_digest(pairs) == summary_digest(reversed(pairs)) == expected


def test_backoff_ceiling_doubles_up_to_the_cap() -> None:
    policy = RetryPolicy(base_seconds=2, cap_seconds=600, max_attempts=8)
    assert [policy.ceiling(n) for n in range(1, 12)] == [
        2,
        4,
        8,
        16,
        32,
        64,
        128,
        256,
        512,
        600,
        600,
    ]
    assert policy.ceiling(10_000) == 600  # no overflow far past the cap


def test_backoff_is_jittered_within_its_bounds() -> None:
    policy = RetryPolicy(base_seconds=2, cap_seconds=600)
    rng = random.Random(20261122)
    for attempts in (1, 3, 6, 12):
        ceiling = policy.ceiling(attempts)
        delays = [policy.delay(attempts, rng) for _ in range(500)]
        assert all(0 <= delay <= ceiling for delay in delays)
        # Full jitter: spread over the whole range, not bunched at the ceiling.
        assert len(set(delays)) == len(delays)
        assert min(delays) < ceiling * 0.1 and max(delays) > ceiling * 0.9
    # The waits grow with the attempts (compare the means of many draws).
    means = [sum(policy.delay(n, rng) for _ in range(2000)) / 2000 for n in (1, 4, 7)]
    assert means[0] < means[1] < means[2]


def test_settings_and_their_environment_overrides() -> None:
    defaults = FeedSettings.from_settings({})
    assert defaults.url is None and defaults.secret == ""
    assert (defaults.timeout, defaults.batch_size) == (10.0, 500)
    assert defaults.policy == RetryPolicy(base_seconds=2, cap_seconds=600, max_attempts=40)

    ini = {
        "data_center.url": "",
        "suijian.feed.secret": "from-the-file",
        "suijian.feed.max_attempts": "3",
        "suijian.feed.backoff_seconds": "0.5",
        "suijian.feed.timeout_seconds": "2.5",
    }
    environ = {"DATA_CENTER_URL": "https://dc.example/records", "DATA_CENTER_SECRET": "env"}
    settings = FeedSettings.from_settings(apply_env_overrides(ini, environ))
    assert settings.url == "https://dc.example/records"
    assert settings.secret == "env"
    assert settings.timeout == 2.5
    assert settings.policy.max_attempts == 3 and settings.policy.base_seconds == 0.5

    fallback = FeedSettings.from_settings({"suijian.feed.url": "http://127.0.0.1:9/records"})
    assert fallback.url == "http://127.0.0.1:9/records"
