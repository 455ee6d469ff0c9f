"""Commit-reveal seeds and per-stratum generators (algorithm suijian-draw/1)."""

from __future__ import annotations

import hashlib
import hmac

import numpy as np
import pytest

from random_sampler import seeds

SEED = b"0123456789abcdef0123456789abcdef"
PUBLIC = "2025-03-01 lottery 17 23 5"
LABEL = "330783|C|F52"

# Published draws must stay reproducible: these vectors pin the whole derivation chain
# (HMAC message format, label encoding, SeedSequence seeding, PCG64 stream, random()).
KEY_HEX = "baccb187b869baa344adaa179409e982003436437df22fc2627af0132db0e858"
STRATUM_SEED_HEX = "8590344a8700649045872548da60d1b8ffaa8e95ac49db740f1e136d45f7ef9d"
FIRST_DOUBLES = [0.8744178510776175, 0.14063493248036352, 0.684478493199644]


def test_algorithm_version() -> None:
    assert seeds.ALGORITHM_VERSION == "suijian-draw/1"


def test_commit_is_sha256_hex() -> None:
    # FIPS 180-2 test vector for "abc".
    assert seeds.commit(b"abc") == (
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    )


def test_verify_commitment() -> None:
    commitment = seeds.commit(SEED)
    assert seeds.verify_commitment(SEED, commitment)
    assert seeds.verify_commitment(SEED, commitment.upper())
    assert not seeds.verify_commitment(SEED + b"x", commitment)
    assert not seeds.verify_commitment(SEED, commitment[:-1] + "0")
    assert not seeds.verify_commitment(SEED, "")


def test_seed_must_be_bytes() -> None:
    with pytest.raises(TypeError, match="seed must be bytes"):
        seeds.commit("not bytes")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="commitment"):
        seeds.verify_commitment(SEED, b"abc")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="seed must not be empty"):
        seeds.draw_key(b"")


def test_draw_key_follows_the_published_formula() -> None:
    expected = hmac.new(SEED, b"suijian-draw/1|" + PUBLIC.encode(), hashlib.sha256).digest()
    key = seeds.draw_key(SEED, PUBLIC)
    assert key == expected
    assert key.hex() == KEY_HEX


def test_public_value_changes_the_key() -> None:
    assert seeds.draw_key(SEED) == seeds.draw_key(SEED, "") == seeds.draw_key(SEED, None)
    assert seeds.draw_key(SEED, "1") != seeds.draw_key(SEED, "2")
    assert seeds.draw_key(SEED, "1") != seeds.draw_key(SEED)


def test_stratum_seed_is_hmac_of_the_label() -> None:
    key = bytes.fromhex(KEY_HEX)
    expected = hmac.new(key, LABEL.encode("utf-8"), hashlib.sha256).digest()
    assert seeds.stratum_seed(key, LABEL) == expected
    assert expected.hex() == STRATUM_SEED_HEX
    assert seeds.stratum_seed(key, "330783|C|F53") != expected
    # Labels are UTF-8: Chinese key values are fine and distinct.
    assert seeds.stratum_seed(key, "东阳市|C") != seeds.stratum_seed(key, "义乌市|C")


def test_generator_stream_is_pinned() -> None:
    rng = seeds.generator(bytes.fromhex(STRATUM_SEED_HEX))
    assert rng.random(3).tolist() == FIRST_DOUBLES


def test_generator_matches_the_documented_construction() -> None:
    seed = bytes.fromhex(STRATUM_SEED_HEX)
    reference = np.random.Generator(
        np.random.PCG64(np.random.SeedSequence(int.from_bytes(seed, "big")))
    )
    assert np.array_equal(seeds.generator(seed).random(1000), reference.random(1000))


def test_random_is_the_documented_function_of_the_raw_stream() -> None:
    # What a verifier in another language implements: (next_uint64 >> 11) * 2**-53.
    seed = bytes.fromhex(STRATUM_SEED_HEX)
    raw = seeds.generator(seed).bit_generator.random_raw(1000)
    doubles = (raw >> np.uint64(11)).astype(np.float64) * 2.0**-53
    assert np.array_equal(seeds.generator(seed).random(1000), doubles)


def test_same_seed_same_stream_different_seed_different_stream() -> None:
    key = seeds.draw_key(SEED, PUBLIC)
    a = seeds.generator(seeds.stratum_seed(key, "a")).random(100)
    again = seeds.generator(seeds.stratum_seed(key, "a")).random(100)
    b = seeds.generator(seeds.stratum_seed(key, "b")).random(100)
    assert np.array_equal(a, again)
    assert not np.array_equal(a, b)


def test_stratum_label() -> None:
    assert seeds.stratum_label(330783, "C", "F52") == "330783|C|F52"
    assert seeds.stratum_label("东阳市") == "东阳市"
    with pytest.raises(ValueError, match="separator"):
        seeds.stratum_label("33|07", "C")
    with pytest.raises(ValueError, match="at least one"):
        seeds.stratum_label()


def test_reserved_labels() -> None:
    assert {"teams", "coverage", "allocation"} == seeds.RESERVED_LABELS
