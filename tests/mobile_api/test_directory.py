"""The enterprise directory: sign-in and role required, search by name, USCC, jurisdiction."""

from __future__ import annotations

import re

import pytest
from geoalchemy2 import WKTElement
from sqlalchemy.orm import Session

from enforcement.models import JurisdictionLevel, Role
from tests.factories import EnterpriseFactory, JurisdictionFactory


def result_count(html: str) -> int:
    # zh: "共找到 N 家市场主体"; the number may carry thousands separators.
    match = re.search(r"共找到 ([\d,]+) 家市场主体", html)
    assert match, "result count not on the page"
    return int(match.group(1).replace(",", ""))


def rows(html: str) -> int:
    body = html.split("<tbody>", 1)[1] if "<tbody>" in html else ""
    return body.count("<tr>")


def test_anonymous_visitor_is_sent_to_sign_in(testapp) -> None:
    response = testapp.get("/directory/enterprises", status=303)
    assert response.location == "http://localhost/login?next=%2Fdirectory%2Fenterprises"


@pytest.mark.parametrize("role", [Role.ENTERPRISE, Role.LIAISON])
def test_roles_without_the_permission_get_403(testapp, make_user, sign_in, role) -> None:
    make_user("account", role)
    sign_in(testapp, "account")
    page = testapp.get("/directory/enterprises", status=403)
    assert "您的角色无权访问此页面。" in page.text
    assert 'href="/directory/enterprises"' not in page.text  # nor is it offered


@pytest.mark.parametrize("role", [Role.SUPERVISOR, Role.INSPECTOR, Role.ADMIN])
def test_permitted_roles_see_the_directory(testapp, make_user, sign_in, role) -> None:
    make_user("officer", role)
    sign_in(testapp, "officer")
    assert result_count(testapp.get("/directory/enterprises").text) == 0


def test_search_by_uscc_finds_the_enterprise(testapp, data: Session, make_user, sign_in) -> None:
    EnterpriseFactory.create_batch(5)
    wanted = EnterpriseFactory(name="东阳市横店影视城有限公司", legal_representative="徐文荣")
    data.commit()
    make_user("inspector", Role.INSPECTOR)
    sign_in(testapp, "inspector")

    page = testapp.get("/directory/enterprises", params={"q": wanted.uscc})
    assert result_count(page.text) == 1
    assert "东阳市横店影视城有限公司" in page.text and "徐文荣" in page.text
    # Lower case and a prefix of the code work too; so does part of the name.
    assert result_count(testapp.get(f"/directory/enterprises?q={wanted.uscc.lower()}").text) == 1
    by_prefix = testapp.get("/directory/enterprises", params={"q": wanted.uscc[:8]})
    assert result_count(by_prefix.text) == 6  # every factory code shares the prefix
    by_name = testapp.get("/directory/enterprises", params={"q": "横店影视"})
    assert result_count(by_name.text) == 1
    nothing = testapp.get("/directory/enterprises", params={"q": "不存在的公司"})
    assert result_count(nothing.text) == 0 and rows(nothing.text) == 0


def test_search_treats_like_wildcards_literally(testapp, data, make_user, sign_in) -> None:
    EnterpriseFactory(name="百分百%商行")
    EnterpriseFactory(name="普通商行")
    data.commit()
    make_user("admin", Role.ADMIN)
    sign_in(testapp, "admin")
    assert result_count(testapp.get("/directory/enterprises?q=%25").text) == 1


def test_search_by_jurisdiction_includes_lower_levels(testapp, data, make_user, sign_in) -> None:
    county = JurisdictionFactory(adcode="330783", name="东阳市", level=JurisdictionLevel.COUNTY)
    town = JurisdictionFactory(
        adcode="330783001", name="吴宁街道", level=JurisdictionLevel.TOWNSHIP, parent=county
    )
    other = JurisdictionFactory(adcode="330782", name="义乌市")
    EnterpriseFactory.create_batch(2, jurisdiction=town)
    EnterpriseFactory(jurisdiction=county)
    EnterpriseFactory(jurisdiction=other)
    EnterpriseFactory(location=WKTElement("POINT(120.24 29.28)", srid=4326))  # unassigned
    data.commit()
    make_user("sup", Role.SUPERVISOR)
    sign_in(testapp, "sup")

    def found(term: str) -> int:
        page = testapp.get("/directory/enterprises", params={"jurisdiction": term})
        return result_count(page.text)

    assert found("东阳") == 3
    assert found("330783") == 3
    assert found("吴宁") == 2
    assert found("义乌市") == 1
    assert "未划分" in testapp.get("/directory/enterprises").text


def test_paging_is_50_per_page_with_the_total(testapp, data, make_user, sign_in) -> None:
    EnterpriseFactory.create_batch(51)
    data.commit()
    make_user("sup", Role.SUPERVISOR)
    sign_in(testapp, "sup")
    first = testapp.get("/directory/enterprises")
    assert result_count(first.text) == 51 and rows(first.text) == 50
    assert "第 1 / 2 页" in first.text
    second = first.click(linkid=None, href=r"page=2", index=0)
    assert rows(second.text) == 1 and "第 2 / 2 页" in second.text
    # Out of range pages show the last page; bad ones are reported by field name.
    assert rows(testapp.get("/directory/enterprises?page=9").text) == 1
    bad = testapp.get("/directory/enterprises?page=abc")
    assert "页码: 必须是不小于 1 的整数。" in bad.text and rows(bad.text) == 50
