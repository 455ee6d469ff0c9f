"""``suijian uscc``: one line per code, exit 1 when any is invalid."""

from __future__ import annotations

from click.testing import CliRunner

from enforcement.cli import main

HUAWEI = "914403001922038216"
XIAOMI = "91110108551385082Q"


def test_all_valid_exits_zero() -> None:
    result = CliRunner().invoke(main, ["uscc", HUAWEI, XIAOMI])
    assert result.exit_code == 0
    assert result.output.splitlines() == [f"{HUAWEI} valid", f"{XIAOMI} valid"]


def test_invalid_code_names_position_and_exits_one() -> None:
    mistyped = HUAWEI[:17] + "7"
    result = CliRunner().invoke(main, ["uscc", HUAWEI, mistyped])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0] == f"{HUAWEI} valid"
    assert lines[1].startswith(f"{mistyped} invalid: position 18")


def test_forbidden_letter_and_chinese_reasons() -> None:
    with_letter_o = HUAWEI[:5] + "O" + HUAWEI[6:]
    result = CliRunner().invoke(main, ["uscc", "--zh", with_letter_o])
    assert result.exit_code == 1
    assert "第6位" in result.output


def test_reads_codes_from_stdin() -> None:
    result = CliRunner().invoke(main, ["uscc"], input=f"{HUAWEI}\n\n{XIAOMI[:-1]}\n")
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        f"{HUAWEI} valid",
        f"{XIAOMI[:-1]} invalid: code must be 18 characters long, got 17",
    ]
