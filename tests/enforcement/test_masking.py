"""The masking rules applied before anything is published (enforcement.services.masking)."""

from __future__ import annotations

import pytest

from enforcement.models import Enterprise, EntityType
from enforcement.services.masking import (
    is_resident_id,
    mask_id_number,
    mask_name,
    mask_text,
    public_enterprise_name,
    public_officer,
    public_representative,
)


@pytest.mark.parametrize(
    ("name", "masked"),
    [
        ("张晓明", "张*"),
        ("李丽", "李*"),
        ("王", "王*"),
        ("欧阳娜娜", "欧阳*"),
        ("司马相如", "司马*"),
        ("欧阳", "欧*"),  # two characters: a surname and a given name, not a compound surname
        (" 赵卫东 ", "赵*"),
        ("John Smith", "J*"),
        ("", ""),
        (None, None),
    ],
)
def test_names_keep_the_surname_and_one_star(name: str | None, masked: str | None) -> None:
    assert mask_name(name) == masked
    assert public_officer(name) == masked


def test_resident_ids_are_recognised_by_checksum_and_birth_date() -> None:
    assert is_resident_id("11010519491231002X")  # the GB 11643 example
    assert is_resident_id("110105491231002")  # old 15 digits
    assert not is_resident_id("110105194912310021")  # wrong check digit
    assert not is_resident_id("913307831234567890")  # 18 digits, no date: a USCC-like code
    assert not is_resident_id("11010519491331002X"[:17] + "X")  # month 13
    assert mask_id_number("11010519491231002X") == "1" + "*" * 16 + "X"


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("联系电话13812345678", "联系电话138****5678"),
        ("手机 138-1234-5678。", "手机 138****5678。"),
        ("+86 13912345678", "139****5678"),
        ("座机0579-86621234", "座机0579-****1234"),
        ("身份证11010519491231002X，", "身份证1****************X，"),
        ("旧证110105491231002", "旧证1*************2"),
        # Not personal: a USCC, a decision number, an amount, a date.
        ("91330783MA2E8XXXXX", "91330783MA2E8XXXXX"),
        ("东市监处罚〔2025〕12号，罚款5000元", "东市监处罚〔2025〕12号，罚款5000元"),
        ("订单号 1381234567890123", "订单号 1381234567890123"),
        ("2025-03-04 09:30", "2025-03-04 09:30"),
        ("", ""),
        (None, None),
    ],
)
def test_free_text_has_phones_and_ids_masked(text: str | None, masked: str | None) -> None:
    assert mask_text(text) == masked


def _enterprise(entity_type: EntityType, name: str, representative: str | None) -> Enterprise:
    return Enterprise(
        natural_key="x", name=name, legal_representative=representative, entity_type=entity_type
    )


def test_individual_business_operators_are_private_company_representatives_public() -> None:
    shop = _enterprise(EntityType.INDIVIDUAL, "东阳市张三小吃店", "张三")
    assert public_enterprise_name(shop) == "东阳市张*小吃店"
    assert public_representative(shop) == "张*"
    bare = _enterprise(EntityType.INDIVIDUAL, "李四", "李四")  # no trade name: the person's name
    assert public_enterprise_name(bare) == "李*"
    company = _enterprise(EntityType.COMPANY, "东阳市张三贸易有限公司", "张三")
    assert public_enterprise_name(company) == "东阳市张三贸易有限公司"
    assert public_representative(company) == "张三"
    unknown = _enterprise(EntityType.INDIVIDUAL, "东阳市小吃店", None)
    assert public_enterprise_name(unknown) == "东阳市小吃店"
    assert public_representative(unknown) is None
