"""Tests for enforcement.uscc (GB 32100-2015 unified social credit code)."""

from __future__ import annotations

import csv
import importlib.util
import random
import re
from pathlib import Path

import pytest

from enforcement import uscc
from enforcement.uscc import (
    CHARSET,
    UsccError,
    division_name,
    is_valid_uscc,
    known_divisions,
    make_uscc,
    organisation_check_character,
    uscc_check_character,
    validate_uscc,
)

# Publicly published codes (business licences / annual reports / credit publicity system) of
# well-known companies.  Each passes both check characters (asserted below); a random string
# passes both by chance with probability 1/(11*31) = 1/341, and each division code matches the
# company's registered seat.
REAL_CODES = {
    "华为技术有限公司": "914403001922038216",
    "小米科技有限责任公司": "91110108551385082Q",
    "阿里巴巴（中国）有限公司": "91330100799655058B",
    "深圳市腾讯计算机系统有限公司": "91440300708461136T",
    "百度在线网络技术（北京）有限公司": "91110000802100433B",
    "中国移动通信集团有限公司": "911100007109250324",
    "中国工商银行股份有限公司": "911100001000044477",
    "招商银行股份有限公司": "9144030010001686XA",
    "中国平安保险（集团）股份有限公司": "91440300100012316L",
    "中兴通讯股份有限公司": "91440300192317458F",
    "比亚迪股份有限公司": "914403007261824992",
    "美的集团股份有限公司": "91440606722473344C",
    "珠海格力电器股份有限公司": "91440400192548256N",
    "海尔智家股份有限公司": "91370200264574251E",
    "贵州茅台酒股份有限公司": "91520000214434146R",
    "网易（杭州）网络有限公司": "91330106673959654P",
    "宁德时代新能源科技股份有限公司": "91350900587527783P",
}

# 北京京东世纪贸易有限公司 is registered in 北京经济技术开发区, and its code carries 110302, a
# functional-zone code that is not in GB/T 2260 and so not in the bundled list.
JD_CODE = "91110302562134916R"

ALL_CODES = sorted(REAL_CODES.values())
EXCLUDED = "IOSVZ"
HAS_CJK = re.compile(r"[\u4e00-\u9fff]")


def _build(authority: str, entity_type: str, division: str, org8: str) -> str:
    """Like make_uscc, but without validating the parts (to build deliberately bad codes)."""
    first17 = authority + entity_type + division + org8 + organisation_check_character(org8)
    return first17 + uscc_check_character(first17)


def _assert_error(error: UsccError | None, position: int | None) -> UsccError:
    assert error is not None
    assert error.position == position
    assert error.reason and error.reason_zh
    assert HAS_CJK.search(error.reason_zh)
    assert not HAS_CJK.search(error.reason.split("'")[0])  # English wording
    if position is not None:
        assert f"{position}" in error.reason
        assert f"第{position}" in error.reason_zh or (
            position == 3 and "第3-8位" in error.reason_zh
        )
    return error


# --------------------------------------------------------------------------- real codes


@pytest.mark.parametrize("name", sorted(REAL_CODES))
def test_real_code_is_valid(name: str) -> None:
    code = REAL_CODES[name]
    assert organisation_check_character(code[8:16]) == code[16]
    assert uscc_check_character(code[:17]) == code[17]
    assert validate_uscc(code) is None
    assert is_valid_uscc(code)
    assert code[2:8] in known_divisions()


def test_jd_code_check_characters_pass_but_division_is_a_functional_zone() -> None:
    assert organisation_check_character(JD_CODE[8:16]) == JD_CODE[16]
    assert uscc_check_character(JD_CODE[:17]) == JD_CODE[17]
    error = _assert_error(validate_uscc(JD_CODE), 3)
    assert "110302" in error.reason
    assert validate_uscc(JD_CODE, divisions=known_divisions() | {"110302"}) is None


@pytest.mark.parametrize("code", ALL_CODES)
def test_every_single_substitution_is_invalid(code: str) -> None:
    for i in range(18):
        for ch in CHARSET:
            if ch == code[i]:
                continue
            mutated = code[:i] + ch + code[i + 1 :]
            error = validate_uscc(mutated)
            assert error is not None, mutated
            assert error.position is not None and 1 <= error.position <= 18, (mutated, error)
            assert str(error.position) in error.reason


@pytest.mark.parametrize("code", ALL_CODES)
def test_every_adjacent_transposition_is_invalid(code: str) -> None:
    for i in range(17):
        if code[i] == code[i + 1]:
            continue
        swapped = code[:i] + code[i + 1] + code[i] + code[i + 2 :]
        error = validate_uscc(swapped)
        assert error is not None, swapped
        assert error.position is not None


@pytest.mark.parametrize("code", [c for c in ALL_CODES if any(ch.isalpha() for ch in c)])
def test_lowercase_is_invalid_and_names_position(code: str) -> None:
    for i, ch in enumerate(code):
        if ch.isalpha():
            error = _assert_error(validate_uscc(code[:i] + ch.lower() + code[i + 1 :]), i + 1)
            assert "lowercase" in error.reason
            assert "小写" in error.reason_zh


def test_lowercase_reported_before_length() -> None:
    _assert_error(validate_uscc("91110108551385082q0"), 18)


def test_lowercase_of_excluded_letter_mentions_exclusion() -> None:
    error = _assert_error(validate_uscc("91110108551385082o"), 18)
    assert "I, O, S, V, Z" in error.reason


@pytest.mark.parametrize("code", ALL_CODES)
def test_wrong_length_is_invalid(code: str) -> None:
    for bad in (code[:17], code + "0", "", code * 2):
        error = _assert_error(validate_uscc(bad), None)
        assert "18" in error.reason and "18" in error.reason_zh
        assert not is_valid_uscc(bad)


@pytest.mark.parametrize("letter", list(EXCLUDED))
def test_excluded_letters_are_invalid_and_name_position(letter: str) -> None:
    for code in ALL_CODES:
        for i in range(18):
            error = _assert_error(validate_uscc(code[:i] + letter + code[i + 1 :]), i + 1)
            assert "I, O, S, V, Z" in error.reason
            assert "I、O、S、V、Z" in error.reason_zh
            assert repr(letter) in error.reason


def test_other_foreign_characters_name_position() -> None:
    code = REAL_CODES["华为技术有限公司"]
    for bad in ("-", " ", "\u3000", "９", "é", "*"):
        _assert_error(validate_uscc(code[:5] + bad + code[6:]), 6)


# --------------------------------------------------------------------------- structure


def test_unknown_division_is_invalid_naming_positions_3_to_8() -> None:
    code = _build("9", "1", "999999", "MA5DC6QF")
    error = _assert_error(validate_uscc(code), 3)
    assert "positions 3-8" in error.reason
    assert "999999" in error.reason and "999999" in error.reason_zh
    with pytest.raises(ValueError, match="positions 3-8"):
        make_uscc("9", "1", "999999", "MA5DC6QF")
    # A caller-supplied list replaces the bundled one.
    assert validate_uscc(code, divisions={"999999"}) is None
    assert validate_uscc(REAL_CODES["华为技术有限公司"], divisions={"999999"}) is not None


def test_non_digit_division_names_its_position() -> None:
    code = _build("9", "1", "4403A0", "19220382")
    error = _assert_error(validate_uscc(code), 7)
    assert "positions 3-8" in error.reason


@pytest.mark.parametrize(
    ("authority", "entity_type"),
    [
        ("9", "4"),
        ("9", "9"),
        ("9", "0"),
        ("1", "4"),
        ("5", "4"),
        ("Y", "2"),
        ("Y", "9"),
        ("7", "3"),
        ("8", "2"),
        ("N", "4"),
        ("A", "2"),
        ("2", "2"),
        ("4", "2"),
        ("3", "6"),
    ],
)
def test_bad_entity_type_for_authority_names_position_2(authority: str, entity_type: str) -> None:
    code = _build(authority, entity_type, "440300", "19220382")
    error = _assert_error(validate_uscc(code), 2)
    assert repr(entity_type) in error.reason and repr(authority) in error.reason
    with pytest.raises(ValueError):
        make_uscc(authority, entity_type, "440300", "19220382")


@pytest.mark.parametrize("authority", ["0", "B", "C", "G", "M", "X", "W"])
def test_unknown_authority_names_position_1(authority: str) -> None:
    error = _assert_error(validate_uscc(_build(authority, "1", "440300", "19220382")), 1)
    assert repr(authority) in error.reason


def test_authority_table_matches_gb32100() -> None:
    table = {code: "".join(a.types) for code, a in uscc.AUTHORITIES.items()}
    assert table == {
        "1": "1239",
        "2": "19",
        "3": "123459",
        "4": "19",
        "5": "1239",
        "6": "129",
        "7": "129",
        "8": "19",
        "9": "123",
        "A": "19",
        "N": "1239",
        "Y": "1",
    }
    for authority, info in uscc.AUTHORITIES.items():
        for entity_type in info.types:
            assert is_valid_uscc(make_uscc(authority, entity_type, "330106", "0000000A"))


def test_check_character_errors_name_positions_17_and_18() -> None:
    code = REAL_CODES["小米科技有限责任公司"]
    bad17 = code[:16] + "3" + code[17:]
    error = _assert_error(validate_uscc(bad17), 17)
    assert "GB 11714" in error.reason and "'2'" in error.reason
    bad18 = code[:17] + "K"
    error = _assert_error(validate_uscc(bad18), 18)
    assert error.reason.startswith("position 18: check character is 'K', expected 'Q'")
    assert "第18位" in error.reason_zh and "校验码" in error.reason_zh


def test_check_character_rules() -> None:
    # Final check: 31 - (sum mod 31), with 31 -> 0.
    assert uscc_check_character("0" * 17) == "0"
    assert uscc_check_character("1" + "0" * 16) == "Y"  # 31 - 1 = 30 -> 'Y'
    assert uscc_check_character("0" * 16 + "1") == "3"  # 31 - 28 = 3
    # GB 11714: 11 - (sum mod 11), with 10 -> 'X' and 11 -> '0'; last weight is 2.
    assert organisation_check_character("00000000") == "0"
    assert organisation_check_character("00000005") == "1"  # 11 - 10
    assert organisation_check_character("00000006") == "X"  # 11 - (12 mod 11) = 10
    assert organisation_check_character("0000000A") == "2"  # A = 10: 11 - (20 mod 11)
    assert organisation_check_character("0000000Z") == "7"  # Z = 35: 11 - (70 mod 11)
    assert organisation_check_character("10000000") == "8"  # 11 - 3
    with pytest.raises(ValueError):
        uscc_check_character("9144030019220382")
    with pytest.raises(ValueError):
        uscc_check_character("9144030019220382I")
    with pytest.raises(ValueError):
        organisation_check_character("1922038")
    with pytest.raises(ValueError):
        organisation_check_character("1922038-")


# --------------------------------------------------------------------------- make_uscc


def test_make_uscc_round_trip_random() -> None:
    rng = random.Random(20240601)
    divisions = sorted(known_divisions())
    pairs = [(a, t) for a, info in uscc.AUTHORITIES.items() for t in info.types]
    for _ in range(2000):
        authority, entity_type = rng.choice(pairs)
        division = rng.choice(divisions)
        org8 = "".join(rng.choice(CHARSET) for _ in range(8))
        code = make_uscc(authority, entity_type, division, org8)
        assert len(code) == 18
        assert code[:16] == authority + entity_type + division + org8
        assert validate_uscc(code) is None, code


@pytest.mark.parametrize("code", ALL_CODES)
def test_make_uscc_rebuilds_real_codes(code: str) -> None:
    assert make_uscc(code[0], code[1], code[2:8], code[8:16]) == code


def test_make_uscc_rejects_bad_parts() -> None:
    with pytest.raises(ValueError):
        make_uscc("9", "1", "44030", "19220382")
    with pytest.raises(ValueError):
        make_uscc("9", "1", "440300", "1922038")
    with pytest.raises(ValueError):
        make_uscc("9", "1", "440300", "1922038O")
    with pytest.raises(ValueError):
        make_uscc("91", "1", "440300", "19220382")


# --------------------------------------------------------------------------- divisions


def test_bundled_divisions_shape() -> None:
    divisions = known_divisions()
    assert len(divisions) > 3500
    assert all(len(d) == 6 and d.isdigit() for d in divisions)
    assert known_divisions() is divisions  # loaded once
    # Every current county comes with its province and prefecture parent codes (abolished
    # codes from divisions_historical.csv are not expanded).
    data = Path(uscc.__file__).parent / "data"
    with (data / "divisions.csv").open(encoding="utf-8", newline="") as fh:
        current = {row["code"] for row in csv.DictReader(fh)}
    assert current <= divisions
    for county in (d for d in current if d[4:] != "00"):
        assert county[:2] + "0000" in current
        assert county[:4] + "00" in current


@pytest.mark.parametrize(
    ("code", "name"),
    [
        ("110000", "北京市"),
        ("440300", "深圳市"),
        ("110108", "海淀区"),
        ("330100", "杭州市"),
        ("440309", "龙华区"),
        ("330114", "钱塘区"),  # created after the cpca snapshot
        ("330103", "下城区"),
        ("330104", "江干区"),
        ("110103", "崇文区"),
        ("110104", "宣武区"),
    ],
)
def test_division_names(code: str, name: str) -> None:
    assert code in known_divisions()
    assert division_name(code) == name


def test_division_name_unknown() -> None:
    assert division_name("999999") is None
    assert division_name("") is None


def test_historical_divisions_validate_and_do_not_clash() -> None:
    data = Path(uscc.__file__).parent / "data"
    with (data / "divisions.csv").open(encoding="utf-8", newline="") as fh:
        current = {row["code"]: row["name"] for row in csv.DictReader(fh)}
    with (data / "divisions_historical.csv").open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert rows
    for row in rows:
        assert len(row["code"]) == 6 and row["code"].isdigit()
        assert row["name"] and row["abolished"].isdigit()
        # never a code that has been re-used for a differently named current division
        assert current.get(row["code"], row["name"]) == row["name"]
        assert is_valid_uscc(make_uscc("9", "1", row["code"], "MA27U0JQ"))


def test_build_script_reproduces_committed_csv(tmp_path: Path) -> None:
    script = Path(uscc.__file__).parent / "data" / "build_divisions.py"
    spec = importlib.util.spec_from_file_location("suijian_build_divisions", script)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if not (module.DEFAULT_POINTS.exists() and module.DEFAULT_COUNTIES.exists()):
        pytest.skip("shared source data not available")
    out = tmp_path / "divisions.csv"
    assert module.main(["--out", str(out)]) == 0
    committed = Path(uscc.__file__).parent / "data" / "divisions.csv"
    assert out.read_bytes() == committed.read_bytes()


# --------------------------------------------------------------------------- purity


def test_module_is_pure() -> None:
    source = Path(uscc.__file__).read_text(encoding="utf-8")
    for forbidden in ("sqlalchemy", "pyramid", "geoalchemy", "webob"):
        assert forbidden not in source.lower()
