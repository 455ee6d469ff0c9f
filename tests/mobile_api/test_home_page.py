"""The home page: Chinese by default, English on request, counts read from the database."""

from __future__ import annotations

import re

from sqlalchemy.orm import Session

from enforcement.models import EnterpriseStatus
from tests.factories import (
    DepartmentFactory,
    EnterpriseFactory,
    InspectionItemFactory,
    InspectorFactory,
    JurisdictionFactory,
)


def shown_count(html: str, element_id: str) -> str:
    match = re.search(rf'id="{element_id}"[^>]*>.*?<(?:dd|td)[^>]*>([^<]*)<', html, re.S)
    assert match, f"{element_id} not on the page"
    return match.group(1).strip()


def populate(data: Session) -> None:
    JurisdictionFactory.create_batch(3)
    EnterpriseFactory.create_batch(1001)  # shown with a thousands separator
    EnterpriseFactory.create_batch(2, status=EnterpriseStatus.REVOKED)
    EnterpriseFactory(status=EnterpriseStatus.DEREGISTERED)
    department = DepartmentFactory()
    InspectorFactory.create_batch(2, department=department)
    InspectorFactory(department=department, active=False)
    InspectionItemFactory(department=department)
    InspectionItemFactory(department=department, active=False)
    data.commit()


def test_home_is_chinese_by_default_with_live_counts(testapp, data) -> None:
    populate(data)
    page = testapp.get("/")
    assert page.headers["Content-Type"].startswith("text/html")
    assert '<html lang="zh-CN">' in page.text
    assert "随检" in page.text and "双随机、一公开" in page.text
    assert "市场主体" in page.text and "Market entities" not in page.text
    assert shown_count(page.text, "count-jurisdictions") == "3"
    assert shown_count(page.text, "count-enterprises") == "1,004"
    assert shown_count(page.text, "count-inspectors") == "2"  # active only
    assert shown_count(page.text, "count-items") == "1"  # active only
    assert shown_count(page.text, "count-departments") == "1"
    assert shown_count(page.text, "status-in_business") == "1,001"
    assert shown_count(page.text, "status-revoked") == "2"
    assert shown_count(page.text, "status-deregistered") == "1"
    # The language switch offers English and comes back here.
    assert 'href="/lang/en?next=%2F"' in page.text


def test_home_in_english_with_locale_parameter(testapp, data) -> None:
    JurisdictionFactory()
    data.commit()
    page = testapp.get("/", params={"_LOCALE_": "en"})
    assert '<html lang="en">' in page.text
    assert "Market entities" in page.text and "市场主体" not in page.text
    assert shown_count(page.text, "count-jurisdictions") == "1"
    assert "中文" in page.text  # the switch back


def test_language_switch_remembers_the_choice(testapp) -> None:
    switched = testapp.get("/lang/en", params={"next": "/"}, status=303)
    assert switched.location.endswith("/")
    assert "_LOCALE_=en" in switched.headers["Set-Cookie"]
    assert "Market entities" in testapp.get("/").text
    testapp.get("/lang/zh_CN", params={"next": "/"}, status=303)
    assert "市场主体" in testapp.get("/").text


def test_language_switch_refuses_unknown_locales_and_foreign_redirects(testapp) -> None:
    testapp.get("/lang/xx", status=404)
    switched = testapp.get("/lang/en", params={"next": "//evil.example/"}, status=303)
    assert switched.location == "http://localhost/"


def test_static_stylesheet_is_served(testapp) -> None:
    css = testapp.get("/static/suijian.css")
    assert css.content_type == "text/css"
    assert "--accent" in css.text
