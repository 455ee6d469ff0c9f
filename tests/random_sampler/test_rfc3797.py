"""RFC 3797 against every row of its section 6 worked example."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from random_sampler.rfc3797 import SourceError, canonical_number, key_string, select

SOURCES = ["9319", "2 5 12 8 10", "9 18 26 34 41 45"]


@pytest.fixture(scope="module")
def example(shared_data: Path) -> tuple[str, list[tuple[int, str, int, int]]]:
    text = (shared_data / "rfc3797" / "example.txt").read_text(encoding="utf-8")
    key = re.search(r"^\s+(\S+/)\s*$", text, re.MULTILINE).group(1)
    rows = [
        (int(step), digest, int(div), int(selected))
        for step, digest, div, selected in re.findall(
            r"^\s+(\d+)\s+([0-9A-F]{32})\s+(\d+)\s+->\s+(\d+)", text, re.MULTILINE
        )
    ]
    return key, rows


def test_key_string_matches_the_rfc(example) -> None:  # type: ignore[no-untyped-def]
    key, _ = example
    assert key_string(SOURCES) == key == "9319./2.5.8.10.12./9.18.26.34.41.45./"


def test_all_sixteen_rows(example) -> None:  # type: ignore[no-untyped-def]
    _, rows = example
    assert len(rows) == 16
    picks = select(25, key_string(SOURCES), 16)
    assert [(p.step, p.digest_hex, p.remaining, p.position) for p in picks] == rows


def test_canonical_numbers() -> None:
    assert canonical_number("007") == "7"
    assert canonical_number("3.1400") == "3.14"
    assert canonical_number("5.0") == "5"
    with pytest.raises(SourceError, match="'12a'"):
        canonical_number("12a")


def test_selection_is_a_permutation_prefix() -> None:
    picks = select(40, key_string(["1 2 3"]), 40)
    assert sorted(p.position for p in picks) == list(range(1, 41))


def test_bad_requests() -> None:
    with pytest.raises(ValueError, match="cannot select 3 from a pool of 2"):
        select(2, "1./", 3)
    with pytest.raises(SourceError, match="at least one"):
        key_string([])


def test_command_prints_the_selection_in_order(example, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from click.testing import CliRunner

    from enforcement.cli import main

    names = [
        "John",
        "Mary",
        "Bashful",
        "Dopey",
        "Sleepy",
        "Grouchy",
        "Doc",
        "Sneazy",
        "Handsome",
        "Cassandra",
        "Pollyanna",
        "Pendragon",
        "Pandora",
        "Faith",
        "Hope",
        "Charity",
        "Lee",
        "Longsuffering",
        "Chastity",
        "Smith",
        "Pride",
        "Sloth",
        "Envy",
        "Anger",
        "Kasczynski",
    ]
    pool = tmp_path / "pool.txt"
    pool.write_text("\n".join(names) + "\n", encoding="utf-8")
    arguments = ["rfc3797", "--pool", str(pool), "--count", "16"]
    for source in SOURCES:
        arguments += ["--source", source]
    result = CliRunner().invoke(main, arguments)
    assert result.exit_code == 0, result.output
    _, rows = example
    assert result.stdout.splitlines() == [names[selected - 1] for *_, selected in rows]
